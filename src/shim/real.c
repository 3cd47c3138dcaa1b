#include "config.h"

#include "shim/real.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static int sys_socket(int domain, int type, int protocol)
{
	return (int)syscall(SYS_socket, domain, type, protocol);
}

static int sys_bind(int fd, const struct sockaddr *a, socklen_t len)
{
	return (int)syscall(SYS_bind, fd, a, len);
}

static int sys_listen(int fd, int backlog)
{
	return (int)syscall(SYS_listen, fd, backlog);
}

static int sys_accept4(int fd, struct sockaddr *a, socklen_t *len, int flags)
{
	return (int)syscall(SYS_accept4, fd, a, len, flags);
}

static int sys_accept(int fd, struct sockaddr *a, socklen_t *len)
{
	return sys_accept4(fd, a, len, 0);
}

static int sys_setsockopt(int fd, int level, int name, const void *v,
			  socklen_t len)
{
	return (int)syscall(SYS_setsockopt, fd, level, name, v, len);
}

static ssize_t sys_sendmsg(int fd, const struct msghdr *m, int flags)
{
	return syscall(SYS_sendmsg, fd, m, flags);
}

static int sys_sendmmsg(int fd, struct mmsghdr *v, unsigned int n,
			RB_SENDMMSG_FLAGS flags)
{
	return (int)syscall(SYS_sendmmsg, fd, v, n, flags);
}

static int sys_close(int fd)
{
	return (int)syscall(SYS_close, fd);
}

static int sys_close_range(unsigned int first, unsigned int last, int flags)
{
#ifdef SYS_close_range
	return (int)syscall(SYS_close_range, first, last, flags);
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
	return (int)syscall(SYS_dup, fd);
}

static int sys_dup3(int oldfd, int newfd, int flags)
{
	return (int)syscall(SYS_dup3, oldfd, newfd, flags);
}

static int sys_dup2(int oldfd, int newfd)
{
	/* dup3 refuses oldfd == newfd; dup2 returns it if it is open. */
	if (oldfd == newfd)
		return syscall(SYS_fcntl, oldfd, F_GETFD) < 0 ? -1 : newfd;
	return sys_dup3(oldfd, newfd, 0);
}

static int sys_fcntl(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	return (int)syscall(SYS_fcntl, fd, cmd, arg);
}

/*
 * posix_spawn has no system call: look it up here (a call during
 * initialisation is rare, and posix_spawn is not signal-safe anyway).
 */
static rb_spawn_fn lookup_spawn(const char *name)
{
	void *p = dlsym(RTLD_NEXT, name);
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
	rb_spawn_fn f = lookup_spawn("posix_spawn");

	return f ? f(pid, path, fa, attr, argv, envp) : ENOSYS;
}

static int sys_spawnp(pid_t *pid, const char *file,
		      const posix_spawn_file_actions_t *fa,
		      const posix_spawnattr_t *attr, char *const argv[],
		      char *const envp[])
{
	rb_spawn_fn f = lookup_spawn("posix_spawnp");

	return f ? f(pid, file, fa, attr, argv, envp) : ENOSYS;
}

/* Nor has dlopen.  RTLD_NEXT from librebind never finds its own hook, so
 * this cannot call itself. */
static void *sys_dlopen(const char *file, int mode)
{
	void *p = dlsym(RTLD_NEXT, "dlopen");
	rb_dlopen_fn f = NULL;

	if (p)
		memcpy(&f, &p, sizeof(f));
	return f ? f(file, mode) : NULL;
}

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
	.fcntl64 = sys_fcntl,
	.posix_spawn = sys_spawn,
	.posix_spawnp = sys_spawnp,
	.dlopen = sys_dlopen,
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

int rb_real_resolve(struct rb_real *out)
{
	int ret = 0;

	/* A symbol libc lacks keeps its system call stand-in. */
	*out = rb_real_syscalls;
	for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
		void *f = dlsym(RTLD_NEXT, syms[i].name);

		if (f)
			memcpy((char *)out + syms[i].offset, &f, sizeof(f));
		else if (syms[i].required)
			ret = -1;
	}
	return ret;
}
