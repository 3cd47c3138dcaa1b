#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "probe.h"

/*
 * Built with _TIME_BITS=64 and _FILE_OFFSET_BITS=64 (Makefile.am).  On a
 * 32-bit target glibc then redirects setsockopt, fcntl, sendmsg and
 * sendmmsg to __setsockopt64, __fcntl_time64, __sendmsg64 and
 * __sendmmsg64, and rebind must see those calls too; on a 64-bit one
 * the names stay and the same checks hold.
 *
 *   time64_probe linger: a listener on which the program set SO_LINGER
 *     {1,5} before listen(); prints the value it has after listen().
 *     Under REBIND_LINGER=abort rebind must leave it alone.
 *   time64_probe dupfd: an accepted connection copied with
 *     fcntl(F_DUPFD), the original closed, one byte sent through the
 *     copy; prints what the send returned and what the client read.
 *     Under REBIND_LINGER=safe-abort the close must not end it.
 */

static int own_linger(void)
{
	struct linger lg = {.l_onoff = 1, .l_linger = 5};
	struct sockaddr_in a = probe_loopback(0);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	socklen_t len = sizeof(lg);

	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, len) < 0 ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 4) < 0)
		return 99;
	memset(&lg, 0, sizeof(lg));
	if (getsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, &len) < 0)
		return 99;
	printf("listener linger=%d,%d\n", lg.l_onoff, lg.l_linger);
	return 0;
}

static int dupfd(void)
{
	int lfd = probe_listener(0);
	int c = lfd < 0 ? -1 : probe_connect(probe_port(lfd, false));
	int s = c < 0 ? -1 : accept(lfd, NULL, NULL);
	int copy = s < 0 ? -1 : fcntl(s, F_DUPFD, 0);
	char buf[4];
	ssize_t n;
	ssize_t m;

	if (copy < 0 || close(s) < 0)
		return 99;
	n = send(copy, "y", 1, MSG_NOSIGNAL);
	printf("send through the copy: %zd %s\n", n,
	       n < 0 ? strerror(errno) : "ok");
	if (close(copy) < 0)
		return 99;
	n = recv(c, buf, sizeof(buf), 0);
	m = n < 0 ? -1 : recv(c, buf, sizeof(buf), 0);
	printf("client got %zd then %zd\n", n, m);
	return 0;
}

int main(int argc, char **argv)
{
	int ret = 99;

	if (argc == 2 && strcmp(argv[1], "linger") == 0)
		ret = own_linger();
	else if (argc == 2 && strcmp(argv[1], "dupfd") == 0)
		ret = dupfd();
	if (fflush(stdout) != 0)
		ret = 99;
	return ret;
}
