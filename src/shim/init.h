#ifndef RB_INIT_H
#define RB_INIT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/policy.h"
#include "shim/real.h"

/* The only symbols librebind exports: the libc functions it wraps. */
#define RB_EXPORT __attribute__((visibility("default")))

/* librebind.map exports these everywhere; where libc lacks them (musl
 * has none of the three, glibc before 2.34 no close_range or closefrom)
 * its headers do not declare them. */
#ifndef HAVE_CLOSE_RANGE
int close_range(unsigned int first, unsigned int last, int flags);
#endif
#ifndef HAVE_CLOSEFROM
void closefrom(int lowfd);
#endif
#ifndef HAVE_FCNTL64
int fcntl64(int fd, int cmd, ...);
#endif

/*
 * The libc functions to forward to.  The first call (normally from the
 * library's constructor) does the load stage of initialisation (libc's
 * functions, the environment; no system call); a call that arrives while
 * it is under way, in another thread or re-entrantly, gets raw system
 * calls instead of waiting, so no hook can ever block on it.
 */
const struct rb_real *rb_real_slow(void);

/* Inline: every hook, close() included, starts here. */
enum { RB_IDLE, RB_RUNNING, RB_READY };
extern _Atomic int rb_init_state __attribute__((visibility("hidden")));
extern struct rb_real rb_libc __attribute__((visibility("hidden")));

static inline const struct rb_real *rb_real(void)
{
	if (atomic_load_explicit(&rb_init_state, memory_order_acquire) ==
	    RB_READY)
		return &rb_libc;
	return rb_real_slow();
}

/*
 * The frozen policy.  The first call builds it: reads the config file,
 * works out the program's names, checks descriptor 2 and reports a bad
 * setting.  Never call it on the close path.  A call during the load
 * stage, or from a signal handler that interrupted the build, gets a
 * disabled policy; one from another thread waits for the build (a
 * second at most).
 */
const struct rb_policy *rb_policy(void);

/*
 * Bumped around every fork, before every posix_spawn and, where it is
 * hooked, every vfork.  An accepted socket recorded in an older
 * generation may have a copy in another process, so its close must stay
 * an ordinary close.
 */
uint32_t rb_fork_gen(void);
void rb_fork_gen_bump(void);
/* The counter itself: the vfork() hook bumps it without a call. */
extern _Atomic uint32_t rb_fork_generation
	__attribute__((visibility("hidden")));

/*
 * Is this process the one the descriptor table belongs to?  Not in a
 * vfork() child: it shares the parent's memory (and so its table) but no
 * atfork handler runs, and its closes must not touch the parent's
 * sockets or entries.  Where vfork() is hooked (RB_VFORK_HOOK) a thread
 * that has not called it since the last answer is told so without a
 * system call; otherwise, and after a vfork(), getpid() decides.  Use it
 * only for marked descriptors.
 */
bool rb_table_owner(void);

#ifdef RB_VFORK_HOOK
/* Set by the vfork() hook in the calling thread, whose thread-local
 * storage the child shares; cleared once the parent is back. */
extern __thread unsigned char rb_vfork_mark
	__attribute__((tls_model("initial-exec"), visibility("hidden")));
#endif

/* True where rb_table_owner() would say so without a system call. */
static inline bool rb_table_owner_free(void)
{
#ifdef RB_VFORK_HOOK
	return !rb_vfork_mark;
#else
	return false;
#endif
}

#endif
