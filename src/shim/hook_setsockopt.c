#include "config.h"

#include <sys/socket.h>

#include "shim/init.h"
#include "shim/sock.h"

/* Always passed through unchanged; rebind only takes note. */
RB_EXPORT int setsockopt(int fd, int level, int name, const void *value,
			 socklen_t len)
{
	const struct rb_real *r = rb_real();
	int ret = r->setsockopt(fd, level, name, value, len);

	if (ret == 0)
		rb_sock_user_option(r, fd, level, name);
	return ret;
}
