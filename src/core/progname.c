#include "config.h"

#include "core/progname.h"

#include <fnmatch.h>
#include <stddef.h>
#include <string.h>

/*
 * Programs that run a script named by their first plain argument, and
 * the options that change that: code given inline (no script), a value
 * in the next word or glued on (skipped), a name in the next word or
 * glued on (python -m MODULE, -mMODULE, php -f FILE: used as the
 * script's name).  Lists are words between blanks; short options are
 * listed alone ("-m") and found inside clusters ("-um").
 */
struct rb_interp {
	const char *glob;
	const char *inline_code;
	const char *takes_value;
	const char *names_next;
	enum rb_interp_kind kind;
};

#define SHELL RB_INTERP_SHELL
#define OTHER RB_INTERP_OTHER
static const struct rb_interp interpreters[] = {
	{"python*", " -c ", " -W -X ", " -m ", OTHER},
	{"perl*", " -e -E ", " -I -M -m -x ", "", OTHER},
	{"ruby*", " -e ", " -E -I -r -C -x ", "", OTHER},
	{"node", " -e -p --eval --print ", " -r --require ", "", OTHER},
	{"php*", " -r ", " -c -d -z ", " -f ", OTHER},
	{"lua*", " -e ", " -l ", "", OTHER},
	{"tclsh*", "", "", "", OTHER},
	{"sh", " -c ", " -o -O ", "", SHELL},
	{"bash", " -c ", " -o -O ", "", SHELL},
	{"dash", " -c ", " -o ", "", SHELL},
	{"zsh", " -c ", " -o ", "", SHELL},
	{"ksh*", " -c ", " -o ", "", SHELL},
	{"mksh", " -c ", " -o ", "", SHELL},
};
#undef SHELL
#undef OTHER

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

/* What an option word does to the search for the script. */
enum rb_opt {
	RB_OPT_FLAGS,  /* nothing: go on */
	RB_OPT_INLINE, /* code given inline: no script */
	RB_OPT_NAMES,  /* names the script (python -m MODULE) */
	RB_OPT_VALUE,  /* takes a value */
};

/*
 * Reads a word of options as the interpreters' getopt does: "-um" is
 * -u then -m, and a value may be glued on ("-mMODULE", "-Wignore"); *rest
 * gets what follows the option that decides ("" when nothing).  A word
 * starting "--" is one long option.
 */
static enum rb_opt option(const struct rb_interp *in, const char *a,
			  const char **rest)
{
	char opt[3] = {'-', '\0', '\0'};

	*rest = "";
	if (a[1] == '-')
		return in_list(in->inline_code, a)  ? RB_OPT_INLINE
		       : in_list(in->names_next, a) ? RB_OPT_NAMES
		       : in_list(in->takes_value, a) ? RB_OPT_VALUE
						     : RB_OPT_FLAGS;
	for (const char *p = a + 1; *p; p++) {
		opt[1] = *p;
		*rest = p + 1;
		if (in_list(in->inline_code, opt))
			return RB_OPT_INLINE;
		if (in_list(in->names_next, opt))
			return RB_OPT_NAMES;
		if (in_list(in->takes_value, opt))
			return RB_OPT_VALUE;
	}
	return RB_OPT_FLAGS;
}

/* The script the interpreter runs: its first argument not an option. */
static const char *script(const struct rb_interp *in, int argc,
			  char *const argv[])
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *rest;

		if (strcmp(a, "--") == 0)
			return i + 1 < argc ? argv[i + 1] : NULL;
		if (a[0] != '-')
			return a;
		switch (option(in, a, &rest)) {
		case RB_OPT_INLINE:
			return NULL;
		case RB_OPT_NAMES:
			if (*rest)
				return rest;
			return i + 1 < argc ? argv[i + 1] : NULL;
		case RB_OPT_VALUE:
			i += *rest == '\0';
			break;
		default:
			break;
		}
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

enum rb_interp_kind rb_names_interpreter(const char *path)
{
	const struct rb_interp *in = interpreter(path);

	return in ? in->kind : RB_INTERP_NONE;
}

bool rb_names_match(const struct rb_names *names, const char *glob)
{
	for (unsigned i = 0; names && i < names->n; i++) {
		if (fnmatch(glob, names->name[i], 0) == 0)
			return true;
	}
	return false;
}
