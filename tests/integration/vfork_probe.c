/*
 * A connection copied in a vfork() child: the child dup2()s an accepted
 * connection onto descriptor 9 and execs a shell that writes to it after
 * a moment; the parent closes its own descriptor at once.  The child
 * shares the parent's memory, so rebind sees its dup2() in the parent's
 * table: the connection now has a second holder and the parent's close
 * must be an ordinary one, even under safe-abort.
 *
 * Prints what the client read before EOF; exit 0 when that is the
 * child's line, 1 when not, 2 when the setup failed.
 */
#include "config.h"

#include "probe.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHILD_LINE "child-data\n"

int main(void)
{
	char buf[64];
	int lfd, cli, conn, err, st;
	size_t got;
	pid_t pid;

	lfd = probe_listener(0);
	if (lfd < 0) {
		perror("vfork_probe: listener");
		return 2;
	}
	cli = probe_connect(probe_port(lfd, false));
	conn = cli < 0 ? -1 : accept(lfd, NULL, NULL);
	if (conn < 0) {
		perror("vfork_probe: connection");
		return 2;
	}
	pid = vfork();
	if (pid == 0) {
		if (dup2(conn, 9) == 9)
			execl("/bin/sh", "sh", "-c",
			      "sleep 0.3; printf '" CHILD_LINE "' >&9", (char *)NULL);
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
	/* A child whose write met a reset dies of SIGPIPE or exits 1. */
	printf("child %s %d, client read %zu bytes%s: %s",
	       WIFEXITED(st) ? "exit" : "signal",
	       WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st), got,
	       err ? " then an error" : "", got ? buf : "(nothing)\n");
	return err == 0 && strcmp(buf, CHILD_LINE) == 0 ? 0 : 1;
}
