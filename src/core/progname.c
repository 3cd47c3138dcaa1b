#include "config.h"

#include "core/progname.h"

#include <fnmatch.h>
#include <stddef.h>
#include <string.h>

/* Programs that run a script named by their first plain argument. */
static const char *const interpreters[] = {
	"python*", "perl*", "ruby*", "sh",   "bash",   "dash", "zsh",
	"ksh*",	   "mksh",  "node",  "php*", "tclsh*", "lua*",
};

static const char *base(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

static bool is_interpreter(const char *name)
{
	const size_t n = sizeof(interpreters) / sizeof(interpreters[0]);

	for (size_t i = 0; i < n; i++) {
		if (fnmatch(interpreters[i], name, 0) == 0)
			return true;
	}
	return false;
}

/* perl -e, ruby -e and node -e run code given inline; sh -e does not. */
static bool inline_code(const char *interp, const char *opt)
{
	if (strcmp(opt, "-c") == 0)
		return true;
	return (strcmp(opt, "-e") == 0 || strcmp(opt, "-E") == 0) &&
	       (fnmatch("perl*", interp, 0) == 0 ||
		fnmatch("ruby*", interp, 0) == 0 || strcmp(interp, "node") == 0);
}

/*
 * The script an interpreter runs: its first argument that is not an
 * option.  -c (and -e for perl, ruby, node) give code inline: no
 * script; -m names a module, which serves as well.  Options that take
 * their value as the next word are skipped with it.
 */
static const char *script(const char *interp, int argc, char *const argv[])
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (inline_code(interp, a))
			return NULL;
		if (strcmp(a, "--") == 0 || strcmp(a, "-m") == 0)
			return i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "-W") == 0 || strcmp(a, "-X") == 0 ||
		    strcmp(a, "-o") == 0) {
			i++;
			continue;
		}
		if (a[0] != '-')
			return a;
	}
	return NULL;
}

static void add(struct rb_names *out, const char *path)
{
	const char *name = path ? base(path) : "";

	if (*name == '\0' || out->n == RB_NAMES_MAX)
		return;
	for (unsigned i = 0; i < out->n; i++) {
		if (strcmp(out->name[i], name) == 0)
			return;
	}
	out->name[out->n++] = name;
}

void rb_names_find(struct rb_names *out, const char *exe, int argc,
		   char *const argv[])
{
	const char *argv0 = argc > 0 ? argv[0] : NULL;

	out->n = 0;
	add(out, argv0);
	add(out, exe);
	if (exe && is_interpreter(base(exe)))
		add(out, script(base(exe), argc, argv));
	else if (argv0 && is_interpreter(base(argv0)))
		add(out, script(base(argv0), argc, argv));
}

bool rb_names_match(const struct rb_names *names, const char *glob)
{
	for (unsigned i = 0; names && i < names->n; i++) {
		if (fnmatch(glob, names->name[i], 0) == 0)
			return true;
	}
	return false;
}
