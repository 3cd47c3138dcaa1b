#include "config.h"

#include "core/fdtab.h"

#include <stdatomic.h>
#include <stddef.h>
#include <sys/mman.h>

/*
 * Three parallel arrays rather than one array of structs: close() reads
 * only flags[fd], so a loop over every descriptor touches 1 MiB of
 * (zero-page) memory instead of 16 MiB.  The flags byte is the entry's
 * lock word: every change of it is a compare-and-swap, so bits that two
 * threads change at once are never lost.  A writer that replaces an entry
 * takes the old flags away (CAS to 0), stores cookie and gen, then
 * publishes the new flags (CAS from 0); a reader reads flags, cookie, gen
 * and the flags again, and retries when they changed in between.
 *
 * The table is mapped at the first entry stored, not kept in BSS: a
 * process that never listens pays nothing for it, not even address
 * space, and the mapping can be kept out of transparent huge pages (with
 * THP "always", the first write would otherwise cost a 2 MiB page).
 *
 * Before that, one FRESH entry is kept aside in rb_fdtab_early: the
 * socket() of a program's first listener comes before anything needs
 * the table, and mapping it there would cost every program that only
 * connects two system calls.  Mapping the table takes that entry in
 * before the table is published; should the entry be cleared meanwhile
 * (the descriptor closed in another thread or a signal handler), the
 * mapper sees the slot changed and takes the copy out again.  Losing a
 * FRESH mark in a race is safe (listen() then asks the kernel); keeping
 * one for a descriptor that was closed would not be.
 */
struct rb_fdtab_mem {
	_Atomic unsigned char flags[RB_FDTAB_MAX];
	_Atomic uint64_t cookies[RB_FDTAB_MAX];
	_Atomic uint32_t gens[RB_FDTAB_MAX];
};

/* The one published pointer: flags is the table's first member, so the
 * pointer to it is the pointer to the whole table. */
_Atomic unsigned char *_Atomic rb_fdtab_flagp;

_Atomic unsigned rb_fdtab_top;

_Atomic int rb_fdtab_early = -1;
/* The kept entry's fork generation. */
static _Atomic uint32_t early_gen;

/* The table whose flags array starts at flags.  By way of uintptr_t: a
 * direct cast from a pointer to _Atomic elements trips -Wcast-qual, and
 * the table's members are _Atomic themselves. */
static struct rb_fdtab_mem *table_of(_Atomic unsigned char *flags)
{
	return (struct rb_fdtab_mem *)(uintptr_t)flags;
}

/* The table, or NULL before the first entry is stored. */
static struct rb_fdtab_mem *mapped(void)
{
	return table_of(
		atomic_load_explicit(&rb_fdtab_flagp, memory_order_acquire));
}

/* The kept entry leaves rb_fdtab_early, if it is fd's: true when it
 * was. */
static bool early_clear(int fd)
{
	int cur = fd;

	return atomic_compare_exchange_strong_explicit(
		&rb_fdtab_early, &cur, -1, memory_order_acq_rel,
		memory_order_acquire);
}

/* fd's entry in t goes, if it is FRESH alone. */
static void table_drop_fresh(struct rb_fdtab_mem *t, int fd)
{
	unsigned char fresh = RB_FD_FRESH;

	(void)atomic_compare_exchange_strong_explicit(
		&t->flags[fd], &fresh, 0, memory_order_acq_rel,
		memory_order_relaxed);
}

/* The mapping's steps, in this order (a unit test drives them one by
 * one against a clear). */

static struct rb_fdtab_mem *map_new(void)
{
	struct rb_fdtab_mem *m =
		mmap(NULL, sizeof(*m), PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (m == MAP_FAILED)
		return NULL;
	(void)madvise(m, sizeof(*m), MADV_NOHUGEPAGE);
	return m;
}

/* Copy the kept entry into m, not yet published; returns its fd, or
 * -1. */
static int take_in(struct rb_fdtab_mem *m)
{
	int early = atomic_load_explicit(&rb_fdtab_early, memory_order_acquire);

	if (early < 0)
		return -1;
	atomic_store_explicit(
		&m->gens[early],
		atomic_load_explicit(&early_gen, memory_order_relaxed),
		memory_order_relaxed);
	atomic_store_explicit(&m->flags[early], RB_FD_FRESH,
			      memory_order_relaxed);
	return early;
}

/* Publish m; two threads may race here, and the loser gives its mapping
 * back.  Returns the table that won. */
static struct rb_fdtab_mem *publish(struct rb_fdtab_mem *m)
{
	_Atomic unsigned char *won = NULL;

	if (atomic_compare_exchange_strong_explicit(
		    &rb_fdtab_flagp, &won, m->flags, memory_order_acq_rel,
		    memory_order_acquire))
		return m;
	(void)munmap(m, sizeof(*m));
	return table_of(won);
}

/* The copy of early's entry in the published m stays only if the kept
 * entry was not cleared (or replaced) meanwhile. */
static void settle(struct rb_fdtab_mem *m, int early)
{
	if (early >= 0 && !early_clear(early))
		table_drop_fresh(m, early);
}

static struct rb_fdtab_mem *table(void)
{
	struct rb_fdtab_mem *m = mapped();
	struct rb_fdtab_mem *won;
	int early;

	if (m)
		return m;
	m = map_new();
	if (!m)
		return NULL;
	early = take_in(m);
	won = publish(m);
	if (won == m)
		settle(m, early);
	return won;
}

static bool in_table(int fd)
{
	return fd >= 0 && fd < RB_FDTAB_MAX;
}

bool rb_fdtab_get(int fd, struct rb_fdent *out)
{
	struct rb_fdtab_mem *t;
	unsigned again;

	do {
		out->flags = rb_fdtab_flags(fd);
		if (out->flags == 0)
			return false;
		t = mapped();
		if (!t) { /* the entry kept aside */
			out->cookie = 0;
			out->gen = atomic_load_explicit(&early_gen,
							memory_order_relaxed);
			return true;
		}
		out->cookie = atomic_load_explicit(&t->cookies[fd],
						   memory_order_acquire);
		out->gen = atomic_load_explicit(&t->gens[fd],
						memory_order_acquire);
		/* A writer replacing the entry meanwhile changed the flags
		 * (to 0 first): never pair old flags with a new cookie. */
		again = rb_fdtab_flags(fd);
	} while (again != out->flags);
	return true;
}

static void raise_top(unsigned n)
{
	unsigned cur =
		atomic_load_explicit(&rb_fdtab_top, memory_order_relaxed);

	/* Release: a reader that sees the new top sees the mapping. */
	while (cur < n && !atomic_compare_exchange_weak_explicit(
				  &rb_fdtab_top, &cur, n, memory_order_release,
				  memory_order_relaxed))
		;
}

/*
 * Replace the entry with flags nf for socket e->cookie: take the old
 * flags (old, as read) away first, so that no reader pairs them with
 * the new cookie, then publish.  False when another writer changed the
 * flags meanwhile (the caller reads again).
 */
static bool replace(struct rb_fdtab_mem *t, int fd, unsigned old,
		    const struct rb_fdent *e, unsigned nf)
{
	_Atomic unsigned char *f = &t->flags[fd];
	unsigned char cur = (unsigned char)old;

	if (old != 0 && !atomic_compare_exchange_strong_explicit(
				f, &cur, 0, memory_order_acq_rel,
				memory_order_acquire))
		return false;
	atomic_store_explicit(&t->cookies[fd], e->cookie, memory_order_release);
	atomic_store_explicit(&t->gens[fd], e->gen, memory_order_release);
	cur = 0;
	return atomic_compare_exchange_strong_explicit(
		f, &cur, (unsigned char)nf, memory_order_release,
		memory_order_relaxed);
}

enum rb_upd { RB_UPD_DONE, RB_UPD_AGAIN, RB_UPD_GONE };

/* One attempt of rb_fdtab_update(). */
static enum rb_upd update_once(struct rb_fdtab_mem *t, int fd,
			       const struct rb_fdent *e, unsigned set,
			       unsigned clear)
{
	unsigned char old = atomic_load_explicit(&t->flags[fd],
						 memory_order_acquire);
	unsigned char nf;

	/* No entry, or another socket's (stale): a new one, if any.  A
	 * FRESH entry the caller read (cookie 0) that is gone meanwhile
	 * (the kept one, replaced before the table took it in) leaves
	 * nothing to tie a new entry to. */
	if (old == 0 || atomic_load_explicit(&t->cookies[fd],
					     memory_order_acquire) != e->cookie) {
		if (set == 0)
			return RB_UPD_DONE;
		if (e->cookie == 0)
			return RB_UPD_GONE;
		return replace(t, fd, old, e, set) ? RB_UPD_DONE
						   : RB_UPD_AGAIN;
	}
	nf = (unsigned char)((old & ~clear) | set);
	return nf == old || atomic_compare_exchange_strong_explicit(
				    &t->flags[fd], &old, nf,
				    memory_order_release, memory_order_relaxed)
		       ? RB_UPD_DONE
		       : RB_UPD_AGAIN;
}

/* The table for a write to fd, or NULL when fd is out of reach. */
static struct rb_fdtab_mem *for_write(int fd)
{
	struct rb_fdtab_mem *t = in_table(fd) ? table() : NULL;

	if (t)
		raise_top((unsigned)fd + 1);
	return t;
}

bool rb_fdtab_update(int fd, const struct rb_fdent *e, unsigned set,
		     unsigned clear)
{
	enum rb_upd r;
	struct rb_fdtab_mem *t;

	/* Nothing to add needs no table: keep processes that never mark a
	 * descriptor from mapping one. */
	if (set == 0 && rb_fdtab_flags(fd) == 0)
		return in_table(fd);
	t = for_write(fd);
	if (!t)
		return false;
	do
		r = update_once(t, fd, e, set, clear);
	while (r == RB_UPD_AGAIN);
	return r == RB_UPD_DONE;
}

/* fd has an entry: clear it, wherever it is now (the table may have
 * been mapped, and the entry taken in, since its flags were read). */
static void clear_known(int fd)
{
	struct rb_fdtab_mem *t;

	(void)early_clear(fd);
	t = mapped();
	if (t && atomic_load_explicit(&t->flags[fd], memory_order_acquire))
		atomic_store_explicit(&t->flags[fd], 0, memory_order_release);
}

/* Before the table exists: keep e aside, or forget fd's.  False when
 * e needs the table. */
static bool early_set(int fd, const struct rb_fdent *e)
{
	if (e->flags == 0) {
		clear_known(fd);
		return true;
	}
	if (e->flags != RB_FD_FRESH || e->cookie != 0)
		return false;
	/* The gen goes with whichever mark is kept last; a FRESH entry's
	 * gen is never acted on.  An exchange, not a store: a reader that
	 * sees this value also sees a table settle() published first. */
	atomic_store_explicit(&early_gen, e->gen, memory_order_relaxed);
	(void)atomic_exchange_explicit(&rb_fdtab_early, fd,
				       memory_order_acq_rel);
	raise_top((unsigned)fd + 1);
	return true;
}

bool rb_fdtab_set(int fd, const struct rb_fdent *e)
{
	struct rb_fdtab_mem *t;

	if (e->flags == 0 && rb_fdtab_flags(fd) == 0)
		return in_table(fd);
	if (!mapped() && in_table(fd) && early_set(fd, e))
		return true;
	t = for_write(fd);
	if (!t)
		return false;
	while (!replace(t, fd,
			atomic_load_explicit(&t->flags[fd],
					     memory_order_acquire),
			e, e->flags))
		;
	return true;
}

void rb_fdtab_drop_fresh(int fd)
{
	struct rb_fdtab_mem *t;

	if (rb_fdtab_flags(fd) != RB_FD_FRESH)
		return;
	(void)early_clear(fd);
	t = mapped();
	if (t)
		table_drop_fresh(t, fd);
}

void rb_fdtab_clear(int fd)
{
	/* Read first: writing would dirty a page for every fd closed. */
	if (rb_fdtab_flags(fd) != 0)
		clear_known(fd);
}

unsigned rb_fdtab_end(void)
{
	return atomic_load_explicit(&rb_fdtab_top, memory_order_relaxed);
}
