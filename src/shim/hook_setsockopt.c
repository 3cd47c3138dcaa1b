#include "config.h"

/* This file defines libc's names: it must see them as declared without
 * _TIME_BITS=64 / _FILE_OFFSET_BITS=64, which redirect them to
 * __setsockopt64, fcntl64 and the like (Debian armhf builds with both). */
#undef _TIME_BITS
#undef _FILE_OFFSET_BITS

#include <sys/socket.h>

#include "shim/init.h"
#include "shim/sock.h"

/* Always passed through unchanged; rebind only takes note. */
static int noted(const struct rb_real *r, rb_setsockopt_fn real, int fd,
		 int level, int name, const void *value, socklen_t len)
{
	int ret = real(fd, level, name, value, len);

	if (ret == 0)
		rb_sock_user_option(r, fd, level, name);
	return ret;
}

RB_EXPORT int setsockopt(int fd, int level, int name, const void *value,
			 socklen_t len)
{
	const struct rb_real *r = rb_real();

	return noted(r, r->setsockopt, fd, level, name, value, len);
}

#ifdef HAVE___SETSOCKOPT64
/* 32-bit programs built with _TIME_BITS=64 call setsockopt by this name:
 * the program's own SO_LINGER must be seen there too. */
int rb_setsockopt64(int fd, int level, int name, const void *value,
		    socklen_t len) __asm__("__setsockopt64");
RB_EXPORT int rb_setsockopt64(int fd, int level, int name, const void *value,
			      socklen_t len)
{
	const struct rb_real *r = rb_real();

	return noted(r, r->setsockopt64, fd, level, name, value, len);
}
#endif
