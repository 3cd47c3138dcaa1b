#ifndef RB_PROGNAME_H
#define RB_PROGNAME_H

#include <stdbool.h>

/*
 * The names a process answers to in [program NAME] sections: the
 * basename of argv[0], of its executable (/proc/self/exe), and of the
 * script when the executable is an interpreter (python3 app.py).  They
 * differ in practice: python3 vs python3.11, a symlinked binary,
 * `exec -a`.
 */

#define RB_NAMES_MAX 3

struct rb_names {
	unsigned n;
	const char *name[RB_NAMES_MAX]; /* point into the arguments */
};

/* exe may be NULL when unknown; argv as main() gets it. */
void rb_names_find(struct rb_names *out, const char *exe, int argc,
		   char *const argv[]);

enum rb_interp_kind {
	RB_INTERP_NONE,
	RB_INTERP_SHELL, /* sh, bash, dash, zsh, ksh, mksh */
	RB_INTERP_OTHER, /* python, perl, ruby, node, php, lua, tclsh */
};

/* Is the basename of path an interpreter whose script names it? */
enum rb_interp_kind rb_names_interpreter(const char *path);

/* Does the shell glob (fnmatch(3)) match any of the names? */
bool rb_names_match(const struct rb_names *names, const char *glob);

#endif
