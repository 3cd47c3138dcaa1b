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

/*
 * Programs linked before glibc 2.15 call the old posix_spawn, which runs
 * a script without "#!" through /bin/sh where the current one fails
 * with ENOEXEC: each gets its own version.  The version names come from
 * configure; the rb_ names are not exported (librebind.ver).
 */
#ifdef RB_VER_POSIX_SPAWN_OLD
int rb_posix_spawn_old(pid_t *pid, const char *path,
		       const posix_spawn_file_actions_t *fa,
		       const posix_spawnattr_t *attr, char *const argv[],
		       char *const envp[]);
__asm__(".symver rb_posix_spawn_old, posix_spawn@" RB_VER_POSIX_SPAWN_OLD);
RB_EXPORT int rb_posix_spawn_old(pid_t *pid, const char *path,
				 const posix_spawn_file_actions_t *fa,
				 const posix_spawnattr_t *attr,
				 char *const argv[], char *const envp[])
{
	return spawn(rb_real()->posix_spawn_old, pid, path, fa, attr, argv,
		     envp);
}
#endif

#ifdef RB_VER_POSIX_SPAWNP_OLD
int rb_posix_spawnp_old(pid_t *pid, const char *file,
			const posix_spawn_file_actions_t *fa,
			const posix_spawnattr_t *attr, char *const argv[],
			char *const envp[]);
__asm__(".symver rb_posix_spawnp_old, posix_spawnp@" RB_VER_POSIX_SPAWNP_OLD);
RB_EXPORT int rb_posix_spawnp_old(pid_t *pid, const char *file,
				  const posix_spawn_file_actions_t *fa,
				  const posix_spawnattr_t *attr,
				  char *const argv[], char *const envp[])
{
	return spawn(rb_real()->posix_spawnp_old, pid, file, fa, attr, argv,
		     envp);
}
#endif
