#include "config.h"

#include "shim/init.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/conf.h"
#include "core/log.h"
#include "shim/hold.h"
#include "shim/names.h"

/*
 * Two stages, so that a program that never listens pays for nothing but
 * the loader's mapping of the library (issue 13):
 *
 * - at load (the constructor, or the first hook if another library's
 *   constructor comes first): the libc table, the environment, the fork
 *   handlers.  No system call.
 * - at first use, when a socket first needs the policy (rb_policy(): the
 *   first listen(), accept(), bind() retry or option the program sets,
 *   never a close): the config file, the program's names, descriptor 2,
 *   and the one line about a bad setting.
 */

_Atomic int rb_init_state = RB_IDLE;
struct rb_real rb_libc;
static _Atomic int policy_state = RB_IDLE;
/* This thread is building the policy: a signal handler that runs a hook
 * meanwhile must not wait for itself. */
static __thread bool policy_mine __attribute__((tls_model("initial-exec")));
static struct rb_policy policy;
static struct rb_conf conf;
static const struct rb_policy disabled = {.enabled = false};
static const char *load_error; /* found at load, reported at first use */
static char load_error_buf[RB_ERR_MAX];
_Atomic uint32_t rb_fork_generation;
static _Atomic pid_t owner; /* the process whose memory this is */

/* Every REBIND_* variable's value, REBIND_CONFIG's, and what systemd
 * passes for holding listeners (after env_name()'s REBIND_CONFIG). */
static const char *const sd_env[] = {"REBIND_CONFIG", "NOTIFY_SOCKET",
				     "LISTEN_PID", "LISTEN_FDS",
				     "LISTEN_FDNAMES"};
#define RB_ENV_N   (RB_KEY_N + sizeof(sd_env) / sizeof(sd_env[0]))
#define RB_ENV_MAX 8192
static char env_text[RB_ENV_MAX];
static const char *env_value[RB_ENV_N];

static const char *env_live(const char *name)
{
	/* Set-uid programs must not take orders from their caller. */
#ifdef HAVE_SECURE_GETENV
	return secure_getenv(name);
#else
	return getenv(name);
#endif
}

static const char *env_name(unsigned i)
{
	return i < RB_KEY_N ? rb_key_env((enum rb_key)i) : sd_env[i - RB_KEY_N];
}

/*
 * A daemon may clear its environment, or write its process title over
 * it, before its first listen(): copy the values now.
 */
static void env_keep(void)
{
	size_t used = 0;

	for (unsigned i = 0; i < RB_ENV_N; i++) {
		const char *v = env_live(env_name(i));
		size_t n = v ? strlen(v) + 1 : 0;

		if (n > sizeof(env_text) - used) {
			(void)snprintf(load_error_buf, sizeof(load_error_buf),
				       "%s: value too long", env_name(i));
			load_error = load_error_buf;
		} else if (v) {
			memcpy(env_text + used, v, n);
			env_value[i] = env_text + used;
			used += n;
		}
	}
}

/* The environment as it was at load. */
static const char *env_get(const char *name)
{
	for (unsigned i = 0; i < RB_ENV_N; i++) {
		if (strcmp(name, env_name(i)) == 0)
			return env_value[i];
	}
	return env_live(name); /* not one env_keep() knows */
}

/*
 * Everything rebind takes from the environment is read here, at load,
 * and kept: what needs a variable later (at first use) reads the copy.
 */
static void load_environment(void)
{
	env_keep();
}

static void on_fork(void)
{
	rb_fork_gen_bump();
}

static void on_fork_child(void)
{
	int running = RB_RUNNING;

	rb_fork_gen_bump();
	/* Another thread was building the policy: it does not exist in
	 * the child, which builds its own when it needs it. */
	if (!policy_mine)
		(void)atomic_compare_exchange_strong(&policy_state, &running,
						     RB_IDLE);
	/* Only a table with entries needs its owner: no getpid() in the
	 * children of a process that never used a socket. */
	if (atomic_load(&policy_state) == RB_READY && policy.enabled)
		atomic_store_explicit(&owner, getpid(), memory_order_relaxed);
#ifdef RB_VFORK_HOOK
	/* A child of fork() is no vfork() child, whatever the parent's
	 * thread had not yet cleared. */
	rb_vfork_mark = 0;
#endif
}

static void init_load(void)
{
	if (rb_real_resolve(&rb_libc))
		load_error = "libc lacks a socket function";
	load_environment();
	/* Now, not at first use: a fork while another thread builds the
	 * policy must reset it in the child. */
	if (pthread_atfork(on_fork, on_fork, on_fork_child) != 0 &&
	    !load_error)
		load_error = "pthread_atfork failed";
}

static void init_run(void)
{
	int saved = errno;

	init_load();
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
		/* Listeners systemd passed must be known before the program
		 * can close them blindly: no waiting for first use there. */
		if (env_get("LISTEN_FDS"))
			(void)rb_policy();
		return &rb_libc;
	}
	return &rb_real_syscalls;
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

/* Only [program] sections need the names (a readlink and the args). */
static bool names_needed(const struct rb_conf *c)
{
	for (unsigned i = 0; i < c->n; i++) {
		if (c->sec[i].kind == RB_SEC_PROGRAM ||
		    c->sec[i].kind == RB_SEC_PROGRAM_PORT)
			return true;
	}
	return false;
}

static int first_error(char *err)
{
	if (load_error)
		(void)snprintf(err, RB_ERR_MAX, "%s", load_error);
	return load_error ? -1 : 0;
}

static void init_policy(void)
{
	char err[RB_ERR_MAX] = "";
	char spare[RB_ERR_MAX] = "";
	const struct rb_conf *c = NULL;
	struct rb_names names = {0};
	int bad = first_error(err) || load_conf(&c, err);
	pid_t pid;

	if (!bad && c && names_needed(c))
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
	if (!policy.enabled)
		return;
	pid = getpid();
	atomic_store_explicit(&owner, pid, memory_order_relaxed);
	rb_hold_init(&policy, env_get, (long)pid);
}

/* Another thread is building the policy (a file read): wait for it, up
 * to a second, rather than treat this socket as if rebind were off. */
static bool policy_wait(void)
{
	const struct timespec ms = {.tv_sec = 0, .tv_nsec = 1000000};

	for (int i = 0; i < 1000; i++) {
		if (atomic_load_explicit(&policy_state,
					 memory_order_acquire) == RB_READY)
			return true;
		(void)nanosleep(&ms, NULL);
	}
	return false;
}

static const struct rb_policy *policy_slow(void)
{
	int expected = RB_IDLE;
	int saved;

	/* Before the load stage is done, or inside our own build (a
	 * signal handler): rebind is off for this call. */
	if (atomic_load_explicit(&rb_init_state, memory_order_acquire) !=
		    RB_READY ||
	    policy_mine)
		return &disabled;
	policy_mine = true;
	if (!atomic_compare_exchange_strong(&policy_state, &expected,
					    RB_RUNNING)) {
		policy_mine = false;
		return policy_wait() ? &policy : &disabled;
	}
	saved = errno;
	init_policy();
	errno = saved;
	atomic_store_explicit(&policy_state, RB_READY, memory_order_release);
	policy_mine = false;
	return &policy;
}

const struct rb_policy *rb_policy(void)
{
	if (atomic_load_explicit(&policy_state, memory_order_acquire) ==
	    RB_READY)
		return &policy;
	return policy_slow();
}

uint32_t rb_fork_gen(void)
{
	return atomic_load_explicit(&rb_fork_generation, memory_order_relaxed);
}

void rb_fork_gen_bump(void)
{
	atomic_fetch_add_explicit(&rb_fork_generation, 1, memory_order_relaxed);
}

#ifdef __GLIBC__
/* glibc passes the program's arguments to constructors: copy them
 * before the program can write its process title over them. */
__attribute__((constructor)) static void rb_init(int argc, char **argv)
{
	rb_shim_keep_args(argc, argv);
	(void)rb_real();
}
#else
/* musl passes none: the names come from /proc/self/cmdline. */
__attribute__((constructor)) static void rb_init(void)
{
	(void)rb_real();
}
#endif

#ifdef RB_VFORK_HOOK
__thread unsigned char rb_vfork_mark;

bool rb_table_owner(void)
{
	if (!rb_vfork_mark)
		return true;
	/* The child keeps the mark until it execs or exits. */
	if (getpid() != atomic_load_explicit(&owner, memory_order_relaxed))
		return false;
	rb_vfork_mark = 0;
	return true;
}
#else
bool rb_table_owner(void)
{
	return getpid() ==
	       atomic_load_explicit(&owner, memory_order_relaxed);
}
#endif
