#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "probe.h"

/*
 * close() from a signal handler (signal_close.sh runs it):
 *
 *   signal_probe SECONDS [safe-abort]
 *
 * The main thread loops on socket()+close() and on making connections
 * that it accepts (so the shim tracks them under safe-abort) and hands
 * over to slots.  A signal handler takes a connection from a slot and
 * close()s it.  For the first half of the run the signal is SIGALRM from
 * setitimer every 50 us; for the second, SIGUSR1 sent with pthread_kill
 * by another thread as fast as it can.  So the handler's close() runs
 * while the main thread is inside close() or socket() (counted: it must
 * happen) or anywhere else.
 *
 * Checks: the run ends (a watchdog thread prints "FAIL deadlock" and
 * exits if it overstays by 10 s), every close returns 0, every client
 * reads its greeting and a clean EOF after its connection was closed, and
 * the descriptors open at the end are those open at the start.  With
 * "safe-abort" (the shim is loaded so), most connections must end with
 * safe-abort's reset after the EOF: the handler's close() really took
 * that path.  Output:
 * "ok signal ..." with counters, or "FAIL ..." lines.
 */

#define SLOTS   16
#define WAIT_MS 5000

struct slot {
	_Atomic int conn; /* -1: closed (by the handler or main) */
	int cli;          /* -1: no pair */
};

static struct slot slots[SLOTS];
static _Atomic unsigned next_slot;
static volatile sig_atomic_t in_call; /* main is inside socket()/close() */
static _Atomic long signals, hits_in_call, handler_closes, bad_closes;
static _Atomic int stop_kill;
static long pairs, main_closes, eof_ok, resets;
static int fails;
static int seconds;
static pthread_t main_tid;

/* err: the errno that explains it, or 0. */
static void fail(const char *what, int err)
{
	if (fails++ >= 20)
		return;
	if (err)
		printf("FAIL signal: %s: %s\n", what, strerror(err));
	else
		printf("FAIL signal: %s\n", what);
	fflush(stdout);
}

/* Only async-signal-safe calls: close() and atomics. */
static void on_signal(int sig)
{
	int saved = errno;
	unsigned i = atomic_fetch_add(&next_slot, 1) % SLOTS;
	int fd = atomic_exchange(&slots[i].conn, -1);

	(void)sig;
	atomic_fetch_add(&signals, 1);
	if (in_call)
		atomic_fetch_add(&hits_in_call, 1);
	if (fd >= 0) {
		if (close(fd) != 0)
			atomic_fetch_add(&bad_closes, 1);
		atomic_fetch_add(&handler_closes, 1);
	}
	errno = saved;
}

/* A non-blocking connect that signals cannot break. */
static int connect_to(const struct sockaddr_in *a)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	int err = 0;
	socklen_t len = sizeof(err);

	if (fd < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)a, sizeof(*a)) != 0 &&
	    errno != EINPROGRESS && errno != EINTR) {
		close(fd);
		return -1;
	}
	if (!(probe_wait(fd, POLLOUT, WAIT_MS) & POLLOUT) ||
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err) {
		close(fd);
		return -1;
	}
	return fd;
}

static int accept_from(int lfd)
{
	int fd;

	do
		fd = probe_wait(lfd, POLLIN, WAIT_MS)
		             ? accept4(lfd, NULL, NULL, SOCK_CLOEXEC)
		             : -1;
	while (fd < 0 && errno == EINTR);
	return fd;
}

/* A connection accepted (tracked by the shim), request read, greeting
 * sent and acknowledged, handed to slot i. */
static void fill_slot(int lfd, const struct sockaddr_in *a, int i)
{
	int cli = connect_to(a);
	int srv = cli < 0 ? -1 : accept_from(lfd);
	char buf[1];
	int err;

	if (srv < 0) {
		fail("connect or accept", errno);
		if (cli >= 0)
			close(cli);
		return;
	}
	/* The client speaks first: safe-abort resets only a connection
	 * whose peer has sent something. */
	if (!probe_send_all(cli, "q", 1, WAIT_MS) ||
	    probe_recv_upto(srv, buf, 1, WAIT_MS, &err) != 1)
		fail("request", errno);
	if (write(srv, "hi", 2) != 2 || !probe_settle(srv, WAIT_MS))
		fail("greeting", errno);
	slots[i].cli = cli;
	pairs++;
	atomic_store(&slots[i].conn, srv);
}

/* The connection of slot i is closed: its client reads the greeting
 * and a clean EOF. */
static void drain_slot(int i)
{
	char buf[4];
	int cli = slots[i].cli;
	int err;
	size_t got = probe_recv_upto(cli, buf, sizeof(buf), WAIT_MS, &err);

	if (err == 0 && got == 2 && memcmp(buf, "hi", 2) == 0) {
		eof_ok++;
		/* Acknowledge the FIN now: the reset answers that. */
		(void)setsockopt(cli, IPPROTO_TCP, TCP_QUICKACK, &(int){1},
		                 sizeof(int));
		if (probe_tcp_state(cli) == TCP_CLOSE)
			resets++;
	} else
		fail("client: want the greeting and a clean EOF",
		     err > 0 ? err : 0);
	if (close(cli) != 0)
		fail("close(client)", errno);
	slots[i].cli = -1;
}

/* socket() and close() in a tight loop: where the signals should land. */
static void churn(void)
{
	for (int k = 0; k < 16; k++) {
		int fd;

		in_call = 1;
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd >= 0 && close(fd) != 0)
			fail("close", errno);
		in_call = 0;
		if (fd < 0)
			fail("socket", errno);
	}
}

/* Main closes a tracked connection itself, now and then. */
static void take_slot(int i)
{
	int fd = atomic_exchange(&slots[i].conn, -1);

	if (fd < 0)
		return;
	in_call = 1;
	if (close(fd) != 0)
		fail("close(connection)", errno);
	in_call = 0;
	main_closes++;
}

static void run_until(int lfd, const struct sockaddr_in *a,
                      const struct timespec *end)
{
	struct timespec now;
	unsigned i = 0;

	do {
		int s = (int)(i++ % SLOTS);

		churn();
		if (slots[s].cli >= 0 && atomic_load(&slots[s].conn) < 0)
			drain_slot(s);
		if (slots[s].cli < 0)
			fill_slot(lfd, a, s);
		if (i % 7 == 0)
			take_slot((int)((i * 5) % SLOTS));
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (now.tv_sec < end->tv_sec ||
	         (now.tv_sec == end->tv_sec && now.tv_nsec < end->tv_nsec));
}

static void *killer(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop_kill)) {
		pthread_kill(main_tid, SIGUSR1);
		sched_yield();
	}
	return NULL;
}

static void phase(int lfd, const struct sockaddr_in *a, bool timer)
{
	struct itimerval it = {{0, 50}, {0, 50}};
	struct itimerval off = {{0, 0}, {0, 0}};
	struct timespec end;
	pthread_t k;

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_nsec += (long)seconds * 500000000L;
	end.tv_sec += end.tv_nsec / 1000000000L;
	end.tv_nsec %= 1000000000L;
	if (timer)
		setitimer(ITIMER_REAL, &it, NULL);
	else
		pthread_create(&k, NULL, killer, NULL);
	run_until(lfd, a, &end);
	if (timer) {
		setitimer(ITIMER_REAL, &off, NULL);
	} else {
		atomic_store(&stop_kill, 1);
		pthread_join(k, NULL);
	}
}

/* Signals off, then every remaining connection closed and checked. */
static void wind_down(int lfd)
{
	sigset_t all;

	sigemptyset(&all);
	sigaddset(&all, SIGALRM);
	sigaddset(&all, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	for (int i = 0; i < SLOTS; i++) {
		take_slot(i);
		if (slots[i].cli >= 0)
			drain_slot(i);
	}
	if (close(lfd) != 0)
		fail("close(listener)", errno);
}

static void install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
}

int main(int argc, char **argv)
{
	struct sockaddr_in a;
	sigset_t mask, old;
	int fds0, lfd;

	seconds = argc >= 2 ? atoi(argv[1]) : 0;
	if (seconds < 1 || argc > 3 ||
	    (argc == 3 && strcmp(argv[2], "safe-abort") != 0)) {
		fprintf(stderr, "usage: %s SECONDS [safe-abort]\n", argv[0]);
		return 64;
	}
	signal(SIGPIPE, SIG_IGN);
	for (int i = 0; i < SLOTS; i++) {
		slots[i].conn = -1;
		slots[i].cli = -1;
	}
	fds0 = probe_count_fds();
	main_tid = pthread_self();
	/* Other threads never take the signals. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGALRM);
	sigaddset(&mask, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &mask, &old);
	probe_watchdog("signal", (unsigned)seconds);
	lfd = probe_listener(0);
	if (lfd < 0) {
		fail("listener", errno);
		return 1;
	}
	a = probe_loopback(probe_port(lfd, false));
	install();
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	phase(lfd, &a, true);
	phase(lfd, &a, false);
	wind_down(lfd);
	if (probe_count_fds() != fds0)
		fail("descriptors open at the end differ from the start", 0);
	if (atomic_load(&hits_in_call) == 0)
		fail("no signal arrived inside socket() or close()", 0);
	if (atomic_load(&bad_closes) != 0)
		fail("close() in the handler failed", 0);
	if (eof_ok != pairs)
		fail("not every client saw its EOF", 0);
	if (argc == 3 && resets * 2 < pairs)
		fail("fewer than half the connections were reset", 0);
	printf("%s signal: signals=%ld in_socket_or_close=%ld pairs=%ld "
	       "handler_closes=%ld main_closes=%ld resets=%ld\n",
	       fails ? "FAIL" : "ok", atomic_load(&signals),
	       atomic_load(&hits_in_call), pairs, atomic_load(&handler_closes),
	       main_closes, resets);
	return fails != 0;
}
