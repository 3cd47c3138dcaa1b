#ifndef RB_FDTAB_H
#define RB_FDTAB_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/*
 * What rebind knows about a descriptor, indexed by its number.  Lock-free
 * and fixed size, so the close path can use it from a signal handler.
 * It is mapped when the first entry is stored (one FRESH entry alone is
 * kept aside until then); pages for descriptors nobody marks are never
 * touched, and lookups of unmarked descriptors only read (the zero
 * page), so a daemon that closes every fd up to its limit does not
 * grow.
 *
 * An entry is a hint, never the truth: glibc closes some descriptors
 * where no hook sees it.  Each entry carries the socket's SO_COOKIE, and
 * callers compare it with the kernel's before acting; a FRESH entry
 * carries 0 (none was read) and is trusted as it stands.
 */

#define RB_FDTAB_MAX (1 << 20)

enum rb_fdflag {
	RB_FD_LISTENER = 1 << 0,    /* TCP listener the policy covers */
	RB_FD_CHILD_SAFE = 1 << 1,  /* listener: its connections may get
				       safe-abort */
	RB_FD_SAFE_ABORT = 1 << 2,  /* accepted: close may reset it */
	RB_FD_USER_REUSE = 1 << 3,  /* program set SO_REUSEADDR itself */
	RB_FD_USER_LINGER = 1 << 4, /* program set SO_LINGER itself */
	RB_FD_IGNORED = 1 << 5,     /* looked at: not a socket we act on */
	RB_FD_OVERRIDE = 1 << 6,    /* policy: keep rebind's values over the
				       program's own */
	RB_FD_FRESH = 1 << 7,       /* socket() made it as plain TCP: its
				       options are the kernel's defaults
				       but for the USER ones */
};

#define RB_FD_USER_MASK (RB_FD_USER_REUSE | RB_FD_USER_LINGER)

struct rb_fdent {
	unsigned flags;
	uint64_t cookie;
	uint32_t gen; /* fork generation when recorded */
};

/* Read through rb_fdtab_flags(); inline because close() asks for every
 * descriptor it sees.  NULL until the first entry is stored. */
extern _Atomic unsigned char *_Atomic rb_fdtab_flagp
	__attribute__((visibility("hidden")));
/* One past the highest fd ever stored (only grows). */
extern _Atomic unsigned rb_fdtab_top __attribute__((visibility("hidden")));
/* Until the table is mapped: the one descriptor whose entry is FRESH
 * alone (cookie 0), or -1. */
extern _Atomic int rb_fdtab_early __attribute__((visibility("hidden")));

/* rb_fdtab_flags() once the table was seen unmapped. */
static inline unsigned rb_fdtab_flags_early(int fd)
{
	_Atomic unsigned char *f;

	if (atomic_load_explicit(&rb_fdtab_early, memory_order_acquire) == fd)
		return RB_FD_FRESH;
	/* The table may have taken that entry in and given up the slot
	 * since: what gave it up had published the table. */
	f = atomic_load_explicit(&rb_fdtab_flagp, memory_order_acquire);
	return f ? atomic_load_explicit(&f[fd], memory_order_acquire) : 0;
}

/*
 * 0 for an unknown descriptor or one outside the table.  Descriptors
 * above every stored one are answered without reading the table: some
 * kernels back even a read of untouched anonymous memory with a fresh
 * page, and a daemon closing every descriptor up to its limit must not
 * grow by the table's size.
 */
static inline unsigned rb_fdtab_flags(int fd)
{
	_Atomic unsigned char *f;

	if ((unsigned)fd >= atomic_load_explicit(&rb_fdtab_top,
						 memory_order_acquire))
		return 0;
	f = atomic_load_explicit(&rb_fdtab_flagp, memory_order_acquire);
	if (!f)
		return rb_fdtab_flags_early(fd);
	return atomic_load_explicit(&f[fd], memory_order_acquire);
}
bool rb_fdtab_get(int fd, struct rb_fdent *out);
/* Is the table mapped (has anything but one FRESH entry been stored)? */
static inline bool rb_fdtab_mapped(void)
{
	return atomic_load_explicit(&rb_fdtab_flagp, memory_order_acquire);
}
/*
 * Replace fd's entry with *e, whatever it held: for a socket the table
 * did not know.  Returns false when fd is outside the table, or the
 * table cannot be mapped (nothing stored).  A FRESH entry alone (cookie
 * 0) stored before the table exists does not map it: the table keeps
 * one such entry aside (the newest) and takes it in when it is mapped.
 */
bool rb_fdtab_set(int fd, const struct rb_fdent *e);
/*
 * Change the flags of fd's entry for socket e->cookie in one atomic step:
 * flags = (flags & ~clear) | set, so a concurrent change of other bits is
 * never lost.  Without such an entry (none, or a stale one for another
 * socket), store a new one with flags set and e's cookie and gen, unless
 * set is 0.  Returns as rb_fdtab_set(), and false too when e is a
 * FRESH entry (cookie 0) that is gone: nothing then ties a new entry to
 * the socket, and the caller reads its cookie.
 */
bool rb_fdtab_update(int fd, const struct rb_fdent *e, unsigned set,
		     unsigned clear);
void rb_fdtab_clear(int fd);
/* Forget fd's entry only if it is FRESH alone.  Safe where the table is
 * not this process's (a vfork() child): losing a FRESH mark only makes
 * listen() ask the kernel, and one must never outlive its descriptor. */
void rb_fdtab_drop_fresh(int fd);
/* One past the highest fd ever stored: bounds loops over ranges. */
unsigned rb_fdtab_end(void);


#endif
