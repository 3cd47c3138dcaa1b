#include "config.h"

#include "shim/sock.h"

#include <errno.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <stddef.h>

#include "core/log.h"
#include "shim/init.h"

/* The kernel's TCP state numbers (tcpi_state): an ABI shared with
 * sock_diag.  linux/tcp.h has the full struct tcp_info but not these,
 * and netinet/tcp.h, which has them, lacks the fields used below. */
enum { RB_ESTABLISHED = 1, RB_FIN_WAIT1 = 4, RB_FIN_WAIT2 = 5 };

/* tcp_info up to tcpi_bytes_received (Linux 4.1): an older kernel fills
 * less, and then no close is reset. */
#define RB_TCPI_NEED                                                          \
	(offsetof(struct tcp_info, tcpi_bytes_received) +                     \
	 sizeof(((struct tcp_info *)0)->tcpi_bytes_received))

/*
 * May this connection be reset once the peer has acknowledged our FIN?
 * One TCP_INFO read:
 * - the peer has sent us something, so its program has certainly seen
 *   the connection.  A client still in a non-blocking connect() it has
 *   not looked at would find a reset there as a failed connect (SO_ERROR
 *   EPIPE), with the server's greeting unread in its queue;
 * - ESTABLISHED, or FIN_WAIT1 or FIN_WAIT2 after the program's own
 *   shutdown(SHUT_WR).  In CLOSE_WAIT the peer closed first and no
 *   TIME_WAIT is left here anyway.
 * Nothing else needs asking.  Data still unsent or in flight is safe: the
 * reset waits for the acknowledgement of the FIN, which comes after all
 * of it.  Data the program left unread makes the kernel's close() a reset
 * with or without rebind.
 */
static bool resettable(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0 ||
	    len < RB_TCPI_NEED || ti.tcpi_bytes_received == 0)
		return false;
	return ti.tcpi_state == RB_ESTABLISHED ||
	       ti.tcpi_state == RB_FIN_WAIT1 || ti.tcpi_state == RB_FIN_WAIT2;
}

/*
 * TCP_LINGER2 = -1 right before the last close we know of: the close
 * sends the FIN as usual, the peer reads everything and a clean EOF, and
 * the kernel resets the connection once the peer has acknowledged that
 * FIN (and everything before it), so no TIME_WAIT is left: at once in
 * close() when the ACK is already back (FIN_WAIT2), else from the
 * orphaned socket when it arrives.  A reset never overtakes a FIN still
 * in flight (the peer would lose its EOF if that FIN were lost), and
 * close() never waits for the round trip.  The cookie is read last, only
 * for a connection about to be reset: a stale entry (libc closed the
 * socket where no hook saw it) must not reset another socket.
 */
static void safe_abort(const struct rb_real *r, int fd, uint64_t cookie)
{
	const int never = -1;
	uint64_t now;

	if (!resettable(fd) || !rb_sock_cookie(fd, &now) || now != cookie)
		return;
	if (r->setsockopt(fd, IPPROTO_TCP, TCP_LINGER2, &never,
			  sizeof(never)) == 0)
		rb_log_msg(RB_LOG_DEBUG, "safe-abort: FIN, RST once acknowledged",
			   NULL);
}

void rb_sock_closing(const struct rb_real *r, int fd)
{
	struct rb_fdent e;
	int saved;

	/* A vfork() child (or a thread that called vfork() before rebind
	 * knew its own pid) acts on nothing. */
	if (!rb_fdtab_get(fd, &e) || !rb_sock_forget(fd))
		return;
	if (!(e.flags & RB_FD_SAFE_ABORT) || e.gen != rb_fork_gen())
		return;
	saved = errno;
	safe_abort(r, fd, e.cookie);
	errno = saved;
}
