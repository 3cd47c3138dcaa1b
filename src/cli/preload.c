#include "config.h"

#include "cli/cli.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/dropin.h"

#define RB_LIBNAME	"librebind.so"
/* What the loader (glibc's rtld) splits LD_PRELOAD at. */
#define RB_PRELOAD_SEP	": "

/*
 * Run from the build tree (tests do), the wrapper must preload the
 * library built next to it, not an installed one of another version.
 * Writes <dir of this executable>/.libs into dir unless that is RB_BINDIR.
 */
static int build_tree_dir(char *dir, size_t len)
{
	char bindir[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", dir, len - 1);
	char *slash;
	size_t room;

	if (n <= 0)
		return -1;
	dir[n] = '\0';
	slash = strrchr(dir, '/');
	if (!slash)
		return -1;
	*slash = '\0';
	if (!realpath(RB_BINDIR, bindir))
		(void)snprintf(bindir, sizeof(bindir), "%s", RB_BINDIR);
	if (strcmp(dir, bindir) == 0)
		return -1;
	room = len - (size_t)(slash - dir);
	return (size_t)snprintf(slash, room, "/.libs") < room ? 0 : -1;
}

/*
 * The loader splits LD_PRELOAD at blanks and colons, and says so only
 * in a message the daemon's log may never show: a library whose path
 * has one (a build tree in "my build/") would be silently left out.
 */
static int preloadable(const char *lib)
{
	if (strpbrk(lib, RB_PRELOAD_SEP) == NULL)
		return 0;
	(void)fprintf(stderr, "rebind: %s cannot be preloaded: the loader "
			      "splits LD_PRELOAD at blanks and colons\n",
		      lib);
	return -1;
}

int rb_cli_find_library(char *out, size_t len)
{
	char dir[PATH_MAX];
	bool tried = build_tree_dir(dir, sizeof(dir)) == 0;

	if (tried && (size_t)snprintf(out, len, "%s/" RB_LIBNAME, dir) < len &&
	    access(out, R_OK) == 0)
		return preloadable(out);
	(void)snprintf(out, len, "%s/" RB_LIBNAME, RB_PKGLIBDIR);
	if (access(out, R_OK) == 0)
		return preloadable(out);
	(void)fprintf(stderr,
		      "rebind: cannot find " RB_LIBNAME " (looked in %s%s%s)\n",
		      tried ? dir : "", tried ? " and " : "", RB_PKGLIBDIR);
	return -1;
}

int rb_cli_set_preload(const char *lib)
{
	const char *old = getenv("LD_PRELOAD");
	/* Joining never takes more than the old separators plus two. */
	size_t len = (old ? strlen(old) : 0) + strlen(lib) +
		     sizeof(RB_SANITIZER_RUNTIME) + 2;
	char *new = malloc(len);
	int ret;

	if (!new) {
		(void)fprintf(stderr, "rebind: %s\n", strerror(errno));
		return -1;
	}
	/*
	 * A library built with --enable-sanitizers needs the ASan runtime
	 * first, even in programs that are not instrumented;
	 * RB_SANITIZER_RUNTIME is empty in a normal build.
	 */
	ret = rb_dropin_join_preload(new, len, lib, RB_SANITIZER_RUNTIME, old);
	if (ret)
		errno = E2BIG; /* cannot happen: len is enough */
	else
		ret = setenv("LD_PRELOAD", new, 1);
	if (ret)
		(void)fprintf(stderr, "rebind: LD_PRELOAD: %s\n",
			      strerror(errno));
	free(new);
	return ret;
}
