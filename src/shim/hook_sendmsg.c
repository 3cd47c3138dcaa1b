#include "config.h"

/* This file defines libc's names: it must see them as declared without
 * _TIME_BITS=64 / _FILE_OFFSET_BITS=64, which redirect them to
 * __setsockopt64, fcntl64 and the like (Debian armhf builds with both). */
#undef _TIME_BITS
#undef _FILE_OFFSET_BITS

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "shim/init.h"
#include "shim/sock.h"

/*
 * A descriptor passed with SCM_RIGHTS has a copy in the receiving
 * process, so closing ours must not reset the connection.  Marked after
 * a send that succeeded, so only headers the kernel has read already are
 * read here: a bad pointer gets the kernel's EFAULT, never a crash in
 * rebind.  The descriptor cannot be closed in between but by another
 * thread racing its own send.
 */
static void note_fds(const char *data, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int fd;

		memcpy(&fd, data + i * sizeof(int), sizeof(fd));
		rb_sock_shared(fd);
	}
}

/* Walks the control buffer by hand: CMSG_NXTHDR wants it writable. */
static void note_rights(const struct msghdr *m)
{
	const char *p = m ? m->msg_control : NULL;
	size_t left = p ? m->msg_controllen : 0;
	struct cmsghdr c;

	while (left >= sizeof(c)) {
		memcpy(&c, p, sizeof(c));
		if (c.cmsg_len < CMSG_LEN(0) || c.cmsg_len > left)
			return;
		if (c.cmsg_level == SOL_SOCKET && c.cmsg_type == SCM_RIGHTS)
			note_fds(p + CMSG_LEN(0),
				 (c.cmsg_len - CMSG_LEN(0)) / sizeof(int));
		if (CMSG_ALIGN(c.cmsg_len) >= left)
			return;
		p += CMSG_ALIGN(c.cmsg_len);
		left -= CMSG_ALIGN(c.cmsg_len);
	}
}

static ssize_t noted_sendmsg(rb_sendmsg_fn real, int fd,
			     const struct msghdr *msg, int flags)
{
	ssize_t ret = real(fd, msg, flags);
	int saved = errno;

	if (ret >= 0)
		note_rights(msg);
	errno = saved;
	return ret;
}

/* Only the first ret messages were sent. */
static int noted_sendmmsg(rb_sendmmsg_fn real, int fd, struct mmsghdr *vec,
			  unsigned int n, RB_SENDMMSG_FLAGS flags)
{
	int ret = real(fd, vec, n, flags);
	int saved = errno;

	for (int i = 0; i < ret; i++)
		note_rights(&vec[i].msg_hdr);
	errno = saved;
	return ret;
}

RB_EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	return noted_sendmsg(rb_real()->sendmsg, fd, msg, flags);
}

RB_EXPORT int sendmmsg(int fd, struct mmsghdr *vec, unsigned int n,
		       RB_SENDMMSG_FLAGS flags)
{
	return noted_sendmmsg(rb_real()->sendmmsg, fd, vec, n, flags);
}

/* 32-bit programs built with _TIME_BITS=64 call these names. */
#ifdef HAVE___SENDMSG64
ssize_t rb_sendmsg64(int fd, const struct msghdr *msg, int flags) __asm__(
	"__sendmsg64");
RB_EXPORT ssize_t rb_sendmsg64(int fd, const struct msghdr *msg, int flags)
{
	return noted_sendmsg(rb_real()->sendmsg64, fd, msg, flags);
}
#endif

#ifdef HAVE___SENDMMSG64
int rb_sendmmsg64(int fd, struct mmsghdr *vec, unsigned int n,
		  int flags) __asm__("__sendmmsg64");
RB_EXPORT int rb_sendmmsg64(int fd, struct mmsghdr *vec, unsigned int n,
			    int flags)
{
	return noted_sendmmsg(rb_real()->sendmmsg64, fd, vec, n, flags);
}
#endif
