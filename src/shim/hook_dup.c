#include "config.h"

/* This file defines libc's names: it must see them as declared without
 * _TIME_BITS=64 / _FILE_OFFSET_BITS=64, which redirect them to
 * __setsockopt64, fcntl64 and the like (Debian armhf builds with both). */
#undef _TIME_BITS
#undef _FILE_OFFSET_BITS

#include <fcntl.h>
#include <stdarg.h>
#include <unistd.h>

#include "shim/init.h"
#include "shim/sock.h"

/*
 * A copy of a descriptor shares the socket: the copy inherits what rebind
 * knows, and a connection with two descriptors never gets safe-abort.
 * dup2/dup3 onto an open descriptor close it implicitly; that close is
 * ordinary (the call may still fail, and then nothing was closed).
 */

RB_EXPORT int dup(int fd)
{
	int nfd = rb_real()->dup(fd);

	if (nfd >= 0)
		rb_sock_duplicated(fd, nfd);
	return nfd;
}

RB_EXPORT int dup2(int oldfd, int newfd)
{
	int ret = rb_real()->dup2(oldfd, newfd);

	if (ret >= 0 && oldfd != newfd)
		rb_sock_duplicated(oldfd, ret);
	return ret;
}

RB_EXPORT int dup3(int oldfd, int newfd, int flags)
{
	int ret = rb_real()->dup3(oldfd, newfd, flags);

	if (ret >= 0)
		rb_sock_duplicated(oldfd, ret);
	return ret;
}

static int after_fcntl(int fd, int cmd, int ret)
{
	if (ret >= 0 && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC))
		rb_sock_duplicated(fd, ret);
	return ret;
}

/* The third argument's type depends on cmd; like libc, pass it on as a
 * pointer-sized value. */
RB_EXPORT int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	return after_fcntl(fd, cmd, rb_real()->fcntl(fd, cmd, arg));
}

/* Programs built with _FILE_OFFSET_BITS=64 call this name instead. */
RB_EXPORT int fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	return after_fcntl(fd, cmd, rb_real()->fcntl64(fd, cmd, arg));
}

#ifdef HAVE___FCNTL_TIME64
/* 32-bit programs built with _TIME_BITS=64 call fcntl64 by this name. */
int rb_fcntl_time64(int fd, int cmd, ...) __asm__("__fcntl_time64");
RB_EXPORT int rb_fcntl_time64(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	return after_fcntl(fd, cmd, rb_real()->fcntl_time64(fd, cmd, arg));
}
#endif

#ifdef RB_VER_FCNTL_OLD
/* Programs linked against the old fcntl (32-bit glibc before 2.28) get
 * it: it took the struct flock64 commands, the current one does not. */
int rb_fcntl_old(int fd, int cmd, ...);
__asm__(".symver rb_fcntl_old, fcntl@" RB_VER_FCNTL_OLD);
RB_EXPORT int rb_fcntl_old(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	return after_fcntl(fd, cmd, rb_real()->fcntl_old(fd, cmd, arg));
}
#endif
