#include "config.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/*
 * The floor any preload shim pays: the functions librebind wraps (the
 * same export list, src/shim/librebind.map, and the same link flags),
 * each bound once with dlsym(RTLD_NEXT) in a constructor and forwarded
 * with nothing else done (vfork: bench/passthrough_vfork.S, a bare jump
 * to libc's).  bench/run.sh compares librebind with this.
 *
 * A call that arrives before the constructor ran (from another
 * library's constructor) resolves the table first; that NULL test is
 * the only work a hook does besides the indirect call.
 */

#define PT_EXPORT __attribute__((visibility("default")))

typedef int (*pt_spawn_fn)(pid_t *, const char *,
			   const posix_spawn_file_actions_t *,
			   const posix_spawnattr_t *, char *const[],
			   char *const[]);

static struct {
	int (*socket)(int, int, int);
	int (*bind)(int, const struct sockaddr *, socklen_t);
	int (*listen)(int, int);
	int (*accept)(int, struct sockaddr *, socklen_t *);
	int (*accept4)(int, struct sockaddr *, socklen_t *, int);
	int (*setsockopt)(int, int, int, const void *, socklen_t);
	ssize_t (*sendmsg)(int, const struct msghdr *, int);
	int (*sendmmsg)(int, struct mmsghdr *, unsigned int, RB_SENDMMSG_FLAGS);
	int (*close)(int);
	int (*close_range)(unsigned int, unsigned int, int);
	void (*closefrom)(int);
	int (*dup)(int);
	int (*dup2)(int, int);
	int (*dup3)(int, int, int);
	int (*fcntl)(int, int, ...);
	int (*fcntl64)(int, int, ...);
	pt_spawn_fn posix_spawn;
	pt_spawn_fn posix_spawnp;
	pt_spawn_fn posix_spawn_old;
	pt_spawn_fn posix_spawnp_old;
	void *(*dlopen)(const char *, int);
	void *(*dlopen_old)(const char *, int);
	long (*syscall)(long, ...);
} pt;

/* Stores dlsym's answer in a function pointer of any type. */
static void sym(void *slot, const char *name)
{
	void *f = dlsym(RTLD_NEXT, name);

	memcpy(slot, &f, sizeof(f));
}

#ifdef HAVE_DLVSYM
/* The same for an older version of name (librebind hooks those too). */
static void vsym(void *slot, const char *name, const char *version)
{
	void *f = dlvsym(RTLD_NEXT, name, version);

	memcpy(slot, &f, sizeof(f));
}
#endif

__attribute__((constructor)) static void pt_init(void)
{
	sym(&pt.socket, "socket");
	sym(&pt.bind, "bind");
	sym(&pt.listen, "listen");
	sym(&pt.accept, "accept");
	sym(&pt.accept4, "accept4");
	sym(&pt.setsockopt, "setsockopt");
	sym(&pt.sendmsg, "sendmsg");
	sym(&pt.sendmmsg, "sendmmsg");
	sym(&pt.close_range, "close_range");
	sym(&pt.closefrom, "closefrom");
	sym(&pt.dup, "dup");
	sym(&pt.dup2, "dup2");
	sym(&pt.dup3, "dup3");
	sym(&pt.fcntl, "fcntl");
	sym(&pt.fcntl64, "fcntl64");
	sym(&pt.posix_spawn, "posix_spawn");
	sym(&pt.posix_spawnp, "posix_spawnp");
	sym(&pt.dlopen, "dlopen");
	sym(&pt.syscall, "syscall");
#ifdef RB_VER_POSIX_SPAWN_OLD
	vsym(&pt.posix_spawn_old, "posix_spawn", RB_VER_POSIX_SPAWN_OLD);
#endif
#ifdef RB_VER_POSIX_SPAWNP_OLD
	vsym(&pt.posix_spawnp_old, "posix_spawnp", RB_VER_POSIX_SPAWNP_OLD);
#endif
#ifdef RB_VER_DLOPEN_OLD
	vsym(&pt.dlopen_old, "dlopen", RB_VER_DLOPEN_OLD);
#endif
	/* Last: it is the readiness flag every hook tests. */
	sym(&pt.close, "close");
}

static void ready(void)
{
	if (__builtin_expect(pt.close == NULL, 0))
		pt_init();
}

PT_EXPORT int socket(int domain, int type, int protocol)
{
	ready();
	return pt.socket(domain, type, protocol);
}

PT_EXPORT int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	ready();
	return pt.bind(fd, addr, len);
}

PT_EXPORT int listen(int fd, int backlog)
{
	ready();
	return pt.listen(fd, backlog);
}

PT_EXPORT int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
	ready();
	return pt.accept(fd, addr, len);
}

PT_EXPORT int accept4(int fd, struct sockaddr *addr, socklen_t *len,
		      int flags)
{
	ready();
	return pt.accept4(fd, addr, len, flags);
}

PT_EXPORT int setsockopt(int fd, int level, int name, const void *value,
			 socklen_t len)
{
	ready();
	return pt.setsockopt(fd, level, name, value, len);
}

PT_EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	ready();
	return pt.sendmsg(fd, msg, flags);
}

PT_EXPORT int sendmmsg(int fd, struct mmsghdr *vec, unsigned int n,
		       RB_SENDMMSG_FLAGS flags)
{
	ready();
	return pt.sendmmsg(fd, vec, n, flags);
}

PT_EXPORT int close(int fd)
{
	ready();
	return pt.close(fd);
}

#ifdef HAVE_CLOSE_RANGE
PT_EXPORT int close_range(unsigned int first, unsigned int last, int flags)
{
	ready();
	return pt.close_range(first, last, flags);
}
#endif

#ifdef HAVE_CLOSEFROM
PT_EXPORT void closefrom(int lowfd)
{
	ready();
	pt.closefrom(lowfd);
}
#endif

PT_EXPORT int dup(int fd)
{
	ready();
	return pt.dup(fd);
}

PT_EXPORT int dup2(int oldfd, int newfd)
{
	ready();
	return pt.dup2(oldfd, newfd);
}

PT_EXPORT int dup3(int oldfd, int newfd, int flags)
{
	ready();
	return pt.dup3(oldfd, newfd, flags);
}

/* As in librebind: the third argument goes on as a pointer-sized value. */
PT_EXPORT int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	ready();
	return pt.fcntl(fd, cmd, arg);
}

#ifdef HAVE_FCNTL64
PT_EXPORT int fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	ready();
	return pt.fcntl64(fd, cmd, arg);
}
#endif

PT_EXPORT int posix_spawn(pid_t *pid, const char *path,
			  const posix_spawn_file_actions_t *fa,
			  const posix_spawnattr_t *attr, char *const argv[],
			  char *const envp[])
{
	ready();
	return pt.posix_spawn(pid, path, fa, attr, argv, envp);
}

PT_EXPORT int posix_spawnp(pid_t *pid, const char *file,
			   const posix_spawn_file_actions_t *fa,
			   const posix_spawnattr_t *attr, char *const argv[],
			   char *const envp[])
{
	ready();
	return pt.posix_spawnp(pid, file, fa, attr, argv, envp);
}

PT_EXPORT void *dlopen(const char *file, int mode)
{
	ready();
	return pt.dlopen(file, mode);
}

PT_EXPORT long syscall(long nr, ...)
{
	va_list ap;
	long a[6];

	va_start(ap, nr);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	ready();
	return pt.syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}

/* The older versions librebind exports beside the current ones. */
#ifdef RB_VER_POSIX_SPAWN_OLD
int rb_pt_spawn_old(pid_t *pid, const char *path,
		    const posix_spawn_file_actions_t *fa,
		    const posix_spawnattr_t *attr, char *const argv[],
		    char *const envp[]);
__asm__(".symver rb_pt_spawn_old, posix_spawn@" RB_VER_POSIX_SPAWN_OLD);
PT_EXPORT int rb_pt_spawn_old(pid_t *pid, const char *path,
			      const posix_spawn_file_actions_t *fa,
			      const posix_spawnattr_t *attr,
			      char *const argv[], char *const envp[])
{
	ready();
	return pt.posix_spawn_old(pid, path, fa, attr, argv, envp);
}
#endif

#ifdef RB_VER_POSIX_SPAWNP_OLD
int rb_pt_spawnp_old(pid_t *pid, const char *file,
		     const posix_spawn_file_actions_t *fa,
		     const posix_spawnattr_t *attr, char *const argv[],
		     char *const envp[]);
__asm__(".symver rb_pt_spawnp_old, posix_spawnp@" RB_VER_POSIX_SPAWNP_OLD);
PT_EXPORT int rb_pt_spawnp_old(pid_t *pid, const char *file,
			       const posix_spawn_file_actions_t *fa,
			       const posix_spawnattr_t *attr,
			       char *const argv[], char *const envp[])
{
	ready();
	return pt.posix_spawnp_old(pid, file, fa, attr, argv, envp);
}
#endif

#ifdef RB_VER_DLOPEN_OLD
void *rb_pt_dlopen_old(const char *file, int mode);
__asm__(".symver rb_pt_dlopen_old, dlopen@" RB_VER_DLOPEN_OLD);
PT_EXPORT void *rb_pt_dlopen_old(const char *file, int mode)
{
	ready();
	return pt.dlopen_old(file, mode);
}
#endif
