#include "config.h"

#include "cli/cli.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* ASan and friends abort unless their runtime is the first object loaded. */
static bool is_sanitizer(const char *entry, size_t n)
{
	static const char *const prefixes[] = {
		"libasan", "libtsan",	"libubsan",
		"liblsan", "libhwasan", "libclang_rt.",
	};
	const char *slash = memrchr(entry, '/', n);
	const char *base = slash ? slash + 1 : entry;
	size_t blen = n - (size_t)(base - entry);

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		size_t plen = strlen(prefixes[i]);

		if (blen >= plen && memcmp(base, prefixes[i], plen) == 0)
			return true;
	}
	return false;
}

static void append_entry(char *out, const char *entry, size_t n)
{
	size_t len = strlen(out);

	if (len > 0)
		out[len++] = ':';
	memcpy(out + len, entry, n);
	out[len + n] = '\0';
}

/*
 * The next entry of an LD_PRELOAD list at or after *list (the loader
 * takes ':' and ' ' as separators): its start, and its length in *n;
 * NULL at the end.  *list moves past it.
 */
static const char *next_entry(const char **list, size_t *n)
{
	const char *entry = *list + strspn(*list, RB_PRELOAD_SEP);

	if (*entry == '\0')
		return NULL;
	*n = strcspn(entry, RB_PRELOAD_SEP);
	*list = entry + *n;
	return entry;
}

/* Appends the entries of list that are (or are not) sanitizers, minus lib. */
static void append_entries(char *out, const char *list, const char *lib,
			   bool sanitizers)
{
	size_t liblen = strlen(lib);
	const char *e;
	size_t n;

	while ((e = next_entry(&list, &n))) {
		if (is_sanitizer(e, n) == sanitizers &&
		    !(n == liblen && memcmp(e, lib, n) == 0))
			append_entry(out, e, n);
	}
}

/*
 * A library built with --enable-sanitizers needs the ASan runtime first,
 * even in programs that are not instrumented.  RB_SANITIZER_RUNTIME is
 * empty in a normal build.
 */
static void append_runtime(char *out, const char *old)
{
	static const char runtime[] = RB_SANITIZER_RUNTIME;
	const char *e;
	size_t n;

	while ((e = next_entry(&old, &n))) {
		if (is_sanitizer(e, n))
			return;
	}
	if (runtime[0])
		append_entry(out, runtime, strlen(runtime));
}

int rb_cli_set_preload(const char *lib)
{
	const char *old = getenv("LD_PRELOAD");
	char *new;
	int ret;

	if (!old)
		old = "";
	/* Joining never takes more than the old separators plus two. */
	new = malloc(strlen(old) + strlen(lib) +
		     sizeof(RB_SANITIZER_RUNTIME) + 2);
	if (!new) {
		(void)fprintf(stderr, "rebind: %s\n", strerror(errno));
		return -1;
	}
	new[0] = '\0';
	append_runtime(new, old);
	append_entries(new, old, lib, true);
	append_entry(new, lib, strlen(lib));
	append_entries(new, old, lib, false);
	ret = setenv("LD_PRELOAD", new, 1);
	if (ret)
		(void)fprintf(stderr, "rebind: LD_PRELOAD: %s\n",
			      strerror(errno));
	free(new);
	return ret;
}

