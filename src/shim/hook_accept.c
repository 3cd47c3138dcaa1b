#include "config.h"

#include <sys/socket.h>

#include "shim/hold.h"
#include "shim/init.h"
#include "shim/sock.h"

RB_EXPORT int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
	const struct rb_real *r = rb_real();
	uint32_t gen = rb_fork_gen();
	int cfd;

	if (rb_hold_pending())
		rb_hold_accepting(r, fd);
	cfd = r->accept(fd, addr, len);

	if (cfd >= 0)
		rb_sock_accepted(r, fd, cfd, gen);
	return cfd;
}

RB_EXPORT int accept4(int fd, struct sockaddr *addr, socklen_t *len,
		      int flags)
{
	const struct rb_real *r = rb_real();
	uint32_t gen = rb_fork_gen();
	int cfd;

	if (rb_hold_pending())
		rb_hold_accepting(r, fd);
	cfd = r->accept4(fd, addr, len, flags);

	if (cfd >= 0)
		rb_sock_accepted(r, fd, cfd, gen);
	return cfd;
}
