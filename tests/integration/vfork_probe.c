/*
 * What a vfork() child does to the parent's sockets.  The child shares
 * the parent's memory, so rebind sees its calls in the parent's table.
 *
 * vfork_probe [inherit]: the child dup2()s an accepted connection onto
 * descriptor 9 (with inherit: keeps the number it inherited) and execs a
 * shell that writes to it after a moment; the parent closes its own
 * descriptor at once.  The connection now has a second holder and the
 * parent's close must be an ordinary one, even under safe-abort: the
 * client reads the child's line and a clean EOF, and no reset follows.
 * The client has spoken first, so a close of the last holder would be
 * reset.  Prints what the client saw; exit 0 when all is as said, 1 when
 * not, 2 when the setup failed.
 *
 * vfork_probe close-listener: the program sets SO_LINGER {1,5} on its
 * listener itself; the child closes the listener and exits.  The
 * parent's listener is still open and still has the program's own
 * value, so its next accept() must leave both it and the connection at
 * {1,5}, even under REBIND_LINGER=abort.  Had the child's close emptied
 * the parent's entry, that accept would adopt the listener as one rebind
 * never saw and set {1,0} on both.  Prints both values; exit 0 when
 * both are {1,5}, 1 when not, 2 when the setup failed.
 *
 * vfork_probe early-close | early-dup | early-dup2: the process's first
 * socket, made before rebind has built its policy (so before it knows
 * its own pid), then a vfork() whose child only exits, so that the
 * thread is taken for a possible vfork() child until rebind knows its
 * pid.  Then that socket's "fresh" mark must not survive:
 *   early-close  its close(); a TCP socket no hook sees made (raw system
 *                calls, SO_REUSEADDR=1) takes the number;
 *   early-dup    a dup() of it, through which the program sets
 *                SO_REUSEADDR=1 (rebind sees that at the copy only);
 *   early-dup2   its close() where no hook sees it, then dup2() of such
 *                an unseen socket onto its number.
 * The socket at the number is bound to a port another unseen socket
 * listens on, and its listen() through libc fails (EADDRINUSE).
 * Trusting a stale mark, rebind would set SO_REUSEADDR=1 over 1 and,
 * the listen() failing, put back a 0 the program never had.  Exit 0
 * when SO_REUSEADDR is still 1, 1 when not, 2 when the setup failed.
 */
#include "config.h"

#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "probe.h"

#define CHILD_LINE "child-data\n"

/* A connection whose client has spoken ("hi", read by the server): the
 * kind safe-abort resets.  Returns the server's end, or -1. */
static int spoken_conn(int *cli)
{
	char hi[2];
	int err;
	int lfd = probe_listener(0);
	int conn;

	*cli = lfd < 0 ? -1 : probe_connect(probe_port(lfd, false));
	conn = *cli < 0 ? -1 : accept(lfd, NULL, NULL);
	if (lfd >= 0)
		close(lfd);
	if (conn < 0 || !probe_send_all(*cli, "hi", 2, 5000) ||
	    probe_recv_upto(conn, hi, 2, 5000, &err) != 2)
		return -1;
	return conn;
}

/* After the EOF: does a reset follow within half a second? */
static bool reset_follows(int cli)
{
	(void)setsockopt(cli, IPPROTO_TCP, TCP_QUICKACK, &(int){1},
	                 sizeof(int));
	return probe_wait_tcp_state(cli, TCP_CLOSE, 500);
}

/*
 * The child execs a shell that writes to the connection after a moment,
 * through descriptor 9 (dup9: the child dup2()s it there) or the number
 * it inherited; the parent closes its own descriptor at once.
 */
static int shared_conn(bool dup9)
{
	char buf[64], cmd[96];
	int cli, err, st;
	int conn = spoken_conn(&cli);
	bool reset;
	size_t got;
	pid_t pid;

	if (conn < 0 || conn > 8) {
		perror("vfork_probe: connection");
		return 2;
	}
	(void)snprintf(cmd, sizeof(cmd), "sleep 0.3; printf '%s' >&%d",
	               CHILD_LINE, dup9 ? 9 : conn);
	pid = vfork();
	if (pid == 0) {
		if (!dup9 || dup2(conn, 9) == 9)
			execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	if (pid < 0) {
		perror("vfork_probe: vfork");
		return 2;
	}
	close(conn);
	got = probe_recv_upto(cli, buf, sizeof(buf) - 1, 5000, &err);
	buf[got] = '\0';
	if (waitpid(pid, &st, 0) != pid ||
	    (WIFEXITED(st) && WEXITSTATUS(st) == 127)) {
		fprintf(stderr, "vfork_probe: the child did not run\n");
		return 2;
	}
	reset = err == 0 && reset_follows(cli);
	/* A child whose write met a reset dies of SIGPIPE or exits 1. */
	printf("child %s %d, client read %zu bytes%s%s: %s",
	       WIFEXITED(st) ? "exit" : "signal",
	       WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st), got,
	       err ? " then an error" : "", reset ? ", EOF, then a reset" : "",
	       got ? buf : "(nothing)\n");
	return err == 0 && !reset && strcmp(buf, CHILD_LINE) == 0 ? 0 : 1;
}

static bool own_linger(int fd, struct linger *out)
{
	socklen_t len = sizeof(*out);

	return getsockopt(fd, SOL_SOCKET, SO_LINGER, out, &len) == 0 &&
	       out->l_onoff == 1 && out->l_linger == 5;
}

static int close_listener(void)
{
	const struct linger own = {.l_onoff = 1, .l_linger = 5};
	struct sockaddr_in a = probe_loopback(0);
	struct linger ll = {0}, cl = {0};
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	int cli, conn, st;
	bool ok;
	pid_t pid;

	if (lfd < 0 ||
	    setsockopt(lfd, SOL_SOCKET, SO_LINGER, &own, sizeof(own)) != 0 ||
	    bind(lfd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    listen(lfd, 16) != 0) {
		perror("vfork_probe: listener");
		return 2;
	}
	pid = vfork();
	if (pid == 0) {
		close(lfd);
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid) {
		perror("vfork_probe: vfork");
		return 2;
	}
	cli = probe_connect(probe_port(lfd, false));
	conn = cli < 0 ? -1 : accept(lfd, NULL, NULL);
	if (conn < 0) {
		perror("vfork_probe: connection");
		return 2;
	}
	ok = own_linger(lfd, &ll);
	ok = own_linger(conn, &cl) && ok;
	printf("listener linger {%d,%d}, connection linger {%d,%d}\n",
	       ll.l_onoff, ll.l_linger, cl.l_onoff, cl.l_linger);
	return ok ? 0 : 1;
}

/* libc's own syscall(): rebind hooks the exported name, and a close
 * through it would be seen (set in early()). */
static probe_syscall_fn raw_syscall;

/* A TCP socket with SO_REUSEADDR=1 bound to a's port (0: any, then
 * written back to a), made with system calls no hook sees. */
static int unseen_socket(struct sockaddr_in *a)
{
	const int on = 1;
	socklen_t len = sizeof(*a);
	int fd = (int)raw_syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);

	if (fd < 0 ||
	    raw_syscall(SYS_setsockopt, fd, SOL_SOCKET, SO_REUSEADDR, &on,
			sizeof(on)) != 0 ||
	    raw_syscall(SYS_bind, fd, a, sizeof(*a)) != 0 ||
	    raw_syscall(SYS_getsockname, fd, a, &len) != 0)
		return -1;
	return fd;
}

/* fd is bound to a's port with SO_REUSEADDR=1; another unseen socket
 * listens there first, so listen(fd) fails.  0 when fd's SO_REUSEADDR
 * is still 1 after that. */
static int listen_keeps_reuse(int fd, struct sockaddr_in *a)
{
	int holder = unseen_socket(a);
	int reuse;

	if (holder < 0 || raw_syscall(SYS_listen, holder, 16) != 0 ||
	    listen(fd, 16) == 0)
		return 2;
	reuse = probe_int(fd, SOL_SOCKET, SO_REUSEADDR);
	printf("SO_REUSEADDR after the failed listen(): %d\n", reuse);
	return reuse == 1 ? 0 : 1;
}

static int early(const char *how)
{
	const int on = 1;
	struct sockaddr_in a = probe_loopback(0);
	int first = socket(AF_INET, SOCK_STREAM, 0);
	int fd, st;
	pid_t pid;

	raw_syscall = probe_raw_syscall();
	if (first < 0 || !raw_syscall)
		return 2;
	pid = vfork();
	if (pid == 0)
		_exit(0);
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return 2;
	if (strcmp(how, "early-dup") == 0) {
		int copy = dup(first);

		if (copy < 0 ||
		    setsockopt(copy, SOL_SOCKET, SO_REUSEADDR, &on,
			       sizeof(on)) != 0 ||
		    bind(first, (struct sockaddr *)&a, sizeof(a)) != 0)
			return 2;
		fd = first;
		if (raw_syscall(SYS_getsockname, fd, &a,
				&(socklen_t){sizeof(a)}) != 0)
			return 2;
	} else if (strcmp(how, "early-close") == 0) {
		/* The lowest free number: the closed socket's. */
		if (close(first) != 0)
			return 2;
		fd = unseen_socket(&a);
		if (fd != first)
			return 2;
	} else { /* early-dup2 */
		fd = unseen_socket(&a);
		if (fd < 0)
			return 2;
		(void)raw_syscall(SYS_close, first);
		if (dup2(fd, first) != first)
			return 2;
		fd = first;
	}
	return listen_keeps_reuse(fd, &a);
}

int main(int argc, char **argv)
{
	if (argc == 1)
		return shared_conn(true);
	if (argc == 2 && strcmp(argv[1], "inherit") == 0)
		return shared_conn(false);
	if (argc == 2 && strcmp(argv[1], "close-listener") == 0)
		return close_listener();
	if (argc == 2 && (strcmp(argv[1], "early-close") == 0 ||
			  strcmp(argv[1], "early-dup") == 0 ||
			  strcmp(argv[1], "early-dup2") == 0))
		return early(argv[1]);
	fprintf(stderr, "usage: vfork_probe [inherit | close-listener | "
			"early-close | early-dup | early-dup2]\n");
	return 2;
}
