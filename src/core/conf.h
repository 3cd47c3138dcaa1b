#ifndef RB_CONF_H
#define RB_CONF_H

#include <stdbool.h>
#include <stddef.h>

#include "core/policy.h"
#include "core/progname.h"

/*
 * rebind.conf, parsed: a global section, then [port SPEC],
 * [program NAME] and [program NAME port SPEC] sections in file order.
 * Pure: text in, sections out; rb_conf_load() adds reading a file.
 */

#define RB_SECTIONS_MAX 64
#define RB_PROGRAM_MAX	256
#define RB_CONF_PATH_MAX 1024

enum rb_section_kind {
	RB_SEC_GLOBAL,
	RB_SEC_PORT,
	RB_SEC_PROGRAM,
	RB_SEC_PROGRAM_PORT,
};

struct rb_section {
	enum rb_section_kind kind;
	unsigned line;			/* of the [header]; 0 for global */
	char program[RB_PROGRAM_MAX];	/* glob, for program kinds */
	struct rb_portset ports;	/* for port kinds */
	struct rb_settings s;
};

struct rb_conf {
	char path[RB_CONF_PATH_MAX];	/* as given, for messages */
	unsigned n;			/* sec[0] is the global section */
	struct rb_section sec[RB_SECTIONS_MAX];
};

/* Receives each error as one line "PATH:LINE: what is wrong". */
typedef void (*rb_conf_report_fn)(void *ctx, const char *msg);

/* Parse text; returns the number of errors, each passed to report. */
unsigned rb_conf_parse(struct rb_conf *out, const char *path,
		       const char *text, size_t len, rb_conf_report_fn report,
		       void *ctx);

enum rb_conf_status {
	RB_CONF_OK,
	RB_CONF_ABSENT,	    /* no such file, not required; not reported */
	RB_CONF_UNREADABLE, /* reported */
	RB_CONF_INVALID,    /* errors reported */
};

/*
 * The file to read: the one REBIND_CONFIG names, as get() returns it
 * (then *named is true: it must exist), else the system file.  The
 * library's get() hides the variable in secure-execution mode.
 */
const char *rb_conf_path(rb_getenv_fn get, bool *named);

/*
 * Read and parse the file at path (without malloc or stdio).  A missing
 * file is RB_CONF_ABSENT, or reported and RB_CONF_UNREADABLE when it is
 * required.
 */
enum rb_conf_status rb_conf_load(struct rb_conf *out, const char *path,
				 bool required, rb_conf_report_fn report,
				 void *ctx);

/* Does section s name the program called names? */
bool rb_conf_names(const struct rb_section *s, const struct rb_names *names);

#endif
