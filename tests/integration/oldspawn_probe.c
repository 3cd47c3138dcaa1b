#include "config.h"

#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "probe.h"

/*
 * A program linked against the posix_spawn and posix_spawnp of glibc
 * before 2.15, as a binary built then is: those run a script without
 * "#!" through /bin/sh, the current ones fail with ENOEXEC.  configure
 * took the old version's name from this libc (RB_VER_POSIX_SPAWN_OLD).
 *
 * Usage: oldspawn_probe SCRIPT NAME: runs SCRIPT with posix_spawn and
 * NAME (found in PATH) with posix_spawnp, and prints what each returned
 * and how the child ended.  (The old posix_spawnp hands the shell NAME,
 * not the path it found: run it where NAME is.)  It also prints the SO_REUSEADDR of a
 * listener: its listen() is linked against listen@GLIBC_*, and must
 * still reach rebind's unversioned hook (1) in a library that now has
 * version nodes.  Exits 77 where libc has no older posix_spawn.
 */

#if defined(RB_VER_POSIX_SPAWN_OLD) && defined(RB_VER_POSIX_SPAWNP_OLD)
__asm__(".symver posix_spawn, posix_spawn@" RB_VER_POSIX_SPAWN_OLD);
__asm__(".symver posix_spawnp, posix_spawnp@" RB_VER_POSIX_SPAWNP_OLD);
#define HAVE_OLD 1
#else
#define HAVE_OLD 0
#endif

extern char **environ;

static void report(const char *what, int err, pid_t pid)
{
	int st;

	if (err) {
		printf("%s: %s\n", what, strerror(err));
		return;
	}
	if (waitpid(pid, &st, 0) != pid) {
		printf("%s: waitpid: %s\n", what, strerror(errno));
		return;
	}
	printf("%s: exit %d\n", what, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

int main(int argc, char **argv)
{
	char *args[] = {NULL, NULL};
	pid_t pid = 0;
	int lfd;
	int err;

	if (!HAVE_OLD) {
		printf("this libc has no older posix_spawn\n");
		return 77;
	}
	if (argc != 3)
		return 99;
	lfd = probe_listener(0);
	if (lfd < 0)
		return 99;
	printf("listener reuseaddr=%d\n",
	       probe_int(lfd, SOL_SOCKET, SO_REUSEADDR));
	(void)fflush(stdout);
	args[0] = argv[1];
	err = posix_spawn(&pid, argv[1], NULL, NULL, args, environ);
	report("posix_spawn", err, pid);
	(void)fflush(stdout);
	args[0] = argv[2];
	err = posix_spawnp(&pid, argv[2], NULL, NULL, args, environ);
	report("posix_spawnp", err, pid);
	return fflush(stdout) == 0 ? 0 : 99;
}
