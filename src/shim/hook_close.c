#include "config.h"

#include <errno.h>
#include <linux/close_range.h>
#include <unistd.h>

#include "core/fdtab.h"
#include "shim/hold.h"
#include "shim/init.h"
#include "shim/sock.h"

/*
 * The close path: no malloc, no stdio, no locks, no logging at the
 * default level.  Daemons call it for every descriptor in a loop and
 * from signal handlers.  The real function is called exactly once.
 */

RB_EXPORT int close(int fd)
{
	const struct rb_real *r = rb_real();

	/* Forget fd before closing: once the real close returns, another
	 * thread may get this number back from socket() and we would
	 * wipe its entry. */
	if (rb_fdtab_flags(fd))
		rb_sock_closing(r, fd);
	if (rb_hold_pending())
		rb_hold_closing(r, fd);
	return r->close(fd);
}

static void closing_range(const struct rb_real *r, unsigned int first,
			  unsigned int last)
{
	unsigned int end = rb_fdtab_end();

	if (last < end)
		end = last + 1;
	for (unsigned int fd = first; fd < end; fd++) {
		if (rb_fdtab_flags((int)fd))
			rb_sock_closing(r, (int)fd);
	}
}

RB_EXPORT int close_range(unsigned int first, unsigned int last, int flags)
{
	const struct rb_real *r = rb_real();
	const int known = CLOSE_RANGE_CLOEXEC | CLOSE_RANGE_UNSHARE;

	/* Only a call that will close something may touch the sockets:
	 * one the kernel rejects closes nothing.  With UNSHARE the table
	 * is copied first, so other tasks keep every socket: not a last
	 * close, and the copy itself may fail. */
	if (first <= last && !(flags & ~known) &&
	    !(flags & (CLOSE_RANGE_CLOEXEC | CLOSE_RANGE_UNSHARE)))
		closing_range(r, first, last);
	return rb_hold_close_range(r, first, last, flags);
}

/* glibc closes everything from 0 when lowfd is negative: so do we. */
RB_EXPORT void closefrom(int lowfd)
{
	const struct rb_real *r = rb_real();
	int low = lowfd < 0 ? 0 : lowfd;

	closing_range(r, (unsigned int)low, ~0U);
	rb_hold_closefrom(r, low);
}
