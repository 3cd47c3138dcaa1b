#include "config.h"

#include "shim/real.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/*
 * librebind exports syscall(), so a call to syscall() from here would
 * reach its own hook.  The stand-ins below and the syscall hook reach
 * libc's through this pointer; rb_real_resolve() looks it up first,
 * and a stand-in that runs before that (another thread, in that
 * instant) looks it up itself and may wait for the loader's lock while
 * the first lookup runs: never for rebind.
 */
static _Atomic rb_syscall_fn libc_syscall;

rb_syscall_fn rb_real_syscall(void)
{
	rb_syscall_fn f = atomic_load_explicit(&libc_syscall,
					       memory_order_acquire);
	void *p;

	if (f)
		return f;
	p = dlsym(RTLD_NEXT, "syscall");
	memcpy(&f, &p, sizeof(f));
	atomic_store_explicit(&libc_syscall, f, memory_order_release);
	return f;
}

static int sys_socket(int domain, int type, int protocol)
{
	return (int)rb_real_syscall()(SYS_socket, domain, type, protocol);
}

static int sys_bind(int fd, const struct sockaddr *a, socklen_t len)
{
	return (int)rb_real_syscall()(SYS_bind, fd, a, len);
}

static int sys_listen(int fd, int backlog)
{
	return (int)rb_real_syscall()(SYS_listen, fd, backlog);
}

static int sys_accept4(int fd, struct sockaddr *a, socklen_t *len, int flags)
{
	return (int)rb_real_syscall()(SYS_accept4, fd, a, len, flags);
}

static int sys_accept(int fd, struct sockaddr *a, socklen_t *len)
{
	return sys_accept4(fd, a, len, 0);
}

static int sys_setsockopt(int fd, int level, int name, const void *v,
			  socklen_t len)
{
	return (int)rb_real_syscall()(SYS_setsockopt, fd, level, name, v, len);
}

static ssize_t sys_sendmsg(int fd, const struct msghdr *m, int flags)
{
	return rb_real_syscall()(SYS_sendmsg, fd, m, flags);
}

static int sys_sendmmsg(int fd, struct mmsghdr *v, unsigned int n,
			RB_SENDMMSG_FLAGS flags)
{
	return (int)rb_real_syscall()(SYS_sendmmsg, fd, v, n, flags);
}

static int sys_close(int fd)
{
	return (int)rb_real_syscall()(SYS_close, fd);
}

static int sys_close_range(unsigned int first, unsigned int last, int flags)
{
#ifdef SYS_close_range
	return (int)rb_real_syscall()(SYS_close_range, first, last, flags);
#else
	(void)first, (void)last, (void)flags;
	errno = ENOSYS;
	return -1;
#endif
}

static void sys_closefrom(int lowfd)
{
	(void)sys_close_range((unsigned int)lowfd, ~0U, 0);
}

static int sys_dup(int fd)
{
	return (int)rb_real_syscall()(SYS_dup, fd);
}

static int sys_dup3(int oldfd, int newfd, int flags)
{
	return (int)rb_real_syscall()(SYS_dup3, oldfd, newfd, flags);
}

static int sys_dup2(int oldfd, int newfd)
{
	/* dup3 refuses oldfd == newfd; dup2 returns it if it is open. */
	if (oldfd == newfd)
		return rb_real_syscall()(SYS_fcntl, oldfd, F_GETFD) < 0 ? -1 : newfd;
	return sys_dup3(oldfd, newfd, 0);
}

static int sys_fcntl(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	return (int)rb_real_syscall()(SYS_fcntl, fd, cmd, arg);
}

/* On 32-bit targets fcntl64 takes the struct flock64 commands. */
static int sys_fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
#ifdef SYS_fcntl64
	return (int)rb_real_syscall()(SYS_fcntl64, fd, cmd, arg);
#else
	return (int)rb_real_syscall()(SYS_fcntl, fd, cmd, arg);
#endif
}

/*
 * posix_spawn has no system call: look it up here (a call during
 * initialisation is rare, and posix_spawn is not signal-safe anyway).
 */
/* The next object's name at version (its default one for NULL). */
static void *lookup(const char *name, const char *version)
{
	if (!version)
		return dlsym(RTLD_NEXT, name);
#ifdef HAVE_DLVSYM
	return dlvsym(RTLD_NEXT, name, version);
#else
	return NULL; /* no versions without dlvsym: never asked */
#endif
}

static rb_spawn_fn lookup_spawn(const char *name, const char *version)
{
	void *p = lookup(name, version);
	rb_spawn_fn f = NULL;

	if (p)
		memcpy(&f, &p, sizeof(f));
	return f;
}

static int sys_spawn(pid_t *pid, const char *path,
		     const posix_spawn_file_actions_t *fa,
		     const posix_spawnattr_t *attr, char *const argv[],
		     char *const envp[])
{
	rb_spawn_fn f = lookup_spawn("posix_spawn", NULL);

	return f ? f(pid, path, fa, attr, argv, envp) : ENOSYS;
}

static int sys_spawnp(pid_t *pid, const char *file,
		      const posix_spawn_file_actions_t *fa,
		      const posix_spawnattr_t *attr, char *const argv[],
		      char *const envp[])
{
	rb_spawn_fn f = lookup_spawn("posix_spawnp", NULL);

	return f ? f(pid, file, fa, attr, argv, envp) : ENOSYS;
}

/* Nor has dlopen.  RTLD_NEXT from librebind never finds its own hook, so
 * this cannot call itself. */
static void *dlopen_version(const char *version, const char *file, int mode)
{
	void *p = lookup("dlopen", version);
	rb_dlopen_fn f = NULL;

	if (p)
		memcpy(&f, &p, sizeof(f));
	return f ? f(file, mode) : NULL;
}

static void *sys_dlopen(const char *file, int mode)
{
	return dlopen_version(NULL, file, mode);
}

#ifdef RB_VER_POSIX_SPAWN_OLD
static int sys_spawn_old(pid_t *pid, const char *path,
			 const posix_spawn_file_actions_t *fa,
			 const posix_spawnattr_t *attr, char *const argv[],
			 char *const envp[])
{
	rb_spawn_fn f = lookup_spawn("posix_spawn", RB_VER_POSIX_SPAWN_OLD);

	return f ? f(pid, path, fa, attr, argv, envp) : ENOSYS;
}
#else
#define sys_spawn_old NULL
#endif

#ifdef RB_VER_POSIX_SPAWNP_OLD
static int sys_spawnp_old(pid_t *pid, const char *file,
			  const posix_spawn_file_actions_t *fa,
			  const posix_spawnattr_t *attr, char *const argv[],
			  char *const envp[])
{
	rb_spawn_fn f = lookup_spawn("posix_spawnp", RB_VER_POSIX_SPAWNP_OLD);

	return f ? f(pid, file, fa, attr, argv, envp) : ENOSYS;
}
#else
#define sys_spawnp_old NULL
#endif

#ifdef RB_VER_DLOPEN_OLD
static void *sys_dlopen_old(const char *file, int mode)
{
	return dlopen_version(RB_VER_DLOPEN_OLD, file, mode);
}
#else
#define sys_dlopen_old NULL
#endif

const struct rb_real rb_real_syscalls = {
	.socket = sys_socket,
	.bind = sys_bind,
	.listen = sys_listen,
	.accept = sys_accept,
	.accept4 = sys_accept4,
	.setsockopt = sys_setsockopt,
	.sendmsg = sys_sendmsg,
	.sendmmsg = sys_sendmmsg,
	.close = sys_close,
	.close_range = sys_close_range,
	.closefrom = sys_closefrom,
	.dup = sys_dup,
	.dup2 = sys_dup2,
	.dup3 = sys_dup3,
	.fcntl = sys_fcntl,
	.fcntl64 = sys_fcntl64,
	.posix_spawn = sys_spawn,
	.posix_spawnp = sys_spawnp,
	.dlopen = sys_dlopen,
	.posix_spawn_old = sys_spawn_old,
	.posix_spawnp_old = sys_spawnp_old,
	/* The old fcntl took the struct flock64 commands too. */
	.fcntl_old = sys_fcntl64,
	.setsockopt64 = sys_setsockopt,
	.fcntl_time64 = sys_fcntl64,
	.sendmsg64 = sys_sendmsg,
	.sendmmsg64 = sys_sendmmsg,
	.dlopen_old = sys_dlopen_old,
};

struct rb_sym {
	const char *name;
	size_t offset;
	bool required;
};

#define RB_SYM(field, req) {#field, offsetof(struct rb_real, field), req}

static const struct rb_sym syms[] = {
	RB_SYM(socket, true),	    RB_SYM(bind, true),
	RB_SYM(listen, true),	    RB_SYM(accept, true),
	RB_SYM(accept4, true),	    RB_SYM(setsockopt, true),
	RB_SYM(sendmsg, true),	    RB_SYM(sendmmsg, true),
	RB_SYM(close, true),	    RB_SYM(close_range, false),
	RB_SYM(closefrom, false),   RB_SYM(dup, true),
	RB_SYM(dup2, true),	    RB_SYM(dup3, true),
	RB_SYM(fcntl, true),	    RB_SYM(fcntl64, false),
	RB_SYM(posix_spawn, true),  RB_SYM(posix_spawnp, true),
	RB_SYM(dlopen, false),
};

#define RB_SYM_AS(field, name) {name, offsetof(struct rb_real, field), false}

/* libc's names for programs built with _TIME_BITS=64 (32-bit only).
 * Only those configure found: a dlsym() that fails allocates its
 * error message, and a program that never listens must not pay that. */
static const struct rb_sym time64_syms[] = {
#ifdef HAVE___SETSOCKOPT64
	RB_SYM_AS(setsockopt64, "__setsockopt64"),
#endif
#ifdef HAVE___FCNTL_TIME64
	RB_SYM_AS(fcntl_time64, "__fcntl_time64"),
#endif
#ifdef HAVE___SENDMSG64
	RB_SYM_AS(sendmsg64, "__sendmsg64"),
#endif
#ifdef HAVE___SENDMMSG64
	RB_SYM_AS(sendmmsg64, "__sendmmsg64"),
#endif
	{NULL, 0, false},
};

static void set_fn(struct rb_real *out, size_t offset, void *f)
{
	if (f)
		memcpy((char *)out + offset, &f, sizeof(f));
}

struct rb_vsym {
	const char *name;
	const char *version;
	size_t offset;
};

/* The old versions configure found in libc (see libc_versions.sh). */
static const struct rb_vsym old_syms[] = {
#ifdef RB_VER_POSIX_SPAWN_OLD
	{"posix_spawn", RB_VER_POSIX_SPAWN_OLD,
	 offsetof(struct rb_real, posix_spawn_old)},
#endif
#ifdef RB_VER_POSIX_SPAWNP_OLD
	{"posix_spawnp", RB_VER_POSIX_SPAWNP_OLD,
	 offsetof(struct rb_real, posix_spawnp_old)},
#endif
#ifdef RB_VER_FCNTL_OLD
	{"fcntl", RB_VER_FCNTL_OLD, offsetof(struct rb_real, fcntl_old)},
#endif
#ifdef RB_VER_DLOPEN_OLD
	{"dlopen", RB_VER_DLOPEN_OLD, offsetof(struct rb_real, dlopen_old)},
#endif
	{NULL, NULL, 0},
};

/* The current versions stand in for what libc lacks. */
static void resolve_extra(struct rb_real *out)
{
	for (const struct rb_sym *t = time64_syms; t->name; t++)
		set_fn(out, t->offset, dlsym(RTLD_NEXT, t->name));
	for (const struct rb_vsym *v = old_syms; v->name; v++)
		set_fn(out, v->offset, lookup(v->name, v->version));
}

int rb_real_resolve(struct rb_real *out)
{
	int ret = 0;

	/* A symbol libc lacks keeps its system call stand-in. */
	*out = rb_real_syscalls;
	(void)rb_real_syscall();
	for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
		void *f = dlsym(RTLD_NEXT, syms[i].name);

		if (f)
			memcpy((char *)out + syms[i].offset, &f, sizeof(f));
		else if (syms[i].required)
			ret = -1;
	}
	resolve_extra(out);
	return ret;
}
