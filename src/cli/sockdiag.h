#ifndef RB_SOCKDIAG_H
#define RB_SOCKDIAG_H

#include <linux/inet_diag.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * What the kernel tells about the TCP sockets on a port: sock_diag
 * (NETLINK_SOCK_DIAG) for the sockets, /proc for their processes.
 * Functions that talk to the kernel return 0 or -errno.
 */

/* One TCP socket as a sock_diag dump shows it. */
struct rb_diag_sock {
	int family;		    /* AF_INET or AF_INET6 */
	unsigned state;		    /* TCP_LISTEN, TCP_TIME_WAIT, ... */
	struct inet_diag_sockid id; /* as dumped: SOCK_DESTROY names it so */
	uint32_t uid;
	uint32_t inode;	     /* 0 for a TIME_WAIT entry */
	uint32_t expires_ms; /* time left on its timer */
	int v6only;	     /* IPV6_V6ONLY of an IPv6 socket: 1, 0, -1 unknown */
};

typedef void (*rb_diag_fn)(void *ctx, const struct rb_diag_sock *s);

/* A NETLINK_SOCK_DIAG socket, or -errno. */
int rb_diag_open(void);

/* Calls fn for each TCP socket of family in states (bits 1 << TCP_*). */
int rb_diag_dump(int nl, int family, uint32_t states, rb_diag_fn fn, void *ctx);

/*
 * SOCK_DESTROY the socket s names by addresses, ports and cookie, so
 * never another one.  -ENOENT: it is gone already.
 */
int rb_diag_destroy(int nl, const struct rb_diag_sock *s);

/* The local port, in host order. */
unsigned rb_diag_port(const struct rb_diag_sock *s);

/* The local address as text: "127.0.0.1", "::1". */
void rb_diag_addr(const struct rb_diag_sock *s, char *buf, size_t len);

#define RB_OWNERS_MAX 8

struct rb_owner {
	pid_t pid;
	int fd;	       /* the socket's descriptor in pid */
	char comm[32]; /* /proc/PID/comm */
	int rebind;    /* librebind.so mapped: 1, 0, -1 unknown */
	bool systemd;  /* a systemd manager (PID 1 or systemd --user) */
};

struct rb_owners {
	unsigned n;  /* processes found; the first RB_OWNERS_MAX in o */
	bool denied; /* a /proc/PID/fd could not be read: n may be short */
	pid_t systemd; /* a systemd manager among all n, else 0 */
	unsigned daemons; /* of all n, the processes that are not one */
	struct rb_owner o[RB_OWNERS_MAX];
};

/* A socket whose processes rb_diag_owners() looks up. */
struct rb_diag_want {
	uint32_t inode;
	struct rb_owners *own; /* filled in */
	pid_t last;	       /* rb_diag_owners()'s own */
};

/*
 * The processes that hold each socket of w (/proc/PID/fd), in one walk
 * over /proc whatever n is.  Sorts w by inode.
 */
void rb_diag_owners(struct rb_diag_want *w, size_t n);

/*
 * SO_REUSEADDR of descriptor fd in pid, which must be the socket with
 * this inode: 1 or 0, -1 when it cannot be read (pidfd_getfd needs the
 * right to ptrace pid).  It reads a copy of the descriptor, open for
 * the few system calls between pidfd_getfd() and close(): if pid closes
 * the socket just then, the socket lives on until that close.
 */
int rb_diag_reuseaddr(pid_t pid, int fd, uint32_t inode);

/*
 * Bind a throwaway socket of family to addr (4 or 16 bytes, network
 * order) and port with SO_REUSEADDR, as rebind would, and close it: 0
 * when it binds, else the errno; -1 when the family is unavailable.
 * v6only: IPV6_V6ONLY for AF_INET6.  While it is bound, a bind without
 * SO_REUSEADDR to an overlapping address fails.
 */
int rb_diag_trial_bind(int family, const void *addr, unsigned port,
		       int v6only);

#endif
