#include "config.h"

#include "core/fdtab.h"

#include <stdatomic.h>
#include <sys/mman.h>

/*
 * Three parallel arrays rather than one array of structs: close() reads
 * only rb_fdtab_flagv[fd], so a loop over every descriptor touches 1 MiB of
 * (zero-page) memory instead of 16 MiB.  Writers store cookie and gen
 * before flags; a reader that races a writer may pair flags with an old
 * cookie, and then the caller's cookie check fails safe.
 */
#define RB_PAGE_ALIGN __attribute__((aligned(4096)))

_Atomic unsigned char rb_fdtab_flagv[RB_FDTAB_MAX] RB_PAGE_ALIGN;
static _Atomic uint64_t cookies[RB_FDTAB_MAX] RB_PAGE_ALIGN;
static _Atomic uint32_t gens[RB_FDTAB_MAX] RB_PAGE_ALIGN;

static _Atomic unsigned top;

static bool in_table(int fd)
{
	return fd >= 0 && fd < RB_FDTAB_MAX;
}

bool rb_fdtab_get(int fd, struct rb_fdent *out)
{
	out->flags = rb_fdtab_flags(fd);
	if (out->flags == 0)
		return false;
	out->cookie = atomic_load_explicit(&cookies[fd], memory_order_relaxed);
	out->gen = atomic_load_explicit(&gens[fd], memory_order_relaxed);
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
	if (!in_table(fd))
		return false;
	raise_top((unsigned)fd + 1);
	atomic_store_explicit(&rb_fdtab_flagv[fd], 0, memory_order_relaxed);
	atomic_store_explicit(&cookies[fd], e->cookie, memory_order_relaxed);
	atomic_store_explicit(&gens[fd], e->gen, memory_order_relaxed);
	atomic_store_explicit(&rb_fdtab_flagv[fd], (unsigned char)e->flags,
			      memory_order_release);
	return true;
}

void rb_fdtab_clear(int fd)
{
	/* Read first: writing would dirty a page for every fd closed. */
	if (rb_fdtab_flags(fd) != 0)
		atomic_store_explicit(&rb_fdtab_flagv[fd], 0, memory_order_release);
}

unsigned rb_fdtab_end(void)
{
	return atomic_load_explicit(&top, memory_order_relaxed);
}

void rb_fdtab_init(void)
{
	(void)madvise(rb_fdtab_flagv, sizeof(rb_fdtab_flagv), MADV_NOHUGEPAGE);
	(void)madvise(cookies, sizeof(cookies), MADV_NOHUGEPAGE);
	(void)madvise(gens, sizeof(gens), MADV_NOHUGEPAGE);
}
