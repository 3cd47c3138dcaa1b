#ifndef RB_SOCK_H
#define RB_SOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/fdtab.h"
#include "core/policy.h"
#include "shim/real.h"

/*
 * What rebind does to sockets, called from the hooks.  Every function
 * here keeps errno and is best effort: a failure leaves the socket as the
 * program made it.
 */

/* The socket's SO_COOKIE; false for anything that is not a socket. */
bool rb_sock_cookie(int fd, uint64_t *out);

/* fdtab entry for fd, only if it still describes the same socket (a
 * FRESH entry is taken as it stands). */
bool rb_sock_entry(int fd, struct rb_fdent *out);

/* socket() made fd: forget what the table said of that number, and mark
 * a plain TCP socket FRESH (before the table is mapped, the newest such
 * mark is kept aside). */
void rb_sock_created(int fd, int domain, int type, int protocol);

/*
 * fd is about to name another socket, or none: forget its entry.  True
 * when the table is this process's (the entry is gone).  In a vfork()
 * child, whose table is the parent's, only a FRESH mark goes, and false.
 * Only atomics, and getpid() where a vfork() may have happened: safe in
 * a signal handler.
 */
bool rb_sock_forget(int fd);

/* What rb_sock_listen() changed, for rb_sock_listen_failed(). */
struct rb_listen_undo {
	bool reuse;  /* SO_REUSEADDR was 0, set to 1 */
	bool linger; /* SO_LINGER was old_linger, set to {1,0} */
	struct linger old_linger;
	bool entry; /* the table held old for this socket */
	struct rb_fdent old;
	bool stored; /* a new entry was stored */
};

/* fd is about to listen: apply the policy for its port and record it
 * (what changed in u).  A descriptor beyond the table is left alone. */
void rb_sock_listen(const struct rb_real *r, int fd,
		    struct rb_listen_undo *u);

/* The listen() failed: put the socket and its entry back as they were
 * (a call that fails changes nothing). */
void rb_sock_listen_failed(const struct rb_real *r, int fd,
			   const struct rb_listen_undo *u);

/*
 * cfd was accepted from lfd: track it when its close may be reset.  gen
 * is the fork generation read before accept(): a fork while accept()
 * waited makes the connection count as shared.
 */
void rb_sock_accepted(const struct rb_real *r, int lfd, int cfd,
		      uint32_t gen);

/*
 * bind() of fd failed with EADDRINUSE: retry once with SO_REUSEADDR when
 * the policy allows.  Returns 0 when the retry bound the socket, else -1
 * with the option restored (the caller restores errno).
 */
int rb_sock_bind_retry(const struct rb_real *r, int fd,
		       const struct sockaddr *addr, socklen_t len);

/* The program set a socket option itself: remember it (its choice wins,
 * unless the policy says override). */
void rb_sock_user_option(const struct rb_real *r, int fd, int level,
			 int name);

/* A copy of fd now exists elsewhere: its close must be ordinary. */
void rb_sock_shared(int fd);

/*
 * fd is about to be closed (by close, close_range, dup2 onto it...).
 * Forgets it and, for a safe-abort connection, resets it when nothing
 * can be lost.  Only plain system calls: safe in a signal handler.
 */
void rb_sock_closing(const struct rb_real *r, int fd);

/* newfd is a copy of oldfd made by dup, dup2, dup3 or F_DUPFD. */
void rb_sock_duplicated(int oldfd, int newfd);

#endif
