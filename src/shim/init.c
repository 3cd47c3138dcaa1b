#include "config.h"

#include "shim/init.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/log.h"

enum { RB_IDLE, RB_RUNNING, RB_READY };

static _Atomic int state = RB_IDLE;
static struct rb_real libc;
static struct rb_policy policy;
static const struct rb_policy disabled = {.enabled = false};
static _Atomic uint32_t fork_gen;

static const char *env_get(const char *name)
{
	/* Set-uid programs must not take orders from their caller. */
#ifdef HAVE_SECURE_GETENV
	return secure_getenv(name);
#else
	return getenv(name);
#endif
}

static void on_fork(void)
{
	rb_fork_gen_bump();
}

static void init_policy(void)
{
	char err[RB_ERR_MAX];

	if (rb_policy_build(&policy, env_get, err, sizeof(err)) == 0) {
		rb_log_init(policy.log, STDERR_FILENO);
		return;
	}
	rb_log_init(policy.log, STDERR_FILENO);
	rb_log_msg(RB_LOG_ERROR, err, " (rebind is disabled)");
}

static void init_run(void)
{
	if (rb_real_resolve(&libc)) {
		policy = disabled;
		rb_log_init(RB_LOG_WARN, STDERR_FILENO);
		rb_log_msg(RB_LOG_ERROR, "libc lacks a socket function",
			   " (rebind is disabled)");
		return;
	}
	init_policy();
	if (policy.enabled && pthread_atfork(on_fork, NULL, NULL) != 0) {
		policy = disabled;
		rb_log_msg(RB_LOG_ERROR, "pthread_atfork failed",
			   " (rebind is disabled)");
	}
}

const struct rb_real *rb_real(void)
{
	int expected = RB_IDLE;

	if (atomic_load_explicit(&state, memory_order_acquire) == RB_READY)
		return &libc;
	if (atomic_compare_exchange_strong(&state, &expected, RB_RUNNING)) {
		init_run();
		atomic_store_explicit(&state, RB_READY, memory_order_release);
		return &libc;
	}
	return &rb_real_syscalls;
}

const struct rb_policy *rb_policy(void)
{
	if (atomic_load_explicit(&state, memory_order_acquire) == RB_READY)
		return &policy;
	return &disabled;
}

uint32_t rb_fork_gen(void)
{
	return atomic_load_explicit(&fork_gen, memory_order_relaxed);
}

void rb_fork_gen_bump(void)
{
	atomic_fetch_add_explicit(&fork_gen, 1, memory_order_relaxed);
}

__attribute__((constructor)) static void rb_init(void)
{
	(void)rb_real();
}
