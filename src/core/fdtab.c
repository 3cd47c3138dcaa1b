#include "config.h"

#include "core/fdtab.h"

#include <stdatomic.h>
#include <stddef.h>
#include <sys/mman.h>

/*
 * Three parallel arrays rather than one array of structs: close() reads
 * only flags[fd], so a loop over every descriptor touches 1 MiB of
 * (zero-page) memory instead of 16 MiB.  Writers store cookie and gen
 * before flags; a reader that races a writer may pair flags with an old
 * cookie, and then the caller's cookie check fails safe.
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

static _Atomic unsigned top;

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

	out->flags = rb_fdtab_flags(fd);
	if (out->flags == 0)
		return false;
	/* Non-zero flags mean the table is mapped. */
	t = mapped();
	out->cookie = atomic_load_explicit(&t->cookies[fd], memory_order_relaxed);
	out->gen = atomic_load_explicit(&t->gens[fd], memory_order_relaxed);
	return true;
}

static void raise_top(unsigned n)
{
	unsigned cur = atomic_load_explicit(&top, memory_order_relaxed);

	while (cur < n && !atomic_compare_exchange_weak_explicit(
				  &top, &cur, n, memory_order_relaxed,
				  memory_order_relaxed))
		;
}

bool rb_fdtab_set(int fd, const struct rb_fdent *e)
{
	struct rb_fdtab_mem *t;

	/* Clearing needs no table: keep processes that never mark a
	 * descriptor from mapping one. */
	if (!in_table(fd) || (e->flags == 0 && rb_fdtab_flags(fd) == 0))
		return in_table(fd);
	t = table();
	if (!t)
		return false;
	raise_top((unsigned)fd + 1);
	atomic_store_explicit(&t->flags[fd], 0, memory_order_relaxed);
	atomic_store_explicit(&t->cookies[fd], e->cookie, memory_order_relaxed);
	atomic_store_explicit(&t->gens[fd], e->gen, memory_order_relaxed);
	atomic_store_explicit(&t->flags[fd], (unsigned char)e->flags,
			      memory_order_release);
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
	return atomic_load_explicit(&top, memory_order_relaxed);
}
