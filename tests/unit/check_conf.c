#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/conf.h"
#include "core/policy.h"
#include "core/progname.h"
#include "suite.h"

/* The path every in-memory parse is given; messages start with it. */
#define P "t.conf"

/* 256 bytes: one more than a program name may have. */
#define A16  "aaaaaaaaaaaaaaaa"
#define A256 A16 A16 A16 A16 A16 A16 A16 A16 A16 A16 A16 A16 A16 A16 A16 A16

#define MIB (1024 * 1024)

#define BELONGS "belongs in the global or a [program NAME] section"

/* Every report, as the callback got it. */
#define REPORTS_KEPT 16
struct reports {
	unsigned n; /* calls, even past REPORTS_KEPT */
	char msg[REPORTS_KEPT][RB_ERR_MAX + RB_CONF_PATH_MAX + 64];
};

static void collect(void *ctx, const char *msg)
{
	struct reports *r = ctx;

	if (r->n < REPORTS_KEPT)
		(void)snprintf(r->msg[r->n], sizeof(r->msg[0]), "%s", msg);
	r->n++;
}

/* Big: static, and poisoned before each parse to catch a missed init. */
static struct rb_conf conf;
static struct reports rep;

static unsigned parse_len(const char *text, size_t len)
{
	memset(&conf, 0xa5, sizeof(conf));
	memset(&rep, 0, sizeof(rep));
	return rb_conf_parse(&conf, P, text, len, collect, &rep);
}

static unsigned parse(const char *text)
{
	return parse_len(text, strlen(text));
}

static int value_of(const struct rb_settings *s, enum rb_key k)
{
	switch (k) {
	case RB_KEY_ENABLE:
		return s->enable;
	case RB_KEY_REUSEADDR:
		return s->reuseaddr;
	case RB_KEY_LINGER:
		return (int)s->linger;
	case RB_KEY_LOG:
		return (int)s->log;
	case RB_KEY_OVERRIDE:
		return s->override;
	default:
		return -1; /* ports: compared as a set */
	}
}

static void assert_ports_eq(const struct rb_portset *got,
			    const struct rb_portset *want)
{
	ck_assert_uint_eq(got->n, want->n);
	for (unsigned i = 0; i < want->n && i < got->n; i++) {
		ck_assert_uint_eq(got->r[i].lo, want->r[i].lo);
		ck_assert_uint_eq(got->r[i].hi, want->r[i].hi);
	}
}

/* n bytes of pattern, repeated, into a new string. */
static char *repeat(const char *pattern, size_t n)
{
	size_t plen = strlen(pattern);
	char *s = malloc(n + 1);

	ck_assert_ptr_nonnull(s);
	for (size_t i = 0; i < n; i++)
		s[i] = pattern[i % plen];
	s[n] = '\0';
	return s;
}

/* keys: every key, every valid value, in every kind of section ------ */

struct value_row {
	enum rb_key key;
	const char *value;
	int want;		 /* all keys but ports */
	struct rb_portset ports; /* ports */
};

static const struct value_row values[] = {
	{RB_KEY_ENABLE, "yes", true, {0}},
	{RB_KEY_ENABLE, "no", false, {0}},
	{RB_KEY_REUSEADDR, "on", true, {0}},
	{RB_KEY_REUSEADDR, "off", false, {0}},
	{RB_KEY_LINGER, "off", RB_LINGER_OFF, {0}},
	{RB_KEY_LINGER, "abort", RB_LINGER_ABORT, {0}},
	{RB_KEY_LINGER, "safe-abort", RB_LINGER_SAFE_ABORT, {0}},
	{RB_KEY_PORTS, "all", 0, {0}},
	{RB_KEY_PORTS, "80", 0, {1, {{80, 80}}}},
	{RB_KEY_PORTS, "1-65535", 0, {1, {{1, 65535}}}},
	{RB_KEY_PORTS,
	 "80,443,8000-8100",
	 0,
	 {3, {{80, 80}, {443, 443}, {8000, 8100}}}},
	{RB_KEY_LOG, "off", RB_LOG_OFF, {0}},
	{RB_KEY_LOG, "error", RB_LOG_ERROR, {0}},
	{RB_KEY_LOG, "warn", RB_LOG_WARN, {0}},
	{RB_KEY_LOG, "info", RB_LOG_INFO, {0}},
	{RB_KEY_LOG, "debug", RB_LOG_DEBUG, {0}},
	{RB_KEY_OVERRIDE, "no", false, {0}},
	{RB_KEY_OVERRIDE, "yes", true, {0}},
};

/* Text before the key line; it sets no key itself. */
struct where_row {
	const char *head;
	unsigned line; /* of the key line that follows head */
	unsigned sec;  /* index of the section the key lands in */
	enum rb_section_kind kind;
};

static const struct where_row wheres[] = {
	{"", 1, 0, RB_SEC_GLOBAL},
	{"# ports\n\n[port 80]\n", 4, 1, RB_SEC_PORT},
	{"[port 1]\n[program foo]\n", 3, 2, RB_SEC_PROGRAM},
	{"\n\t\n[program foo port 80-90]\n", 4, 1, RB_SEC_PROGRAM_PORT},
};

static bool per_process(enum rb_key k)
{
	return k == RB_KEY_PORTS || k == RB_KEY_LOG;
}

START_TEST(test_key_value)
{
	const struct value_row *v = &values[_i / (int)NELEM(wheres)];
	const struct where_row *w = &wheres[_i % (int)NELEM(wheres)];
	const struct rb_section *sec = &conf.sec[w->sec];
	const bool refused = per_process(v->key) &&
			     (w->kind == RB_SEC_PORT ||
			      w->kind == RB_SEC_PROGRAM_PORT);
	char text[256];

	(void)snprintf(text, sizeof(text), "%s%s = %s\n", w->head,
		       rb_key_name(v->key), v->value);
	ck_assert_uint_eq(parse(text), refused);
	ck_assert_uint_eq(conf.n, w->sec + 1);
	/* The other sections stay empty: a key lands in one section only. */
	for (unsigned i = 0; i < conf.n && i < RB_SECTIONS_MAX; i++)
		ck_assert_uint_eq(conf.sec[i].s.set,
				  i == w->sec && !refused ? 1U << v->key : 0);
	if (refused) {
		char want[128];

		(void)snprintf(want, sizeof(want), P ":%u: '%s' " BELONGS,
			       w->line, rb_key_name(v->key));
		ck_assert_str_eq(rep.msg[0], want);
		return;
	}
	ck_assert_uint_eq(rep.n, 0);
	ck_assert_int_eq(sec->kind, w->kind);
	ck_assert_uint_eq(sec->s.line[v->key], w->line);
	if (v->key == RB_KEY_PORTS)
		assert_ports_eq(&sec->s.ports, &v->ports);
	else
		ck_assert_int_eq(value_of(&sec->s, v->key), v->want);
}
END_TEST

/* key syntax: blanks, comments, line ends ---------------------------- */

static const struct {
	const char *text;
	bool ok;
	enum rb_linger want;
} syntax[] = {
	{"linger=abort\n", true, RB_LINGER_ABORT},
	{"linger = abort\n", true, RB_LINGER_ABORT},
	{"   linger   =   abort   \n", true, RB_LINGER_ABORT},
	{"\tlinger\t=\tabort\t\n", true, RB_LINGER_ABORT},
	{"linger = abort # not safe-abort\n", true, RB_LINGER_ABORT},
	{"linger = abort\t# not safe-abort\n", true, RB_LINGER_ABORT},
	{"linger = abort #\n", true, RB_LINGER_ABORT},
	{"linger = abort ## # #\n", true, RB_LINGER_ABORT},
	{"linger = abort\r\n", true, RB_LINGER_ABORT},
	{"linger = abort # c\r\n", true, RB_LINGER_ABORT},
	{"linger = abort", true, RB_LINGER_ABORT},
	{"linger = abort\r", true, RB_LINGER_ABORT},
	{"linger = safe-abort", true, RB_LINGER_SAFE_ABORT},
	{"linger=off#\n", false, RB_LINGER_OFF}, /* no blank before '#' */
};

START_TEST(test_syntax)
{
	unsigned errors = parse(syntax[_i].text);

	if (!syntax[_i].ok) {
		ck_assert_uint_eq(errors, 1);
		ck_assert_uint_eq(conf.sec[0].s.set, 0);
		return;
	}
	ck_assert_uint_eq(errors, 0);
	ck_assert_uint_eq(conf.sec[0].s.set, 1U << RB_KEY_LINGER);
	ck_assert_int_eq(conf.sec[0].s.linger, syntax[_i].want);
	ck_assert_uint_eq(conf.sec[0].s.line[RB_KEY_LINGER], 1);
}
END_TEST

/* sections: headers -------------------------------------------------- */

struct section_row {
	const char *text; /* the header is on line 2 */
	enum rb_section_kind kind;
	const char *program;
	struct rb_portset ports;
};

static const struct section_row sections[] = {
	{"\n[port 80]\n", RB_SEC_PORT, "", {1, {{80, 80}}}},
	{"\n[ port 80 ]\n", RB_SEC_PORT, "", {1, {{80, 80}}}},
	{"\n\t[port\t8000-8100]\t\n", RB_SEC_PORT, "", {1, {{8000, 8100}}}},
	{"\n[port 80, 443]\n", RB_SEC_PORT, "", {2, {{80, 80}, {443, 443}}}},
	{"\n[port 1-65535]", RB_SEC_PORT, "", {1, {{1, 65535}}}},
	{"\n[port 80]\r\n", RB_SEC_PORT, "", {1, {{80, 80}}}},
	{"\n[port 80] # web\n", RB_SEC_PORT, "", {1, {{80, 80}}}},
	{"\n[port 80]\t#\r\n", RB_SEC_PORT, "", {1, {{80, 80}}}},
	{"\n[program x*] # all x\n", RB_SEC_PROGRAM, "x*", {0}},
	{"\n[program nginx]\n", RB_SEC_PROGRAM, "nginx", {0}},
	{"\n[program python3*]\n", RB_SEC_PROGRAM, "python3*", {0}},
	{"\n[program  [a-z]?d ]\n", RB_SEC_PROGRAM, "[a-z]?d", {0}},
	{"\n[program " A16 A16 A16 A16 A16 A16 A16 A16 A16 A16 A16 A16 A16 A16
	 A16 "aaaaaaaaaaaaaaa]\n",
	 RB_SEC_PROGRAM,
	 A16 A16 A16 A16 A16 A16 A16 A16 A16 A16 A16 A16 A16 A16 A16
	 "aaaaaaaaaaaaaaa",
	 {0}},
	{"\n[program nginx port 8080]\n",
	 RB_SEC_PROGRAM_PORT,
	 "nginx",
	 {1, {{8080, 8080}}}},
	{"\n[program  x\tport  1,2-3 ]\n",
	 RB_SEC_PROGRAM_PORT,
	 "x",
	 {2, {{1, 1}, {2, 3}}}},
};

START_TEST(test_section)
{
	const struct section_row *row = &sections[_i];
	const struct rb_section *sec = &conf.sec[1];

	ck_assert_uint_eq(parse(row->text), 0);
	ck_assert_uint_eq(conf.n, 2);
	ck_assert_int_eq(sec->kind, row->kind);
	ck_assert_uint_eq(sec->line, 2);
	ck_assert_uint_eq(sec->s.set, 0);
	if (row->kind != RB_SEC_PORT)
		ck_assert_str_eq(sec->program, row->program);
	if (row->kind != RB_SEC_PROGRAM)
		assert_ports_eq(&sec->ports, &row->ports);
}
END_TEST

/* Sections come in file order, and each holds its own keys. */
START_TEST(test_section_order)
{
	static const char text[] = "linger = off\n"
				   "[port 80]\n"
				   "linger = abort\n"
				   "[program a]\n"
				   "linger = safe-abort\n"
				   "[port 80]\n"
				   "reuseaddr = off\n";

	ck_assert_uint_eq(parse(text), 0);
	ck_assert_uint_eq(conf.n, 4);
	ck_assert_int_eq(conf.sec[0].s.linger, RB_LINGER_OFF);
	ck_assert_uint_eq(conf.sec[1].line, 2);
	ck_assert_int_eq(conf.sec[1].s.linger, RB_LINGER_ABORT);
	ck_assert_uint_eq(conf.sec[2].line, 4);
	ck_assert_int_eq(conf.sec[2].s.linger, RB_LINGER_SAFE_ABORT);
	ck_assert_uint_eq(conf.sec[3].line, 6);
	ck_assert_uint_eq(conf.sec[3].s.set, 1U << RB_KEY_REUSEADDR);
}
END_TEST

/* errors: one row per message, with its line ------------------------ */

struct error_row {
	const char *text;
	size_t len; /* 0: strlen(text) */
	const char *want;
};

#define UNKNOWN_SECTION                                                    \
	"(expected [port SPEC], [program NAME] or [program NAME port SPEC])"

static const struct error_row errors[] = {
	/* Keys. */
	{"colour = red\n", 0, P ":1: unknown key 'colour'"},
	{"\nLinger = abort\n", 0, P ":2: unknown key 'Linger'"},
	{"linger_mode = abort\n", 0, P ":1: unknown key 'linger_mode'"},
	{"= abort\n", 0, P ":1: unknown key ''"},
	{"enable = maybe\n", 0, P ":1: enable = maybe: expected yes or no"},
	{"enable = on\n", 0, P ":1: enable = on: expected yes or no"},
	{"reuseaddr = yes\n", 0,
	 P ":1: reuseaddr = yes: expected on or off"},
	{"linger = safe_abort\n", 0,
	 P ":1: linger = safe_abort: expected off, abort or safe-abort"},
	{"linger = Abort\n", 0,
	 P ":1: linger = Abort: expected off, abort or safe-abort"},
	{"linger = abort#x\n", 0,
	 P ":1: linger = abort#x: expected off, abort or safe-abort"},
	{"ports = 80-\n", 0, P ":1: ports = 80-: missing port number"},
	{"ports = 70000\n", 0,
	 P ":1: ports = 70000: port out of range (1-65535)"},
	{"ports = 0\n", 0, P ":1: ports = 0: port 0 is not a port (1-65535)"},
	{"ports = 80 443\n", 0,
	 P ":1: ports = 80 443: expected ',' between ports"},
	{"ports = any\n", 0, P ":1: ports = any: expected a port number"},
	{"log = loud\n", 0,
	 P ":1: log = loud: expected off, error, warn, info or debug"},
	{"override = on\n", 0, P ":1: override = on: expected no or yes"},
	{"\n\nlinger = maybe\r\n", 0,
	 P ":3: linger = maybe: expected off, abort or safe-abort"},
	/* Empty values, for every key. */
	{"enable =\n", 0, P ":1: missing value for 'enable'"},
	{"reuseaddr = \n", 0, P ":1: missing value for 'reuseaddr'"},
	{"linger =\t\n", 0, P ":1: missing value for 'linger'"},
	{"ports = # none\n", 0, P ":1: missing value for 'ports'"},
	{"log=", 0, P ":1: missing value for 'log'"},
	{"override =\r\n", 0, P ":1: missing value for 'override'"},
	/* Duplicates, in a section and across lines. */
	{"linger = off\n\nlinger = abort\n", 0,
	 P ":3: 'linger' is already set on line 1"},
	{"linger = off\nlinger = off\n", 0,
	 P ":2: 'linger' is already set on line 1"},
	{"[port 80]\nenable = no\n#\nenable = yes\n", 0,
	 P ":4: 'enable' is already set on line 2"},
	{"[program x]\nports = 80\nports = 80\n", 0,
	 P ":3: 'ports' is already set on line 2"},
	/* Per-process keys in port sections. */
	{"[port 80]\nports = 80\n", 0, P ":2: 'ports' " BELONGS},
	{"[port 80]\nlog = info\n", 0, P ":2: 'log' " BELONGS},
	{"[program x port 80]\nports = 80\n", 0, P ":2: 'ports' " BELONGS},
	{"[program x port 80]\n\nlog = debug\n", 0, P ":3: 'log' " BELONGS},
	/* Section headers. */
	{"[service x]\n", 0,
	 P ":1: unknown section '[service x]' " UNKNOWN_SECTION},
	{"\n[ports 80]\n", 0,
	 P ":2: unknown section '[ports 80]' " UNKNOWN_SECTION},
	{"[]\n", 0, P ":1: unknown section '[]' " UNKNOWN_SECTION},
	{"[Port 80]\n", 0,
	 P ":1: unknown section '[Port 80]' " UNKNOWN_SECTION},
	{"[port 80\n", 0, P ":1: a section header ends with ']'"},
	{"[\n", 0, P ":1: a section header ends with ']'"},
	{"[port]\n", 0, P ":1: missing ports, e.g. [port 8080]"},
	{"[port  ]\n", 0, P ":1: missing ports, e.g. [port 8080]"},
	{"[port 0]\n", 0, P ":1: ports '0': port 0 is not a port (1-65535)"},
	{"[port 80-]\n", 0, P ":1: ports '80-': missing port number"},
	{"[port http]\n", 0, P ":1: ports 'http': expected a port number"},
	{"[port 90-80]\n", 0,
	 P ":1: ports '90-80': range ends before it starts"},
	{"[program x port 99999]\n", 0,
	 P ":1: ports '99999': port out of range (1-65535)"},
	{"[program x port]\n", 0, P ":1: missing ports, e.g. [port 8080]"},
	{"[program]\n", 0,
	 P ":1: missing program name, e.g. [program mydaemon]"},
	{"[program   ]\n", 0,
	 P ":1: missing program name, e.g. [program mydaemon]"},
	{"[program " A256 "]\n", 0,
	 P ":1: program name longer than 255 bytes"},
	{"[program x foo 80]\n", 0,
	 P ":1: expected [program NAME] or [program NAME port SPEC]"},
	{"[program my daemon]\n", 0,
	 P ":1: expected [program NAME] or [program NAME port SPEC]"},
	/* Binary data, named by its byte. */
	{"linger = off\0\n", sizeof("linger = off\0\n") - 1,
	 P ":1: binary data (byte 0x00)"},
	{"\0", 1, P ":1: binary data (byte 0x00)"},
	{"\nlinger\x01 = off\n", 0, P ":2: binary data (byte 0x01)"},
	{"# comment \x1b[31m\n", 0, P ":1: binary data (byte 0x1b)"},
	{"linger = off\x7f\n", 0, P ":1: binary data (byte 0x7f)"},
	{"linger = off\rreuseaddr = on\n", 0, P ":1: binary data (byte 0x0d)"},
	{"linger = off\r\r\n", 0, P ":1: binary data (byte 0x0d)"},
	/* Neither a key nor a section. */
	{"linger abort\n", 0, P ":1: expected 'key = value' or a [section]"},
	{"\n\n\nport 80]\n", 0, P ":4: expected 'key = value' or a [section]"},
	{"linger: abort", 0, P ":1: expected 'key = value' or a [section]"},
};

START_TEST(test_errors)
{
	const struct error_row *row = &errors[_i];
	size_t len = row->len ? row->len : strlen(row->text);
	unsigned set = 0;

	ck_assert_uint_eq(parse_len(row->text, len), 1);
	ck_assert_uint_eq(rep.n, 1);
	ck_assert_str_eq(rep.msg[0], row->want);
	/* A refused key leaves its section as it was. */
	for (unsigned i = 0; i < conf.n && i < RB_SECTIONS_MAX; i++)
		set |= conf.sec[i].s.set;
	/* Rows with a first, good value keep just that one. */
	if (strstr(row->want, "already set"))
		ck_assert_uint_eq(__builtin_popcount(set), 1);
	else
		ck_assert_uint_eq(set, 0);
}
END_TEST

/* The first of two values stays, with its line. */
START_TEST(test_duplicate_keeps_first)
{
	ck_assert_uint_eq(parse("linger = safe-abort\nlinger = abort\n"), 1);
	ck_assert_int_eq(conf.sec[0].s.linger, RB_LINGER_SAFE_ABORT);
	ck_assert_uint_eq(conf.sec[0].s.line[RB_KEY_LINGER], 1);
}
END_TEST

/* The same key in two sections is no duplicate. */
START_TEST(test_same_key_two_sections)
{
	ck_assert_uint_eq(parse("linger = off\n[port 80]\nlinger = abort\n"
				"[port 80]\nlinger = safe-abort\n"),
			  0);
	ck_assert_uint_eq(conf.n, 3);
}
END_TEST

/* A bad value, then a good one: the good one is taken, no duplicate. */
START_TEST(test_bad_then_good)
{
	ck_assert_uint_eq(parse("linger = maybe\nlinger = abort\n"), 1);
	ck_assert_int_eq(conf.sec[0].s.linger, RB_LINGER_ABORT);
	ck_assert_uint_eq(conf.sec[0].s.line[RB_KEY_LINGER], 2);
}
END_TEST

/* several errors: every one reported, each with its own line -------- */

START_TEST(test_several_errors)
{
	static const char text[] = "# several mistakes\n" /* 1 */
				   "colour = red\n"	  /* 2 */
				   "linger = abort\n"	  /* 3 */
				   "linger = off\n"	  /* 4 */
				   "[port 0]\n"		  /* 5 */
				   "reuseaddr = off\n"	  /* 6: dropped */
				   "[port 80]\n"	  /* 7 */
				   "ports = 80\n"	  /* 8 */
				   "enable = maybe\n"	  /* 9 */
				   "no equals here\n"	  /* 10 */
				   "override = yes\n";	  /* 11 */
	static const char *const want[] = {
		P ":2: unknown key 'colour'",
		P ":4: 'linger' is already set on line 3",
		P ":5: ports '0': port 0 is not a port (1-65535)",
		P ":8: 'ports' " BELONGS,
		P ":9: enable = maybe: expected yes or no",
		P ":10: expected 'key = value' or a [section]",
	};

	ck_assert_uint_eq(parse(text), NELEM(want));
	ck_assert_uint_eq(rep.n, NELEM(want));
	for (size_t i = 0; i < NELEM(want); i++)
		ck_assert_str_eq(rep.msg[i], want[i]);
	/* And the good lines between them still count. */
	ck_assert_uint_eq(conf.n, 2);
	ck_assert_int_eq(conf.sec[0].s.linger, RB_LINGER_ABORT);
	ck_assert_uint_eq(conf.sec[0].s.line[RB_KEY_LINGER], 3);
	ck_assert_uint_eq(conf.sec[0].s.set, 1U << RB_KEY_LINGER);
	ck_assert_uint_eq(conf.sec[1].s.set, 1U << RB_KEY_OVERRIDE);
	ck_assert_uint_eq(conf.sec[1].s.line[RB_KEY_OVERRIDE], 11);
}
END_TEST

/* The count returned is the number of report calls, for any count. */
START_TEST(test_error_count)
{
	const unsigned n = (unsigned)_i * 37;
	char *text = repeat("bad\n", (size_t)n * 4);

	ck_assert_uint_eq(parse(text), n);
	ck_assert_uint_eq(rep.n, n);
	free(text);
}
END_TEST

/* No callback: errors are still counted. */
START_TEST(test_no_report_fn)
{
	memset(&conf, 0xa5, sizeof(conf));
	ck_assert_uint_eq(rb_conf_parse(&conf, P, "a\nb\n", 4, NULL, NULL), 2);
}
END_TEST

/* keys after a bad header go nowhere -------------------------------- */

static const char *const bad_headers[] = {
	"[service x]",
	"[port 80",
	"[port]",
	"[port 0]",
	"[port 80;443]",
	"[program]",
	"[program " A256 "]",
	"[program x foo 80]",
	"[program x port 99999]",
	"[program x port]",
};

START_TEST(test_bad_header_drops_keys)
{
	char text[512];

	(void)snprintf(text, sizeof(text),
		       "linger = off\n"	   /* 1 */
		       "%s\n"		   /* 2 */
		       "linger = abort\n"  /* 3 */
		       "reuseaddr = off\n" /* 4 */
		       "[port 80]\n"	   /* 5 */
		       "override = yes\n", /* 6 */
		       bad_headers[_i]);
	ck_assert_uint_eq(parse(text), 1);
	ck_assert_uint_eq(rep.n, 1);
	ck_assert_int_eq(strncmp(rep.msg[0], P ":2: ", strlen(P ":2: ")), 0);
	ck_assert_uint_eq(conf.n, 2);
	ck_assert_uint_eq(conf.sec[0].s.set, 1U << RB_KEY_LINGER);
	ck_assert_int_eq(conf.sec[0].s.linger, RB_LINGER_OFF);
	ck_assert_uint_eq(conf.sec[1].line, 5);
	ck_assert_uint_eq(conf.sec[1].s.set, 1U << RB_KEY_OVERRIDE);
}
END_TEST

/*
 * The keys after a bad header are still checked: check promises every
 * error, so a bad value or a key set twice there is reported now, not
 * once the header is fixed.  Nothing lands anywhere.
 */
START_TEST(test_bad_header_checks_keys)
{
	char text[512];

	(void)snprintf(text, sizeof(text),
		       "%s\n"		  /* 1 */
		       "linger = never\n" /* 2 */
		       "linger = abort\n" /* 3 */
		       "linger = off\n",  /* 4 */
		       bad_headers[_i]);
	ck_assert_uint_eq(parse(text), 3);
	ck_assert_int_eq(strncmp(rep.msg[0], P ":1: ", strlen(P ":1: ")), 0);
	ck_assert_str_eq(rep.msg[1], P ":2: linger = never: expected off, "
				       "abort or safe-abort");
	ck_assert_str_eq(rep.msg[2],
			 P ":4: 'linger' is already set on line 3");
	ck_assert_uint_eq(conf.n, 1);
	ck_assert_uint_eq(conf.sec[0].s.set, 0);
}
END_TEST

/* A port section refuses ports and log even when its header is bad. */
START_TEST(test_bad_port_header_checks_kind)
{
	ck_assert_uint_eq(parse("[port 0]\nports = 80\n"), 2);
	ck_assert_str_eq(rep.msg[1], P ":2: 'ports' " BELONGS);
}
END_TEST

/* sections: at most RB_SECTIONS_MAX, the global one included -------- */

/* n headers "[port 1]" ... "[port n]", one a line, then tail. */
static char *headers(unsigned n, const char *tail)
{
	size_t size = (size_t)n * 16 + strlen(tail) + 1;
	char *text = malloc(size);
	size_t at = 0;

	ck_assert_ptr_nonnull(text);
	for (unsigned i = 1; i <= n; i++)
		at += (size_t)snprintf(text + at, size - at, "[port %u]\n", i);
	(void)snprintf(text + at, size - at, "%s", tail);
	return text;
}

START_TEST(test_sections_max)
{
	char *text = headers(RB_SECTIONS_MAX - 1, "linger = abort\n");

	ck_assert_uint_eq(parse(text), 0);
	ck_assert_uint_eq(conf.n, RB_SECTIONS_MAX);
	ck_assert_uint_eq(conf.sec[RB_SECTIONS_MAX - 1].line,
			  RB_SECTIONS_MAX - 1);
	ck_assert_uint_eq(conf.sec[RB_SECTIONS_MAX - 1].s.set,
			  1U << RB_KEY_LINGER);
	free(text);
}
END_TEST

static const char *const last_headers[] = {
	"[port 65000]\n",
	"[program x]\n",
	"[program x port 80]\n",
};

START_TEST(test_sections_too_many)
{
	char tail[128];
	char *text;

	(void)snprintf(tail, sizeof(tail), "%slinger = abort\n",
		       last_headers[_i]);
	text = headers(RB_SECTIONS_MAX - 1, tail);
	ck_assert_uint_eq(parse(text), 1);
	ck_assert_str_eq(rep.msg[0], P ":64: too many sections (at most 63)");
	ck_assert_uint_eq(conf.n, RB_SECTIONS_MAX);
	for (unsigned i = 0; i < RB_SECTIONS_MAX; i++)
		ck_assert_uint_eq(conf.sec[i].s.set, 0);
	free(text);
}
END_TEST

/* Every header past the limit is reported, each on its line. */
START_TEST(test_sections_too_many_each)
{
	char *text = headers(RB_SECTIONS_MAX + 2, "");

	ck_assert_uint_eq(parse(text), 3);
	ck_assert_str_eq(rep.msg[0], P ":64: too many sections (at most 63)");
	ck_assert_str_eq(rep.msg[1], P ":65: too many sections (at most 63)");
	ck_assert_str_eq(rep.msg[2], P ":66: too many sections (at most 63)");
	free(text);
}
END_TEST

/* comments, blank lines, CRLF, the last line ------------------------ */

struct file_row {
	const char *text;
	unsigned n; /* sections */
	unsigned set0; /* keys set in the global section */
	unsigned set1; /* and in sec[1], when n > 1 */
};

#define K(k) (1U << RB_KEY_##k)

static const struct file_row files[] = {
	{"", 1, 0, 0},
	{"\n", 1, 0, 0},
	{"\n\n \n\t\n", 1, 0, 0},
	{"# linger = abort\n", 1, 0, 0},
	{"   # linger = abort\n", 1, 0, 0},
	{"\t#linger = abort", 1, 0, 0},
	{"#[port 80]\n#linger = abort\n", 1, 0, 0},
	{"# [port 80]\nlinger = abort # [port 81]\n", 1, K(LINGER), 0},
	{"# é ü ß: UTF-8 in a comment\n", 1, 0, 0},
	{"[port 80]\n# linger = abort\n\nreuseaddr = off\n", 2, 0,
	 K(REUSEADDR)},
	{"linger = abort\r\n[port 80]\r\nreuseaddr = off\r\n", 2, K(LINGER),
	 K(REUSEADDR)},
	{"# c\r\n\r\nlinger = abort # c\r\n", 1, K(LINGER), 0},
	{"linger = abort\r\n[port 80]\nreuseaddr = off\r\n", 2, K(LINGER),
	 K(REUSEADDR)},
	{"linger = abort\n[port 80]", 2, K(LINGER), 0},
	{"[port 80]\nreuseaddr = off", 2, 0, K(REUSEADDR)},
	{"[port 80]\r\nreuseaddr = off\r", 2, 0, K(REUSEADDR)},
	{"enable = yes\nreuseaddr = on\nlinger = off\nports = 1-65535\n"
	 "log = warn\noverride = no\n",
	 1, K(ENABLE) | K(REUSEADDR) | K(LINGER) | K(PORTS) | K(LOG) |
		    K(OVERRIDE),
	 0},
};

START_TEST(test_file)
{
	const struct file_row *row = &files[_i];

	ck_assert_uint_eq(parse(row->text), 0);
	ck_assert_uint_eq(rep.n, 0);
	ck_assert_uint_eq(conf.n, row->n);
	ck_assert_uint_eq(conf.sec[0].s.set, row->set0);
	if (row->n > 1)
		ck_assert_uint_eq(conf.sec[1].s.set, row->set1);
}
END_TEST

/* Line numbers count LF only, the same with CRLF and without. */
START_TEST(test_crlf_lines)
{
	static const char text[] = "# c\r\n"
				   "\r\n"
				   "linger = abort\r\n"
				   "[port 80]\r\n"
				   "reuseaddr = off # c\r\n"
				   "colour = red\r\n";

	ck_assert_uint_eq(parse(text), 1);
	ck_assert_str_eq(rep.msg[0], P ":6: unknown key 'colour'");
	ck_assert_uint_eq(conf.sec[0].s.line[RB_KEY_LINGER], 3);
	ck_assert_uint_eq(conf.sec[1].line, 4);
	ck_assert_uint_eq(conf.sec[1].s.line[RB_KEY_REUSEADDR], 5);
	ck_assert_int_eq(conf.sec[1].s.reuseaddr, false);
}
END_TEST

/* The length bounds the text: nothing past it is read. */
START_TEST(test_len_bounds_text)
{
	static const char text[] = "linger = abort\ncolour = red\n";

	ck_assert_uint_eq(parse_len(text, 15), 0);
	ck_assert_uint_eq(conf.sec[0].s.set, K(LINGER));
	/* Cut inside a value: "ab" is not a value. */
	ck_assert_uint_eq(parse_len(text, 11), 1);
	ck_assert_str_eq(rep.msg[0],
			 P ":1: linger = ab: "
			   "expected off, abort or safe-abort");
}
END_TEST

/* long lines: 1 MiB, refused or taken, never cut ------------------- */

struct long_row {
	const char *pre;
	const char *fill; /* repeated to 1 MiB */
	const char *post;
	/* The message for line 1: want_pre, then want_n bytes of
	 * want_fill, then want_post; want_pre NULL: no error.  A quote
	 * holds 64 bytes: 64 of the fill, or 63 behind a quoted '['. */
	const char *want_pre;
	const char *want_fill;
	size_t want_n;
	const char *want_post;
};

static const struct long_row longs[] = {
	{"# ", "x", "", NULL, NULL, 0, NULL},
	{"linger = abort #", "c", "", NULL, NULL, 0, NULL},
	{"linger = abort", " ", "", NULL, NULL, 0, NULL},
	{"", " \t", "linger = abort", NULL, NULL, 0, NULL},
	{"linger = ", "a", "",
	 P ":1: linger = ", "a", 64, ": value too long"},
	{"ports = ", "80,", "80",
	 P ":1: ports = ", "80,", 64, ": value too long"},
	{"", "k", " = on", P ":1: unknown key '", "k", 64, "'"},
	{"", "x", "", P ":1: expected 'key = value' or a [section]", "", 0,
	 ""},
	{"[program ", "a", "]",
	 P ":1: program name longer than 255 bytes", "", 0, ""},
	{"[port ", "80,", "80]", P ":1: ports '", "80,", 64, "': too long"},
	{"[", "x", "]", P ":1: unknown section '[", "x", 63,
	 "' " UNKNOWN_SECTION},
	{"[port 80", " ", "", P ":1: a section header ends with ']'", "", 0,
	 ""},
	{"linger = abort ", "\x01", "", P ":1: binary data (byte 0x01)", "",
	 0, ""},
};

START_TEST(test_long_line)
{
	const struct long_row *row = &longs[_i];
	static const char next[] = "\n[port 9]\nreuseaddr = off\n";
	char *fill = repeat(row->fill, MIB);
	size_t size = strlen(row->pre) + MIB + strlen(row->post) + sizeof(next);
	char *text = malloc(size);
	char want[512];
	char *quote;

	ck_assert_ptr_nonnull(text);
	(void)snprintf(text, size, "%s%s%s%s", row->pre, fill, row->post,
		       next);
	ck_assert_uint_eq(parse(text), row->want_pre ? 1 : 0);
	/* The next lines are read, with the right numbers. */
	ck_assert_uint_eq(conf.sec[conf.n - 1].line, 2);
	ck_assert_uint_eq(conf.sec[conf.n - 1].s.line[RB_KEY_REUSEADDR], 3);
	if (row->want_pre) {
		quote = repeat(row->want_fill, row->want_n);
		(void)snprintf(want, sizeof(want), "%s%s%s", row->want_pre,
			       quote, row->want_post);
		ck_assert_str_eq(rep.msg[0], want);
		free(quote);
	}
	free(text);
	free(fill);
}
END_TEST

/* junk: random bytes from a fixed seed ------------------------------ */

static uint64_t rng_state;

static uint32_t rng(void)
{
	/* xorshift64*: small, and the same on every host. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 2685821657736338717ULL) >> 32);
}

/* Pieces of the format, so that junk also reaches the deeper paths. */
static const char *const tokens[] = {
	"[", "]", "port", "program", " ", "\t", "=", "#", "\n", "\r\n", "\r",
	"\0", "80", "0", "-", ",", "65536", "1-65535", "enable", "reuseaddr",
	"linger", "ports", "log", "override", "yes", "no", "on", "off",
	"abort", "safe-abort", "debug", "*", "x", "\x01", "\xff", "\x7f",
	A256,
};

/* Fill buf with len bytes: raw bytes, tokens, or a mix of both. */
static void junk(char *buf, size_t len, unsigned mode)
{
	size_t at = 0;

	while (at < len) {
		const char *t = tokens[rng() % NELEM(tokens)];
		size_t n = *t ? strlen(t) : 1;

		if (mode == 0 || (mode == 2 && rng() % 4 == 0)) {
			buf[at++] = (char)(rng() & 0xff);
			continue;
		}
		if (n > len - at)
			n = len - at;
		memcpy(buf + at, t, n);
		at += n;
	}
}

#define JUNK_BUFFERS 1000
#define JUNK_MAX     4096

/* Each message: "junk.conf:LINE: ...", one line, LINE in the text. */
static void assert_junk_reports(const char *buf, size_t len)
{
	unsigned lines = 1;
	unsigned prev = 0;

	for (size_t i = 0; i < len; i++)
		lines += buf[i] == '\n';
	ck_assert_uint_le(rep.n, lines);
	for (unsigned i = 0; i < rep.n && i < REPORTS_KEPT; i++) {
		unsigned line = 0;

		ck_assert_int_eq(sscanf(rep.msg[i], "junk.conf:%u: ", &line),
				 1);
		ck_assert_uint_ge(line, prev);
		ck_assert_uint_le(line, lines);
		ck_assert_ptr_null(strpbrk(rep.msg[i], "\n\r"));
		prev = line;
	}
}

START_TEST(test_junk)
{
	char *buf = malloc(JUNK_MAX);

	ck_assert_ptr_nonnull(buf);
	rng_state = 0x9e3779b97f4a7c15ULL + (uint64_t)_i;
	for (unsigned i = 0; i < JUNK_BUFFERS; i++) {
		size_t len = rng() % JUNK_MAX;
		unsigned nerr;

		junk(buf, len, (unsigned)_i);
		memset(&conf, 0xa5, sizeof(conf));
		memset(&rep, 0, sizeof(rep));
		nerr = rb_conf_parse(&conf, "junk.conf", buf, len, collect,
				       &rep);
		ck_assert_uint_eq(nerr, rep.n);
		ck_assert_uint_ge(conf.n, 1);
		ck_assert_uint_le(conf.n, RB_SECTIONS_MAX);
		assert_junk_reports(buf, len);
	}
	free(buf);
}
END_TEST

/* rb_conf_load: files ------------------------------------------------ */

static enum rb_conf_status load(const char *path)
{
	memset(&conf, 0xa5, sizeof(conf));
	memset(&rep, 0, sizeof(rep));
	return rb_conf_load(&conf, path, false, collect, &rep);
}

struct load_row {
	const char *path;
	enum rb_conf_status want;
	unsigned reports;
	const char *first; /* the first report, when reports > 0 */
};

static const struct load_row loads[] = {
	{RB_FIXTURES "/good.conf", RB_CONF_OK, 0, NULL},
	{RB_FIXTURES "/empty.conf", RB_CONF_OK, 0, NULL},
	{RB_FIXTURES "/crlf.conf", RB_CONF_OK, 0, NULL},
	{RB_FIXTURES "/no-final-newline.conf", RB_CONF_OK, 0, NULL},
	{RB_FIXTURES "/bad.conf", RB_CONF_INVALID, 3,
	 RB_FIXTURES "/bad.conf:2: linger = sometimes: "
		     "expected off, abort or safe-abort"},
	/* The path as given, not tidied. */
	{RB_FIXTURES "/./bad.conf", RB_CONF_INVALID, 3,
	 RB_FIXTURES "/./bad.conf:2: linger = sometimes: "
		     "expected off, abort or safe-abort"},
	{RB_FIXTURES "/no-such.conf", RB_CONF_ABSENT, 0, NULL},
	{RB_FIXTURES "/no-such-dir/rebind.conf", RB_CONF_ABSENT, 0, NULL},
	{RB_FIXTURES, RB_CONF_UNREADABLE, 1,
	 RB_FIXTURES ": not a regular file"},
	{RB_FIXTURES "/", RB_CONF_UNREADABLE, 1,
	 RB_FIXTURES "/: not a regular file"},
	{"/dev/null", RB_CONF_UNREADABLE, 1, "/dev/null: not a regular file"},
	{RB_FIXTURES "/good.conf/x", RB_CONF_UNREADABLE, 1,
	 RB_FIXTURES "/good.conf/x: cannot open: Not a directory"},
};

START_TEST(test_load)
{
	const struct load_row *row = &loads[_i];

	ck_assert_int_eq(load(row->path), row->want);
	ck_assert_uint_eq(rep.n, row->reports);
	if (row->reports)
		ck_assert_str_eq(rep.msg[0], row->first);
}
END_TEST

START_TEST(test_load_good)
{
	const struct rb_section *s = conf.sec;
	const struct rb_portset ports = {
		3, {{80, 80}, {443, 443}, {8000, 8100}}};
	const struct rb_portset p443 = {1, {{443, 443}}};
	const struct rb_portset p8000 = {1, {{8000, 8100}}};

	ck_assert_int_eq(load(RB_FIXTURES "/good.conf"), RB_CONF_OK);
	ck_assert_str_eq(conf.path, RB_FIXTURES "/good.conf");
	ck_assert_uint_eq(conf.n, 4);
	ck_assert_uint_eq(s[0].s.set, K(LINGER) | K(PORTS));
	ck_assert_int_eq(s[0].s.linger, RB_LINGER_SAFE_ABORT);
	ck_assert_uint_eq(s[0].s.line[RB_KEY_LINGER], 2);
	assert_ports_eq(&s[0].s.ports, &ports);
	ck_assert_uint_eq(s[0].s.line[RB_KEY_PORTS], 3);
	ck_assert_int_eq(s[1].kind, RB_SEC_PORT);
	ck_assert_uint_eq(s[1].line, 5);
	assert_ports_eq(&s[1].ports, &p443);
	ck_assert_int_eq(s[1].s.linger, RB_LINGER_ABORT);
	ck_assert_uint_eq(s[1].s.line[RB_KEY_LINGER], 6);
	ck_assert_int_eq(s[2].kind, RB_SEC_PROGRAM);
	ck_assert_str_eq(s[2].program, "nginx");
	ck_assert_int_eq(s[2].s.log, RB_LOG_INFO);
	ck_assert_uint_eq(s[2].s.line[RB_KEY_LOG], 9);
	ck_assert_int_eq(s[3].kind, RB_SEC_PROGRAM_PORT);
	ck_assert_str_eq(s[3].program, "python3*");
	assert_ports_eq(&s[3].ports, &p8000);
	ck_assert_int_eq(s[3].s.override, true);
	ck_assert_uint_eq(s[3].s.line[RB_KEY_OVERRIDE], 12);
}
END_TEST

START_TEST(test_load_bad)
{
	ck_assert_int_eq(load(RB_FIXTURES "/bad.conf"), RB_CONF_INVALID);
	ck_assert_uint_eq(rep.n, 3);
	ck_assert_str_eq(rep.msg[0], RB_FIXTURES "/bad.conf:2: linger = "
				     "sometimes: expected off, abort or "
				     "safe-abort");
	ck_assert_str_eq(rep.msg[1],
			 RB_FIXTURES "/bad.conf:4: 'ports' " BELONGS);
	ck_assert_str_eq(rep.msg[2], RB_FIXTURES "/bad.conf:5: unknown "
				     "section '[sevrice x]' " UNKNOWN_SECTION);
}
END_TEST

START_TEST(test_load_crlf)
{
	ck_assert_int_eq(load(RB_FIXTURES "/crlf.conf"), RB_CONF_OK);
	ck_assert_int_eq(conf.sec[0].s.linger, RB_LINGER_ABORT);
	ck_assert_uint_eq(conf.sec[0].s.line[RB_KEY_LINGER], 2);
	ck_assert_uint_eq(conf.n, 2);
	ck_assert_uint_eq(conf.sec[1].line, 4);
	ck_assert_int_eq(conf.sec[1].s.reuseaddr, false);
	ck_assert_uint_eq(conf.sec[1].s.line[RB_KEY_REUSEADDR], 5);
}
END_TEST

START_TEST(test_load_no_final_newline)
{
	ck_assert_int_eq(load(RB_FIXTURES "/no-final-newline.conf"),
			 RB_CONF_OK);
	ck_assert_int_eq(conf.sec[0].s.linger, RB_LINGER_ABORT);
	ck_assert_uint_eq(conf.sec[0].s.line[RB_KEY_LINGER], 2);
}
END_TEST

/*
 * A long path gives way in messages, as "..." and its tail: the reason
 * stays, and the message fits the library's log line.
 */
START_TEST(test_load_long_path)
{
	char *path = repeat("/x", 4096);
	const char *end = "/x/x: cannot open: File name too long";
	size_t n;

	ck_assert_int_eq(load(path), RB_CONF_UNREADABLE);
	ck_assert_uint_eq(rep.n, 1);
	n = strlen(rep.msg[0]);
	ck_assert_int_eq(strncmp(rep.msg[0], "...", 3), 0);
	ck_assert_uint_ge(n, strlen(end));
	ck_assert_str_eq(rep.msg[0] + n - strlen(end), end);
	ck_assert_uint_le(n, 200);
	ck_assert_uint_lt(strlen(conf.path), sizeof(conf.path));
	free(path);
}
END_TEST

/* The same for an error on a line: the line number and reason stay. */
START_TEST(test_parse_long_path)
{
	char *path = repeat("/y", 300);
	const char *end = "/y/y/y:2: unknown key 'colour'";
	const char *text = "linger = abort\ncolour = blue\n";
	size_t n;

	memset(&rep, 0, sizeof(rep));
	ck_assert_uint_eq(rb_conf_parse(&conf, path, text, strlen(text),
					collect, &rep), 1);
	n = strlen(rep.msg[0]);
	ck_assert_int_eq(strncmp(rep.msg[0], "...", 3), 0);
	ck_assert_uint_ge(n, strlen(end));
	ck_assert_str_eq(rep.msg[0] + n - strlen(end), end);
	ck_assert_uint_le(n, 200);
	free(path);
}
END_TEST

/* REBIND_CONFIG= names no file: the message names the variable. */
START_TEST(test_load_empty_path)
{
	ck_assert_int_eq(load(""), RB_CONF_UNREADABLE);
	ck_assert_uint_eq(rep.n, 1);
	ck_assert_str_eq(rep.msg[0],
			 "REBIND_CONFIG is empty: unset it or name a file");
}
END_TEST

/* A path that fits is shown whole. */
START_TEST(test_parse_path_fits)
{
	char *path = repeat("/y", 120);
	const char *text = "colour = blue\n";
	char want[256];

	(void)snprintf(want, sizeof(want), "%s:1: unknown key 'colour'", path);
	memset(&rep, 0, sizeof(rep));
	ck_assert_uint_eq(rb_conf_parse(&conf, path, text, strlen(text),
					collect, &rep), 1);
	ck_assert_str_eq(rep.msg[0], want);
	free(path);
}
END_TEST

/* A file that was named must exist: missing, it is an error like any. */
START_TEST(test_load_required)
{
	memset(&rep, 0, sizeof(rep));
	ck_assert_int_eq(rb_conf_load(&conf, RB_FIXTURES "/no-such.conf", true,
				      collect, &rep),
			 RB_CONF_UNREADABLE);
	ck_assert_uint_eq(rep.n, 1);
	ck_assert_str_eq(rep.msg[0], RB_FIXTURES "/no-such.conf: cannot open: "
				     "No such file or directory");
	ck_assert_int_eq(rb_conf_load(&conf, RB_FIXTURES "/good.conf", true,
				      collect, &rep),
			 RB_CONF_OK);
	ck_assert_uint_eq(rep.n, 1);
}
END_TEST

/* A file of size bytes of comment, in a temporary directory. */
static char *temp_file(size_t size)
{
	const char *dir = getenv("TMPDIR");
	char *path = malloc(4096);
	char *body = repeat("#", size);
	int fd;

	ck_assert_ptr_nonnull(path);
	(void)snprintf(path, 4096, "%s/check_conf.XXXXXX", dir ? dir : "/tmp");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, body, size), (ssize_t)size);
	ck_assert_int_eq(close(fd), 0);
	free(body);
	return path;
}

/* Up to 1 MiB is read; more is refused, and said so. */
static const struct {
	size_t size;
	enum rb_conf_status want;
} sizes[] = {
	{1, RB_CONF_OK},
	{MIB, RB_CONF_OK},
	{MIB + 1, RB_CONF_UNREADABLE},
	{4 * MIB, RB_CONF_UNREADABLE},
};

START_TEST(test_load_size)
{
	char *path = temp_file(sizes[_i].size);
	char want[4200];
	enum rb_conf_status got = load(path);

	(void)unlink(path);
	ck_assert_int_eq(got, sizes[_i].want);
	ck_assert_uint_eq(rep.n, got == RB_CONF_OK ? 0 : 1);
	(void)snprintf(want, sizeof(want), "%s: larger than 1 MiB", path);
	if (got != RB_CONF_OK)
		ck_assert_str_eq(rep.msg[0], want);
	free(path);
}
END_TEST

/* The shipped example: loads clean and changes nothing ------------- */

#define EXAMPLE RB_FIXTURES "/../../../conf/rebind.conf"

static const char *no_env(const char *name)
{
	(void)name;
	return NULL;
}

static const char *env_config(const char *name)
{
	return strcmp(name, "REBIND_CONFIG") == 0 ? "my.conf" : NULL;
}

/* REBIND_CONFIG names a file that must exist; else the system one. */
START_TEST(test_conf_path)
{
	bool named = true;

	ck_assert_str_eq(rb_conf_path(no_env, &named), RB_CONF_PATH);
	ck_assert(!named);
	ck_assert_str_eq(rb_conf_path(env_config, &named), "my.conf");
	ck_assert(named);
}
END_TEST

/* Any program, named the ways a process can be. */
static const struct {
	unsigned n;
	const char *name[RB_NAMES_MAX];
} programs[] = {
	{0, {NULL}},
	{1, {"nginx"}},
	{1, {"sshd"}},
	{2, {"python3", "python3.11"}},
	{3, {"python3", "python3.11", "app.py"}},
	{2, {"postgres", "postmaster"}},
	{1, {"rebind"}},
	{1, {"*"}},
};

static const unsigned ports[] = {1, 22, 80, 443, 5432, 8000, 8080, 65535};

START_TEST(test_example_loads)
{
	ck_assert_int_eq(load(EXAMPLE), RB_CONF_OK);
	ck_assert_uint_eq(rep.n, 0);
}
END_TEST

START_TEST(test_example_changes_nothing)
{
	struct rb_names names = {programs[_i].n, {NULL}};
	struct rb_policy got, want;
	struct rb_sockpolicy gs, ws;
	char err[RB_ERR_MAX] = "";

	memcpy(names.name, programs[_i].name, sizeof(names.name));
	ck_assert_int_eq(load(EXAMPLE), RB_CONF_OK);
	ck_assert_int_eq(rb_policy_build(&got, no_env, &conf, &names, err,
					 sizeof(err)),
			 0);
	ck_assert_int_eq(rb_policy_build(&want, no_env, NULL, &names, err,
					 sizeof(err)),
			 0);
	ck_assert_int_eq(got.enabled, want.enabled);
	ck_assert_int_eq(got.reuseaddr, want.reuseaddr);
	ck_assert_int_eq(got.linger, want.linger);
	ck_assert_int_eq(got.log, want.log);
	ck_assert_int_eq(got.override, want.override);
	assert_ports_eq(&got.ports, &want.ports);
	for (size_t i = 0; i < NELEM(ports); i++) {
		memset(&gs, 0, sizeof(gs));
		memset(&ws, 0, sizeof(ws));
		ck_assert_int_eq(rb_policy_for_port(&got, ports[i], &gs),
				 rb_policy_for_port(&want, ports[i], &ws));
		ck_assert_int_eq(gs.reuseaddr, ws.reuseaddr);
		ck_assert_int_eq(gs.linger, ws.linger);
		ck_assert_int_eq(gs.override, ws.override);
	}
}
END_TEST

/* suite -------------------------------------------------------------- */

static void add_parse(Suite *s)
{
	TCase *tc;

	rb_test_loop(s, "key_value", test_key_value,
		 NELEM(values) * NELEM(wheres));
	rb_test_loop(s, "key_syntax", test_syntax, NELEM(syntax));
	rb_test_loop(s, "section_header", test_section, NELEM(sections));
	tc = rb_test_tcase(s, "section_order");
	tcase_add_test(tc, test_section_order);
	rb_test_loop(s, "error_message", test_errors, NELEM(errors));
	tc = rb_test_tcase(s, "duplicate_and_bad_values");
	tcase_add_test(tc, test_duplicate_keeps_first);
	tcase_add_test(tc, test_same_key_two_sections);
	tcase_add_test(tc, test_bad_then_good);
	tc = rb_test_tcase(s, "several_errors");
	tcase_add_test(tc, test_several_errors);
	tcase_add_test(tc, test_no_report_fn);
	rb_test_loop(s, "error_count", test_error_count, 8);
	rb_test_loop(s, "bad_header_drops_keys", test_bad_header_drops_keys,
		 NELEM(bad_headers));
	rb_test_loop(s, "bad_header_checks_keys", test_bad_header_checks_keys,
		     NELEM(bad_headers));
	tcase_add_test(rb_test_tcase(s, "bad_header_checks_kind"),
		       test_bad_port_header_checks_kind);
	tc = rb_test_tcase(s, "sections_max");
	tcase_add_test(tc, test_sections_max);
	tcase_add_test(tc, test_sections_too_many_each);
	rb_test_loop(s, "sections_too_many", test_sections_too_many,
		 NELEM(last_headers));
	rb_test_loop(s, "comments_blank_crlf_eof", test_file, NELEM(files));
	tc = rb_test_tcase(s, "line_numbers");
	tcase_add_test(tc, test_crlf_lines);
	tcase_add_test(tc, test_len_bounds_text);
	rb_test_loop(s, "long_line", test_long_line, NELEM(longs));
	tc = rb_test_tcase(s, "junk");
	tcase_add_loop_test(tc, test_junk, 0, 3);
	tcase_set_timeout(tc, 60);
}

static void add_load(Suite *s)
{
	TCase *tc;

	rb_test_loop(s, "load", test_load, NELEM(loads));
	tc = rb_test_tcase(s, "load_fixture");
	tcase_add_test(tc, test_load_good);
	tcase_add_test(tc, test_load_bad);
	tcase_add_test(tc, test_load_crlf);
	tcase_add_test(tc, test_load_no_final_newline);
	tcase_add_test(tc, test_load_long_path);
	tcase_add_test(tc, test_parse_long_path);
	tcase_add_test(tc, test_parse_path_fits);
	tcase_add_test(tc, test_load_empty_path);
	tcase_add_test(tc, test_load_required);
	tcase_add_test(tc, test_conf_path);
	rb_test_loop(s, "load_size", test_load_size, NELEM(sizes));
	tc = rb_test_tcase(s, "example_loads");
	tcase_add_test(tc, test_example_loads);
	rb_test_loop(s, "example_changes_nothing", test_example_changes_nothing,
		 NELEM(programs));
}

static Suite *conf_suite(void)
{
	Suite *s = suite_create("conf");

	add_parse(s);
	add_load(s);
	return s;
}

int main(void)
{
	return rb_test_run(conf_suite());
}
