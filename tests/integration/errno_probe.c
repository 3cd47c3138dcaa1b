#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "probe.h"

/*
 * Prints, one line per case, what an intercepted call returned and what
 * errno was afterwards.  errno.sh runs it with and without the library
 * and wants the same output: rebind must not change any call's result or
 * errno.  Before each call errno is set to a sentinel (EDOM, which none
 * of these calls produce), so "errno=EDOM" after a success means the
 * call left errno alone, as libc does.
 *
 * Nothing printed depends on the run: no port numbers, no descriptor
 * numbers (a returned descriptor prints as "fd").
 *
 * With --shim-check it prints only the SO_REUSEADDR of a listening socket
 * (1 under rebind's default policy, 0 without it), so errno.sh can tell
 * that the library was really loaded.  With --retry it prints only the
 * case whose result rebind changes on purpose (see retry_check).
 */

#define SENTINEL EDOM
#define BIGFD    600 /* numbers for dup2 targets: never printed */

struct ename {
	int num;
	const char *name;
};

static const struct ename enames[] = {
        {0, "0"},
        {EDOM, "EDOM"},
        {EBADF, "EBADF"},
        {EINVAL, "EINVAL"},
        {ENOTSOCK, "ENOTSOCK"},
        {EADDRINUSE, "EADDRINUSE"},
        {EADDRNOTAVAIL, "EADDRNOTAVAIL"},
        {ENOPROTOOPT, "ENOPROTOOPT"},
        {EOPNOTSUPP, "EOPNOTSUPP"},
        {EAFNOSUPPORT, "EAFNOSUPPORT"},
        {EPROTONOSUPPORT, "EPROTONOSUPPORT"},
        {ESOCKTNOSUPPORT, "ESOCKTNOSUPPORT"},
        {EAGAIN, "EAGAIN"},
        {ENOENT, "ENOENT"},
        {EPIPE, "EPIPE"},
        {ECONNRESET, "ECONNRESET"},
        {EISCONN, "EISCONN"},
        {ENOTCONN, "ENOTCONN"},
        {EMFILE, "EMFILE"},
        {EFAULT, "EFAULT"},
        {EPERM, "EPERM"},
        {ENOSYS, "ENOSYS"},
};

static const char *ename(int e)
{
	static char buf[32];

	for (size_t i = 0; i < sizeof(enames) / sizeof(enames[0]); i++)
		if (enames[i].num == e)
			return enames[i].name;
	(void)snprintf(buf, sizeof(buf), "E#%d", e);
	return buf;
}

/* Set the sentinel; the call under test comes right after. */
static void arm(void)
{
	errno = SENTINEL;
}

/* A call returning a number: print it as is. */
static void show(const char *what, long ret)
{
	int e = errno;

	printf("%s ret=%ld errno=%s\n", what, ret, ename(e));
}

/* A call returning a descriptor: print "fd", never its number. */
static void show_fd(const char *what, int ret)
{
	int e = errno;

	if (ret >= 0)
		printf("%s ret=fd errno=%s\n", what, ename(e));
	else
		printf("%s ret=%d errno=%s\n", what, ret, ename(e));
}

/* dup2/dup3 onto a chosen number: did it return that number? */
static void show_onto(const char *what, int ret, int want)
{
	int e = errno;

	if (ret >= 0)
		printf("%s ret=%s errno=%s\n", what,
		       ret == want ? "newfd" : "otherfd", ename(e));
	else
		printf("%s ret=%d errno=%s\n", what, ret, ename(e));
}

/* Functions returning an error number (posix_spawn) */
static void show_err(const char *what, int ret)
{
	int e = errno;

	printf("%s ret=%s errno=%s\n", what, ename(ret), ename(e));
}

static _Noreturn void setup_failed(const char *what)
{
	printf("setup failed: %s: %s\n", what, strerror(errno));
	exit(99);
}

static int tcp_socket(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		setup_failed("socket");
	return fd;
}

static struct sockaddr_in local_addr(int fd)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);

	if (getsockname(fd, (struct sockaddr *)&a, &len) < 0)
		setup_failed("getsockname");
	return a;
}

/* A TCP listener on 127.0.0.1, port chosen by the kernel. */
static int tcp_listener(int type_flags)
{
	int fd = probe_listener(type_flags);

	if (fd < 0)
		setup_failed("listener");
	return fd;
}

/* A descriptor number that was just valid and is now closed; high, so
 * that later descriptors do not take the number back. */
static int closed_fd(void)
{
	int fd = fcntl(0, F_DUPFD, BIGFD - 20);

	if (fd < 0 || close(fd) < 0)
		setup_failed("closed_fd");
	return fd;
}

/* An address no one may read: one page mapped with PROT_NONE.  The
 * kernel answers EFAULT where a program passes it; so must the shim. */
static void *unreadable(void)
{
	static void *page;

	if (!page) {
		page = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
		            -1, 0);
		if (page == MAP_FAILED)
			setup_failed("mmap");
	}
	return page;
}

static int get_reuse(int fd)
{
	int v = probe_int(fd, SOL_SOCKET, SO_REUSEADDR);

	if (v < 0)
		setup_failed("getsockopt SO_REUSEADDR");
	return v;
}

static void case_close(const int pipefd[2])
{
	int bad = closed_fd();
	int w = dup(pipefd[1]);

	arm();
	show("close(-1)", close(-1));
	arm();
	show("close(closed fd)", close(bad));
	arm();
	show("close(pipe fd)", close(w));
	arm();
	show("close(same pipe fd again)", close(w));
}

/* Two sockets that do not listen: the second bind must still fail. */
static void case_bind_client(void)
{
	struct sockaddr_in any = probe_loopback(0);
	struct sockaddr_in used;
	int c1 = tcp_socket();
	int c2 = tcp_socket();

	if (bind(c1, (struct sockaddr *)&any, sizeof(any)) < 0)
		setup_failed("bind");
	used = local_addr(c1);
	arm();
	show("bind(port of a bound socket)",
	     bind(c2, (struct sockaddr *)&used, sizeof(used)));
	printf("SO_REUSEADDR after that failed bind=%d\n", get_reuse(c2));
	(void)close(c1);
	(void)close(c2);
}

static void case_bind(const int pipefd[2], int lfd)
{
	struct sockaddr_in used = local_addr(lfd);
	struct sockaddr_in any = probe_loopback(0);
	int s = tcp_socket();
	int bad = closed_fd();
	int other = tcp_socket();

	arm();
	show("bind(port of a listener)",
	     bind(s, (struct sockaddr *)&used, sizeof(used)));
	printf("SO_REUSEADDR after that failed bind=%d\n", get_reuse(s));
	arm();
	show("bind(port 0)", bind(s, (struct sockaddr *)&any, sizeof(any)));
	arm();
	show("bind(again, bound socket)",
	     bind(s, (struct sockaddr *)&any, sizeof(any)));
	arm();
	show("bind(pipe fd)",
	     bind(pipefd[0], (struct sockaddr *)&any, sizeof(any)));
	arm();
	show("bind(closed fd)",
	     bind(bad, (struct sockaddr *)&any, sizeof(any)));
	arm();
	show("bind(short address)", bind(other, (struct sockaddr *)&any, 4));
	case_bind_client();
	arm();
	show("listen(bound socket)", listen(s, 4));
	arm();
	show("close(listener)", close(s));
}

static void case_listen_accept(const int pipefd[2], int lfd)
{
	int bound = tcp_socket();
	struct sockaddr_in any = probe_loopback(0);
	int nb = tcp_listener(SOCK_NONBLOCK | SOCK_CLOEXEC);
	int bad = closed_fd();

	if (bind(bound, (struct sockaddr *)&any, sizeof(any)) < 0)
		setup_failed("bind");
	arm();
	show("listen(pipe fd)", listen(pipefd[0], 4));
	arm();
	show("listen(closed fd)", listen(bad, 4));
	arm();
	show_fd("accept(pipe fd)", accept(pipefd[0], NULL, NULL));
	arm();
	show_fd("accept4(pipe fd)", accept4(pipefd[0], NULL, NULL, 0));
	arm();
	show_fd("accept(closed fd)", accept(bad, NULL, NULL));
	arm();
	show_fd("accept(not listening)", accept(bound, NULL, NULL));
	arm();
	show_fd("accept4(bad flags)", accept4(lfd, NULL, NULL, 0x12345));
	arm();
	show_fd("accept4(nonblocking, none pending)",
	        accept4(nb, NULL, NULL, SOCK_CLOEXEC));
	(void)close(bound);
	(void)close(nb);
}

static void case_setsockopt(const int pipefd[2], int lfd)
{
	int one = 1;
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	int s = tcp_socket();
	int bad = closed_fd();

	arm();
	show("setsockopt(bad level)",
	     setsockopt(lfd, 12345, 1, &one, sizeof(one)));
	arm();
	show("setsockopt(SOL_TCP, bad name)",
	     setsockopt(lfd, IPPROTO_TCP, 12345, &one, sizeof(one)));
	arm();
	show("setsockopt(closed fd)",
	     setsockopt(bad, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)));
	arm();
	show("setsockopt(pipe fd)", setsockopt(pipefd[0], SOL_SOCKET,
	                                       SO_REUSEADDR, &one, sizeof(one)));
	arm();
	show("setsockopt(SO_LINGER, short)",
	     setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, 1));
	arm();
	show("setsockopt(SO_REUSEADDR=1)",
	     setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)));
	arm();
	show("setsockopt(SO_LINGER={1,0})",
	     setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)));
	arm();
	show("close(socket with own linger)", close(s));
}

static void case_dup_bad(void)
{
	int bad = closed_fd();

	arm();
	show_fd("dup(closed fd)", dup(bad));
	arm();
	show_fd("dup2(closed fd)", dup2(bad, BIGFD));
	arm();
	show_fd("dup3(closed fd)", dup3(bad, BIGFD, 0));
	arm();
	show_fd("fcntl(closed fd, F_DUPFD)", fcntl(bad, F_DUPFD, 0));
	arm();
	show_fd("fcntl(closed fd, F_DUPFD_CLOEXEC)",
	        fcntl(bad, F_DUPFD_CLOEXEC, 0));
	arm();
	show_fd("dup(-1)", dup(-1));
	arm();
	show_fd("dup2(good, -1)", dup2(0, -1));
	arm();
	show("fcntl(closed fd, F_GETFL)", fcntl(bad, F_GETFL));
}

static void case_dup_good(int fd)
{
	arm();
	show_fd("dup(good)", dup(fd));
	arm();
	show_onto("dup2(good, free)", dup2(fd, BIGFD), BIGFD);
	arm();
	show_onto("dup2(good, open)", dup2(fd, BIGFD), BIGFD);
	arm();
	show_onto("dup2(good, itself)", dup2(fd, fd), fd);
	arm();
	show_onto("dup3(good, free, O_CLOEXEC)",
	          dup3(fd, BIGFD + 1, O_CLOEXEC), BIGFD + 1);
	arm();
	show_onto("dup3(good, itself)", dup3(fd, fd, 0), fd);
	arm();
	show_onto("dup3(good, bad flags)", dup3(fd, BIGFD + 2, 0x12345),
	          BIGFD + 2);
	arm();
	show_onto("fcntl(good, F_DUPFD, min)", fcntl(fd, F_DUPFD, BIGFD + 3),
	          BIGFD + 3);
	arm();
	show_onto("fcntl(good, F_DUPFD_CLOEXEC, min)",
	          fcntl(fd, F_DUPFD_CLOEXEC, BIGFD + 4), BIGFD + 4);
	arm();
	show_fd("fcntl(good, F_DUPFD, -1)", fcntl(fd, F_DUPFD, -1));
	arm();
	show("fcntl(good, F_GETFD)", fcntl(BIGFD + 1, F_GETFD));
	for (int i = 0; i <= 4; i++)
		(void)close(BIGFD + i);
}

#ifdef HAVE_CLOSE_RANGE
static void case_close_range(int fd)
{
	arm();
	show("close_range(5, 3, 0)", close_range(5, 3, 0));
	arm();
	show("close_range(bad flags)",
	     close_range(BIGFD, BIGFD + 10, 0x40000000));
	if (dup2(fd, BIGFD + 5) < 0)
		setup_failed("dup2");
	arm();
	show("close_range(one pipe fd)",
	     close_range(BIGFD + 5, BIGFD + 5, 0));
	arm();
	show("fcntl(F_GETFD) after close_range", fcntl(BIGFD + 5, F_GETFD));
	arm();
	show("close_range(nothing open)", close_range(BIGFD, BIGFD + 10, 0));
}
#else
static void case_close_range(int fd)
{
	(void)fd;
	printf("close_range: not in this libc\n");
}
#endif

#ifdef HAVE_CLOSEFROM
static void case_closefrom(int fd)
{
	if (dup2(fd, BIGFD + 6) < 0)
		setup_failed("dup2");
	arm();
	closefrom(BIGFD + 6);
	show("closefrom(high)", 0);
	arm();
	show("fcntl(F_GETFD) after closefrom", fcntl(BIGFD + 6, F_GETFD));
}
#else
static void case_closefrom(int fd)
{
	(void)fd;
	printf("closefrom: not in this libc\n");
}
#endif

static void case_socket(void)
{
	int fd;

	arm();
	show_fd("socket(AF_INET, 12345, 0)", socket(AF_INET, 12345, 0));
	arm();
	show_fd("socket(12345, SOCK_STREAM, 0)",
	        socket(12345, SOCK_STREAM, 0));
	arm();
	show_fd("socket(AF_INET, SOCK_STREAM, 12345)",
	        socket(AF_INET, SOCK_STREAM, 12345));
	arm();
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	show_fd("socket(AF_INET, SOCK_STREAM|NONBLOCK|CLOEXEC, 0)", fd);
	arm();
	show("close(unbound socket)", close(fd));
}

/* A connected pair through the listener: *c the client, returns the
 * accepted end. */
static int connection(int lfd, int *c)
{
	char q;
	int s;

	*c = probe_connect(probe_port(lfd, false));
	if (*c < 0)
		setup_failed("connect");
	s = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (s < 0)
		setup_failed("accept4");
	/* The client speaks first: safe-abort resets only a connection
	 * whose peer has sent something. */
	if (send(*c, "q", 1, 0) != 1 || recv(s, &q, 1, 0) != 1)
		setup_failed("request");
	return s;
}

static void client_reads(int c, const char *what)
{
	char buf[16];
	ssize_t n = recv(c, buf, sizeof(buf), 0);
	ssize_t m = n < 0 ? -1 : recv(c, buf, sizeof(buf), 0);

	printf("%s: client got %zd then %zd\n", what, n, m);
	(void)close(c);
}

/* Under safe-abort these closes take the library's reset path or one
 * of its refusals: errno must come out the same either way. */
static void case_connections(int lfd)
{
	char buf[4];
	int c;
	int s = connection(lfd, &c);

	if (send(s, "x", 1, 0) != 1)
		setup_failed("send");
	arm();
	show("close(idle accepted)", close(s));
	client_reads(c, "idle accepted");

	s = connection(lfd, &c);
	if (send(c, "abc", 3, 0) != 3)
		setup_failed("send");
	arm();
	show("close(accepted, unread data)", close(s));
	(void)close(c);

	s = connection(lfd, &c);
	(void)close(c);
	arm();
	show("recv(peer closed)", recv(s, buf, sizeof(buf), 0));
	arm();
	show("close(accepted, peer closed)", close(s));
}

static void case_connections_more(int lfd)
{
	int c;
	int s = connection(lfd, &c);
	int s2 = dup(s);

	arm();
	show("close(accepted, duplicated)", close(s));
	arm();
	show("close(its duplicate)", close(s2));
	arm();
	show("close(accepted, again)", close(s));
	(void)close(c);

	s = connection(lfd, &c);
	arm();
	show("shutdown(accepted, SHUT_WR)", shutdown(s, SHUT_WR));
	arm();
	show("close(accepted, shut down)", close(s));
	client_reads(c, "shut down accepted");
}

enum copy_how {
	BY_DUP,
	BY_DUP2,
	BY_DUP3,
	BY_F_DUPFD,
	BY_F_DUPFD_CLOEXEC,
	BY_SYS_DUP,
	BY_SYS_DUP2,
	BY_SYS_DUP3,
	BY_SYS_F_DUPFD,
	BY_SYS_F_DUPFD_CLOEXEC,
	BY_SYS_FCNTL64, /* 32-bit only */
#ifdef SYS_fcntl64
	BY_LAST = BY_SYS_FCNTL64
#else
	BY_LAST = BY_SYS_F_DUPFD_CLOEXEC
#endif
};

static const char *const copy_names[] = {
        "dup",          "dup2",         "dup3",
        "F_DUPFD",      "F_DUPFD_CLOEXEC",
        "syscall(SYS_dup)",
        "syscall(SYS_dup2)",
        "syscall(SYS_dup3)",
        "syscall(SYS_fcntl, F_DUPFD)",
        "syscall(SYS_fcntl, F_DUPFD_CLOEXEC)",
        "syscall(SYS_fcntl64, F_DUPFD)"};

/* The same copies made through syscall(), which no dup hook sees. */
static int sys_copy_fd(int fd, enum copy_how how)
{
	switch (how) {
	case BY_SYS_DUP:
		return (int)syscall(SYS_dup, fd);
	case BY_SYS_DUP2:
#ifdef SYS_dup2
		return (int)syscall(SYS_dup2, fd, BIGFD + 7);
#endif
	case BY_SYS_DUP3:
		return (int)syscall(SYS_dup3, fd, BIGFD + 7, O_CLOEXEC);
	case BY_SYS_F_DUPFD:
		return (int)syscall(SYS_fcntl, fd, F_DUPFD, 0);
	case BY_SYS_FCNTL64:
#ifdef SYS_fcntl64
		return (int)syscall(SYS_fcntl64, fd, F_DUPFD, 0);
#endif
	default:
		return (int)syscall(SYS_fcntl, fd, F_DUPFD_CLOEXEC, 0);
	}
}

static int copy_fd(int fd, enum copy_how how)
{
	switch (how) {
	case BY_DUP:
		return dup(fd);
	case BY_DUP2:
		return dup2(fd, BIGFD + 7);
	case BY_DUP3:
		return dup3(fd, BIGFD + 7, O_CLOEXEC);
	case BY_F_DUPFD:
		return fcntl(fd, F_DUPFD, 0);
	case BY_F_DUPFD_CLOEXEC:
		return fcntl(fd, F_DUPFD_CLOEXEC, 0);
	default:
		return sys_copy_fd(fd, how);
	}
}

/* The program closes one descriptor of a connection and goes on using
 * another: that close must not end the connection (under safe-abort it
 * would send FIN, and the write below would fail with EPIPE). */
static void use_copy(int s, int copy, int c, const char *how)
{
	char what[64];

	(void)snprintf(what, sizeof(what), "close(accepted, copied by %s)",
	               how);
	arm();
	show(what, close(s));
	arm();
	show("send(through the copy)", send(copy, "y", 1, MSG_NOSIGNAL));
	arm();
	show("close(the copy)", close(copy));
	client_reads(c, how);
}

static void case_copies(int lfd)
{
	for (int how = BY_DUP; how <= BY_LAST; how++) {
		int c;
		int s = connection(lfd, &c);
		int copy = copy_fd(s, (enum copy_how)how);

		if (copy < 0)
			setup_failed(copy_names[how]);
		use_copy(s, copy, c, copy_names[how]);
	}
}

/* One byte of data and room for one descriptor. */
struct rights {
	char data;
	struct iovec iov;
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr m;
};

static struct msghdr *rights_msg(struct rights *r, char data)
{
	memset(r, 0, sizeof(*r));
	r->data = data;
	r->iov = (struct iovec){.iov_base = &r->data, .iov_len = 1};
	r->m = (struct msghdr){.msg_iov = &r->iov,
	                       .msg_iovlen = 1,
	                       .msg_control = r->u.buf,
	                       .msg_controllen = sizeof(r->u.buf)};
	return &r->m;
}

static void send_rights(int via, int fd, const char *what)
{
	struct rights r;
	struct msghdr *m = rights_msg(&r, 'r');
	struct cmsghdr *cm = CMSG_FIRSTHDR(m);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(fd));
	arm();
	show(what, sendmsg(via, m, 0));
}

/* The descriptor sent first on the pair (a second, failed send added
 * nothing). */
static int recv_rights(int via)
{
	struct rights r;
	struct msghdr *m = rights_msg(&r, 0);
	struct cmsghdr *cm;
	int fd;

	if (recvmsg(via, m, 0) != 1)
		setup_failed("recvmsg");
	cm = CMSG_FIRSTHDR(m);
	if (!cm || cm->cmsg_type != SCM_RIGHTS)
		setup_failed("recvmsg: no descriptor");
	memcpy(&fd, CMSG_DATA(cm), sizeof(fd));
	return fd;
}

/* Headers the kernel cannot read: the message itself, then its control
 * buffer. */
static void bad_headers(int via)
{
	char data = 'b';
	struct iovec iov = {.iov_base = &data, .iov_len = 1};
	struct msghdr m = {.msg_iov = &iov,
	                   .msg_iovlen = 1,
	                   .msg_control = unreadable(),
	                   .msg_controllen = CMSG_SPACE(sizeof(int))};

	arm();
	show("sendmsg(unreadable msghdr)",
	     sendmsg(via, (const struct msghdr *)unreadable(), 0));
	arm();
	show("sendmsg(unreadable control)", sendmsg(via, &m, 0));
}

static void case_sendmsg(int lfd)
{
	int sp[2];
	int c;
	int s = connection(lfd, &c);

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) < 0)
		setup_failed("socketpair");
	send_rights(sp[0], s, "sendmsg(SCM_RIGHTS of accepted)");
	send_rights(sp[0], closed_fd(), "sendmsg(SCM_RIGHTS of closed fd)");
	send_rights(closed_fd(), s, "sendmsg(closed fd)");
	use_copy(s, recv_rights(sp[1]), c, "SCM_RIGHTS");
	bad_headers(sp[0]);
	(void)close(sp[0]);
	(void)close(sp[1]);
}

/* sendmmsg: one message in a vector, and the failures. */
static void case_sendmmsg(void)
{
	int sp[2];
	int pp[2];
	char data = 'm';
	struct iovec iov = {.iov_base = &data, .iov_len = 1};
	struct mmsghdr v = {.msg_hdr = {.msg_iov = &iov, .msg_iovlen = 1}};

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) < 0 || pipe(pp) < 0)
		setup_failed("socketpair");
	arm();
	show("sendmmsg(one message)", sendmmsg(sp[0], &v, 1, 0));
	arm();
	show("sendmmsg(no message)", sendmmsg(sp[0], &v, 0, 0));
	arm();
	show("sendmmsg(closed fd)", sendmmsg(closed_fd(), &v, 1, 0));
	arm();
	show("sendmmsg(pipe fd)", sendmmsg(pp[1], &v, 1, 0));
	arm();
	show("sendmmsg(unreadable vector)",
	     sendmmsg(sp[0], (struct mmsghdr *)unreadable(), 1, 0));
	(void)close(sp[0]);
	(void)close(sp[1]);
	(void)close(pp[0]);
	(void)close(pp[1]);
}

/* Programs built with _FILE_OFFSET_BITS=64 call fcntl64 by name. */
static void case_fcntl64(int fd)
{
	arm();
	show_fd("fcntl64(closed fd, F_DUPFD)", fcntl64(closed_fd(), F_DUPFD, 0));
	arm();
	show_onto("fcntl64(good, F_DUPFD, min)", fcntl64(fd, F_DUPFD, BIGFD),
	          BIGFD);
	arm();
	show("fcntl64(good, F_GETFD)", fcntl64(BIGFD, F_GETFD));
	arm();
	show("fcntl64(good, bad cmd)", fcntl64(fd, 0x7fff));
	(void)close(BIGFD);
}

static void case_spawn(void)
{
	char missing[] = "/nonexistent/rebind-probe";
	char truecmd[] = "true";
	char *argv[] = {missing, NULL};
	char *envp[] = {NULL};
	pid_t pid;
	int st = -1;

	arm();
	show_err("posix_spawn(missing)",
	         posix_spawn(&pid, argv[0], NULL, NULL, argv, envp));
	argv[0] = truecmd;
	arm();
	show_err("posix_spawnp(true)",
	         posix_spawnp(&pid, argv[0], NULL, NULL, argv, envp));
	if (waitpid(pid, &st, 0) != pid)
		setup_failed("waitpid");
	printf("spawned true: status %d\n", st);
}

/* A UDP socket on 127.0.0.1 sends a datagram to itself with sendto's
 * six arguments through syscall(): the last one (the address length)
 * must arrive too. */
static void case_syscall_six(void)
{
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = probe_loopback(0);

	if (u < 0 || bind(u, (struct sockaddr *)&a, sizeof(a)) < 0)
		setup_failed("udp socket");
	a = local_addr(u);
	arm();
	show("syscall(SYS_sendto, six arguments)",
	     syscall(SYS_sendto, u, "x", 1, 0, &a, sizeof(a)));
	arm();
	show("syscall(SYS_sendto, bad length)",
	     syscall(SYS_sendto, u, "x", 1, 0, &a, 3));
	arm();
	show("syscall(SYS_close, udp socket)", syscall(SYS_close, u));
}

/* syscall() returns what the kernel said, errno as libc sets it. */
static void case_syscall(const int pipefd[2])
{
	int bad = closed_fd();
	long fd;

	arm();
	show("syscall(SYS_close, -1)", syscall(SYS_close, -1));
	arm();
	show("syscall(SYS_dup, closed fd)", syscall(SYS_dup, bad));
	arm();
	show("syscall(SYS_fcntl, closed fd, F_DUPFD)",
	     syscall(SYS_fcntl, bad, F_DUPFD, 0));
	arm();
	show("syscall(no such number)", syscall(100000));
	arm();
	show("syscall(SYS_write, pipe)", syscall(SYS_write, pipefd[1], "ab", 2));
	arm();
	fd = syscall(SYS_dup, pipefd[1]);
	show_fd("syscall(SYS_dup, pipe)", (int)fd);
	arm();
	show("syscall(SYS_close, that copy)", syscall(SYS_close, fd));
	arm();
	show("syscall(SYS_close, it again)", syscall(SYS_close, fd));
#ifdef SYS_close_range
	arm();
	show("syscall(SYS_close_range, 5, 3, 0)",
	     syscall(SYS_close_range, 5, 3, 0));
#endif
	case_syscall_six();
}

/* What is behind fd now: file type and mode, and its first bytes. */
static void describe(const char *what, int fd)
{
	struct stat st;
	char buf[32] = "";
	ssize_t n;

	arm();
	if (fstat(fd, &st) < 0) {
		show(what, -1);
		return;
	}
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	printf("%s: mode=%o data=%s", what, (unsigned)st.st_mode,
	       n > 0 ? buf : "(none)\n");
}

static int make_file(void)
{
	char path[4096];
	int fd;

	/* One name for mkstemp and unlink: a TMPDIR too long for it cuts
	 * off the XXXXXX, and mkstemp fails (EINVAL). */
	(void)snprintf(path, sizeof(path), "%s/rebind-probe.XXXXXX",
	               getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	fd = mkstemp(path);
	if (fd < 0)
		setup_failed("mkstemp");
	(void)unlink(path);
	if (write(fd, "rebind-file\n", 12) != 12)
		setup_failed("write");
	return fd;
}

/* Descriptors that are not sockets, moved around over numbers that
 * were sockets the library knew about, must end up exactly as without
 * it. */
static void case_games(int lfd, const int pipefd[2])
{
	int f = make_file();
	int c;
	int s = connection(lfd, &c);
	int l2 = tcp_listener(0);
	char buf[8] = "";

	if (dup2(f, BIGFD) < 0 || close(f) < 0)
		setup_failed("dup2 file");
	describe("file after dup2 and close", BIGFD);
	arm();
	show_onto("dup2(file, accepted)", dup2(BIGFD, s), s);
	describe("accepted number now", s);
	arm();
	show("close(that)", close(s));
	client_reads(c, "replaced accepted");
	arm();
	show_onto("dup2(file, listener)", dup2(BIGFD, l2), l2);
	arm();
	show_fd("accept(listener number, now a file)",
	        accept(l2, NULL, NULL));
	describe("listener number now", l2);
	arm();
	show("close(that)", close(l2));
	s = tcp_socket();
	arm();
	show_onto("dup2(socket, file)", dup2(s, BIGFD), BIGFD);
	arm();
	show("close(file number, now a socket)", close(BIGFD));
	arm();
	show("write(pipe)", write(pipefd[1], "ping", 4));
	arm();
	show("read(pipe)", read(pipefd[0], buf, sizeof(buf) - 1));
	printf("pipe data=%s\n", buf);
	(void)close(s);
}

/*
 * bind() to a port whose only user is a TIME_WAIT entry left by this
 * process: without rebind EADDRINUSE; under its default policy the
 * retry succeeds, and errno must then be what it was before the call.
 */
static int retry_check(void)
{
	int lfd = tcp_listener(0);
	struct sockaddr_in a = local_addr(lfd);
	char buf[4];
	int c;
	int s = connection(lfd, &c);

	/* The server side closes first, so the TIME_WAIT entry is its. */
	if (close(s) < 0 || recv(c, buf, sizeof(buf), 0) != 0 ||
	    close(c) < 0 || close(lfd) < 0)
		setup_failed("TIME_WAIT setup");
	s = tcp_socket();
	arm();
	show("bind(port in TIME_WAIT)",
	     bind(s, (struct sockaddr *)&a, sizeof(a)));
	return 0;
}

static int shim_check(void)
{
	int lfd = tcp_listener(0);

	printf("listener reuseaddr=%d\n", get_reuse(lfd));
	return 0;
}

int main(int argc, char **argv)
{
	int pipefd[2];
	int lfd;

	if (argc > 1 && strcmp(argv[1], "--shim-check") == 0)
		return shim_check();
	if (argc > 1 && strcmp(argv[1], "--retry") == 0)
		return retry_check();
	if (pipe(pipefd) < 0)
		setup_failed("pipe");
	lfd = tcp_listener(0);
	case_close(pipefd);
	case_bind(pipefd, lfd);
	case_listen_accept(pipefd, lfd);
	case_setsockopt(pipefd, lfd);
	case_dup_bad();
	case_dup_good(pipefd[0]);
	case_fcntl64(pipefd[0]);
	case_close_range(pipefd[0]);
	case_closefrom(pipefd[0]);
	case_socket();
	case_connections(lfd);
	case_connections_more(lfd);
	case_copies(lfd);
	case_sendmsg(lfd);
	case_sendmmsg();
	case_spawn();
	case_syscall(pipefd);
	case_games(lfd, pipefd);
	return fflush(stdout) == 0 ? 0 : 1;
}
