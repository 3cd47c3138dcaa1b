#include "config.h"

#include <spawn.h>

#include "shim/init.h"

/*
 * A spawned child inherits every descriptor not marked close-on-exec, so
 * connections accepted before it may now be shared: bump the generation
 * before and after (fork() does the same through pthread_atfork), so
 * one accepted by another thread meanwhile counts as shared too.
 */

static int spawn(rb_spawn_fn real, pid_t *pid, const char *path,
		 const posix_spawn_file_actions_t *fa,
		 const posix_spawnattr_t *attr, char *const argv[],
		 char *const envp[])
{
	int ret;

	rb_fork_gen_bump();
	ret = real(pid, path, fa, attr, argv, envp);
	rb_fork_gen_bump();
	return ret;
}

RB_EXPORT int posix_spawn(pid_t *pid, const char *path,
			  const posix_spawn_file_actions_t *fa,
			  const posix_spawnattr_t *attr, char *const argv[],
			  char *const envp[])
{
	return spawn(rb_real()->posix_spawn, pid, path, fa, attr, argv, envp);
}

RB_EXPORT int posix_spawnp(pid_t *pid, const char *file,
			   const posix_spawn_file_actions_t *fa,
			   const posix_spawnattr_t *attr, char *const argv[],
			   char *const envp[])
{
	return spawn(rb_real()->posix_spawnp, pid, file, fa, attr, argv, envp);
}
