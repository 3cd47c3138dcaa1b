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

static struct rb_fdtab_mem *table(void)
{
	struct rb_fdtab_mem *m = mapped();
	_Atomic unsigned char *won = NULL;

	if (m)
		return m;
	m = mmap(NULL, sizeof(*m), PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	(void)madvise(m, sizeof(*m), MADV_NOHUGEPAGE);
	/* Two threads may race here; the loser gives its mapping back. */
	if (!atomic_compare_exchange_strong_explicit(
		    &rb_fdtab_flagp, &won, m->flags, memory_order_acq_rel,
		    memory_order_acquire)) {
		(void)munmap(m, sizeof(*m));
		return table_of(won);
	}
	return m;
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
		/* Non-zero flags mean the table is mapped. */
		t = mapped();
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

/* One attempt of rb_fdtab_update(); false to try again. */
static bool update_once(struct rb_fdtab_mem *t, int fd,
			const struct rb_fdent *e, unsigned set,
			unsigned clear)
{
	unsigned char old = atomic_load_explicit(&t->flags[fd],
						 memory_order_acquire);
	unsigned char nf;

	/* No entry, or another socket's (stale): a new one, if any. */
	if (old == 0 || atomic_load_explicit(&t->cookies[fd],
					     memory_order_acquire) != e->cookie)
		return set == 0 || replace(t, fd, old, e, set);
	nf = (unsigned char)((old & ~clear) | set);
	return nf == old || atomic_compare_exchange_strong_explicit(
				    &t->flags[fd], &old, nf,
				    memory_order_release, memory_order_relaxed);
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
	struct rb_fdtab_mem *t;

	/* Nothing to add needs no table: keep processes that never mark a
	 * descriptor from mapping one. */
	if (set == 0 && rb_fdtab_flags(fd) == 0)
		return in_table(fd);
	t = for_write(fd);
	if (!t)
		return false;
	while (!update_once(t, fd, e, set, clear))
		;
	return true;
}

bool rb_fdtab_set(int fd, const struct rb_fdent *e)
{
	struct rb_fdtab_mem *t;

	if (e->flags == 0 && rb_fdtab_flags(fd) == 0)
		return in_table(fd);
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

void rb_fdtab_clear(int fd)
{
	/* Read first: writing would dirty a page for every fd closed.
	 * Non-zero flags mean the table is mapped. */
	if (rb_fdtab_flags(fd) != 0)
		atomic_store_explicit(&mapped()->flags[fd], 0,
				      memory_order_release);
}

unsigned rb_fdtab_end(void)
{
	return atomic_load_explicit(&rb_fdtab_top, memory_order_relaxed);
}
