#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/conf.h"
#include "core/policy.h"
#include "core/progname.h"
#include "suite.h"

/* Written over outputs before a failing parse, to prove they stay. */
#define LINGER_SENTINEL ((enum rb_linger)0x5a)
#define LEVEL_SENTINEL	((enum rb_level)0x5a)

/* Ten digits, ten times: a 100-digit number for overflow checks. */
#define D10  "9999999999"
#define D100 D10 D10 D10 D10 D10 D10 D10 D10 D10 D10

/* Anything a careless parser might accept: case, blanks, synonyms. */
static const char *const bad_common[] = {
	"", " ", "ON", "Off", "yes", "no", "1", "0", "true", "false",
	" off", "off ", "on ", "\ton", "off\n", "o", "onn", "of",
	"sometimes", "safe", "safe_abort", "safe-abort ", "ABORT", "none",
	"WARN", "warning", "loud", "err", "debug ", "2", "-1",
};

/* onoff ------------------------------------------------------------- */

static const struct {
	const char *in;
	bool want;
} onoff_ok[] = {
	{"on", true},
	{"off", false},
};

START_TEST(test_onoff_ok)
{
	bool got = !onoff_ok[_i].want;

	ck_assert_int_eq(rb_policy_parse_onoff(onoff_ok[_i].in, &got), 0);
	ck_assert_int_eq(got, onoff_ok[_i].want);
}
END_TEST

START_TEST(test_onoff_bad)
{
	bool t = true, f = false;

	ck_assert_int_eq(rb_policy_parse_onoff(bad_common[_i], &t), -1);
	ck_assert_int_eq(t, true);
	ck_assert_int_eq(rb_policy_parse_onoff(bad_common[_i], &f), -1);
	ck_assert_int_eq(f, false);
}
END_TEST

/* linger ------------------------------------------------------------ */

static const struct {
	const char *in;
	enum rb_linger want;
} linger_ok[] = {
	{"off", RB_LINGER_OFF},
	{"abort", RB_LINGER_ABORT},
	{"safe-abort", RB_LINGER_SAFE_ABORT},
};

START_TEST(test_linger_ok)
{
	enum rb_linger got = LINGER_SENTINEL;

	ck_assert_int_eq(rb_policy_parse_linger(linger_ok[_i].in, &got), 0);
	ck_assert_int_eq(got, linger_ok[_i].want);
}
END_TEST

START_TEST(test_linger_bad)
{
	enum rb_linger got = LINGER_SENTINEL;

	ck_assert_int_eq(rb_policy_parse_linger(bad_common[_i], &got), -1);
	ck_assert_int_eq(got, LINGER_SENTINEL);
}
END_TEST

/* level ------------------------------------------------------------- */

static const struct {
	const char *in;
	enum rb_level want;
} level_ok[] = {
	{"off", RB_LOG_OFF},   {"error", RB_LOG_ERROR}, {"warn", RB_LOG_WARN},
	{"info", RB_LOG_INFO}, {"debug", RB_LOG_DEBUG},
};

START_TEST(test_level_ok)
{
	enum rb_level got = LEVEL_SENTINEL;

	ck_assert_int_eq(rb_policy_parse_level(level_ok[_i].in, &got), 0);
	ck_assert_int_eq(got, level_ok[_i].want);
}
END_TEST

START_TEST(test_level_bad)
{
	enum rb_level got = LEVEL_SENTINEL;

	ck_assert_int_eq(rb_policy_parse_level(bad_common[_i], &got), -1);
	ck_assert_int_eq(got, LEVEL_SENTINEL);
}
END_TEST

/* ports ------------------------------------------------------------- */

struct ports_ok_row {
	const char *in;
	unsigned n;
	struct rb_portrange r[4];
};

static const struct ports_ok_row ports_ok[] = {
	{"80", 1, {{80, 80}}},
	{"80,443", 2, {{80, 80}, {443, 443}}},
	{"443,80", 2, {{443, 443}, {80, 80}}},
	{"8000-8100", 1, {{8000, 8100}}},
	{"80,443,8000-8100", 3, {{80, 80}, {443, 443}, {8000, 8100}}},
	{"1", 1, {{1, 1}}},
	{"65535", 1, {{65535, 65535}}},
	{"1-65535", 1, {{1, 65535}}},
	{"80-80", 1, {{80, 80}}},
	{" 80 , 443 ", 2, {{80, 80}, {443, 443}}},
	{"\t22\t,\t23", 2, {{22, 22}, {23, 23}}},
	{"080", 1, {{80, 80}}},
	{"0000000000000000000080", 1, {{80, 80}}},
	{"065535", 1, {{65535, 65535}}},
	{"1-2,3-4,5-6,7-8", 4, {{1, 2}, {3, 4}, {5, 6}, {7, 8}}},
};

START_TEST(test_ports_ok)
{
	const struct ports_ok_row *row = &ports_ok[_i];
	struct rb_portset set = {0};
	const char *why = NULL;

	ck_assert_int_eq(rb_policy_parse_ports(row->in, &set, &why), 0);
	ck_assert_uint_eq(set.n, row->n);
	for (unsigned k = 0; k < row->n; k++) {
		ck_assert_uint_eq(set.r[k].lo, row->r[k].lo);
		ck_assert_uint_eq(set.r[k].hi, row->r[k].hi);
	}
}
END_TEST

struct ports_bad_row {
	const char *in;
	const char *why;
};

static const struct ports_bad_row ports_bad[] = {
	{"80-", "missing port number"},
	{"-80", "expected a port number"},
	{"70000", "port out of range (1-65535)"},
	{"65536", "port out of range (1-65535)"},
	{"0", "port 0 is not a port (1-65535)"},
	{"00", "port 0 is not a port (1-65535)"},
	{"0-80", "port 0 is not a port (1-65535)"},
	{"80-0", "port 0 is not a port (1-65535)"},
	{"80-70000", "port out of range (1-65535)"},
	{"100-90", "range ends before it starts"},
	{"100-99", "range ends before it starts"},
	{"65535-1", "range ends before it starts"},
	{"80,,443", "expected a port number"},
	{"80,", "missing port number"},
	{",80", "expected a port number"},
	{"abc", "expected a port number"},
	{"+80", "expected a port number"},
	{"80;443", "expected ',' between ports"},
	{"80 443", "expected ',' between ports"},
	{"80-90-100", "expected ',' between ports"},
	{"80x", "expected ',' between ports"},
	{"80\n", "expected ',' between ports"},
	{"", "missing port number"},
	{" ", "missing port number"},
	{D100, "port out of range (1-65535)"},
	/* 2^64 + 80: wraps to 80 in an unchecked unsigned long. */
	{"18446744073709551696", "port out of range (1-65535)"},
	/* 2^32 + 80: wraps to 80 in an unchecked 32-bit unsigned. */
	{"4294967376", "port out of range (1-65535)"},
};

/* A set that no failing parse may leave behind. */
static void sentinel_set(struct rb_portset *s)
{
	memset(s, 0xa5, sizeof(*s));
	s->n = 3;
}

START_TEST(test_ports_bad)
{
	const struct ports_bad_row *row = &ports_bad[_i];
	struct rb_portset set, before;
	const char *why = NULL;

	sentinel_set(&set);
	before = set;
	ck_assert_int_eq(rb_policy_parse_ports(row->in, &set, &why), -1);
	ck_assert_pstr_eq(why, row->why);
	ck_assert_mem_eq(&set, &before, sizeof(set));
}
END_TEST

START_TEST(test_ports_bad_null_why)
{
	struct rb_portset set, before;

	sentinel_set(&set);
	before = set;
	ck_assert_int_eq(rb_policy_parse_ports(ports_bad[_i].in, &set, NULL),
			 -1);
	ck_assert_mem_eq(&set, &before, sizeof(set));
}
END_TEST

/* "1,2,...,n" into buf. */
static void port_list(char *buf, size_t len, unsigned n)
{
	size_t off = 0;

	buf[0] = '\0';
	for (unsigned i = 1; i <= n; i++) {
		int w = snprintf(buf + off, len - off, i > 1 ? ",%u" : "%u", i);

		ck_assert(w > 0 && (size_t)w < len - off);
		off += (size_t)w;
	}
}

START_TEST(test_ports_max_items)
{
	char spec[512];
	struct rb_portset set = {0};

	port_list(spec, sizeof(spec), RB_PORTSET_MAX);
	ck_assert_int_eq(rb_policy_parse_ports(spec, &set, NULL), 0);
	ck_assert_uint_eq(set.n, RB_PORTSET_MAX);
	ck_assert_uint_eq(set.r[RB_PORTSET_MAX - 1].lo, RB_PORTSET_MAX);
	ck_assert_uint_eq(set.r[RB_PORTSET_MAX - 1].hi, RB_PORTSET_MAX);
}
END_TEST

START_TEST(test_ports_too_many_items)
{
	char spec[512];
	struct rb_portset set, before;
	const char *why = NULL;

	port_list(spec, sizeof(spec), RB_PORTSET_MAX + 1);
	sentinel_set(&set);
	before = set;
	ck_assert_int_eq(rb_policy_parse_ports(spec, &set, &why), -1);
	ck_assert_pstr_eq(why, "too many items (at most 64)");
	ck_assert_mem_eq(&set, &before, sizeof(set));
}
END_TEST

/* port_in ----------------------------------------------------------- */

struct port_in_row {
	const char *spec; /* NULL: the empty set, meaning every port */
	unsigned port;
	bool want;
};

static const struct port_in_row port_in[] = {
	{NULL, 1, true},
	{NULL, 80, true},
	{NULL, 65535, true},
	{"80", 80, true},
	{"80", 79, false},
	{"80", 81, false},
	{"80", 0, false},
	{"8000-8100", 7999, false},
	{"8000-8100", 8000, true},
	{"8000-8100", 8050, true},
	{"8000-8100", 8100, true},
	{"8000-8100", 8101, false},
	{"80,443", 443, true},
	{"80,443", 442, false},
	{"80,443", 444, false},
	{"80,8000-8100,443", 443, true},
	{"80,8000-8100,443", 8100, true},
	{"80,8000-8100,443", 444, false},
	{"1-65535", 1, true},
	{"1-65535", 65535, true},
	{"1-65535", 0, false},
	{"65535", 65535, true},
	{"65535", 65534, false},
};

START_TEST(test_port_in)
{
	const struct port_in_row *row = &port_in[_i];
	struct rb_portset set = {0};

	if (row->spec)
		ck_assert_int_eq(rb_policy_parse_ports(row->spec, &set, NULL),
				 0);
	ck_assert_int_eq(rb_policy_port_in(&set, row->port), row->want);
}
END_TEST

/* build ------------------------------------------------------------- */

struct env {
	const char *name;
	const char *value;
};

/* rb_policy_build's getter takes no context: the test's table is here. */
static const struct env *cur_env;
static size_t cur_env_n;

static const char *env_get(const char *name)
{
	for (size_t i = 0; i < cur_env_n; i++) {
		if (strcmp(cur_env[i].name, name) == 0)
			return cur_env[i].value;
	}
	return NULL;
}

static void use_env(const struct env *e, size_t n)
{
	cur_env = e;
	cur_env_n = n;
}

/* One ck_assert per field, so a failure names the field. */
static void assert_policy_eq(const struct rb_policy *got,
			     const struct rb_policy *want)
{
	ck_assert_int_eq(got->enabled, want->enabled);
	ck_assert_int_eq(got->reuseaddr, want->reuseaddr);
	ck_assert_int_eq(got->linger, want->linger);
	ck_assert_int_eq(got->log, want->log);
	ck_assert_int_eq(got->override, want->override);
	ck_assert_int_eq(got->hold, want->hold);
	ck_assert_uint_eq(got->ports.n, want->ports.n);
	for (unsigned k = 0; k < want->ports.n && k < got->ports.n; k++) {
		ck_assert_uint_eq(got->ports.r[k].lo, want->ports.r[k].lo);
		ck_assert_uint_eq(got->ports.r[k].hi, want->ports.r[k].hi);
	}
}

/* The documented defaults, spelled out rather than taken from the code. */
static void documented_defaults(struct rb_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->enabled = true;
	p->reuseaddr = true;
	p->linger = RB_LINGER_OFF;
	p->ports.n = 0;
	p->log = RB_LOG_WARN;
	p->hold = RB_HOLD_NO;
}

START_TEST(test_build_defaults)
{
	struct rb_policy got, want;
	char err[RB_ERR_MAX] = "";

	use_env(NULL, 0);
	documented_defaults(&want);
	ck_assert_int_eq(rb_policy_build(&got, env_get, NULL, NULL, err, sizeof(err)), 0);
	assert_policy_eq(&got, &want);
}
END_TEST

START_TEST(test_default_fn)
{
	struct rb_policy got, want;

	memset(&got, 0xa5, sizeof(got));
	documented_defaults(&want);
	rb_policy_default(&got);
	assert_policy_eq(&got, &want);
}
END_TEST

enum field { F_NONE, F_REUSEADDR, F_LINGER, F_PORTS, F_LOG };

struct build_ok_row {
	struct env env;
	enum field field;
	int v;			 /* F_REUSEADDR, F_LINGER, F_LOG */
	struct rb_portset ports; /* F_PORTS */
};

static const struct build_ok_row build_ok[] = {
	{{"REBIND_REUSEADDR", "off"}, F_REUSEADDR, false, {0}},
	{{"REBIND_REUSEADDR", "on"}, F_REUSEADDR, true, {0}},
	{{"REBIND_LINGER", "off"}, F_LINGER, RB_LINGER_OFF, {0}},
	{{"REBIND_LINGER", "abort"}, F_LINGER, RB_LINGER_ABORT, {0}},
	{{"REBIND_LINGER", "safe-abort"}, F_LINGER, RB_LINGER_SAFE_ABORT, {0}},
	{{"REBIND_PORTS", "80"}, F_PORTS, 0, {1, {{80, 80}}}},
	{{"REBIND_PORTS", "80,443,8000-8100"},
	 F_PORTS,
	 0,
	 {3, {{80, 80}, {443, 443}, {8000, 8100}}}},
	{{"REBIND_PORTS", "1-65535"}, F_PORTS, 0, {1, {{1, 65535}}}},
	{{"REBIND_LOG", "off"}, F_LOG, RB_LOG_OFF, {0}},
	{{"REBIND_LOG", "error"}, F_LOG, RB_LOG_ERROR, {0}},
	{{"REBIND_LOG", "warn"}, F_LOG, RB_LOG_WARN, {0}},
	{{"REBIND_LOG", "info"}, F_LOG, RB_LOG_INFO, {0}},
	{{"REBIND_LOG", "debug"}, F_LOG, RB_LOG_DEBUG, {0}},
	/* Not ours: ignored, so the result is the defaults. */
	{{"REBIND_FOO", "bar"}, F_NONE, 0, {0}},
	{{"rebind_linger", "abort"}, F_NONE, 0, {0}},
	{{"REBIND_PORT", "80"}, F_NONE, 0, {0}},
};

static void apply_row(struct rb_policy *p, const struct build_ok_row *row)
{
	switch (row->field) {
	case F_NONE:
		break;
	case F_REUSEADDR:
		p->reuseaddr = row->v;
		break;
	case F_LINGER:
		p->linger = (enum rb_linger)row->v;
		break;
	case F_PORTS:
		p->ports = row->ports;
		break;
	case F_LOG:
		p->log = (enum rb_level)row->v;
		break;
	}
}

START_TEST(test_build_one_var)
{
	const struct build_ok_row *row = &build_ok[_i];
	struct rb_policy got, want;
	char err[RB_ERR_MAX] = "";

	use_env(&row->env, 1);
	documented_defaults(&want);
	apply_row(&want, row);
	ck_assert_int_eq(rb_policy_build(&got, env_get, NULL, NULL, err, sizeof(err)), 0);
	assert_policy_eq(&got, &want);
}
END_TEST

START_TEST(test_build_all_vars)
{
	static const struct env env[] = {
		{"REBIND_REUSEADDR", "off"},
		{"REBIND_LINGER", "safe-abort"},
		{"REBIND_PORTS", "80,443"},
		{"REBIND_LOG", "debug"},
	};
	struct rb_policy got, want;
	char err[RB_ERR_MAX] = "";

	use_env(env, NELEM(env));
	documented_defaults(&want);
	want.reuseaddr = false;
	want.linger = RB_LINGER_SAFE_ABORT;
	want.ports.n = 2;
	want.ports.r[0] = (struct rb_portrange){80, 80};
	want.ports.r[1] = (struct rb_portrange){443, 443};
	want.log = RB_LOG_DEBUG;
	ck_assert_int_eq(rb_policy_build(&got, env_get, NULL, NULL, err, sizeof(err)), 0);
	assert_policy_eq(&got, &want);
}
END_TEST

struct build_bad_row {
	struct env env;
	const char *err;
};

static const struct build_bad_row build_bad[] = {
	{{"REBIND_LINGER", "sometimes"},
	 "REBIND_LINGER=sometimes: expected off, abort or safe-abort"},
	{{"REBIND_LINGER", "safe_abort"},
	 "REBIND_LINGER=safe_abort: expected off, abort or safe-abort"},
	{{"REBIND_LINGER", "ABORT"},
	 "REBIND_LINGER=ABORT: expected off, abort or safe-abort"},
	{{"REBIND_LINGER", " off"},
	 "REBIND_LINGER= off: expected off, abort or safe-abort"},
	{{"REBIND_LINGER", ""}, "REBIND_LINGER=: empty value"},
	{{"REBIND_PORTS", "80-"}, "REBIND_PORTS=80-: missing port number"},
	{{"REBIND_PORTS", "70000"},
	 "REBIND_PORTS=70000: port out of range (1-65535)"},
	{{"REBIND_PORTS", "0"},
	 "REBIND_PORTS=0: port 0 is not a port (1-65535)"},
	{{"REBIND_PORTS", "100-90"},
	 "REBIND_PORTS=100-90: range ends before it starts"},
	{{"REBIND_PORTS", "80;443"},
	 "REBIND_PORTS=80;443: expected ',' between ports"},
	{{"REBIND_PORTS", "abc"}, "REBIND_PORTS=abc: expected a port number"},
	{{"REBIND_PORTS", ""}, "REBIND_PORTS=: empty value"},
	{{"REBIND_REUSEADDR", "maybe"},
	 "REBIND_REUSEADDR=maybe: expected on or off"},
	{{"REBIND_REUSEADDR", "1"}, "REBIND_REUSEADDR=1: expected on or off"},
	{{"REBIND_REUSEADDR", "ON"}, "REBIND_REUSEADDR=ON: expected on or off"},
	{{"REBIND_REUSEADDR", ""}, "REBIND_REUSEADDR=: empty value"},
	{{"REBIND_LOG", "loud"},
	 "REBIND_LOG=loud: expected off, error, warn, info or debug"},
	{{"REBIND_LOG", "WARN"},
	 "REBIND_LOG=WARN: expected off, error, warn, info or debug"},
	{{"REBIND_LOG", ""}, "REBIND_LOG=: empty value"},
};

START_TEST(test_build_bad)
{
	const struct build_bad_row *row = &build_bad[_i];
	struct rb_policy got;
	char err[RB_ERR_MAX] = "";

	use_env(&row->env, 1);
	ck_assert_int_eq(rb_policy_build(&got, env_get, NULL, NULL, err, sizeof(err)), -1);
	ck_assert_int_eq(got.enabled, false);
	ck_assert_str_eq(err, row->err);
	/* None of these set a good REBIND_LOG: the default stays. */
	ck_assert_int_eq(got.log, RB_LOG_WARN);
}
END_TEST

/* A good REBIND_LOG still governs how the bad value is reported. */
static const struct {
	const char *log;
	enum rb_level want;
} kept_log[] = {
	{"off", RB_LOG_OFF},
	{"error", RB_LOG_ERROR},
	{"debug", RB_LOG_DEBUG},
};

START_TEST(test_build_bad_keeps_good_log)
{
	const struct env env[] = {
		{"REBIND_LOG", kept_log[_i].log},
		{"REBIND_PORTS", "80-"},
	};
	struct rb_policy got;
	char err[RB_ERR_MAX] = "";

	use_env(env, NELEM(env));
	ck_assert_int_eq(rb_policy_build(&got, env_get, NULL, NULL, err, sizeof(err)), -1);
	ck_assert_int_eq(got.enabled, false);
	ck_assert_int_eq(got.log, kept_log[_i].want);
	ck_assert_str_eq(err, "REBIND_PORTS=80-: missing port number");
}
END_TEST

START_TEST(test_build_bad_log_with_others)
{
	static const struct env env[] = {
		{"REBIND_LOG", "loud"},
		{"REBIND_LINGER", "abort"},
	};
	struct rb_policy got;
	char err[RB_ERR_MAX] = "";

	use_env(env, NELEM(env));
	ck_assert_int_eq(rb_policy_build(&got, env_get, NULL, NULL, err, sizeof(err)), -1);
	ck_assert_int_eq(got.enabled, false);
	ck_assert_int_eq(got.log, RB_LOG_WARN);
	ck_assert_str_eq(err, "REBIND_LOG=loud: "
			      "expected off, error, warn, info or debug");
}
END_TEST

/* err buffer sizes; the message is "REBIND_LINGER=sometimes: ...". */
static const size_t errlens[] = {0, 1, 2, 8, 14, 15, 24, 59, 60};

START_TEST(test_build_err_truncated)
{
	static const struct env env[] = {{"REBIND_LINGER", "sometimes"}};
	static const char full[] =
		"REBIND_LINGER=sometimes: expected off, abort or safe-abort";
	const size_t len = errlens[_i];
	char err[sizeof(full) + 16];
	char want[sizeof(err)];
	struct rb_policy got;

	memset(err, 'X', sizeof(err));
	memset(want, 'X', sizeof(want));
	if (len > 0) {
		size_t keep = len - 1 < strlen(full) ? len - 1 : strlen(full);

		memcpy(want, full, keep);
		want[keep] = '\0';
	}
	use_env(env, NELEM(env));
	ck_assert_int_eq(rb_policy_build(&got, env_get, NULL, NULL, err, len), -1);
	ck_assert_int_eq(got.enabled, false);
	ck_assert_mem_eq(err, want, sizeof(err));
}
END_TEST

/* A value longer than RB_ERR_MAX: cut, terminated, name first. */
START_TEST(test_build_err_long_value)
{
	const struct env env[] = {{"REBIND_PORTS", D100 D100 D100}};
	struct rb_policy got;
	char err[RB_ERR_MAX + 1];

	memset(err, 'X', sizeof(err));
	use_env(env, NELEM(env));
	ck_assert_int_eq(rb_policy_build(&got, env_get, NULL, NULL, err, RB_ERR_MAX), -1);
	ck_assert_uint_eq(strnlen(err, RB_ERR_MAX), RB_ERR_MAX - 1);
	ck_assert_int_eq(err[RB_ERR_MAX], 'X');
	ck_assert_int_eq(strncmp(err, "REBIND_PORTS=999", 16), 0);
}
END_TEST

/*
 * The message is one line (policy.h), and the shim logs it as is: a
 * value with a newline in it must not start a second, forged line.
 */
static const struct env newline_env[] = {
	{"REBIND_PORTS", "80\n"},
	{"REBIND_LINGER", "abort\nrebind[1]: forged"},
	{"REBIND_LOG", "\n"},
};

START_TEST(test_build_err_one_line)
{
	struct rb_policy got;
	char err[RB_ERR_MAX] = "";

	use_env(&newline_env[_i], 1);
	ck_assert_int_eq(rb_policy_build(&got, env_get, NULL, NULL, err, sizeof(err)), -1);
	ck_assert_int_eq(strncmp(err, newline_env[_i].name,
				 strlen(newline_env[_i].name)),
			 0);
	ck_assert_ptr_null(strchr(err, '\n'));
}
END_TEST

/* for_port ---------------------------------------------------------- */

struct for_port_row {
	bool enabled;
	bool reuseaddr;
	enum rb_linger linger;
	const char *ports; /* NULL: every port */
	unsigned port;
	bool want;
	struct rb_sockpolicy out; /* when want */
};

/* Short names, so that each row fits on one line. */
#define L_OFF	RB_LINGER_OFF
#define L_ABORT RB_LINGER_ABORT
#define L_SAFE	RB_LINGER_SAFE_ABORT

static const struct for_port_row for_port[] = {
	/* Nothing at all. */
	{false, true, L_ABORT, NULL, 80, false, {0}},
	{true, true, L_ABORT, NULL, 0, false, {0}},
	{true, true, L_ABORT, "80", 81, false, {0}},
	{true, true, L_ABORT, "8000-8100", 7999, false, {0}},
	{true, false, L_OFF, NULL, 80, false, {0}},
	{true, false, L_OFF, "80", 80, false, {0}},
	/* Every combination of options that does something. */
	{true, true, L_OFF, NULL, 80, true, {true, L_OFF, false}},
	{true, true, L_ABORT, NULL, 80, true, {true, L_ABORT, false}},
	{true, true, L_SAFE, NULL, 80, true, {true, L_SAFE, false}},
	{true, false, L_ABORT, NULL, 80, true, {false, L_ABORT, false}},
	{true, false, L_SAFE, NULL, 80, true, {false, L_SAFE, false}},
	/* Edges of the port set. */
	{true, true, L_OFF, NULL, 1, true, {true, L_OFF, false}},
	{true, true, L_OFF, NULL, 65535, true, {true, L_OFF, false}},
	{true, true, L_OFF, "80,443", 443, true, {true, L_OFF, false}},
	{true, true, L_OFF, "8000-8100", 8100, true, {true, L_OFF, false}},
};

START_TEST(test_for_port)
{
	const struct for_port_row *row = &for_port[_i];
	struct rb_policy p;
	struct rb_sockpolicy out = {0};

	rb_policy_default(&p);
	p.enabled = row->enabled;
	p.reuseaddr = row->reuseaddr;
	p.linger = row->linger;
	if (row->ports)
		ck_assert_int_eq(rb_policy_parse_ports(row->ports, &p.ports,
						       NULL),
				 0);
	ck_assert_int_eq(rb_policy_for_port(&p, row->port, &out), row->want);
	if (!row->want)
		return;
	ck_assert_int_eq(out.reuseaddr, row->out.reuseaddr);
	ck_assert_int_eq(out.linger, row->out.linger);
	ck_assert_int_eq(out.override, row->out.override);
}
END_TEST

/* A policy that rb_policy_build refused acts on nothing. */
START_TEST(test_for_port_after_bad_build)
{
	static const struct env env[] = {
		{"REBIND_LINGER", "abort"},
		{"REBIND_PORTS", "70000"},
	};
	struct rb_policy p;
	struct rb_sockpolicy out;
	char err[RB_ERR_MAX];

	use_env(env, NELEM(env));
	ck_assert_int_eq(rb_policy_build(&p, env_get, NULL, NULL, err, sizeof(err)), -1);
	ck_assert_int_eq(rb_policy_for_port(&p, 80, &out), false);
}
END_TEST

/* names ------------------------------------------------------------- */

START_TEST(test_linger_name)
{
	enum rb_linger back = LINGER_SENTINEL;
	const char *name = rb_policy_linger_name(linger_ok[_i].want);

	ck_assert_pstr_eq(name, linger_ok[_i].in);
	ck_assert_int_eq(rb_policy_parse_linger(name, &back), 0);
	ck_assert_int_eq(back, linger_ok[_i].want);
}
END_TEST

START_TEST(test_level_name)
{
	enum rb_level back = LEVEL_SENTINEL;
	const char *name = rb_policy_level_name(level_ok[_i].want);

	ck_assert_pstr_eq(name, level_ok[_i].in);
	ck_assert_int_eq(rb_policy_parse_level(name, &back), 0);
	ck_assert_int_eq(back, level_ok[_i].want);
}
END_TEST

/* An unknown value still gets a printable name, one no parser accepts. */
START_TEST(test_unknown_names)
{
	enum rb_linger l = LINGER_SENTINEL;
	enum rb_level v = LEVEL_SENTINEL;
	const char *ln = rb_policy_linger_name(LINGER_SENTINEL);
	const char *vn = rb_policy_level_name(LEVEL_SENTINEL);

	ck_assert_ptr_nonnull(ln);
	ck_assert_ptr_nonnull(vn);
	ck_assert_int_eq(rb_policy_parse_linger(ln, &l), -1);
	ck_assert_int_eq(rb_policy_parse_level(vn, &v), -1);
}
END_TEST

/* precedence: one row per line of the layering table ---------------- */

/*
 * env REBIND_* > [program NAME port SPEC] > [program NAME] > [port SPEC]
 * > global section > default; within a level the last section wins.
 */
struct prec_row {
	const char *conf;
	struct env env[2];		/* name NULL: unused */
	const char *names[RB_NAMES_MAX]; /* NULL-terminated */
	unsigned port;
	enum rb_key key;
	bool enabled; /* p->enabled, the program as a whole */
	bool on;      /* rb_policy_for_port() */
	int value;    /* of key: see prec_value() */
	enum rb_from from;
	unsigned line;
};

#define APP  {"app"}
#define E0   {{NULL, NULL}}
#define F_DEF  RB_FROM_DEFAULT
#define F_ENV  RB_FROM_ENV
#define F_FILE RB_FROM_FILE

static const struct prec_row prec[] = {
	/* default only */
	{"", E0, APP, 80, RB_KEY_LINGER, true, true, L_OFF, F_DEF, 0},
	{"", E0, APP, 80, RB_KEY_REUSEADDR, true, true, true, F_DEF, 0},
	/* global beats default */
	{"\nlinger = abort\n", E0, APP, 80, RB_KEY_LINGER, true, true,
	 L_ABORT, F_FILE, 2},
	/* [port] beats global */
	{"linger = abort\n[port 80]\nlinger = safe-abort\n", E0, APP, 80,
	 RB_KEY_LINGER, true, true, L_SAFE, F_FILE, 3},
	{"[port 80]\nlinger = safe-abort\n[port 81]\n", E0, APP, 80,
	 RB_KEY_LINGER, true, true, L_SAFE, F_FILE, 2},
	/* [program] beats [port], even when the [port] comes later */
	{"[program app]\nlinger = safe-abort\n[port 80]\nlinger = abort\n",
	 E0, APP, 80, RB_KEY_LINGER, true, true, L_SAFE, F_FILE, 2},
	{"[port 80]\nlinger = abort\n[program app]\nlinger = safe-abort\n",
	 E0, APP, 80, RB_KEY_LINGER, true, true, L_SAFE, F_FILE, 4},
	/* [program port] beats [program] */
	{"[program app port 80]\nlinger = abort\n"
	 "[program app]\nlinger = safe-abort\n",
	 E0, APP, 80, RB_KEY_LINGER, true, true, L_ABORT, F_FILE, 2},
	/* env beats [program port] */
	{"[program app port 80]\nlinger = abort\n",
	 {{"REBIND_LINGER", "safe-abort"}}, APP, 80, RB_KEY_LINGER, true,
	 true, L_SAFE, F_ENV, 0},
	{"[program app port 80]\nreuseaddr = on\n",
	 {{"REBIND_REUSEADDR", "off"}, {"REBIND_LINGER", "abort"}}, APP, 80,
	 RB_KEY_REUSEADDR, true, true, false, F_ENV, 0},
	/* the last section of a level wins */
	{"[port 80]\nlinger = abort\n[port 70-90]\nlinger = safe-abort\n", E0,
	 APP, 80, RB_KEY_LINGER, true, true, L_SAFE, F_FILE, 4},
	{"[program a*]\nlinger = abort\n[program app]\nlinger = off\n", E0,
	 APP, 80, RB_KEY_LINGER, true, true, L_OFF, F_FILE, 4},
	{"[program app]\nlinger = abort\n[program a*]\nlinger = safe-abort\n",
	 E0, APP, 80, RB_KEY_LINGER, true, true, L_SAFE, F_FILE, 4},
	{"[program app port 80]\nlinger = abort\n"
	 "[program * port 1-100]\nlinger = safe-abort\n",
	 E0, APP, 80, RB_KEY_LINGER, true, true, L_SAFE, F_FILE, 4},
	/* a later section that does not set the key changes nothing */
	{"[port 80]\nlinger = abort\n[port 80]\nreuseaddr = on\n", E0, APP,
	 80, RB_KEY_LINGER, true, true, L_ABORT, F_FILE, 2},
	/* a [port] section for another port does not apply */
	{"linger = abort\n[port 81]\nlinger = safe-abort\n", E0, APP, 80,
	 RB_KEY_LINGER, true, true, L_ABORT, F_FILE, 1},
	{"[program app port 81]\nlinger = safe-abort\n", E0, APP, 80,
	 RB_KEY_LINGER, true, true, L_OFF, F_DEF, 0},
	/* a [program] section for another program does not apply */
	{"linger = abort\n[program other]\nlinger = safe-abort\n", E0, APP,
	 80, RB_KEY_LINGER, true, true, L_ABORT, F_FILE, 1},
	{"[program other port 80]\nlinger = safe-abort\n", E0, APP, 80,
	 RB_KEY_LINGER, true, true, L_OFF, F_DEF, 0},
	{"[program app]\nlinger = abort\n", E0, {NULL}, 80, RB_KEY_LINGER,
	 true, true, L_OFF, F_DEF, 0},
	/* any of the program's names will do */
	{"[program app.py]\nlinger = abort\n", E0,
	 {"python3", "python3.11", "app.py"}, 80, RB_KEY_LINGER, true, true,
	 L_ABORT, F_FILE, 2},
	/* ports gates [port] sections: outside it, nothing at all */
	{"ports = 80\n[port 8080]\nlinger = abort\n", E0, APP, 8080,
	 RB_KEY_PORTS, true, false, false, F_FILE, 1},
	{"ports = 80\n[port 8080]\nlinger = abort\n", E0, APP, 80,
	 RB_KEY_PORTS, true, true, true, F_FILE, 1},
	{"[program app]\nports = 8000-8100\n", E0, APP, 80, RB_KEY_PORTS,
	 true, false, false, F_FILE, 2},
	/* REBIND_PORTS beats the file's ports */
	{"ports = 80\n", {{"REBIND_PORTS", "8080"}}, APP, 8080, RB_KEY_PORTS,
	 true, true, true, F_ENV, 0},
	{"ports = 80\n", {{"REBIND_PORTS", "8080"}}, APP, 80, RB_KEY_PORTS,
	 true, false, false, F_ENV, 0},
	/* enable = no globally, yes for one program */
	{"enable = no\n[program X]\nenable = yes\n", E0, {"X"}, 80,
	 RB_KEY_ENABLE, true, true, true, F_FILE, 3},
	{"enable = no\n[program X]\nenable = yes\n", E0, {"Y"}, 80,
	 RB_KEY_ENABLE, false, false, false, F_FILE, 1},
	/* enable = no in [port]: that port alone is left alone */
	{"[port 80]\nenable = no\n", E0, APP, 80, RB_KEY_ENABLE, true, false,
	 false, F_FILE, 2},
	{"[port 80]\nenable = no\n", E0, APP, 81, RB_KEY_ENABLE, true, true,
	 true, F_DEF, 0},
	/* a program disabled as a whole, enabled on one port */
	{"enable = no\n[port 80]\nenable = yes\n", E0, APP, 80,
	 RB_KEY_ENABLE, true, true, true, F_FILE, 3},
	{"enable = no\n[port 80]\nenable = yes\n", E0, APP, 81,
	 RB_KEY_ENABLE, true, false, false, F_FILE, 1},
	{"enable = no\n[program other port 80]\nenable = yes\n", E0, APP, 80,
	 RB_KEY_ENABLE, false, false, false, F_FILE, 1},
	{"[program app port 80]\nenable = no\n", E0, APP, 80, RB_KEY_ENABLE,
	 true, false, false, F_FILE, 2},
	{"[program X]\nenable = no\n[program X port 80]\nenable = yes\n", E0,
	 {"X"}, 80, RB_KEY_ENABLE, true, true, true, F_FILE, 4},
	{"[program X]\nenable = no\n[program X port 80]\nenable = yes\n", E0,
	 {"X"}, 81, RB_KEY_ENABLE, true, false, false, F_FILE, 2},
	/* a [port] section cannot undo a [program] section: nothing to do */
	{"[program X]\nenable = no\n[port 80]\nenable = yes\n", E0, {"X"},
	 80, RB_KEY_ENABLE, false, false, false, F_FILE, 2},
	/* only the ports inside `ports` count when a section enables */
	{"enable = no\nports = 8080\n[port 80-9000]\nenable = yes\n", E0, APP,
	 8080, RB_KEY_ENABLE, true, true, true, F_FILE, 4},
	{"enable = no\nports = 9500\n[port 80-9000]\nenable = yes\n", E0, APP,
	 8080, RB_KEY_ENABLE, false, false, false, F_FILE, 4},
	/* a piece of a range, between later sections' edges */
	{"enable = no\n[port 1-100]\nenable = yes\n[port 1-10,90-100]\n"
	 "enable = no\n", E0, APP, 50, RB_KEY_ENABLE, true, true, true, F_FILE, 3},
	/* REBIND_ENABLE beats the file, both ways */
	{"[program X]\nenable = yes\n", {{"REBIND_ENABLE", "no"}}, {"X"}, 80,
	 RB_KEY_ENABLE, false, false, false, F_ENV, 0},
	{"enable = no\n[port 80]\nenable = yes\n", {{"REBIND_ENABLE", "no"}},
	 APP, 80, RB_KEY_ENABLE, false, false, false, F_ENV, 0},
	{"enable = no\n", {{"REBIND_ENABLE", "yes"}}, APP, 80, RB_KEY_ENABLE,
	 true, true, true, F_ENV, 0},
	/* log from a [program] section */
	{"log = error\n[program X]\nlog = debug\n", E0, {"X"}, 80, RB_KEY_LOG,
	 true, true, RB_LOG_DEBUG, F_FILE, 3},
	{"log = error\n[program X]\nlog = debug\n", E0, {"Y"}, 80, RB_KEY_LOG,
	 true, true, RB_LOG_ERROR, F_FILE, 1},
	{"[program X]\nlog = debug\n", {{"REBIND_LOG", "off"}}, {"X"}, 80,
	 RB_KEY_LOG, true, true, RB_LOG_OFF, F_ENV, 0},
	/* override from a [port] section */
	{"[port 80]\noverride = yes\n", E0, APP, 80, RB_KEY_OVERRIDE, true,
	 true, true, F_FILE, 2},
	{"[port 80]\noverride = yes\n", E0, APP, 81, RB_KEY_OVERRIDE, true,
	 true, false, F_DEF, 0},
	{"override = yes\n[port 80]\noverride = no\n", E0, APP, 80,
	 RB_KEY_OVERRIDE, true, true, false, F_FILE, 3},
	/* hold from a [port] section, and REBIND_HOLD over it */
	{"[port 80]\nhold = systemd\n", E0, APP, 80, RB_KEY_HOLD, true, true,
	 RB_HOLD_SYSTEMD, F_FILE, 2},
	{"[port 80]\nhold = systemd\n", E0, APP, 81, RB_KEY_HOLD, true, true,
	 RB_HOLD_NO, F_DEF, 0},
	{"[port 80]\nhold = systemd\n", {{"REBIND_HOLD", "no"}}, APP, 80,
	 RB_KEY_HOLD, true, true, RB_HOLD_NO, F_ENV, 0},
};

#undef APP
#undef E0
#undef F_DEF
#undef F_ENV
#undef F_FILE

/* The value of row->key that the policy gives, as an int. */
static int prec_value(const struct rb_policy *p, enum rb_key key,
		      unsigned port, const struct rb_sockpolicy *out, bool on)
{
	switch (key) {
	case RB_KEY_ENABLE:
		return on;
	case RB_KEY_PORTS:
		return rb_policy_port_in(&p->ports, port);
	case RB_KEY_LOG:
		return (int)p->log;
	case RB_KEY_REUSEADDR:
		return out->reuseaddr;
	case RB_KEY_LINGER:
		return (int)out->linger;
	case RB_KEY_HOLD:
		return (int)rb_policy_hold_at(p, port);
	default:
		return out->override;
	}
}

static struct rb_conf prec_conf;

static void prec_build(const struct prec_row *row, struct rb_policy *p)
{
	struct rb_names names = {0, {NULL}};
	char err[RB_ERR_MAX] = "";
	size_t nenv = 0;

	while (nenv < NELEM(row->env) && row->env[nenv].name)
		nenv++;
	while (names.n < RB_NAMES_MAX && row->names[names.n]) {
		names.name[names.n] = row->names[names.n];
		names.n++;
	}
	ck_assert_uint_eq(rb_conf_parse(&prec_conf, "t.conf", row->conf,
					strlen(row->conf), NULL, NULL),
			  0);
	use_env(row->env, nenv);
	ck_assert_int_eq(rb_policy_build(p, env_get, &prec_conf, &names, err,
					 sizeof(err)),
			 0);
}

START_TEST(test_precedence)
{
	const struct prec_row *row = &prec[_i];
	struct rb_policy p;
	struct rb_sockpolicy out;
	enum rb_from from = (enum rb_from)-1;
	unsigned line = 4242;
	bool on;

	prec_build(row, &p);
	memset(&out, 0xa5, sizeof(out));
	on = rb_policy_for_port(&p, row->port, &out);
	ck_assert_int_eq(p.enabled, row->enabled);
	ck_assert_int_eq(on, row->on);
	/*
	 * Per-socket values mean something only where rebind acts, and
	 * every row of a per-socket key (reuseaddr, linger, override) has on.
	 */
	ck_assert_int_eq(prec_value(&p, row->key, row->port, &out, on),
			 row->value);
	ck_assert_ptr_nonnull(
		rb_policy_source(&p, row->key, row->port, &from, &line));
	ck_assert_int_eq(from, row->from);
	ck_assert_uint_eq(line, row->line);
}
END_TEST

/* env: REBIND_ENABLE, REBIND_OVERRIDE, REBIND_HOLD set their own field */

static const struct {
	struct env env;
	bool enabled;
	bool override;
	enum rb_hold hold;
} env_flags[] = {
	{{"REBIND_ENABLE", "no"}, false, false, RB_HOLD_NO},
	{{"REBIND_ENABLE", "yes"}, true, false, RB_HOLD_NO},
	{{"REBIND_OVERRIDE", "yes"}, true, true, RB_HOLD_NO},
	{{"REBIND_OVERRIDE", "no"}, true, false, RB_HOLD_NO},
	{{"REBIND_HOLD", "systemd"}, true, false, RB_HOLD_SYSTEMD},
	{{"REBIND_HOLD", "no"}, true, false, RB_HOLD_NO},
};

START_TEST(test_env_flags)
{
	struct rb_policy got, want;
	char err[RB_ERR_MAX] = "";

	use_env(&env_flags[_i].env, 1);
	documented_defaults(&want);
	want.enabled = env_flags[_i].enabled;
	want.override = env_flags[_i].override;
	want.hold = env_flags[_i].hold;
	ck_assert_int_eq(rb_policy_build(&got, env_get, NULL, NULL, err,
					 sizeof(err)),
			 0);
	assert_policy_eq(&got, &want);
}
END_TEST

/* hold: parsed, named, and a [port] section can turn it on ---------- */

static const struct {
	const char *s;
	int ok;
	enum rb_hold want;
} hold_rows[] = {
	{"no", 0, RB_HOLD_NO},	  {"systemd", 0, RB_HOLD_SYSTEMD},
	{"yes", -1, RB_HOLD_NO},  {"Systemd", -1, RB_HOLD_NO},
	{"", -1, RB_HOLD_NO},	  {"systemd ", -1, RB_HOLD_NO},
};

START_TEST(test_hold_parse)
{
	enum rb_hold h = RB_HOLD_NO;

	ck_assert_int_eq(rb_policy_parse_hold(hold_rows[_i].s, &h),
			 hold_rows[_i].ok);
	ck_assert_int_eq(h, hold_rows[_i].want);
	if (hold_rows[_i].ok == 0)
		ck_assert_str_eq(rb_policy_hold_name(h), hold_rows[_i].s);
}
END_TEST

START_TEST(test_hold_bad_env)
{
	static const struct env e = {"REBIND_HOLD", "yes"};
	struct rb_policy got;
	char err[RB_ERR_MAX] = "";

	use_env(&e, 1);
	ck_assert_int_eq(rb_policy_build(&got, env_get, NULL, NULL, err,
					 sizeof(err)),
			 -1);
	ck_assert_str_eq(err, "REBIND_HOLD=yes: expected no or systemd");
}
END_TEST

/* suite ------------------------------------------------------------- */

static void add_parsers(Suite *s)
{
	TCase *tc;

	rb_test_loop(s, "parse_onoff", test_onoff_ok, NELEM(onoff_ok));
	rb_test_loop(s, "parse_onoff_bad", test_onoff_bad, NELEM(bad_common));
	rb_test_loop(s, "parse_linger", test_linger_ok, NELEM(linger_ok));
	rb_test_loop(s, "parse_linger_bad", test_linger_bad, NELEM(bad_common));
	rb_test_loop(s, "parse_level", test_level_ok, NELEM(level_ok));
	rb_test_loop(s, "parse_level_bad", test_level_bad, NELEM(bad_common));
	rb_test_loop(s, "parse_ports", test_ports_ok, NELEM(ports_ok));
	rb_test_loop(s, "parse_ports_bad", test_ports_bad, NELEM(ports_bad));
	rb_test_loop(s, "parse_ports_bad_null_why", test_ports_bad_null_why,
		 NELEM(ports_bad));
	tc = rb_test_tcase(s, "parse_ports_items");
	tcase_add_test(tc, test_ports_max_items);
	tcase_add_test(tc, test_ports_too_many_items);
	rb_test_loop(s, "port_in", test_port_in, NELEM(port_in));
}

static void add_build(Suite *s)
{
	TCase *tc;

	tc = rb_test_tcase(s, "defaults");
	tcase_add_test(tc, test_build_defaults);
	tcase_add_test(tc, test_default_fn);
	rb_test_loop(s, "one_var_one_field", test_build_one_var, NELEM(build_ok));
	tc = rb_test_tcase(s, "all_vars");
	tcase_add_test(tc, test_build_all_vars);
	rb_test_loop(s, "bad_value", test_build_bad, NELEM(build_bad));
	rb_test_loop(s, "bad_value_keeps_good_log", test_build_bad_keeps_good_log,
		 NELEM(kept_log));
	tc = rb_test_tcase(s, "bad_log_keeps_default");
	tcase_add_test(tc, test_build_bad_log_with_others);
	rb_test_loop(s, "err_truncated", test_build_err_truncated, NELEM(errlens));
	tc = rb_test_tcase(s, "err_long_value");
	tcase_add_test(tc, test_build_err_long_value);
	rb_test_loop(s, "err_one_line", test_build_err_one_line,
		 NELEM(newline_env));
}

static Suite *policy_suite(void)
{
	Suite *s = suite_create("policy");
	TCase *tc;

	add_parsers(s);
	add_build(s);
	rb_test_loop(s, "for_port", test_for_port, NELEM(for_port));
	tc = rb_test_tcase(s, "for_port_disabled_by_bad_value");
	tcase_add_test(tc, test_for_port_after_bad_build);
	rb_test_loop(s, "linger_name", test_linger_name, NELEM(linger_ok));
	rb_test_loop(s, "level_name", test_level_name, NELEM(level_ok));
	tc = rb_test_tcase(s, "unknown_names");
	tcase_add_test(tc, test_unknown_names);
	rb_test_loop(s, "precedence", test_precedence, NELEM(prec));
	rb_test_loop(s, "env_enable_override", test_env_flags, NELEM(env_flags));
	rb_test_loop(s, "parse_hold", test_hold_parse, NELEM(hold_rows));
	tc = rb_test_tcase(s, "hold_bad_env");
	tcase_add_test(tc, test_hold_bad_env);
	return s;
}

int main(void)
{
	return rb_test_run(policy_suite());
}
