#ifndef RB_REAL_H
#define RB_REAL_H

#include <spawn.h>
#include <sys/socket.h>
#include <sys/types.h>

/*
 * The functions rebind wraps, as libc provides them.  Until the library
 * has resolved them with dlsym(RTLD_NEXT), rb_real() hands out a table of
 * raw system calls instead (posix_spawn and dlopen, which have none, are
 * looked up on the spot), so a call that arrives during initialisation still does the
 * right thing.
 */

typedef int (*rb_socket_fn)(int, int, int);
typedef int (*rb_bind_fn)(int, const struct sockaddr *, socklen_t);
typedef int (*rb_listen_fn)(int, int);
typedef int (*rb_accept_fn)(int, struct sockaddr *, socklen_t *);
typedef int (*rb_accept4_fn)(int, struct sockaddr *, socklen_t *, int);
typedef int (*rb_setsockopt_fn)(int, int, int, const void *, socklen_t);
typedef ssize_t (*rb_sendmsg_fn)(int, const struct msghdr *, int);
#ifndef RB_SENDMMSG_FLAGS /* configure: unsigned int with musl */
#define RB_SENDMMSG_FLAGS int
#endif
typedef int (*rb_sendmmsg_fn)(int, struct mmsghdr *, unsigned int,
			      RB_SENDMMSG_FLAGS);
typedef int (*rb_close_fn)(int);
typedef int (*rb_close_range_fn)(unsigned int, unsigned int, int);
typedef void (*rb_closefrom_fn)(int);
typedef int (*rb_dup_fn)(int);
typedef int (*rb_dup2_fn)(int, int);
typedef int (*rb_dup3_fn)(int, int, int);
typedef int (*rb_fcntl_fn)(int, int, ...);
typedef int (*rb_spawn_fn)(pid_t *, const char *,
			   const posix_spawn_file_actions_t *,
			   const posix_spawnattr_t *, char *const[],
			   char *const[]);
typedef void *(*rb_dlopen_fn)(const char *, int);
typedef long (*rb_syscall_fn)(long, ...);

struct rb_real {
	rb_socket_fn socket;
	rb_bind_fn bind;
	rb_listen_fn listen;
	rb_accept_fn accept;
	rb_accept4_fn accept4;
	rb_setsockopt_fn setsockopt;
	rb_sendmsg_fn sendmsg;
	rb_sendmmsg_fn sendmmsg;
	rb_close_fn close;
	rb_close_range_fn close_range; /* NULL: libc has none */
	rb_closefrom_fn closefrom;     /* NULL: libc has none */
	rb_dup_fn dup;
	rb_dup2_fn dup2;
	rb_dup3_fn dup3;
	rb_fcntl_fn fcntl;
	rb_fcntl_fn fcntl64;
	rb_spawn_fn posix_spawn;
	rb_spawn_fn posix_spawnp;
	rb_dlopen_fn dlopen;
	/*
	 * Older versions of the names above, for programs linked against
	 * them: configure names them (RB_VER_*_OLD) when libc has one.
	 */
	rb_spawn_fn posix_spawn_old;
	rb_spawn_fn posix_spawnp_old;
	rb_fcntl_fn fcntl_old;
	rb_dlopen_fn dlopen_old;
	/* 32-bit libc's names for programs built with _TIME_BITS=64. */
	rb_setsockopt_fn setsockopt64;
	rb_fcntl_fn fcntl_time64;
	rb_sendmsg_fn sendmsg64;
	rb_sendmmsg_fn sendmmsg64;
};

/* Resolve every entry of *out; returns -1 when a required one is missing. */
int rb_real_resolve(struct rb_real *out);

/*
 * libc's syscall(), which librebind's own export would shadow: at hand
 * before initialisation too (looked up then, on first use).
 */
rb_syscall_fn rb_real_syscall(void);

/* The raw system call table used before initialisation. */
extern const struct rb_real rb_real_syscalls;

#endif
