#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/*
 * Connects to HOST PORT about every INTERVAL microseconds, one at a
 * time: sends a line, reads the reply to EOF.  Runs until SIGTERM or
 * SIGINT, or SECONDS have passed, then prints one line:
 *   ok N refused N reset N timeout N lost N other N max_ms N
 * lost: the request went out, then EOF or a reset before any byte of the
 * reply: a daemon killed after accept() and before it answered (a
 * reset when it had not read the request yet), or a listener's queue
 * thrown away.  reset: a reset at any other point.  max_ms: the
 * slowest connection (connect to EOF).  A connection that waits more
 * than 3 s counts as a timeout.  other: any other error, whose errno
 * goes to stderr.
 *
 * Usage: load_client HOST PORT INTERVAL_US SECONDS
 */

enum outcome { OK, REFUSED, RESET, TIMEDOUT, LOST, OTHER, N_OUTCOMES };

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static double now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static enum outcome of_errno(int e)
{
	if (e == ECONNREFUSED)
		return REFUSED;
	if (e == ECONNRESET || e == EPIPE)
		return RESET;
	if (e == EAGAIN || e == EWOULDBLOCK || e == EINPROGRESS ||
	    e == ETIMEDOUT)
		return TIMEDOUT;
	if (!stop)
		(void)fprintf(stderr, "load_client: %s\n", strerror(e));
	return OTHER;
}

static enum outcome talk(int fd)
{
	char buf[4096];
	size_t got = 0;
	ssize_t n;

	if (send(fd, "hello\n", 6, MSG_NOSIGNAL) != 6)
		return of_errno(errno);
	while ((n = recv(fd, buf, sizeof(buf), 0)) > 0)
		got += (size_t)n;
	if (got == 0 && (n == 0 || errno == ECONNRESET))
		return LOST;
	if (n < 0)
		return of_errno(errno);
	return OK;
}

static enum outcome one(const struct sockaddr *sa, socklen_t len)
{
	const struct timeval tv = {.tv_sec = 3, .tv_usec = 0};
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	enum outcome o;

	if (fd < 0)
		return OTHER;
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, sa, len) != 0)
		o = of_errno(errno);
	else
		o = talk(fd);
	(void)close(fd);
	return o;
}

/* A whole decimal number from lo to hi, or -1. */
static long number(const char *s, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	return v;
}

static socklen_t parse_addr(const char *host, const char *port,
			    struct sockaddr_storage *ss)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	long n = number(port, 1, 65535);
	uint16_t p = htons((uint16_t)n);

	memset(ss, 0, sizeof(*ss));
	if (n < 0)
		return 0;
	if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = p;
		return sizeof(*in4);
	}
	if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = p;
		return sizeof(*in6);
	}
	return 0;
}

static void pace(double start, long interval_us)
{
	double left = start + (double)interval_us / 1e3 - now_ms();
	struct timespec ts;

	if (left <= 0)
		return;
	ts.tv_sec = 0;
	ts.tv_nsec = (long)(left * 1e6);
	(void)nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
	unsigned long count[N_OUTCOMES] = {0};
	struct sockaddr_storage ss;
	socklen_t len = 0;
	double end, max_ms = 0;
	long interval = -1, seconds = -1;

	if (argc == 5) {
		len = parse_addr(argv[1], argv[2], &ss);
		interval = number(argv[3], 0, 1000000);
		seconds = number(argv[4], 1, 3600);
	}
	if (!len || interval < 0 || seconds < 0) {
		(void)fputs("usage: load_client HOST PORT INTERVAL_US "
			    "SECONDS\n",
			    stderr);
		return 64;
	}
	end = now_ms() + (double)seconds * 1e3;
	(void)signal(SIGTERM, on_signal);
	(void)signal(SIGINT, on_signal);
	(void)printf("started\n");
	(void)fflush(stdout);
	while (!stop && now_ms() < end) {
		double t0 = now_ms();
		enum outcome o = one((struct sockaddr *)&ss, len);

		/* The signal that stops us may interrupt the last one. */
		if (stop)
			break;
		count[o]++;
		if (now_ms() - t0 > max_ms)
			max_ms = now_ms() - t0;
		pace(t0, interval);
	}
	(void)printf("ok %lu refused %lu reset %lu timeout %lu lost %lu "
		     "other %lu max_ms %.0f\n",
		     count[OK], count[REFUSED], count[RESET], count[TIMEDOUT],
		     count[LOST], count[OTHER], max_ms);
	return 0;
}
