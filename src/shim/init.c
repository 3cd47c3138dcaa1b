#include "config.h"

#include "shim/init.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/conf.h"
#include "core/log.h"
#include "shim/hold.h"
#include "shim/names.h"

_Atomic int rb_init_state = RB_IDLE;
struct rb_real rb_libc;
static struct rb_policy policy;
static struct rb_conf conf;
static const struct rb_policy disabled = {.enabled = false};
static _Atomic uint32_t fork_gen;
static _Atomic pid_t owner; /* the process whose memory this is */

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

static void on_fork_child(void)
{
	rb_fork_gen_bump();
	atomic_store_explicit(&owner, getpid(), memory_order_relaxed);
}

/* The library keeps only the first error: one line, then it stands by. */
static void keep_first(void *ctx, const char *msg)
{
	char *err = ctx;

	if (err[0] == '\0')
		(void)snprintf(err, RB_ERR_MAX, "%s", msg);
}

/*
 * REBIND_CONFIG names the file (an error if it is missing), else the
 * system file is read if it exists.  Returns -1 after an error in err.
 */
static int load_conf(const struct rb_conf **out, char *err)
{
	bool named;
	const char *path = rb_conf_path(env_get, &named);
	enum rb_conf_status st = rb_conf_load(&conf, path, named, keep_first,
					      err);

	*out = st == RB_CONF_OK ? &conf : NULL;
	return st == RB_CONF_OK || st == RB_CONF_ABSENT ? 0 : -1;
}

static void init_policy(void)
{
	char err[RB_ERR_MAX] = "";
	char spare[RB_ERR_MAX] = "";
	const struct rb_conf *c;
	struct rb_names names = {0};
	int bad = load_conf(&c, err);

	if (!bad && c)
		rb_shim_names(&names);
	/* Built even after a bad file: REBIND_LOG says whether to tell. */
	if (rb_policy_build(&policy, env_get, c, &names, bad ? spare : err,
			    sizeof(err)) != 0)
		bad = 1;
	if (bad)
		policy.enabled = false;
	rb_log_init(policy.log, STDERR_FILENO);
	if (bad)
		rb_log_msg(RB_LOG_ERROR, err, " (rebind is disabled)");
}

static void init_all(void)
{
	if (rb_real_resolve(&rb_libc)) {
		policy = disabled;
		rb_log_init(RB_LOG_WARN, STDERR_FILENO);
		rb_log_msg(RB_LOG_ERROR, "libc lacks a socket function",
			   " (rebind is disabled)");
		return;
	}
	init_policy();
	/* Bumped before, and on both sides after: a connection another
	 * thread accepts while fork() runs must count as shared too. */
	atomic_store_explicit(&owner, getpid(), memory_order_relaxed);
	if (policy.enabled &&
	    pthread_atfork(on_fork, on_fork, on_fork_child) != 0) {
		policy = disabled;
		rb_log_msg(RB_LOG_ERROR, "pthread_atfork failed",
			   " (rebind is disabled)");
	}
	rb_hold_init(&rb_libc, &policy, env_get);
}

static void init_run(void)
{
	int saved = errno;

	init_all();
	errno = saved;
}

const struct rb_real *rb_real_slow(void)
{
	int expected = RB_IDLE;

	if (atomic_load_explicit(&rb_init_state, memory_order_acquire) ==
	    RB_READY)
		return &rb_libc;
	if (atomic_compare_exchange_strong(&rb_init_state, &expected,
					   RB_RUNNING)) {
		init_run();
		atomic_store_explicit(&rb_init_state, RB_READY,
				      memory_order_release);
		return &rb_libc;
	}
	return &rb_real_syscalls;
}

const struct rb_policy *rb_policy(void)
{
	if (atomic_load_explicit(&rb_init_state, memory_order_acquire) ==
	    RB_READY)
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

/* glibc passes the program's arguments to constructors. */
__attribute__((constructor)) static void rb_init(int argc, char **argv)
{
	rb_shim_set_args(argc, argv);
	(void)rb_real();
}

bool rb_table_owner(void)
{
	return getpid() ==
	       atomic_load_explicit(&owner, memory_order_relaxed);
}
