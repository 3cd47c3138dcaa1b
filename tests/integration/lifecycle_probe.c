#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "probe.h"

/*
 * The descriptor lifecycle matrix (lifecycle.sh runs it).  Walks sockets
 * through every way a descriptor is created, copied and closed, under the
 * policy named by argv[1]:
 *
 *   none        no shim loaded (the control: the kernel's own behaviour)
 *   off         shim, default policy (REBIND_LINGER unset)
 *   abort       shim, REBIND_LINGER=abort
 *   safe-abort  shim, REBIND_LINGER=safe-abort
 *   mem         no checks: RSS growth of a close-everything loop
 *
 * One line per step: "ok STEP" or "FAIL STEP: why", then "done".
 *
 * After every step, every live descriptor the probe knows about is
 * checked: it is still the same object (SO_COOKIE or inode), listeners
 * and accepted connections carry SO_REUSEADDR=1 under the shim, linger
 * {1,0} under abort and no linger otherwise (safe-abort sets it only at
 * the close that resets), connections are still ESTABLISHED (nobody shut
 * them down) and carry data both ways; client, UDP and Unix sockets carry
 * nothing.
 *
 * How a close of an accepted connection ended is read from its peer, a
 * client socket in this process that never closes first:
 *
 *   NOTHING   no EOF, still ESTABLISHED (another copy keeps it open)
 *   ORDINARY  data, clean EOF, the client stays in CLOSE_WAIT, and once
 *             it closes, the server side of the 4-tuple is in TIME_WAIT
 *   RESET     data, clean EOF, then the reset (client in CLOSE): no
 *             TIME_WAIT (safe-abort's FIN then RST)
 *   ABORT     data, then ECONNRESET without EOF (linger {1,0})
 *
 * Before such a close the probe waits until the connection's queues are
 * empty (SIOCOUTQ, SIOCINQ), so safe-abort's "nothing to lose" holds and
 * the expected outcome is deterministic.
 *
 * Descriptors closed "inside libc" are simulated with syscall(SYS_close),
 * and descriptors a hook must not see are made with raw system calls,
 * both through libc's own syscall(): librebind hooks the exported one.
 */

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* libc's syscall(), found in libc itself (set in main). */
static probe_syscall_fn raw_syscall;

static void find_raw_syscall(void)
{
	raw_syscall = probe_raw_syscall();
	if (!raw_syscall) {
		printf("setup: libc's syscall() not found\n");
		exit(99);
	}
}

#define HIGH_WANT   66000 /* above 65536 */
#define HIGH_LIMIT  70000
#define TW_N        50
#define TW_MAX_SAFE (TW_N * 2 / 5)
#define WAIT_MS     2000
#define MAX_ENT     32

enum mode { M_NONE, M_OFF, M_ABORT, M_SAFE };
enum role { R_LISTENER, R_RAWLISTENER, R_CONN, R_CLIENT, R_PLAIN };
enum outcome { O_NOTHING, O_ORDINARY, O_RESET, O_ABORT, O_ORD_OR_RESET };
/* How a connection's last close comes about (see expect_for);
 * K_UNTOUCHED: a connection rebind leaves as the kernel made it. */
enum kind { K_LAST, K_SHARED, K_IMPLICIT, K_UNTOUCHED };

struct ent {
	int fd;
	enum role role;
	uint64_t id;
	int cli; /* R_CONN: its peer's descriptor */
};

static enum mode mode;
static char *self_exe;
static const char *step;
static int step_bad;
static int failures;
static struct ent reg[MAX_ENT];
static int nreg;
static int L = -1;     /* the main listener, kept to the end */
static unsigned lport; /* its port */
static char tmpfile_path[256];
static int high_fd = HIGH_WANT; /* lower when RLIMIT_NOFILE cannot rise */

/* --- reporting ---------------------------------------------------- */

static void begin(const char *name)
{
	step = name;
	step_bad = 0;
}

/* A step in several phases: "NAME/PHASE". */
static void begin2(const char *name, const char *phase)
{
	static char buf[64];

	snprintf(buf, sizeof(buf), "%s/%s", name, phase);
	begin(buf);
}

__attribute__((format(printf, 1, 2))) static void fail(const char *fmt, ...)
{
	va_list ap;

	printf("FAIL %s: ", step);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	step_bad = 1;
	failures++;
}

static void nap_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static bool is_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

/* --- socket facts --------------------------------------------------- */

static bool get_linger(int fd, struct linger *lg)
{
	socklen_t len = sizeof(*lg);

	return getsockopt(fd, SOL_SOCKET, SO_LINGER, lg, &len) == 0;
}

static uint64_t object_id(int fd)
{
	uint64_t c = probe_cookie(fd);
	struct stat st;

	if (c != 0)
		return c;
	if (fstat(fd, &st) == 0)
		return ((uint64_t)st.st_dev << 40) ^ (uint64_t)st.st_ino;
	return 0;
}

static const char *state_name(int st)
{
	static const char *const names[] = {
	        "?",          "ESTABLISHED", "SYN_SENT",  "SYN_RECV",
	        "FIN_WAIT1",  "FIN_WAIT2",   "TIME_WAIT", "CLOSE",
	        "CLOSE_WAIT", "LAST_ACK",    "LISTEN",    "CLOSING"};

	return st > 0 && st < 12 ? names[st] : "?";
}

/* Is the server side of 127.0.0.1:lp <-> 127.0.0.1:rp in TIME_WAIT?
 * /proc/net/tcp lists TIME_WAIT entries as state 06. */
static int tw_count(unsigned lp, const unsigned *rp, int n)
{
	FILE *f = fopen("/proc/net/tcp", "r");
	char line[512];
	int found = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned a, b, st;

		if (sscanf(line, " %*u: %*x:%x %*x:%x %x", &a, &b, &st) != 3 ||
		    a != lp || st != 6)
			continue;
		for (int i = 0; i < n; i++)
			found += b == rp[i];
	}
	fclose(f);
	return found;
}

static bool wait_tw(unsigned lp, unsigned rp)
{
	for (int i = 0; i < WAIT_MS / 10; i++) {
		if (tw_count(lp, &rp, 1) > 0)
			return true;
		nap_ms(10);
	}
	return false;
}

/* --- plain I/O with bounded waits ----------------------------------- */

static bool recv_exact(int fd, const char *want, size_t n)
{
	char buf[4096];
	int err;

	if (n > sizeof(buf))
		return false;
	return probe_recv_upto(fd, buf, n, WAIT_MS, &err) == n &&
	       memcmp(buf, want, n) == 0;
}

/* --- the registry of live descriptors ------------------------------- */

static void reg_add(int fd, enum role role, int cli)
{
	if (nreg == MAX_ENT) {
		fail("probe: registry full");
		return;
	}
	reg[nreg++] = (struct ent){fd, role, object_id(fd), cli};
}

static void reg_del(int fd)
{
	for (int i = 0; i < nreg; i++) {
		if (reg[i].fd == fd) {
			reg[i] = reg[--nreg];
			i--;
		}
	}
}

static void reg_set_role(int fd, enum role role)
{
	for (int i = 0; i < nreg; i++)
		if (reg[i].fd == fd)
			reg[i].role = role;
}

static bool shim(void)
{
	return mode != M_NONE;
}

/* What the policy says about a live socket in this role. */
static void want_opts(enum role r, int *reuse, int *onoff)
{
	bool covered = r == R_LISTENER || r == R_CONN;

	*reuse = covered && shim();
	*onoff = covered && mode == M_ABORT;
}

static void check_opts(const struct ent *e)
{
	struct linger lg = {-1, -1};
	int reuse, onoff;
	int got = probe_int(e->fd, SOL_SOCKET, SO_REUSEADDR);

	want_opts(e->role, &reuse, &onoff);
	if (got != reuse)
		fail("fd %d (role %d): SO_REUSEADDR=%d, want %d", e->fd,
		     e->role, got, reuse);
	if (!get_linger(e->fd, &lg) || lg.l_onoff != onoff || lg.l_linger != 0)
		fail("fd %d (role %d): SO_LINGER={%d,%d}, want {%d,0}", e->fd,
		     e->role, lg.l_onoff, lg.l_linger, onoff);
	if ((e->role == R_CONN || e->role == R_CLIENT) &&
	    probe_tcp_state(e->fd) != TCP_ESTABLISHED)
		fail("fd %d: state %s, want ESTABLISHED (shut down?)", e->fd,
		     state_name(probe_tcp_state(e->fd)));
}

static void roundtrip(int srv, int cli)
{
	/* All 48 bytes go out: none may be left uninitialised. */
	char a[48] = "", b[48] = "";

	snprintf(a, sizeof(a), "s%d>c%d %s", srv, cli, step);
	snprintf(b, sizeof(b), "c%d>s%d %s", cli, srv, step);
	if (!probe_send_all(srv, a, sizeof(a), WAIT_MS) ||
	    !recv_exact(cli, a, sizeof(a)))
		fail("fd %d -> client %d: data lost", srv, cli);
	if (!probe_send_all(cli, b, sizeof(b), WAIT_MS) ||
	    !recv_exact(srv, b, sizeof(b)))
		fail("client %d -> fd %d: data lost", cli, srv);
}

static void check_ent(const struct ent *e)
{
	if (!is_open(e->fd)) {
		fail("fd %d (role %d) is closed", e->fd, e->role);
		return;
	}
	if (object_id(e->fd) != e->id) {
		fail("fd %d (role %d) is another object now", e->fd, e->role);
		return;
	}
	check_opts(e);
	if (e->role == R_CONN && e->cli >= 0)
		roundtrip(e->fd, e->cli);
}

/* Ends a step: check every live descriptor, then report. */
static void end(void)
{
	for (int i = 0; i < nreg; i++)
		check_ent(&reg[i]);
	if (!step_bad)
		printf("ok %s\n", step);
	fflush(stdout);
}

/* --- connections ---------------------------------------------------- */

static int connect_to(unsigned port)
{
	int fd = probe_connect(port);

	if (fd < 0)
		fail("connect to port %u: %s", port, strerror(errno));
	return fd;
}

enum how { A_ACCEPT, A_ACCEPT4, A_RAW };

static int accept_how(int lfd, enum how how)
{
	if (!probe_wait(lfd, POLLIN, WAIT_MS))
		return -1;
	if (how == A_ACCEPT)
		return accept(lfd, NULL, NULL);
	if (how == A_ACCEPT4)
		return accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	return (int)raw_syscall(SYS_accept4, lfd, NULL, NULL, 0);
}

/* Accepts the connection from client cli on lfd. */
static int accept_from(int lfd, int cli, enum how how)
{
	int srv = accept_how(lfd, how);

	if (srv < 0) {
		fail("accept on fd %d: %s", lfd, strerror(errno));
		return -1;
	}
	if (probe_port(srv, true) != probe_port(cli, false))
		fail("accepted fd %d is not client %d's connection", srv, cli);
	return srv;
}

/* The client speaks first, as clients do: safe-abort resets only a
 * connection whose peer has sent something. */
static void client_speaks(int srv, int cli)
{
	if (!probe_send_all(cli, "hi", 2, WAIT_MS) || !recv_exact(srv, "hi", 2))
		fail("client %d -> fd %d: request lost", cli, srv);
}

/* A new connection through lfd, registered; returns the server side. */
static int new_conn(int lfd, enum how how, int *cli)
{
	int srv;

	*cli = connect_to(probe_port(lfd, false));
	if (*cli < 0)
		return -1;
	srv = accept_from(lfd, *cli, how);
	if (srv < 0)
		return -1;
	client_speaks(srv, *cli);
	reg_add(*cli, R_CLIENT, -1);
	reg_add(srv, R_CONN, *cli);
	return srv;
}

static enum outcome expect_for(enum kind k)
{
	if (k == K_UNTOUCHED)
		return O_ORDINARY;
	if (mode == M_ABORT)
		return O_ABORT;
	if (mode != M_SAFE || k == K_SHARED)
		return O_ORDINARY;
	return k == K_LAST ? O_RESET : O_ORD_OR_RESET;
}

/* The client has read everything; what comes next?  0 EOF, else errno
 * (-1: nothing within the limit). */
static int read_end(int cli)
{
	char c;
	int err;

	if (probe_recv_upto(cli, &c, 1, WAIT_MS, &err) == 1)
		return EEXIST; /* more data than expected */
	return err;
}

static void expect_nothing(int cli)
{
	int ev = probe_wait(cli, POLLIN | POLLRDHUP, 50);

	if (ev != 0 || probe_tcp_state(cli) != TCP_ESTABLISHED)
		fail("client %d: want the connection untouched, got events "
		     "0x%x, state %s",
		     cli, ev, state_name(probe_tcp_state(cli)));
}

static void expect_eof_then(int cli, enum outcome o, unsigned lp, unsigned cp)
{
	int end = read_end(cli);

	if (end != 0) {
		fail("client %d: want data then a clean EOF, got %s", cli,
		     end < 0 ? "nothing" : strerror(end));
		return;
	}
	/* Acknowledge the FIN now, not after the delayed-ACK timer:
	 * safe-abort's reset answers that acknowledgement. */
	(void)setsockopt(cli, IPPROTO_TCP, TCP_QUICKACK, &(int){1}, sizeof(int));
	if (o == O_RESET && !probe_wait_tcp_state(cli, TCP_CLOSE, WAIT_MS)) {
		fail("client %d: want FIN then reset, stays %s", cli,
		     state_name(probe_tcp_state(cli)));
		return;
	}
	if (o == O_ORDINARY && probe_tcp_state(cli) != TCP_CLOSE_WAIT) {
		fail("client %d: want an ordinary close, state %s", cli,
		     state_name(probe_tcp_state(cli)));
		return;
	}
	if (o == O_ORD_OR_RESET && probe_tcp_state(cli) == TCP_CLOSE)
		o = O_RESET;
	close(cli);
	if (o == O_ORDINARY && !wait_tw(lp, cp))
		fail("client %d: no TIME_WAIT for port %u<->%u: the close was "
		     "not ordinary",
		     cli, lp, cp);
	if (o == O_RESET && tw_count(lp, &cp, 1) != 0)
		fail("client %d: reset, yet TIME_WAIT for %u<->%u", cli, lp,
		     cp);
}

/*
 * The server side of cli's connection was closed after sending data
 * (NULL: nothing).  Read it and check the end is outcome o; the client is
 * closed and unregistered unless o is O_NOTHING.
 */
static void expect_end(int cli, enum outcome o, const char *data)
{
	unsigned lp = probe_port(cli, true);
	unsigned cp = probe_port(cli, false);
	size_t n = data ? strlen(data) : 0;
	int end;

	if (o == O_NOTHING) {
		expect_nothing(cli);
		return;
	}
	reg_del(cli);
	if (n && !recv_exact(cli, data, n))
		fail("client %d: data written before the close was lost", cli);
	if (o != O_ABORT) {
		expect_eof_then(cli, o, lp, cp);
		return;
	}
	end = read_end(cli);
	if (end != ECONNRESET)
		fail("client %d: want a reset (abort), got %s", cli,
		     end == 0  ? "EOF"
		     : end < 0 ? "nothing"
		               : strerror(end));
	close(cli);
	if (tw_count(lp, &cp, 1) != 0)
		fail("client %d: abort left TIME_WAIT", cli);
}

/* Send a last message through srv, wait until the peer has it, close
 * srv and check how the connection to cli ended. */
static void finish_conn(int srv, int cli, enum kind k)
{
	char msg[48];

	snprintf(msg, sizeof(msg), "last words of fd %d in %s", srv, step);
	if (!probe_send_all(srv, msg, strlen(msg), WAIT_MS) ||
	    !probe_settle(srv, WAIT_MS))
		fail("fd %d: cannot send or settle", srv);
	reg_del(srv);
	if (close(srv) != 0)
		fail("close(%d): %s", srv, strerror(errno));
	expect_end(cli, expect_for(k), msg);
}

/* --- steps: creation ------------------------------------------------ */

static void step_socket(void)
{
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	struct sockaddr_in any = probe_loopback(0);
	int u, x;

	begin("socket");
	L = probe_listener(SOCK_NONBLOCK);
	if (L < 0) {
		fail("listener: %s", strerror(errno));
		exit(1);
	}
	lport = probe_port(L, false);
	reg_add(L, R_LISTENER, -1);
	/* UDP and Unix sockets get nothing, even when listen() is called. */
	u = socket(AF_INET, SOCK_DGRAM, 0);
	if (u < 0 || bind(u, (struct sockaddr *)&any, sizeof(any)) != 0 ||
	    listen(u, 4) == 0 || errno != EOPNOTSUPP)
		fail("UDP socket: listen() did not fail with EOPNOTSUPP");
	reg_add(u, R_PLAIN, -1);
	x = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(un.sun_path + 1, sizeof(un.sun_path) - 1,
	         "rebind-lifecycle-%d", (int)getpid());
	if (x < 0 || bind(x, (struct sockaddr *)&un, sizeof(un)) != 0 ||
	    listen(x, 4) != 0)
		fail("Unix listener: %s", strerror(errno));
	reg_add(x, R_PLAIN, -1);
	end();
}

/* A connection that lives through every step, into the exec. */
static void step_accept(void)
{
	int cli;

	begin("accept");
	(void)new_conn(L, A_ACCEPT, &cli);
	end();
}

static void step_accept4_close(void)
{
	int cli;
	int srv;

	begin("accept4");
	srv = new_conn(L, A_ACCEPT4, &cli);
	if (srv >= 0 && (!(fcntl(srv, F_GETFD) & FD_CLOEXEC) ||
	                 !(fcntl(srv, F_GETFL) & O_NONBLOCK)))
		fail("accept4 flags lost: fd %d", srv);
	end();
	begin("close");
	if (srv >= 0)
		finish_conn(srv, cli, K_LAST);
	end();
}

/* TW_N connections closed the ordinary way a server does: reply, close
 * at once (no waiting for the ACK), and the client closes after EOF. */
static int tw_round(unsigned *ports)
{
	static const char reply[] = "HTTP/1.0 200 OK\r\n\r\nhello";
	int n = 0;

	for (int i = 0; i < TW_N; i++) {
		int cli = connect_to(lport);
		int srv = cli < 0 ? -1 : accept_from(L, cli, A_ACCEPT);
		int end;

		if (srv < 0)
			return n;
		client_speaks(srv, cli);
		ports[n++] = probe_port(cli, false);
		if (!probe_send_all(srv, reply, sizeof(reply), WAIT_MS) ||
		    !recv_exact(cli, reply, sizeof(reply)))
			fail("connection %d: reply lost", i);
		close(srv);
		end = read_end(cli);
		if (mode == M_ABORT ? end != ECONNRESET : end != 0)
			fail("connection %d: after the reply got %s", i,
			     end == 0 ? "EOF" : strerror(end));
		close(cli);
	}
	return n;
}

static void step_tw_count(void)
{
	unsigned ports[TW_N];
	int n, tw = 0, prev = -1;

	begin("close_tw50");
	n = tw_round(ports);
	/* TIME_WAIT entries appear as the clients' FINs arrive: wait until
	 * the count stops moving. */
	for (int i = 0; i < 50; i++) {
		tw = tw_count(lport, ports, n);
		if (tw == prev)
			break;
		prev = tw;
		nap_ms(20);
	}
	if (mode == M_SAFE && tw > TW_MAX_SAFE)
		fail("%d of %d connections left TIME_WAIT, want <= %d", tw, n,
		     TW_MAX_SAFE);
	if (mode == M_ABORT && tw != 0)
		fail("%d of %d connections left TIME_WAIT, want 0", tw, n);
	if ((mode == M_OFF || mode == M_NONE) && tw < n - 5)
		fail("%d of %d connections left TIME_WAIT, want all", tw, n);
	if (!step_bad)
		printf("# close_tw50: %d of %d connections left TIME_WAIT\n",
		       tw, n);
	end();
}

/* --- steps: copies -------------------------------------------------- */

static int copy_dup(int fd)
{
	return dup(fd);
}

static int copy_dup2(int fd)
{
	return dup2(fd, 200);
}

static int copy_dup3(int fd)
{
	return dup3(fd, 201, O_CLOEXEC);
}

static int copy_fcntl(int fd)
{
	return fcntl(fd, F_DUPFD, 300);
}

static int copy_fcntl_cloexec(int fd)
{
	return fcntl(fd, F_DUPFD_CLOEXEC, 300);
}

static int copy_fcntl64(int fd)
{
	return fcntl64(fd, F_DUPFD, 310);
}

static int copy_fcntl64_cloexec(int fd)
{
	return fcntl64(fd, F_DUPFD_CLOEXEC, 310);
}

struct copier {
	const char *name;
	int (*copy)(int fd);
	bool cloexec;
	bool copy_closed_first;
};

static const struct copier copiers[] = {
        {"dup", copy_dup, false, false},
        {"dup_copy_first", copy_dup, false, true},
        {"dup2", copy_dup2, false, false},
        {"dup3", copy_dup3, true, true},
        {"fcntl_dupfd", copy_fcntl, false, false},
        {"fcntl_dupfd_cloexec", copy_fcntl_cloexec, true, true},
        {"fcntl64_dupfd", copy_fcntl64, false, true},
        {"fcntl64_dupfd_cloexec", copy_fcntl64_cloexec, true, false},
};

/*
 * A copy of an accepted connection: closing either descriptor leaves the
 * connection alone (the peer still receives what the other one writes),
 * and the last close is an ordinary one under safe-abort.
 */
static void copy_step(const struct copier *c)
{
	int cli, srv, copy, first, last;

	begin2(c->name, "copy");
	srv = new_conn(L, A_ACCEPT, &cli);
	if (srv < 0) {
		end();
		return;
	}
	copy = c->copy(srv);
	if (copy < 0 || copy == srv || object_id(copy) != object_id(srv)) {
		fail("copy of fd %d: got %d (%s)", srv, copy, strerror(errno));
		end();
		return;
	}
	if (!!(fcntl(copy, F_GETFD) & FD_CLOEXEC) != c->cloexec)
		fail("copy %d: FD_CLOEXEC wrong", copy);
	reg_add(copy, R_CONN, cli);
	end(); /* both descriptors carry data */
	begin2(c->name, "close");
	first = c->copy_closed_first ? copy : srv;
	last = c->copy_closed_first ? srv : copy;
	reg_del(first);
	if (close(first) != 0)
		fail("close(%d): %s", first, strerror(errno));
	expect_end(cli, O_NOTHING, NULL);
	finish_conn(last, cli, K_SHARED);
	end();
}

/* dup2 and dup3 onto open descriptors close them implicitly. */
static void step_dup2_onto_pipe(void)
{
	static const char data[] = "pipe data after dup2";
	int cli, srv, p[2];

	begin("dup2_onto_open");
	srv = new_conn(L, A_ACCEPT, &cli);
	if (srv < 0 || pipe(p) != 0) {
		end();
		return;
	}
	if (!probe_send_all(srv, "bye", 3, WAIT_MS) ||
	    !probe_settle(srv, WAIT_MS))
		fail("fd %d: cannot send", srv);
	reg_del(srv);
	if (dup2(p[1], srv) != srv)
		fail("dup2(pipe, %d): %s", srv, strerror(errno));
	expect_end(cli, expect_for(K_IMPLICIT), "bye");
	/* srv is a pipe now: writing and closing it must not hurt. */
	if (write(srv, data, sizeof(data)) != (ssize_t)sizeof(data) ||
	    close(srv) != 0 || close(p[1]) != 0)
		fail("pipe at fd %d: write or close failed", srv);
	if (!recv_exact(p[0], data, sizeof(data)) || read_end(p[0]) != 0)
		fail("pipe at fd %d: data not intact", srv);
	close(p[0]);
	end();
}

static void step_dup_onto_conn(const char *name, bool use_dup3)
{
	int cli1, cli2, c1, c2, r;

	begin2(name, "implicit_close");
	c1 = new_conn(L, A_ACCEPT, &cli1);
	c2 = new_conn(L, A_ACCEPT, &cli2);
	if (c1 < 0 || c2 < 0) {
		end();
		return;
	}
	if (!probe_send_all(c2, "bye", 3, WAIT_MS) ||
	    !probe_settle(c2, WAIT_MS))
		fail("fd %d: cannot send", c2);
	reg_del(c2);
	r = use_dup3 ? dup3(c1, c2, O_CLOEXEC) : dup2(c1, c2);
	if (r != c2)
		fail("dup onto %d: %s", c2, strerror(errno));
	expect_end(cli2, expect_for(K_IMPLICIT), "bye");
	reg_add(c2, R_CONN, cli1);
	end();
	begin2(name, "close");
	reg_del(c1);
	close(c1);
	expect_end(cli1, O_NOTHING, NULL);
	finish_conn(c2, cli1, K_SHARED);
	end();
}

/* dup2(fd, fd) copies nothing: the connection keeps its policy. */
static void step_dup2_self(void)
{
	int cli, srv;

	begin("dup2_same_fd");
	srv = new_conn(L, A_ACCEPT, &cli);
	if (srv >= 0 && dup2(srv, srv) != srv)
		fail("dup2(%d, %d): %s", srv, srv, strerror(errno));
	if (srv >= 0)
		finish_conn(srv, cli, K_LAST);
	end();
}

/* fcntl's other commands pass their argument through both hooks. */
static void step_fcntl_other(void)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	int fd = open(tmpfile_path, O_RDWR | O_CREAT | O_TRUNC, 0600);

	begin("fcntl_other");
	if (fd < 0 || fcntl(fd, F_SETFL, O_NONBLOCK) != 0 ||
	    !(fcntl64(fd, F_GETFL) & O_NONBLOCK) ||
	    fcntl64(fd, F_SETFD, FD_CLOEXEC) != 0 ||
	    !(fcntl(fd, F_GETFD) & FD_CLOEXEC) || fcntl(fd, F_SETLK, &fl) != 0)
		fail("fcntl on a file: %s", strerror(errno));
	fl.l_type = F_UNLCK;
	if (fcntl64(fd, F_OFD_GETLK, &fl) != 0 || fl.l_type != F_UNLCK)
		fail("fcntl64(F_OFD_GETLK): %s", strerror(errno));
	close(fd);
	end();
}

/* --- steps: closing many at once ------------------------------------ */

struct range_set {
	int cli[2], srv[2];
	int p[2], pw;
	int file_ro, file_rw;
	int udp_rx, udp_tx;
	struct sockaddr_in udp_addr;
};

/* A bound UDP socket; its address in *a. */
static int udp_rx(struct sockaddr_in *a)
{
	socklen_t len = sizeof(*a);
	int rx = socket(AF_INET, SOCK_DGRAM, 0);

	*a = probe_loopback(0);
	if (rx < 0 || bind(rx, (struct sockaddr *)a, sizeof(*a)) != 0 ||
	    getsockname(rx, (struct sockaddr *)a, &len) != 0)
		return -1;
	return rx;
}

static bool udp_connect(int tx, const struct sockaddr_in *a)
{
	return tx >= 0 &&
	       connect(tx, (const struct sockaddr *)a, sizeof(*a)) == 0;
}

/* Observers first (they stay open), then the descriptors to close, which
 * take consecutive numbers. */
static bool range_make(struct range_set *s)
{
	s->cli[0] = connect_to(lport);
	s->cli[1] = connect_to(lport);
	s->udp_rx = udp_rx(&s->udp_addr);
	s->file_ro = open(tmpfile_path, O_RDONLY | O_CREAT, 0600);
	if (pipe(s->p) != 0 || s->udp_rx < 0 || s->file_ro < 0 || s->cli[1] < 0)
		return false;
	s->srv[0] = accept_from(L, s->cli[0], A_ACCEPT);
	s->srv[1] = accept_from(L, s->cli[1], A_ACCEPT4);
	for (int i = 0; i < 2 && s->srv[i] >= 0; i++)
		client_speaks(s->srv[i], s->cli[i]);
	s->pw = dup(s->p[1]);
	s->file_rw = open(tmpfile_path, O_WRONLY | O_TRUNC);
	s->udp_tx = socket(AF_INET, SOCK_DGRAM, 0);
	if (!udp_connect(s->udp_tx, &s->udp_addr) || s->srv[1] < 0)
		return false;
	for (int i = 0; i < 2; i++) {
		reg_add(s->cli[i], R_CLIENT, -1);
		reg_add(s->srv[i], R_CONN, s->cli[i]);
	}
	return true;
}

static bool range_consecutive(const struct range_set *s)
{
	const int fds[] = {s->srv[0], s->srv[1], s->pw, s->file_rw, s->udp_tx};

	for (int i = 1; i < 5; i++)
		if (fds[i] != fds[0] + i)
			return false;
	return true;
}

static void range_write(const struct range_set *s)
{
	if (write(s->pw, "pipe", 4) != 4 || write(s->file_rw, "file", 4) != 4 ||
	    send(s->udp_tx, "udp", 3, 0) != 3)
		fail("writing before the close: %s", strerror(errno));
	for (int i = 0; i < 2; i++) {
		if (!probe_send_all(s->srv[i], "bye", 3, WAIT_MS) ||
		    !probe_settle(s->srv[i], WAIT_MS))
			fail("fd %d: cannot send", s->srv[i]);
		reg_del(s->srv[i]);
	}
}

static void range_check(const struct range_set *s)
{
	char buf[8] = "";

	for (int i = 0; i < 2; i++)
		expect_end(s->cli[i], expect_for(K_LAST), "bye");
	if (close(s->p[1]) != 0 || !recv_exact(s->p[0], "pipe", 4) ||
	    read_end(s->p[0]) != 0)
		fail("pipe: data not intact");
	if (pread(s->file_ro, buf, sizeof(buf), 0) != 4 ||
	    memcmp(buf, "file", 4) != 0)
		fail("file: data not intact");
	if (!probe_wait(s->udp_rx, POLLIN, WAIT_MS) ||
	    recv(s->udp_rx, buf, sizeof(buf), 0) != 3 ||
	    memcmp(buf, "udp", 3) != 0)
		fail("UDP: datagram not intact");
	close(s->p[0]);
	close(s->file_ro);
	close(s->udp_rx);
}

/* close_range(lo, hi, 0) or closefrom(lo) over two connections, a
 * pipe, a file and a UDP socket. */
static void range_step(const char *name, bool use_closefrom)
{
	struct range_set s;
	int lo, hi;

	begin(name);
	if (!range_make(&s) || !range_consecutive(&s)) {
		fail("setup: descriptors not consecutive or not made: %s",
		     strerror(errno));
		end();
		return;
	}
	lo = s.srv[0];
	hi = s.udp_tx;
	range_write(&s);
	if (use_closefrom)
		closefrom(lo);
	else if (close_range((unsigned)lo, (unsigned)hi, 0) != 0)
		fail("close_range(%d, %d): %s", lo, hi, strerror(errno));
	for (int fd = lo; fd <= hi; fd++)
		if (is_open(fd))
			fail("fd %d still open", fd);
	range_check(&s);
	end();
}

/*
 * closefrom(-1): glibc closes everything from 0, so the hook must treat a
 * negative start as 0.  It closes stdout too, so it runs in a child of
 * its own, which makes a listener, forks the client (before the
 * connection exists: the fork does not make its close a shared one),
 * accepts, replies, calls closefrom(-1) and exits with the client's
 * verdict: 0 ordinary close, 1 EOF then reset, 2 reset without EOF, 3
 * anything else.
 */
static int negative_client(unsigned port)
{
	char buf[4];
	int err;
	int cli = probe_connect(port);

	if (cli < 0 || !probe_send_all(cli, "hi", 2, WAIT_MS) ||
	    probe_recv_upto(cli, buf, 3, WAIT_MS, &err) != 3)
		return 3;
	if (probe_recv_upto(cli, buf, 1, WAIT_MS, &err) != 0)
		return 3;
	if (err == ECONNRESET)
		return 2;
	if (err != 0)
		return 3;
	/* Acknowledge the FIN now; a reset answers that acknowledgement
	 * and may still be on its way when the EOF is read. */
	(void)setsockopt(cli, IPPROTO_TCP, TCP_QUICKACK, &(int){1}, sizeof(int));
	if (expect_for(K_LAST) == O_RESET)
		return probe_wait_tcp_state(cli, TCP_CLOSE, WAIT_MS) ? 1 : 0;
	return probe_tcp_state(cli) == TCP_CLOSE ? 1 : 0;
}

static int negative_server(void)
{
	int lfd = probe_listener(0);
	unsigned port = lfd < 0 ? 0 : probe_port(lfd, false);
	pid_t pid = port ? fork() : -1;
	int srv, st;

	if (pid == 0) {
		close(lfd);
		_exit(negative_client(port));
	}
	srv = pid < 0 ? -1 : accept(lfd, NULL, NULL);
	if (srv < 0 || !recv_exact(srv, "hi", 2) ||
	    !probe_send_all(srv, "bye", 3, WAIT_MS) ||
	    !probe_settle(srv, WAIT_MS))
		return 4;
	closefrom(-1);
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return 4;
	return WEXITSTATUS(st);
}

static void step_closefrom_negative(void)
{
	static const int verdict[] = {[O_ORDINARY] = 0, [O_RESET] = 1,
				      [O_ABORT] = 2};
	enum outcome o = expect_for(K_LAST);
	pid_t pid;
	int st;

	begin("closefrom_negative");
	fflush(stdout);
	pid = fork();
	if (pid == 0)
		_exit(negative_server());
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		fail("child failed");
	else if (WEXITSTATUS(st) != verdict[o])
		fail("the client saw verdict %d, want %d (0 ordinary, 1 "
		     "reset after EOF, 2 reset, 3 other, 4 setup)",
		     WEXITSTATUS(st), verdict[o]);
	end();
}

/* --- steps: closes no hook sees ------------------------------------- */

static void raw_close(int fd)
{
	(void)raw_syscall(SYS_close, fd);
}

/* Put *fd at number target (free) without any hook seeing it. */
static void raw_place(int *fd, int target)
{
	if (*fd == target)
		return;
	if (raw_syscall(SYS_dup3, *fd, target, 0) != target)
		fail("raw dup3 to %d: %s", target, strerror(errno));
	raw_close(*fd);
	*fd = target;
}

/*
 * A tracked connection at n is closed where no hook sees it; its close is
 * an ordinary kernel close (no linger under safe-abort).  Leaves a stale
 * entry at n.  Returns n.
 */
static int stale_conn(void)
{
	int cli, srv = new_conn(L, A_ACCEPT, &cli);

	if (srv < 0)
		return -1;
	if (!probe_send_all(srv, "bye", 3, WAIT_MS) ||
	    !probe_settle(srv, WAIT_MS))
		fail("fd %d: cannot send", srv);
	reg_del(srv);
	raw_close(srv);
	expect_end(cli, expect_for(K_SHARED), "bye");
	return srv;
}

static void libc_close_pipe(void)
{
	static const char data[] = "pipe data over a stale entry";
	int p[2];
	int n;

	begin("libc_close_pipe");
	n = stale_conn();
	if (n < 0 || raw_syscall(SYS_pipe2, p, 0) != 0) {
		end();
		return;
	}
	if (p[0] == n)
		raw_place(&p[0], 900);
	raw_place(&p[1], n);
	if (write(n, data, sizeof(data)) != (ssize_t)sizeof(data) ||
	    close(n) != 0)
		fail("pipe at fd %d: %s", n, strerror(errno));
	if (!recv_exact(p[0], data, sizeof(data)) || read_end(p[0]) != 0)
		fail("pipe at fd %d: data not intact", n);
	close(p[0]);
	end();
}

static void libc_close_file(void)
{
	static const char data[] = "file data over a stale entry";
	char buf[sizeof(data)];
	int fd, n;

	begin("libc_close_file");
	n = stale_conn();
	fd = (int)raw_syscall(SYS_openat, AT_FDCWD, tmpfile_path,
	                  O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (n < 0 || fd < 0) {
		end();
		return;
	}
	raw_place(&fd, n);
	if (write(n, data, sizeof(data)) != (ssize_t)sizeof(data) ||
	    close(n) != 0)
		fail("file at fd %d: %s", n, strerror(errno));
	fd = open(tmpfile_path, O_RDONLY);
	if (fd < 0 || read(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf) ||
	    memcmp(buf, data, sizeof(buf)) != 0)
		fail("file at fd %d: data not intact", n);
	close(fd);
	end();
}

/* A socket the hooks never saw, over a stale entry: closing it through
 * close() must not set an option on it or shut it down.  An alias made
 * with a raw dup shows its state after that close. */
static void libc_close_udp(void)
{
	struct ent alias = {.role = R_PLAIN};
	struct sockaddr_in a;
	char buf[8];
	int n, rx, tx;

	begin("libc_close_udp");
	n = stale_conn();
	rx = udp_rx(&a);
	tx = (int)raw_syscall(SYS_socket, AF_INET, SOCK_DGRAM, 0);
	if (n < 0 || tx < 0 || rx < 0) {
		end();
		return;
	}
	raw_place(&tx, n);
	alias.fd = (int)raw_syscall(SYS_dup, tx);
	alias.id = object_id(alias.fd);
	if (!udp_connect(tx, &a) || send(n, "udp", 3, 0) != 3 || close(n) != 0)
		fail("UDP at fd %d: %s", n, strerror(errno));
	check_ent(&alias);
	if (send(alias.fd, "UDP", 3, 0) != 3)
		fail("UDP alias: %s", strerror(errno));
	for (int i = 0; i < 2; i++)
		if (!probe_wait(rx, POLLIN, WAIT_MS) ||
		    recv(rx, buf, sizeof(buf), 0) != 3 ||
		    memcmp(buf, i ? "UDP" : "udp", 3) != 0)
			fail("UDP datagram %d not intact", i);
	raw_close(alias.fd);
	close(rx);
	end();
}

/* An accepted connection no hook saw (raw accept4) over a stale
 * safe-abort entry: its close must be ordinary, never a reset. */
static void libc_close_tcp(void)
{
	int n, cli, srv;

	begin2("libc_close_tcp", "accept");
	n = stale_conn();
	cli = connect_to(lport);
	srv = n < 0 || cli < 0 ? -1 : accept_from(L, cli, A_RAW);
	if (srv < 0) {
		end();
		return;
	}
	if (srv != n && is_open(n))
		fail("setup: fd %d is taken", n);
	raw_place(&srv, n);
	reg_add(cli, R_CLIENT, -1);
	reg_add(srv, R_CONN, cli);
	end();
	begin2("libc_close_tcp", "close");
	finish_conn(srv, cli, K_SHARED);
	end();
}

/*
 * A copy no hook saw (a raw dup; io_uring's registered files and copies
 * taken with pidfd_getfd() are such copies): the program's close() looks
 * like the last one, yet the copy must go on working.  The peer reads
 * everything sent through it, then the copy's close ends the connection
 * as the last close does in this mode.
 */
static void unseen_copy(void)
{
	int cli, srv, copy;

	begin("unseen_copy");
	srv = new_conn(L, A_ACCEPT, &cli);
	copy = srv < 0 ? -1 : (int)raw_syscall(SYS_dup, srv);
	if (copy < 0) {
		fail("setup: %s", strerror(errno));
		end();
		return;
	}
	reg_del(srv);
	if (close(srv) != 0)
		fail("close(%d): %s", srv, strerror(errno));
	reg_add(copy, R_CONN, cli);
	finish_conn(copy, cli, K_LAST);
	end();
}

/*
 * A listener no hook saw (built with raw system calls, as if inherited or
 * received over a Unix socket), to be put at the number of a listener
 * libc closed: see accept_check().
 */
static int raw_listener(void)
{
	struct sockaddr_in a = probe_loopback(0);
	int fd = (int)raw_syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);

	if (fd < 0 || raw_syscall(SYS_bind, fd, &a, sizeof(a)) != 0 ||
	    raw_syscall(SYS_listen, fd, 16) != 0)
		return -1;
	return fd;
}

/*
 * A listener no hook saw, through its first accept() and close.
 * adopted: rebind takes it up at that accept(), as any inherited
 * listener.  Else it and its connection stay as the kernel made them:
 * under off and abort, for a listener at the number of one libc closed,
 * whose stale entry accept() trusts without asking the kernel (no
 * system call per connection).  Under safe-abort that entry decides how
 * each connection closes, so it is checked and the listener adopted.
 */
static void accept_check(int lfd, const char *name, bool adopted)
{
	int cli, srv;

	begin2(name, "before_accept");
	reg_add(lfd, R_RAWLISTENER, -1);
	end(); /* untouched before its first accept */
	begin2(name, "accept");
	srv = new_conn(lfd, A_ACCEPT, &cli);
	if (adopted)
		reg_set_role(lfd, R_LISTENER);
	else if (srv >= 0)
		reg_set_role(srv, R_PLAIN);
	end();
	begin2(name, "close");
	if (srv >= 0)
		finish_conn(srv, cli, adopted ? K_LAST : K_UNTOUCHED);
	reg_del(lfd);
	close(lfd);
	end();
}

static void libc_close_listener(void)
{
	int old = probe_listener(0);
	int fd;

	begin("libc_close_listener");
	if (old < 0) {
		fail("listener: %s", strerror(errno));
		end();
		return;
	}
	raw_close(old);
	fd = raw_listener();
	if (fd < 0)
		fail("raw listener: %s", strerror(errno));
	else
		raw_place(&fd, old);
	if (fd >= 0)
		accept_check(fd, "libc_close_listener", mode == M_SAFE);
}

/* --- steps: fork ---------------------------------------------------- */

/* Child: wait for a byte on go, write msg to fd, _exit without close. */
static pid_t child_writer(int fd, int go, const char *msg)
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		char c;

		if (read(go, &c, 1) == 1 && write(fd, msg, strlen(msg)) > 0)
			_exit(0);
		_exit(1);
	}
	return pid;
}

static bool reap(pid_t pid)
{
	int st;

	return pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
	       WEXITSTATUS(st) == 0;
}

/* The parent closes its copy first; the child writes and exits. */
static void fork_parent_closes(void)
{
	static const char msg[] = "from the child";
	int cli, srv, go[2];
	pid_t pid;

	begin("fork_parent_closes");
	srv = new_conn(L, A_ACCEPT, &cli);
	if (srv < 0 || pipe(go) != 0) {
		end();
		return;
	}
	pid = child_writer(srv, go[0], msg);
	reg_del(srv);
	if (!probe_settle(srv, WAIT_MS) || close(srv) != 0)
		fail("close(%d): %s", srv, strerror(errno));
	expect_end(cli, O_NOTHING, NULL);
	if (write(go[1], "g", 1) != 1 || !reap(pid))
		fail("child failed");
	/* The child's exit was the last close: an ordinary one. */
	expect_end(cli, expect_for(K_SHARED), msg);
	close(go[0]);
	close(go[1]);
	end();
}

/* The child closes its copy (through close()) and exits; the parent
 * still writes, then closes. */
static void fork_child_closes(void)
{
	int cli, srv;
	pid_t pid;

	begin2("fork_child_closes", "child");
	srv = new_conn(L, A_ACCEPT, &cli);
	if (srv < 0 || !probe_settle(srv, WAIT_MS)) {
		end();
		return;
	}
	fflush(stdout);
	pid = fork();
	if (pid == 0)
		_exit(close(srv) == 0 ? 0 : 1);
	if (!reap(pid))
		fail("child failed");
	expect_end(cli, O_NOTHING, NULL);
	end(); /* the parent's copy still carries data */
	begin2("fork_child_closes", "parent");
	finish_conn(srv, cli, K_SHARED);
	end();
}

/* A connection accepted after a fork is the parent's alone. */
static void fork_after(void)
{
	int cli, srv;
	pid_t pid;

	begin("fork_after");
	fflush(stdout);
	pid = fork();
	if (pid == 0)
		_exit(0);
	if (!reap(pid))
		fail("child failed");
	srv = new_conn(L, A_ACCEPT, &cli);
	if (srv >= 0)
		finish_conn(srv, cli, K_LAST);
	end();
}

/* --- steps: descriptors above 65536 --------------------------------- */

static bool raise_nofile(rlim_t want, char *why, size_t len)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return false;
	if (rl.rlim_cur >= want)
		return true;
	if (rl.rlim_max < want)
		rl.rlim_max = want;
	rl.rlim_cur = want;
	if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
		return true;
	snprintf(why, len, "setrlimit(RLIMIT_NOFILE, %lu): %s",
	         (unsigned long)want, strerror(errno));
	return false;
}

static void high_listener(void)
{
	int cli, srv, lh;

	begin2("high_fd_listener", "accept");
	lh = fcntl(L, F_DUPFD, high_fd);
	if (lh < high_fd) {
		fail("F_DUPFD to %d: %s", high_fd, strerror(errno));
		end();
		return;
	}
	reg_add(lh, R_LISTENER, -1);
	srv = new_conn(lh, A_ACCEPT4, &cli);
	end();
	begin2("high_fd_listener", "close");
	if (srv >= 0)
		finish_conn(srv, cli, K_LAST);
	reg_del(lh);
	close(lh);
	end();
}

static void high_dup(void)
{
	int cli, srv, h;

	begin2("high_fd_dup", "copy");
	srv = new_conn(L, A_ACCEPT, &cli);
	h = srv < 0 ? -1 : dup2(srv, high_fd + 100);
	if (h != high_fd + 100) {
		fail("dup2 to %d: %s", high_fd + 100, strerror(errno));
		end();
		return;
	}
	reg_add(h, R_CONN, cli);
	end();
	begin2("high_fd_dup", "close");
	reg_del(srv);
	close(srv);
	expect_end(cli, O_NOTHING, NULL);
	finish_conn(h, cli, K_SHARED);
	end();
}

/* Fill every free number below high_fd + 20, then free two of them: the
 * next accepts land above 65536. */
static int *fill_low(int *n)
{
	int *fill = calloc(high_fd + 32, sizeof(int));
	int null = open("/dev/null", O_RDONLY);
	int fd = null;

	*n = 0;
	if (fill && null >= 0)
		fill[(*n)++] = null;
	while (fill && fd >= 0 && fd < high_fd + 20) {
		fd = dup(null);
		if (fd >= 0)
			fill[(*n)++] = fd;
	}
	if (fd < high_fd + 20)
		fail("filling descriptors: stopped at %d: %s", fd,
		     strerror(errno));
	return fill;
}

static void high_accept(void)
{
	int cli[2], srv[2] = {-1, -1};
	int n = 0;
	int *fill;

	begin2("high_fd_accept", "accept");
	cli[0] = connect_to(lport);
	cli[1] = connect_to(lport);
	fill = fill_low(&n);
	if (!step_bad && n > 2) {
		close(fill[n - 3]);
		close(fill[n - 2]);
		srv[0] = accept_from(L, cli[0], A_ACCEPT4);
		srv[1] = accept_from(L, cli[1], A_ACCEPT);
		fill[n - 3] = fill[n - 2] = -1;
	}
	for (int i = 0; i < 2 && srv[1] >= high_fd; i++) {
		reg_add(cli[i], R_CLIENT, -1);
		reg_add(srv[i], R_CONN, cli[i]);
	}
	if (srv[1] < high_fd)
		fail("accepted fds %d, %d: not above %d", srv[0], srv[1],
		     high_fd);
	end();
	begin2("high_fd_accept", "close");
	if (srv[1] >= high_fd) {
		finish_conn(srv[0], cli[0], K_LAST);
		/* and the same through close_range over a high range */
		if (!probe_send_all(srv[1], "bye", 3, WAIT_MS) ||
		    !probe_settle(srv[1], WAIT_MS))
			fail("fd %d: cannot send", srv[1]);
		reg_del(srv[1]);
		if (close_range((unsigned)srv[1], (unsigned)srv[1], 0) != 0)
			fail("close_range(%d): %s", srv[1], strerror(errno));
		expect_end(cli[1], expect_for(K_LAST), "bye");
	}
	for (int i = 0; i < n && fill; i++)
		if (fill[i] >= 0)
			close(fill[i]);
	free(fill);
	end();
}

static void high_adopt(void)
{
	int fd = raw_listener();

	begin("high_fd_adopt");
	if (fd < 0) {
		fail("raw listener: %s", strerror(errno));
		end();
		return;
	}
	raw_place(&fd, high_fd + 200);
	accept_check(fd, "high_fd_adopt", true);
}

/*
 * Descriptors above 65536 need RLIMIT_NOFILE raised, which takes
 * CAP_SYS_RESOURCE beyond the hard limit.  Without it the same steps run
 * just below the hard limit, and a "skip" line says what was not tested.
 */
static void high_steps(void)
{
	char why[160] = "";
	struct rlimit rl;

	if (!raise_nofile(HIGH_LIMIT, why, sizeof(why))) {
		if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_max < 4096 ||
		    rl.rlim_max > HIGH_LIMIT) {
			printf("skip high_fd: %s\n", why);
			return;
		}
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
		high_fd = (int)rl.rlim_max - 1000;
		printf("skip high_fd_above_65536: %s; ran at %d instead\n", why,
		       high_fd);
	}
	high_listener();
	high_dup();
	high_accept();
	high_adopt();
}

/* --- steps: exec ---------------------------------------------------- */

struct exec_set {
	int ce1, cle1; /* accept4(SOCK_CLOEXEC) */
	int ce2, cle2; /* made close-on-exec by close_range */
	int ci, cli;   /* inherited, with a close-on-exec copy */
	int ce3;       /* that copy (F_DUPFD_CLOEXEC) */
	int ci2, cli2; /* inherited, never copied */
};

static const char *const mode_names[] = {"none", "off", "abort", "safe-abort"};

static void step_close_range_cloexec(struct exec_set *x)
{
	begin("close_range_cloexec");
	x->ce2 = new_conn(L, A_ACCEPT, &x->cle2);
	if (x->ce2 >= 0 && close_range((unsigned)x->ce2, (unsigned)x->ce2,
	                               CLOSE_RANGE_CLOEXEC) != 0)
		fail("close_range(CLOEXEC): %s", strerror(errno));
	if (x->ce2 >= 0 && !(fcntl(x->ce2, F_GETFD) & FD_CLOEXEC))
		fail("fd %d: not close-on-exec", x->ce2);
	if (x->ce2 >= 0)
		expect_end(x->cle2, O_NOTHING, NULL);
	end();
}

/*
 * Re-exec: argv is MODE --after-exec CE1,CE2,CE3,CLE1,CLE2,FAILURES
 * FD:ROLE:CLI... (the close-on-exec connections, their clients, the
 * failures so far, then the registry).
 */
static void exec_self(const struct exec_set *x)
{
	static char buf[MAX_ENT + 1][32];
	static char flag[] = "--after-exec";
	static char name[16];
	char *argv[MAX_ENT + 5];
	int n = 0;

	snprintf(name, sizeof(name), "%s", mode_names[mode]);
	argv[n++] = self_exe;
	argv[n++] = name;
	argv[n++] = flag;
	snprintf(buf[0], sizeof(buf[0]), "%d,%d,%d,%d,%d,%d", x->ce1, x->ce2,
	         x->ce3, x->cle1, x->cle2, failures);
	argv[n++] = buf[0];
	for (int i = 0; i < nreg; i++) {
		snprintf(buf[i + 1], sizeof(buf[0]), "%d:%d:%d", reg[i].fd,
		         (int)reg[i].role, reg[i].cli);
		argv[n++] = buf[i + 1];
	}
	argv[n] = NULL;
	fflush(stdout);
	execv("/proc/self/exe", argv);
	fail("execv: %s", strerror(errno));
}

static void step_exec(void)
{
	struct exec_set x;

	step_close_range_cloexec(&x);
	begin2("exec", "prepare");
	x.ce1 = new_conn(L, A_ACCEPT4, &x.cle1);
	x.ci = new_conn(L, A_ACCEPT, &x.cli);
	x.ci2 = new_conn(L, A_ACCEPT, &x.cli2);
	x.ce3 = x.ci < 0 ? -1 : fcntl(x.ci, F_DUPFD_CLOEXEC, 0);
	if (x.ce1 < 0 || x.ci2 < 0 || x.ce3 < 0 || x.ce2 < 0) {
		end();
		return;
	}
	reg_add(x.ce3, R_CONN, x.cli);
	end();
	begin2("exec", "settle");
	for (int i = 0; i < nreg; i++)
		if (reg[i].role == R_CONN && !probe_settle(reg[i].fd, WAIT_MS))
			fail("fd %d: cannot settle", reg[i].fd);
	if (!step_bad)
		exec_self(&x);
}

static bool in_list(int fd, const int *v, int n)
{
	for (int i = 0; i < n; i++)
		if (v[i] == fd)
			return true;
	return false;
}

/* Rebuild the registry in the new image, without the close-on-exec
 * descriptors and their clients. */
static void after_exec_registry(int argc, char **v, const int *gone)
{
	for (int i = 0; i < argc; i++) {
		int fd, role, cli;

		if (sscanf(v[i], "%d:%d:%d", &fd, &role, &cli) != 3) {
			fail("bad argument %s", v[i]);
			continue;
		}
		if (in_list(fd, gone, 5))
			continue;
		reg_add(fd, (enum role)role, cli);
		if (role == R_LISTENER && L < 0)
			L = fd;
	}
	lport = probe_port(L, false);
}

/*
 * In the new image: the close-on-exec connections were closed by the
 * kernel (ordinary closes, resets under abort), the rest survived with
 * their options, the inherited listener is adopted at its first accept,
 * and connections this image never saw accepted close the ordinary way.
 */
static void after_exec(int argc, char **v)
{
	int gone[5];
	int cli, srv;

	begin2("exec", "cloexec_closed");
	if (sscanf(v[0], "%d,%d,%d,%d,%d,%d", &gone[0], &gone[1], &gone[2],
	           &gone[3], &gone[4], &failures) != 6) {
		fail("bad argument %s", v[0]);
		return;
	}
	for (int i = 0; i < 3; i++)
		if (is_open(gone[i]))
			fail("close-on-exec fd %d survived exec", gone[i]);
	after_exec_registry(argc - 1, v + 1, gone);
	expect_end(gone[3], expect_for(K_SHARED), NULL);
	expect_end(gone[4], expect_for(K_SHARED), NULL);
	end();
	begin2("exec_adopt", "accept");
	srv = new_conn(L, A_ACCEPT, &cli);
	end();
	begin2("exec_adopt", "close");
	if (srv >= 0)
		finish_conn(srv, cli, K_LAST);
	end();
	begin("exec_inherited");
	for (int i = 0; i < nreg; i++) {
		if (reg[i].role == R_CONN) {
			finish_conn(reg[i].fd, reg[i].cli, K_SHARED);
			i = -1; /* the registry changed */
		}
	}
	end();
}

/* --- memory: a daemon closing everything at start-up ---------------- */

static long status_kb(const char *key)
{
	static char buf[8192];
	int fd = open("/proc/self/status", O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	const char *p;

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	p = strstr(buf, key);
	return p ? strtol(p + strlen(key) + 1, NULL, 10) : -1;
}

/*
 * Prints how much VmRSS and RssAnon grew while the process closed every
 * descriptor up to its limit with close(), then called closefrom(3), with
 * a listener, a tracked connection and a high descriptor in rebind's
 * table.  lifecycle.sh compares that with the same run without the shim.
 *
 * The close() loop runs to 2^20 (rebind's table size, Linux's default
 * fs.nr_open) even when RLIMIT_NOFILE is lower and the kernel answers
 * EBADF: a daemon whose limit is that high makes the same calls, and
 * each one goes through the hook and its table lookup all the same.  A
 * table that wrote even one byte per descriptor closed would dirty 1 MiB.
 */
static int mem_run(void)
{
	char why[160] = "";
	struct rlimit rl;
	long rss0, anon0, rss1, anon1;
	int cli, srv, top;

	if (!raise_nofile(1 << 20, why, sizeof(why)))
		(void)raise_nofile(HIGH_LIMIT, why, sizeof(why));
	getrlimit(RLIMIT_NOFILE, &rl);
	top = rl.rlim_cur > (1 << 20) ? (int)rl.rlim_cur : 1 << 20;
	begin("mem");
	L = probe_listener(0);
	if (L < 0)
		return 1;
	srv = new_conn(L, A_ACCEPT, &cli);
	if (srv < 0 || dup2(srv, (int)rl.rlim_cur - 1) < 0)
		return 1;
	rss0 = status_kb("VmRSS:");
	anon0 = status_kb("RssAnon:");
	for (int fd = 3; fd < top; fd++)
		(void)close(fd);
	closefrom(3);
	rss1 = status_kb("VmRSS:");
	anon1 = status_kb("RssAnon:");
	printf("mem limit=%lu closed=%d rss_kb=%ld anon_kb=%ld\n",
	       (unsigned long)rl.rlim_cur, top, rss1 - rss0, anon1 - anon0);
	return rss0 < 0 || anon0 < 0;
}

/* --- main ----------------------------------------------------------- */

static bool parse_mode(const char *s)
{
	for (int i = 0; i < 4; i++) {
		if (strcmp(s, mode_names[i]) == 0) {
			mode = (enum mode)i;
			return true;
		}
	}
	return false;
}

static void run_steps(void)
{
	step_socket();
	step_accept();
	step_accept4_close();
	step_tw_count();
	for (size_t i = 0; i < sizeof(copiers) / sizeof(copiers[0]); i++)
		copy_step(&copiers[i]);
	step_dup2_onto_pipe();
	step_dup_onto_conn("dup2_onto_conn", false);
	step_dup_onto_conn("dup3_onto_conn", true);
	step_dup2_self();
	step_fcntl_other();
	range_step("close_range", false);
	range_step("closefrom", true);
	step_closefrom_negative();
	libc_close_pipe();
	libc_close_file();
	libc_close_udp();
	libc_close_tcp();
	unseen_copy();
	libc_close_listener();
	fork_parent_closes();
	fork_child_closes();
	fork_after();
	high_steps();
	step_exec(); /* returns only when something failed */
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* A connection shut down by mistake must fail a step, not kill the
	 * probe. */
	signal(SIGPIPE, SIG_IGN);
	self_exe = argv[0];
	find_raw_syscall();
	snprintf(tmpfile_path, sizeof(tmpfile_path), "%s/rebind-lc-%d",
	         getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
	if (argc == 2 && strcmp(argv[1], "mem") == 0)
		return mem_run();
	if (argc < 2 || !parse_mode(argv[1])) {
		fprintf(stderr, "usage: %s none|off|abort|safe-abort|mem\n",
		        argv[0]);
		return 64;
	}
	if (argc >= 4 && strcmp(argv[2], "--after-exec") == 0)
		after_exec(argc - 3, argv + 3);
	else
		run_steps();
	unlink(tmpfile_path);
	printf("done\n");
	return failures != 0;
}
