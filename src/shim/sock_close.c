#include "config.h"

#include "shim/sock.h"

#include <errno.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>

#include "core/log.h"
#include "shim/init.h"

/*
 * Would a reset lose anything?  Nothing unread, nothing unsent or
 * unacknowledged, and we are the side that closes first (in CLOSE_WAIT
 * the peer closed first and no TIME_WAIT will be left here anyway).
 * After the program's own shutdown(SHUT_WR), SIOCOUTQ counts the FIN as
 * one byte until the peer acknowledges it: TCP_INFO's state tells that
 * FIN apart from a byte of data.
 */
static bool nothing_to_lose(int fd, bool *fin_sent)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	int inq = -1;
	int outq = -1;

	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0)
		return false;
	if (ti.tcpi_state != TCP_ESTABLISHED &&
	    ti.tcpi_state != TCP_FIN_WAIT1 && ti.tcpi_state != TCP_FIN_WAIT2)
		return false;
	*fin_sent = ti.tcpi_state != TCP_ESTABLISHED;
	if (ioctl(fd, SIOCINQ, &inq) != 0 || inq != 0)
		return false;
	if (ioctl(fd, SIOCOUTQ, &outq) != 0)
		return false;
	return outq == (ti.tcpi_state == TCP_FIN_WAIT1 ? 1 : 0);
}

/*
 * Has our FIN left (or been acknowledged)?  A FIN merely queued, because
 * the peer's window is full, would be thrown away with the reset and the
 * peer would never see its EOF.  With no data outstanding, any packet in
 * flight is the FIN.
 */
static bool fin_out(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0)
		return false;
	return ti.tcpi_state == TCP_FIN_WAIT2 ||
	       (ti.tcpi_state == TCP_FIN_WAIT1 && ti.tcpi_unacked > 0);
}

/*
 * FIN first, so the peer reads everything and then a clean EOF; then
 * linger {1,0}, so the close that follows sends RST and leaves no
 * TIME_WAIT.  The option is set only here, right before the last close
 * we know of: a socket never carries linger {1,0} into an exit().
 */
static void safe_abort(const struct rb_real *r, int fd, uint64_t cookie)
{
	const struct linger lg = {.l_onoff = 1, .l_linger = 0};
	uint64_t now;
	bool fin_sent = false;

	if (!rb_sock_cookie(fd, &now) || now != cookie ||
	    !nothing_to_lose(fd, &fin_sent))
		return;
	if (!fin_sent && shutdown(fd, SHUT_WR) != 0)
		return;
	if (fin_out(fd) &&
	    r->setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) == 0)
		rb_log_msg(RB_LOG_DEBUG, "safe-abort: FIN then RST", NULL);
}

void rb_sock_closing(const struct rb_real *r, int fd)
{
	struct rb_fdent e;
	int saved;

	if (!rb_fdtab_get(fd, &e) || !rb_table_owner())
		return;
	rb_fdtab_clear(fd);
	if (!(e.flags & RB_FD_SAFE_ABORT) || e.gen != rb_fork_gen())
		return;
	saved = errno;
	safe_abort(r, fd, e.cookie);
	errno = saved;
}
