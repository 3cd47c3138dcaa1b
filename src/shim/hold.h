#ifndef RB_HOLD_H
#define RB_HOLD_H

#include <stdbool.h>
#include <sys/socket.h>

#include "core/policy.h"
#include "shim/real.h"

/*
 * Listeners that outlive the process in systemd (issue 12): claiming
 * the ones systemd passes back (LISTEN_FDS), storing new ones in its fd
 * store (REBIND_HOLD=systemd), giving up those nobody claims.  Every
 * function keeps errno.
 */

/*
 * At start-up, with the frozen policy: note the passed descriptors that
 * are TCP listeners on covered ports (claimable) and where systemd
 * listens for notifications.  get reads the environment; pid is the
 * process's own (LISTEN_PID names the process the descriptors are for).
 */
void rb_hold_init(const struct rb_policy *p, rb_getenv_fn get, long pid);

/* Is a passed listener still unclaimed?  One atomic load: hooks ask
 * this first, the close path included. */
bool rb_hold_pending(void);

/*
 * bind(fd, addr): when a passed listener has exactly addr, put it in
 * place of fd (same number, fd's flags and options) and return 0;
 * otherwise -1 and nothing changed.
 */
int rb_hold_claim(const struct rb_real *r, int fd,
		  const struct sockaddr *addr, socklen_t len);

/*
 * bind(fd, addr) failed with EADDRINUSE: give up the passed listeners on
 * addr's port and bind again, for up to a second while systemd drops its
 * copies.  Returns 0 once fd is bound, else -1 (the caller sets errno).
 */
int rb_hold_bind_retry(const struct rb_real *r, int fd,
		       const struct sockaddr *addr, socklen_t len);

/* fd listens now: hand a copy to systemd's fd store if the policy says
 * so, once per socket, never one systemd passed. */
void rb_hold_listen(const struct rb_real *r, int fd);

/* The program accepts on lfd: give up the passed listeners it did not
 * claim; if lfd is one of them, it uses LISTEN_FDS itself: stand by. */
void rb_hold_accepting(const struct rb_real *r, int lfd);

/*
 * The close path (plain system calls only).  A passed listener the
 * program closes blindly is moved to another number first;
 * close_range() and closefrom() skip it.
 */
void rb_hold_closing(const struct rb_real *r, int fd);
int rb_hold_close_range(const struct rb_real *r, unsigned int first,
			unsigned int last, int flags);
void rb_hold_closefrom(const struct rb_real *r, int lowfd);

#endif
