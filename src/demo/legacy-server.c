#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/*
 * A stand-in for a legacy daemon: it never sets SO_REUSEADDR unless told
 * to, and it closes each connection before the client does, so the
 * TIME_WAIT entries pile up on its own port.  The demo and the
 * integration tests restart it on that port.
 */

#define LS_NAME     "legacy-server"
#define LS_REQ_MAX  4096
#define LS_BLOCK    16384
#define LS_EX_INUSE 2
#define LS_EX_USAGE 64
#define LS_GREETING "hello from legacy-server\n"
#define LS_LINE                                                                \
	"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-\n"

/* Whole lines per block, so the pattern runs on across blocks. */
_Static_assert(LS_BLOCK % (sizeof(LS_LINE) - 1) == 0, "block/line size");

enum {
	OPT_NONBLOCK = 256,
	OPT_FORK,
	OPT_SHUTDOWN,
	OPT_SET_REUSEADDR,
	OPT_SET_LINGER,
	OPT_REPORT,
	OPT_DAEMON,
	OPT_CLOSE_FDS,
};

/* --close-fds: how a daemon closes every descriptor above 2. */
enum ls_close {
	LS_CLOSE_NONE,
	LS_CLOSE_LOOP,
	LS_CLOSE_FROM,
	LS_CLOSE_RANGE,
};

struct ls_opts {
	const char *address;
	unsigned long long port;
	unsigned long long count;
	unsigned long long reply;
	int has_count;
	int has_reply;
	int nonblock;
	int forking;
	int shutdown_wr;
	int report;
	int quiet;
	int reuse;     /* -1: leave the kernel default */
	int linger_on; /* -1: leave the kernel default */
	int linger_secs;
	const char *pidfile; /* --daemon: fork into the background */
	enum ls_close close_fds;
};

union ls_addr {
	struct sockaddr sa;
	struct sockaddr_in in4;
	struct sockaddr_in6 in6;
};

static const char usage_text[] =
        "Usage: " LS_NAME " [OPTIONS]\n"
        "A daemon that never sets SO_REUSEADDR unless told to and closes each\n"
        "connection first, so TIME_WAIT entries stay on its port.\n"
        "\n"
        "  -a, --address ADDR     listen address (default 127.0.0.1; an IPv6\n"
        "                         literal such as ::1 selects AF_INET6)\n"
        "  -p, --port PORT        port (default 0: the kernel picks one)\n"
        "  -n, --count N          exit 0 after serving N connections\n"
        "                         (default: forever)\n"
        "  -r, --reply BYTES      reply with BYTES bytes of 64-byte lines\n"
        "                         \"0-9a-zA-Z-\\n\" (default: one greeting "
        "line)\n"
        "      --nonblock         non-blocking sockets (SOCK_NONBLOCK,\n"
        "                         accept4), waiting with poll()\n"
        "      --fork             fork per connection; the child replies and\n"
        "                         calls _exit(0) without closing the socket\n"
        "      --shutdown         shutdown(SHUT_WR) right before close\n"
        "      --set-reuseaddr=V  setsockopt(SO_REUSEADDR, V) on the listener\n"
        "                         before bind (V is 0 or 1)\n"
        "      --set-linger=ON,SECS  SO_LINGER {ON,SECS} on the listener\n"
        "                         before bind\n"
        "      --report           print the listener's and each connection's\n"
        "                         SO_REUSEADDR and SO_LINGER on stdout\n"
        "      --daemon=PIDFILE   fork into the background (fork, setsid,\n"
        "                         fork) before binding, write PIDFILE; the\n"
        "                         first process exits 0 once it listens\n"
        "      --close-fds=HOW    before binding, close every descriptor\n"
        "                         above 2: loop (close() up to the limit),\n"
        "                         closefrom or close_range\n"
        "  -q, --quiet            no narration on stderr\n"
        "  -h, --help             show this help\n"
        "\n"
        "Per connection: read a request (up to '\\n', EOF or 4 KiB), write "
        "the\n"
        "reply, then close before the client does.\n"
        "stdout: \"ready PORT\" after listen(), then the --report lines:\n"
        "\"listener reuseaddr=R linger=ON,SECS\", \"conn N reuseaddr=R "
        "linger=ON,SECS\".\n"
        "Exit status: 0 after -n N connections, 2 if bind() or listen() fails\n"
        "with EADDRINUSE, 1 on other errors, 64 on usage errors.\n";

static _Noreturn void die_errno(const char *what)
{
	int e = errno;

	(void)fprintf(stderr, "%s: %s: %s\n", LS_NAME, what, strerror(e));
	exit(1);
}

/* The exit status tells callers "port taken" from any other failure. */
static _Noreturn void die_addr(const char *what, const struct ls_opts *o)
{
	int e = errno;

	(void)fprintf(stderr, "%s: %s %s port %llu: %s\n", LS_NAME, what,
	              o->address, o->port, strerror(e));
	exit(e == EADDRINUSE ? LS_EX_INUSE : 1);
}

static _Noreturn void die_usage(const char *why, const char *arg)
{
	if (why)
		(void)fprintf(stderr, "%s: %s '%s'\n", LS_NAME, why, arg);
	(void)fputs(usage_text, stderr);
	exit(LS_EX_USAGE);
}

/* stderr is line-buffered (see main): one write per line, so lines
 * from forked children do not interleave.  Narration is optional:
 * nothing to do if stderr is gone. */
static __attribute__((format(printf, 2, 3))) void
narrate(const struct ls_opts *o, const char *fmt, ...)
{
	va_list ap;

	if (o->quiet)
		return;
	(void)fputs(LS_NAME ": ", stderr);
	va_start(ap, fmt);
	(void)vfprintf(stderr, fmt, ap);
	va_end(ap);
	(void)fputc('\n', stderr);
}

/* stdout is read by scripts waiting for "ready": flush every line. */
static __attribute__((format(printf, 1, 2))) void out_line(const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vprintf(fmt, ap);
	va_end(ap);
	if (r < 0 || putchar('\n') == EOF || fflush(stdout) == EOF)
		die_errno("stdout");
}

/* strtoull() alone accepts " 7", "-1" and "": demand plain digits. */
static int parse_num(const char *s, unsigned long long max, char stop,
                     unsigned long long *out)
{
	char *end;
	unsigned long long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != stop || v > max)
		return -1;
	*out = v;
	return 0;
}

static int parse_flag(const char *s, int *out)
{
	unsigned long long v;

	if (parse_num(s, 1, '\0', &v))
		return -1;
	*out = (int)v;
	return 0;
}

static int parse_linger(const char *s, struct ls_opts *o)
{
	const char *comma = strchr(s, ',');
	unsigned long long on;
	unsigned long long secs;

	if (!comma || parse_num(s, 1, ',', &on) ||
	    parse_num(comma + 1, INT_MAX, '\0', &secs))
		return -1;
	o->linger_on = (int)on;
	o->linger_secs = (int)secs;
	return 0;
}

static int apply_switch(struct ls_opts *o, int c)
{
	switch (c) {
	case OPT_NONBLOCK:
		o->nonblock = 1;
		return 0;
	case OPT_FORK:
		o->forking = 1;
		return 0;
	case OPT_SHUTDOWN:
		o->shutdown_wr = 1;
		return 0;
	case OPT_REPORT:
		o->report = 1;
		return 0;
	case 'q':
		o->quiet = 1;
		return 0;
	default:
		return -1;
	}
}

static int parse_close(const char *s, enum ls_close *out)
{
	static const char *const names[] = {"loop", "closefrom",
	                                    "close_range"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = (enum ls_close)(i + 1);
			return 0;
		}
	}
	return -1;
}

static int apply_opt(struct ls_opts *o, int c, const char *arg)
{
	switch (c) {
	case OPT_DAEMON:
		o->pidfile = arg;
		return *arg ? 0 : -1;
	case OPT_CLOSE_FDS:
		return parse_close(arg, &o->close_fds);
	case 'a':
		o->address = arg;
		return 0;
	case 'p':
		return parse_num(arg, 65535, '\0', &o->port);
	case 'n':
		o->has_count = 1;
		return parse_num(arg, ULLONG_MAX, '\0', &o->count);
	case 'r':
		o->has_reply = 1;
		return parse_num(arg, ULLONG_MAX, '\0', &o->reply);
	case OPT_SET_REUSEADDR:
		return parse_flag(arg, &o->reuse);
	case OPT_SET_LINGER:
		return parse_linger(arg, o);
	default:
		return apply_switch(o, c);
	}
}

static void parse_args(int argc, char **argv, struct ls_opts *o)
{
	static const struct option longopts[] = {
	        {"address", required_argument, NULL, 'a'},
	        {"port", required_argument, NULL, 'p'},
	        {"count", required_argument, NULL, 'n'},
	        {"reply", required_argument, NULL, 'r'},
	        {"nonblock", no_argument, NULL, OPT_NONBLOCK},
	        {"fork", no_argument, NULL, OPT_FORK},
	        {"shutdown", no_argument, NULL, OPT_SHUTDOWN},
	        {"set-reuseaddr", required_argument, NULL, OPT_SET_REUSEADDR},
	        {"set-linger", required_argument, NULL, OPT_SET_LINGER},
	        {"report", no_argument, NULL, OPT_REPORT},
	        {"daemon", required_argument, NULL, OPT_DAEMON},
	        {"close-fds", required_argument, NULL, OPT_CLOSE_FDS},
	        {"quiet", no_argument, NULL, 'q'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	int c;

	*o = (struct ls_opts){
	        .address = "127.0.0.1", .reuse = -1, .linger_on = -1};
	while ((c = getopt_long(argc, argv, "a:p:n:r:qh", longopts, NULL)) !=
	       -1) {
		if (c == 'h') {
			if (fputs(usage_text, stdout) == EOF ||
			    fflush(stdout) == EOF)
				die_errno("stdout");
			exit(0);
		}
		if (c == '?')
			die_usage(NULL, NULL);
		if (apply_opt(o, c, optarg))
			die_usage("invalid argument", optarg);
	}
	if (optind < argc)
		die_usage("unexpected argument", argv[optind]);
}

static socklen_t make_addr(const struct ls_opts *o, union ls_addr *a)
{
	uint16_t port = htons((uint16_t)o->port);

	a->in4 = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = port};
	if (inet_pton(AF_INET, o->address, &a->in4.sin_addr) == 1)
		return sizeof(a->in4);
	a->in6 = (struct sockaddr_in6){.sin6_family = AF_INET6,
	                               .sin6_port = port};
	if (inet_pton(AF_INET6, o->address, &a->in6.sin6_addr) == 1)
		return sizeof(a->in6);
	die_usage("not an IPv4 or IPv6 address:", o->address);
}

static void set_options(const struct ls_opts *o, int fd)
{
	struct linger lg = {.l_onoff = o->linger_on,
	                    .l_linger = o->linger_secs};

	if (o->reuse >= 0 && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &o->reuse,
	                                sizeof(o->reuse)) < 0)
		die_errno("setsockopt SO_REUSEADDR");
	if (o->linger_on >= 0 &&
	    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) < 0)
		die_errno("setsockopt SO_LINGER");
}

static int open_listener(const struct ls_opts *o)
{
	union ls_addr a;
	socklen_t len = make_addr(o, &a);
	int type = SOCK_STREAM;
	int fd;

	if (o->nonblock)
		type |= SOCK_NONBLOCK | SOCK_CLOEXEC;
	fd = socket(a.sa.sa_family, type, 0);
	if (fd < 0)
		die_errno("socket");
	set_options(o, fd);
	if (bind(fd, &a.sa, len) < 0)
		die_addr("bind", o);
	if (listen(fd, SOMAXCONN) < 0)
		die_addr("listen", o);
	return fd;
}

/* n == 0 is the listener, n > 0 the n-th accepted connection. */
static void report(int fd, unsigned long long n)
{
	int reuse;
	struct linger lg;
	socklen_t rlen = sizeof(reuse);
	socklen_t llen = sizeof(lg);

	if (getsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &reuse, &rlen) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, &llen) < 0)
		die_errno("getsockopt");
	if (n == 0)
		out_line("listener reuseaddr=%d linger=%d,%d", reuse,
		         lg.l_onoff, lg.l_linger);
	else
		out_line("conn %llu reuseaddr=%d linger=%d,%d", n, reuse,
		         lg.l_onoff, lg.l_linger);
}

static void announce(const struct ls_opts *o, int lfd)
{
	union ls_addr a = {.in6 = {0}};
	socklen_t len = sizeof(a);
	unsigned port;

	if (getsockname(lfd, &a.sa, &len) < 0)
		die_errno("getsockname");
	if (a.sa.sa_family == AF_INET6)
		port = ntohs(a.in6.sin6_port);
	else
		port = ntohs(a.in4.sin_port);
	out_line("ready %u", port);
	if (o->reuse < 0)
		narrate(o,
		        "listening on %s port %u (SO_REUSEADDR not set by "
		        "this program)",
		        o->address, port);
	else
		narrate(o,
		        "listening on %s port %u (this program set "
		        "SO_REUSEADDR=%d)",
		        o->address, port, o->reuse);
	if (o->report)
		report(lfd, 0);
}

static int wait_fd(int fd, short events)
{
	struct pollfd p = {.fd = fd, .events = events};

	for (;;) {
		int r = poll(&p, 1, -1);

		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

/* After a failed call: 0 to try it again, -1 for a real error. */
static int io_retry(int fd, short events)
{
	if (errno == EINTR)
		return 0;
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return wait_fd(fd, events);
	return -1;
}

/* The content does not matter, but it must be read: close() with unread
 * data sends RST instead of FIN, and then no TIME_WAIT is left. */
static int read_request(int fd)
{
	char buf[LS_REQ_MAX];
	size_t got = 0;

	while (got < sizeof(buf)) {
		ssize_t r = recv(fd, buf + got, sizeof(buf) - got, 0);

		if (r == 0)
			return 0;
		if (r < 0) {
			if (io_retry(fd, POLLIN))
				return -1;
			continue;
		}
		if (memchr(buf + got, '\n', (size_t)r))
			return 0;
		got += (size_t)r;
	}
	return 0;
}

/* MSG_NOSIGNAL: a client that resets must not kill the daemon. */
static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t w = send(fd, buf, len, MSG_NOSIGNAL);

		if (w >= 0) {
			buf += w;
			len -= (size_t)w;
		} else if (io_retry(fd, POLLOUT)) {
			return -1;
		}
	}
	return 0;
}

static unsigned long long reply_size(const struct ls_opts *o)
{
	return o->has_reply ? o->reply : sizeof(LS_GREETING) - 1;
}

static int write_reply(int fd, const struct ls_opts *o)
{
	char block[LS_BLOCK];
	unsigned long long left = o->reply;

	if (!o->has_reply)
		return write_all(fd, LS_GREETING, sizeof(LS_GREETING) - 1);
	for (size_t i = 0; i < sizeof(block); i++)
		block[i] = LS_LINE[i % (sizeof(LS_LINE) - 1)];
	while (left > 0) {
		size_t n = left < sizeof(block) ? (size_t)left : sizeof(block);

		if (write_all(fd, block, n))
			return -1;
		left -= n;
	}
	return 0;
}

/* Everything but the close; 0 when the whole reply went out. */
static int serve_conn(const struct ls_opts *o, int fd, unsigned long long n)
{
	if (read_request(fd)) {
		narrate(o, "connection %llu: read failed: %s", n,
		        strerror(errno));
		return -1;
	}
	if (write_reply(fd, o)) {
		narrate(o, "connection %llu: write failed: %s", n,
		        strerror(errno));
		return -1;
	}
	if (o->shutdown_wr && shutdown(fd, SHUT_WR) < 0) {
		narrate(o, "connection %llu: shutdown: %s", n, strerror(errno));
		return -1;
	}
	return 0;
}

static _Noreturn void child_conn(const struct ls_opts *o, int lfd, int fd,
                                 unsigned long long n)
{
	/* Like classic fork servers: the child must not keep the port
	 * open after the parent is gone. */
	if (close(lfd) < 0)
		narrate(o, "connection %llu: close listener: %s", n,
		        strerror(errno));
	if (serve_conn(o, fd, n) == 0)
		narrate(o,
		        "connection %llu: child replied %llu bytes, exits "
		        "without closing it",
		        n, reply_size(o));
	/* No close(fd): the kernel drops the last reference at exit,
	 * which is the case a preload shim cannot see. */
	_exit(0);
}

static void fork_conn(const struct ls_opts *o, int lfd, int fd,
                      unsigned long long n)
{
	pid_t pid = fork();

	if (pid < 0)
		die_errno("fork");
	if (pid == 0)
		child_conn(o, lfd, fd, n);
	if (close(fd) < 0)
		die_errno("close");
}

static void handle_conn(const struct ls_opts *o, int lfd, int fd,
                        unsigned long long n)
{
	int ok;

	if (o->report)
		report(fd, n);
	if (o->forking) {
		fork_conn(o, lfd, fd, n);
		return;
	}
	ok = serve_conn(o, fd, n) == 0;
	if (close(fd) < 0)
		narrate(o, "connection %llu: close: %s", n, strerror(errno));
	else if (ok)
		narrate(o,
		        "connection %llu: replied %llu bytes, %sclosed it "
		        "first",
		        n, reply_size(o),
		        o->shutdown_wr ? "shut down and " : "");
}

static int accept_conn(const struct ls_opts *o, int lfd)
{
	for (;;) {
		int fd;

		if (o->nonblock)
			fd = accept4(lfd, NULL, NULL,
			             SOCK_NONBLOCK | SOCK_CLOEXEC);
		else
			fd = accept(lfd, NULL, NULL);
		if (fd >= 0)
			return fd;
		/* The client gave up before we got to it: not our error. */
		if (errno == ECONNABORTED)
			continue;
		if (io_retry(lfd, POLLIN))
			die_errno("accept");
	}
}

/* Forked children reap themselves, and wait() then means "all gone". */
static void no_zombies(void)
{
	struct sigaction sa = {.sa_flags = SA_NOCLDWAIT};

	sa.sa_handler = SIG_DFL;
	if (sigemptyset(&sa.sa_mask) < 0 || sigaction(SIGCHLD, &sa, NULL) < 0)
		die_errno("sigaction");
}

/* With SA_NOCLDWAIT, wait() blocks until every child has exited and
 * then fails with ECHILD. */
static void wait_children(void)
{
	int r;

	do
		r = wait(NULL);
	while (r >= 0 || errno == EINTR);
	if (errno != ECHILD)
		die_errno("wait");
}

/* close_range(3, ~0U, 0), also where libc lacks it (musl). */
static int close_from3(void)
{
#ifdef HAVE_CLOSE_RANGE
	return close_range(3, ~0U, 0);
#else
	return (int)syscall(SYS_close_range, 3, ~0U, 0);
#endif
}

/* As classic daemonizing code does, before it binds. */
static void close_fds(enum ls_close how)
{
	long max = sysconf(_SC_OPEN_MAX);

	switch (how) {
	case LS_CLOSE_LOOP:
		for (long fd = 3; fd < (max > 0 ? max : 1024); fd++)
			(void)close((int)fd);
		break;
	case LS_CLOSE_FROM:
#ifdef HAVE_CLOSEFROM
		closefrom(3);
#else
		(void)close_from3();
#endif
		break;
	case LS_CLOSE_RANGE:
		if (close_from3() < 0)
			die_errno("close_range");
		break;
	default:
		break;
	}
}

static pid_t fork_checked(void)
{
	pid_t pid = fork();

	if (pid < 0)
		die_errno("fork");
	return pid;
}

/*
 * fork, setsid, fork: the grandchild goes on as the daemon and writes
 * the pid file.  The first process exits 0 once the daemon says it
 * listens (one byte on a pipe), so a Type=forking unit starts only
 * then.  Returns the pipe's write end, in the daemon.
 */
static int daemonize(const char *pidfile)
{
	int p[2];
	char c = 0;
	FILE *f;

	if (pipe(p) < 0)
		die_errno("pipe");
	if (fork_checked() > 0) {
		(void)close(p[1]);
		_exit(read(p[0], &c, 1) == 1 && c == 'r' ? 0 : 1);
	}
	(void)close(p[0]);
	if (setsid() < 0)
		die_errno("setsid");
	if (fork_checked() > 0)
		_exit(0);
	f = fopen(pidfile, "w");
	if (!f || fprintf(f, "%ld\n", (long)getpid()) < 0 || fclose(f) != 0)
		die_errno(pidfile);
	return p[1];
}

int main(int argc, char **argv)
{
	struct ls_opts o;
	unsigned long long n;
	int lfd, ready;

	/* Before any output, as setvbuf() requires. */
	if (setvbuf(stderr, NULL, _IOLBF, BUFSIZ) != 0)
		die_errno("setvbuf");
	parse_args(argc, argv, &o);
	if (o.forking)
		no_zombies();
	close_fds(o.close_fds);
	ready = o.pidfile ? daemonize(o.pidfile) : -1;
	lfd = open_listener(&o);
	announce(&o, lfd);
	if (ready >= 0 && (write(ready, "r", 1) != 1 || close(ready) < 0))
		die_errno("ready pipe");
	for (n = 1; !o.has_count || n <= o.count; n++)
		handle_conn(&o, lfd, accept_conn(&o, lfd), n);
	if (close(lfd) < 0)
		die_errno("close");
	if (o.forking)
		wait_children();
	narrate(&o, "served %llu connections, exiting", o.count);
	return 0;
}
