#include "config.h"

#include "core/progname.h"

#include <fnmatch.h>
#include <stddef.h>
#include <string.h>

/*
 * Programs that run a script named by their first plain argument, and
 * the options that change that: code given inline (no script), a value
 * in the next word (skipped), a name in the next word (python -m
 * MODULE, php -f FILE: used as the script's name).  Lists are words
 * between blanks.
 */
struct rb_interp {
	const char *glob;
	const char *inline_code;
	const char *takes_value;
	const char *names_next;
};

static const struct rb_interp interpreters[] = {
	{"python*", " -c ", " -W -X ", " -m "},
	{"perl*", " -e -E ", " -I -M -m -x ", ""},
	{"ruby*", " -e ", " -E -I -r -C -x ", ""},
	{"node", " -e -p --eval --print ", " -r --require ", ""},
	{"php*", " -r ", " -c -d -z ", " -f "},
	{"lua*", " -e ", " -l ", ""},
	{"tclsh*", "", "", ""},
	{"sh", " -c ", " -o -O ", ""},
	{"bash", " -c ", " -o -O ", ""},
	{"dash", " -c ", " -o ", ""},
	{"zsh", " -c ", " -o ", ""},
	{"ksh*", " -c ", " -o ", ""},
	{"mksh", " -c ", " -o ", ""},
};

static const char *base(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

static const struct rb_interp *interpreter(const char *path)
{
	const size_t n = sizeof(interpreters) / sizeof(interpreters[0]);

	for (size_t i = 0; path && i < n; i++) {
		if (fnmatch(interpreters[i].glob, base(path), 0) == 0)
			return &interpreters[i];
	}
	return NULL;
}

/* Is word one of the blank-separated words of list? */
static bool in_list(const char *list, const char *word)
{
	size_t n = strlen(word);

	/* strstr finds "" everywhere, past the end of list included. */
	if (n == 0)
		return false;
	for (const char *p = strstr(list, word); p; p = strstr(p + 1, word)) {
		if (p > list && p[-1] == ' ' && p[n] == ' ')
			return true;
	}
	return false;
}

/* The script the interpreter runs: its first argument not an option. */
static const char *script(const struct rb_interp *in, int argc,
			  char *const argv[])
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (in_list(in->inline_code, a))
			return NULL;
		if (strcmp(a, "--") == 0 || in_list(in->names_next, a))
			return i + 1 < argc ? argv[i + 1] : NULL;
		if (in_list(in->takes_value, a))
			i++;
		else if (a[0] != '-')
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
	const struct rb_interp *in = interpreter(exe);

	out->n = 0;
	add(out, argv0);
	add(out, exe);
	if (!in)
		in = interpreter(argv0);
	if (in)
		add(out, script(in, argc, argv));
}

bool rb_names_match(const struct rb_names *names, const char *glob)
{
	for (unsigned i = 0; names && i < names->n; i++) {
		if (fnmatch(glob, names->name[i], 0) == 0)
			return true;
	}
	return false;
}
