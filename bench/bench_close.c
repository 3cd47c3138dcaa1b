#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/*
 * Microbenchmarks of the calls librebind wraps, run under each preload
 * by bench/run.sh.  One case per process; one line on stdout:
 * "CASE,VALUE,UNIT" (ns/op, or conn/s for the churn).  The iteration
 * counts are bench/run.sh's (ITERS).  Every case first
 * runs a tenth of its iterations untimed, so lazy binding, page faults
 * and the socket slab caches are warm.
 */

#define BC_BATCH  512 /* descriptors closed per timed batch */
#define BC_DUP_FD 100 /* dup2 target, far above anything we open */
#define BC_MSG    "hello\n"

struct bc_case {
	const char *name;
	const char *unit;
	int (*run)(long n, double *ns);
};

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int fail(const char *what)
{
	(void)fprintf(stderr, "bench_close: %s: %s\n", what, strerror(errno));
	return -1;
}

/*
 * close() of a descriptor that is not a socket.  The copies are made by
 * the raw dup system call, outside the timed loop and outside any hook,
 * so only close() itself is measured.
 */
static int run_close_file(long n, double *ns)
{
	int fds[BC_BATCH];
	long batches = (n + BC_BATCH - 1) / BC_BATCH;
	int src = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (src < 0)
		return fail("open /dev/null");
	*ns = 0;
	for (long b = 0; b < batches; b++) {
		double t0;

		for (int i = 0; i < BC_BATCH; i++) {
			fds[i] = (int)syscall(SYS_dup, src);
			if (fds[i] < 0)
				return fail("dup");
		}
		t0 = now_ns();
		for (int i = 0; i < BC_BATCH; i++)
			close(fds[i]);
		*ns += now_ns() - t0;
	}
	close(src);
	/* Whole batches ran: scale to n closes. */
	*ns *= (double)n / ((double)batches * BC_BATCH);
	return 0;
}

static int run_socket_close(long n, double *ns)
{
	double t0 = now_ns();

	for (long i = 0; i < n; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);

		if (fd < 0)
			return fail("socket");
		close(fd);
	}
	*ns = now_ns() - t0;
	return 0;
}

static struct sockaddr_in loopback(void)
{
	struct sockaddr_in a;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

/* A listener on 127.0.0.1, port 0: the kernel picks a free port. */
static int open_listener(struct sockaddr_in *out)
{
	struct sockaddr_in a = loopback();
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		return fail("socket");
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    listen(fd, 128) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
		(void)fail("bind/listen");
		close(fd);
		return -1;
	}
	if (out)
		*out = a;
	return fd;
}

static int run_listen_close(long n, double *ns)
{
	double t0 = now_ns();

	for (long i = 0; i < n; i++) {
		int fd = open_listener(NULL);

		if (fd < 0)
			return -1;
		close(fd);
	}
	*ns = now_ns() - t0;
	return 0;
}

/*
 * One loopback connection: the server writes a few bytes and closes
 * first, as legacy daemons do, so TIME_WAIT stays on the listener's
 * port (a fresh one per run) and the client's ephemeral ports are free
 * again at once.  ask: the client sends a request first and the server
 * reads it, so that safe-abort may reset the connection.
 */
static int one_conn(int lfd, const struct sockaddr_in *a, bool ask)
{
	char buf[sizeof(BC_MSG)];
	int c = socket(AF_INET, SOCK_STREAM, 0);
	int s = -1;
	int ok = 0;

	if (c >= 0 && connect(c, (const struct sockaddr *)a, sizeof(*a)) == 0)
		s = accept(lfd, NULL, NULL);
	if (s >= 0 &&
	    (!ask || (write(c, BC_MSG, sizeof(BC_MSG) - 1) > 0 &&
	              read(s, buf, sizeof(buf)) > 0)) &&
	    write(s, BC_MSG, sizeof(BC_MSG) - 1) > 0 &&
	    read(c, buf, sizeof(buf)) > 0)
		ok = 1;
	if (s >= 0)
		close(s);
	if (c >= 0)
		close(c);
	return ok ? 0 : fail("connection");
}

static int churn(long n, double *ns, bool ask)
{
	struct sockaddr_in a;
	int lfd = open_listener(&a);
	double t0 = now_ns();

	if (lfd < 0)
		return -1;
	for (long i = 0; i < n; i++) {
		if (one_conn(lfd, &a, ask) != 0) {
			close(lfd);
			return -1;
		}
	}
	*ns = now_ns() - t0;
	close(lfd);
	return 0;
}

static int run_churn(long n, double *ns)
{
	return churn(n, ns, false);
}

static int run_churn_request(long n, double *ns)
{
	return churn(n, ns, true);
}

static int dup2_loop(int fd, long n, double *ns)
{
	double t0 = now_ns();

	for (long i = 0; i < n; i++) {
		if (dup2(fd, BC_DUP_FD) != BC_DUP_FD) {
			close(fd);
			return fail("dup2");
		}
		close(BC_DUP_FD);
	}
	*ns = now_ns() - t0;
	close(fd);
	return 0;
}

static int run_dup2_close(long n, double *ns)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	return fd < 0 ? fail("socket") : dup2_loop(fd, n, ns);
}

/* The same on a listener: a socket rebind's table knows. */
static int run_dup2_listener(long n, double *ns)
{
	int fd = open_listener(NULL);

	return fd < 0 ? -1 : dup2_loop(fd, n, ns);
}

static const struct bc_case cases[] = {
	{"close_file", "ns/op", run_close_file},
	{"socket_close", "ns/op", run_socket_close},
	{"listen_close", "ns/op", run_listen_close},
	{"churn", "conn/s", run_churn},
	{"churn_request", "conn/s", run_churn_request},
	{"dup2_close", "ns/op", run_dup2_close},
	{"dup2_listener", "ns/op", run_dup2_listener},
};

#define BC_NCASES (sizeof(cases) / sizeof(cases[0]))

static const struct bc_case *find_case(const char *name)
{
	for (size_t i = 0; i < BC_NCASES; i++)
		if (strcmp(cases[i].name, name) == 0)
			return &cases[i];
	return NULL;
}

static int usage(void)
{
	(void)fputs("usage: bench_close CASE ITERATIONS\ncases:", stderr);
	for (size_t i = 0; i < BC_NCASES; i++)
		(void)fprintf(stderr, " %s", cases[i].name);
	(void)fputc('\n', stderr);
	return 64;
}

static int run_case(const struct bc_case *c, long n)
{
	double ns;
	double v;

	if (c->run(n / 10 + 1, &ns) != 0 || c->run(n, &ns) != 0)
		return 1;
	v = strcmp(c->unit, "conn/s") == 0 ? (double)n * 1e9 / ns
					   : ns / (double)n;
	printf("%s,%.2f,%s\n", c->name, v, c->unit);
	return fflush(stdout) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	const struct bc_case *c = argc > 1 ? find_case(argv[1]) : NULL;
	long n;
	char *end = NULL;

	if (!c || argc != 3)
		return usage();
	errno = 0;
	n = strtol(argv[2], &end, 10);
	if (errno || *end || n < 1)
		return usage();
	return run_case(c, n);
}
