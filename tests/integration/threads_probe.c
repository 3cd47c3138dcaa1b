#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "probe.h"

/*
 * Stress (threads.sh runs it; also the ThreadSanitizer run):
 *
 *   threads_probe MODE SECONDS THREADS FORK [tsan]
 *
 * THREADS threads, for SECONDS, each in a loop: a listener (socket with
 * random SOCK_NONBLOCK/SOCK_CLOEXEC, bind to port 0, listen; replaced
 * every few rounds), then connections to it, accepted with accept or
 * accept4, and for each connection one of: close; close_range; dup,
 * dup2 onto an open pipe, dup3 or fcntl(F_DUPFD[_CLOEXEC]) then close
 * both.  Every call's result is checked, data of random size goes both
 * ways over every descriptor and is compared, and the peer must see a
 * clean EOF after each last close.  With FORK=1 one more thread forks
 * all along; the child calls closefrom(3), as helpers do before exec,
 * then _exit(0).
 *
 * MODE is "safe-abort" (the shim is loaded with REBIND_LINGER=safe-abort:
 * listeners and connections carry SO_REUSEADDR=1, nothing carries a
 * linger, most plain closes end in a reset, a duplicated connection
 * never does) or "none" (no shim: nothing set, no reset).
 *
 * "tsan" leaves out close_range and fcntl(F_DUPFD): ThreadSanitizer's
 * interceptors do not see descriptors made or closed by those, so when a
 * number is reused across threads it reports a "data race" on the
 * descriptor that is not one (its model of the fd table goes stale).
 * Everything the library does on those paths is also done by close and
 * dup*, which TSan does see.
 *
 * A watchdog thread ends the process with "FAIL deadlock" if the run
 * overstays by 10 s.  Output: "ok threads ..." with counters, or "FAIL
 * ..." lines.  Descriptors open at the end must be those open at the
 * start.
 */

#define CONNS      3  /* connections per round */
#define ROUNDS_PER 20 /* rounds per listener */
#define MAX_DATA   4096
#define WAIT_MS    5000
#define MAX_FAILS  20

struct stats {
	long rounds, conns, bytes, plain, plain_resets, copies;
};

static bool shim;
static bool tsan_safe;
static int seconds;
static struct timespec deadline;
static _Atomic int fails;
static _Atomic long forks;

__attribute__((format(printf, 1, 2))) static void fail(const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	if (atomic_fetch_add(&fails, 1) >= MAX_FAILS)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	printf("FAIL threads: %s\n", buf);
	fflush(stdout);
}

static bool past_deadline(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > deadline.tv_sec ||
	       (now.tv_sec == deadline.tv_sec &&
	        now.tv_nsec >= deadline.tv_nsec);
}

static unsigned rnd(unsigned *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	return (*seed >> 8) & 0xffffff;
}

/* --- socket facts ------------------------------------------------------ */

/* SO_REUSEADDR as the policy says (listener or accepted connection),
 * and no linger: safe-abort sets it only inside the close that resets. */
static void check_opts(int fd, const char *what)
{
	struct linger lg = {-1, -1};
	socklen_t len = sizeof(lg);
	int reuse = probe_int(fd, SOL_SOCKET, SO_REUSEADDR);

	if (reuse != (int)shim)
		fail("%s fd %d: SO_REUSEADDR=%d, want %d", what, fd, reuse,
		     (int)shim);
	if (getsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, &len) != 0 ||
	    lg.l_onoff != 0)
		fail("%s fd %d: SO_LINGER={%d,%d}, want none", what, fd,
		     lg.l_onoff, lg.l_linger);
}

/* --- bounded I/O ------------------------------------------------------- */

static void pattern(unsigned char *b, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (unsigned char)((seed + i * 131u) >> 3);
}

/* One message each way; both sides compare every byte. */
static bool one_way(int from, int to, unsigned *seed, struct stats *st)
{
	unsigned char out[MAX_DATA], in[MAX_DATA];
	size_t n = 1 + rnd(seed) % MAX_DATA;
	unsigned tag = rnd(seed);
	int err;

	pattern(out, n, tag);
	if (!probe_send_all(from, out, n, WAIT_MS)) {
		fail("send on fd %d: %s", from, strerror(errno));
		return false;
	}
	if (probe_recv_upto(to, in, n, WAIT_MS, &err) != n ||
	    memcmp(in, out, n) != 0) {
		fail("fd %d -> fd %d: %zu bytes sent, data lost or changed "
		     "(%s)",
		     from, to, n, err > 0 ? strerror(err) : "EOF or timeout");
		return false;
	}
	st->bytes += (long)n;
	return true;
}

static bool exchange(int srv, int cli, unsigned *seed, struct stats *st)
{
	return one_way(srv, cli, seed, st) && one_way(cli, srv, seed, st);
}

/*
 * The server side was closed: the client must read a clean EOF (data
 * already compared).  Returns true when the connection was reset after
 * that EOF (safe-abort's FIN, then RST once the FIN is acknowledged).  The client then closes with
 * linger {1,0}: its reset also ends the server side of an ordinary close,
 * so the run leaves no TIME_WAIT behind (tens of thousands would fill the
 * kernel's table and disturb other tests).
 */
static bool client_end(int cli)
{
	static const struct linger lg = {.l_onoff = 1, .l_linger = 0};
	unsigned char c;
	int err;
	bool reset;

	if (probe_recv_upto(cli, &c, 1, WAIT_MS, &err) != 0 || err != 0)
		fail("client fd %d: want a clean EOF, got %s", cli,
		     err > 0   ? strerror(err)
		     : err < 0 ? "nothing"
		               : "data");
	/* Acknowledge the FIN now rather than after the delayed-ACK timer:
	 * safe-abort's reset answers that acknowledgement. */
	(void)setsockopt(cli, IPPROTO_TCP, TCP_QUICKACK, &(int){1}, sizeof(int));
	reset = probe_tcp_state(cli) == TCP_CLOSE;
	if (setsockopt(cli, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) != 0 ||
	    close(cli) != 0)
		fail("close(client %d): %s", cli, strerror(errno));
	return reset;
}

/* --- one connection's life --------------------------------------------- */

static int close_one(int fd, unsigned *seed)
{
	if (rnd(seed) % 2 && !tsan_safe)
		return close_range((unsigned)fd, (unsigned)fd, 0);
	return close(fd);
}

static void plain(int srv, int cli, unsigned *seed, struct stats *st)
{
	if (!exchange(srv, cli, seed, st) || !probe_settle(srv, WAIT_MS))
		fail("fd %d: exchange or settle failed", srv);
	if (close_one(srv, seed) != 0)
		fail("close(%d): %s", srv, strerror(errno));
	st->plain++;
	st->plain_resets += client_end(cli);
}

/* A copy of srv made one of several ways; -1 on failure. */
static int make_copy(int srv, unsigned *seed)
{
	int p[2], c = -1;

	switch (rnd(seed) % 5) {
	case 0:
		return dup(srv);
	case 1:
		return tsan_safe ? dup(srv) : fcntl(srv, F_DUPFD, 0);
	case 2:
		return tsan_safe ? dup(srv) : fcntl(srv, F_DUPFD_CLOEXEC, 0);
	case 3: /* dup2 onto an open descriptor: closes the pipe's end */
		if (pipe(p) != 0)
			return -1;
		c = dup2(srv, p[1]);
		close(p[0]);
		return c;
	default: /* dup3 onto a number we hold: a copy of the pipe */
		if (pipe(p) != 0)
			return -1;
		c = dup3(srv, p[0], O_CLOEXEC);
		close(p[1]);
		return c;
	}
}

/* Copies: whichever descriptor closes first, the other still carries
 * data, and the last close is never a reset. */
static void copied(int srv, int cli, unsigned *seed, struct stats *st)
{
	int copy = make_copy(srv, seed);
	int first = srv;

	if (copy < 0 || copy == srv ||
	    probe_cookie(copy) != probe_cookie(srv)) {
		fail("copy of fd %d: got %d (%s)", srv, copy, strerror(errno));
		close(srv);
		close(cli);
		return;
	}
	if (rnd(seed) % 2) {
		first = copy;
		copy = srv;
	}
	if (!exchange(first, cli, seed, st) || !probe_settle(first, WAIT_MS) ||
	    close_one(first, seed) != 0)
		fail("fd %d (copied): exchange or close failed", first);
	if (!exchange(copy, cli, seed, st) || !probe_settle(copy, WAIT_MS) ||
	    close_one(copy, seed) != 0)
		fail("fd %d (the other copy): exchange or close failed", copy);
	st->copies++;
	if (client_end(cli))
		fail("client %d: a duplicated connection was reset", cli);
}

/* --- rounds ------------------------------------------------------------ */

static int make_listener(unsigned *seed)
{
	static const int flags[] = {0, SOCK_NONBLOCK, SOCK_CLOEXEC,
	                            SOCK_NONBLOCK | SOCK_CLOEXEC};
	int fd = probe_listener(flags[rnd(seed) % 4]);

	if (fd < 0) {
		fail("listener: %s", strerror(errno));
		return -1;
	}
	check_opts(fd, "listener");
	return fd;
}

static int connect_to(unsigned port)
{
	int fd = probe_connect(port);

	if (fd < 0)
		fail("connect: %s", strerror(errno));
	return fd;
}

static int accept_one(int lfd, int cli, unsigned *seed)
{
	int fd = -1;

	if (!probe_wait(lfd, POLLIN, WAIT_MS))
		errno = ETIMEDOUT;
	else if (rnd(seed) % 2)
		fd = accept(lfd, NULL, NULL);
	else
		fd = accept4(
		        lfd, NULL, NULL,
		        (int)(rnd(seed) % 2 ? SOCK_NONBLOCK : SOCK_CLOEXEC));
	if (fd < 0) {
		fail("accept on fd %d: %s", lfd, strerror(errno));
		return -1;
	}
	if (probe_port(fd, true) != probe_port(cli, false))
		fail("accepted fd %d is not client fd %d's connection", fd,
		     cli);
	check_opts(fd, "accepted");
	return fd;
}

static void round_on(int lfd, unsigned *seed, struct stats *st)
{
	unsigned port = probe_port(lfd, false);
	int cli[CONNS], srv[CONNS];

	for (int i = 0; i < CONNS; i++)
		cli[i] = connect_to(port);
	for (int i = 0; i < CONNS; i++)
		srv[i] = cli[i] < 0 ? -1 : accept_one(lfd, cli[i], seed);
	for (int i = 0; i < CONNS; i++) {
		if (srv[i] < 0) {
			if (cli[i] >= 0)
				close(cli[i]);
			continue;
		}
		st->conns++;
		if (rnd(seed) % 2)
			plain(srv[i], cli[i], seed, st);
		else
			copied(srv[i], cli[i], seed, st);
	}
	st->rounds++;
}

static void *worker(void *arg)
{
	struct stats *st = arg;
	unsigned seed = (unsigned)(uintptr_t)arg ^ (unsigned)getpid();

	while (!past_deadline()) {
		int lfd = make_listener(&seed);

		if (lfd < 0)
			break;
		for (int r = 0; r < ROUNDS_PER && !past_deadline(); r++)
			round_on(lfd, &seed, st);
		if (close_one(lfd, &seed) != 0)
			fail("close(listener %d): %s", lfd, strerror(errno));
	}
	return NULL;
}

/* Forks all along; the child closes every descriptor (through the hook,
 * as a helper about to exec does) and exits. */
static void *forker(void *arg)
{
	(void)arg;
	while (!past_deadline()) {
		int st;
		pid_t pid = fork();

		if (pid == 0) {
			closefrom(3);
			_exit(0);
		}
		if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
		    WEXITSTATUS(st) != 0)
			fail("fork child failed");
		atomic_fetch_add(&forks, 1);
	}
	return NULL;
}

/* --- setsockopt against dup ------------------------------------------- */

/*
 *   threads_probe setsockopt-dup TRIALS
 *
 * Per trial, on a fresh connection the client has spoken on (so
 * safe-abort may reset it): the main thread sets SO_REUSEADDR on the
 * server side while another thread dup()s it.  Both spin on one flag to
 * start together, and one of them waits a little longer each trial, so
 * the trials sweep every overlap of the two calls.  Then the original is
 * closed: the copy must still send, and the client read that byte, not
 * an EOF (a lost update in rebind's table put the safe-abort flag back
 * after dup cleared it).
 */
static _Atomic int race_round, race_done;
static int race_fd, race_copy;

static void spin(unsigned n)
{
	for (volatile unsigned i = 0; i < n; i++)
		;
}

static unsigned race_delay(int round, bool dup_side)
{
	return (unsigned)(round / 2 % 64) * 20 *
	       ((round % 2 == 0) == dup_side);
}

static void *race_dup(void *arg)
{
	int seen = 0;

	(void)arg;
	for (;;) {
		while (atomic_load(&race_round) == seen)
			;
		seen = atomic_load(&race_round);
		if (seen < 0)
			return NULL;
		spin(race_delay(seen, true));
		race_copy = dup(race_fd);
		atomic_store(&race_done, seen);
	}
}

static void race_setsockopt(int round)
{
	const int one = 1;

	atomic_store(&race_round, round);
	spin(race_delay(round, false));
	if (setsockopt(race_fd, SOL_SOCKET, SO_REUSEADDR, &one,
	               sizeof(one)) != 0)
		fail("setsockopt: %s", strerror(errno));
	while (atomic_load(&race_done) != round)
		;
}

/* One trial; true when the copy outlived the original's close. */
static bool race_trial(int lfd, unsigned port, int round)
{
	int cli = connect_to(port);
	unsigned char c = 0;
	int err;
	bool ok;

	race_fd = cli < 0 || !probe_send_all(cli, "q", 1, WAIT_MS)
	                  ? -1
	                  : accept(lfd, NULL, NULL);
	if (race_fd < 0 || probe_recv_upto(race_fd, &c, 1, WAIT_MS, &err) != 1) {
		fail("trial setup: %s", strerror(errno));
		return false;
	}
	race_setsockopt(round);
	close(race_fd);
	ok = race_copy >= 0 && probe_send_all(race_copy, "x", 1, WAIT_MS) &&
	     probe_recv_upto(cli, &c, 1, WAIT_MS, &err) == 1 && c == 'x';
	if (race_copy >= 0)
		close(race_copy);
	client_end(cli);
	return ok;
}

static int race_main(int trials)
{
	pthread_t b;
	int lfd = probe_listener(0);
	int lost = 0;

	if (lfd < 0 || pthread_create(&b, NULL, race_dup, NULL) != 0)
		return 99;
	for (int i = 1; i <= trials && atomic_load(&fails) == 0; i++)
		lost += !race_trial(lfd, probe_port(lfd, false), i);
	atomic_store(&race_round, -1);
	pthread_join(b, NULL);
	close(lfd);
	if (lost)
		fail("%d of %d trials: the copy's connection was shut down "
		     "when the original closed",
		     lost, trials);
	printf("%s setsockopt-dup: trials=%d lost=%d\n",
	       atomic_load(&fails) ? "FAIL" : "ok", trials, lost);
	return atomic_load(&fails) != 0;
}

/* --- main -------------------------------------------------------------- */

static void report(const struct stats *w, int n)
{
	struct stats t = {0};

	for (int i = 0; i < n; i++) {
		t.rounds += w[i].rounds;
		t.conns += w[i].conns;
		t.bytes += w[i].bytes;
		t.plain += w[i].plain;
		t.plain_resets += w[i].plain_resets;
		t.copies += w[i].copies;
	}
	/* Few plain closes reset: the shim did not track connections.  Not
	 * all do: a fork in between makes a close ordinary. */
	if (shim && t.plain_resets * 4 < t.plain)
		fail("only %ld of %ld plain closes were reset", t.plain_resets,
		     t.plain);
	if (!shim && t.plain_resets != 0)
		fail("%ld resets without the shim", t.plain_resets);
	if (t.rounds < n)
		fail("only %ld rounds", t.rounds);
	printf("%s threads: threads=%d rounds=%ld conns=%ld bytes=%ld "
	       "plain=%ld resets=%ld copies=%ld forks=%ld\n",
	       atomic_load(&fails) ? "FAIL" : "ok", n, t.rounds, t.conns,
	       t.bytes, t.plain, t.plain_resets, t.copies, atomic_load(&forks));
}

int main(int argc, char **argv)
{
	pthread_t tid[64], fk;
	struct stats st[64];
	int n, fds0;
	bool use_fork;

	signal(SIGPIPE, SIG_IGN);
	if (argc == 3 && strcmp(argv[1], "setsockopt-dup") == 0)
		return race_main(atoi(argv[2]));
	if (argc < 5 || argc > 6 ||
	    (strcmp(argv[1], "none") != 0 &&
	     strcmp(argv[1], "safe-abort") != 0) ||
	    (argc == 6 && strcmp(argv[5], "tsan") != 0)) {
		fprintf(stderr,
		        "usage: %s none|safe-abort SECONDS THREADS "
		        "FORK(0|1) [tsan]\n",
		        argv[0]);
		return 64;
	}
	tsan_safe = argc == 6;
	shim = strcmp(argv[1], "none") != 0;
	seconds = atoi(argv[2]);
	n = atoi(argv[3]);
	use_fork = atoi(argv[4]) != 0;
	if (seconds < 1 || n < 1 || n > 64)
		return 64;
	signal(SIGPIPE, SIG_IGN);
	fds0 = probe_count_fds();
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += seconds;
	memset(st, 0, sizeof(st));
	probe_watchdog("threads", (unsigned)seconds);
	for (int i = 0; i < n; i++)
		if (pthread_create(&tid[i], NULL, worker, &st[i]) != 0)
			return 1;
	if (use_fork && pthread_create(&fk, NULL, forker, NULL) != 0)
		return 1;
	for (int i = 0; i < n; i++)
		pthread_join(tid[i], NULL);
	if (use_fork)
		pthread_join(fk, NULL);
	if (probe_count_fds() != fds0)
		fail("%d descriptors open at the end, %d at the start",
		     probe_count_fds(), fds0);
	report(st, n);
	return atomic_load(&fails) != 0;
}
