#include "config.h"

#include <errno.h>
#include <sys/socket.h>

#include "shim/hold.h"
#include "shim/init.h"
#include "shim/sock.h"

RB_EXPORT int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	const struct rb_real *r = rb_real();
	int saved = errno;
	int ret;

	/* A listener systemd passed back takes the place of the socket. */
	if (rb_hold_pending() && rb_hold_claim(r, fd, addr, len) == 0)
		return 0;
	ret = r->bind(fd, addr, len);
	if (ret == 0 || errno != EADDRINUSE)
		return ret;
	if (rb_sock_bind_retry(r, fd, addr, len) == 0 ||
	    (rb_hold_pending() && rb_hold_bind_retry(r, fd, addr, len) == 0)) {
		errno = saved;
		return 0;
	}
	errno = EADDRINUSE;
	return -1;
}

/* Options go on before the real call, so that no connection is
 * accepted without them; a call that fails gets them taken back. */
RB_EXPORT int listen(int fd, int backlog)
{
	const struct rb_real *r = rb_real();
	struct rb_listen_undo undo;
	int ret;

	rb_sock_listen(r, fd, &undo);
	ret = r->listen(fd, backlog);
	if (ret == 0)
		rb_hold_listen(r, fd);
	else
		rb_sock_listen_failed(r, fd, &undo);
	return ret;
}
