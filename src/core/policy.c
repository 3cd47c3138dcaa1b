#include "config.h"

#include "core/policy.h"

#include <stdio.h>
#include <string.h>

struct rb_name {
	const char *name;
	int value;
};

static const struct rb_name onoff_names[] = {
	{"on", 1}, {"off", 0}, {NULL, 0},
};

static const struct rb_name linger_names[] = {
	{"off", RB_LINGER_OFF},
	{"abort", RB_LINGER_ABORT},
	{"safe-abort", RB_LINGER_SAFE_ABORT},
	{NULL, 0},
};

static const struct rb_name level_names[] = {
	{"off", RB_LOG_OFF},	 {"error", RB_LOG_ERROR}, {"warn", RB_LOG_WARN},
	{"info", RB_LOG_INFO},	 {"debug", RB_LOG_DEBUG}, {NULL, 0},
};

static int lookup(const struct rb_name *t, const char *s, int *out)
{
	for (; t->name; t++) {
		if (strcmp(t->name, s) == 0) {
			*out = t->value;
			return 0;
		}
	}
	return -1;
}

static const char *name_of(const struct rb_name *t, int value)
{
	for (; t->name; t++) {
		if (t->value == value)
			return t->name;
	}
	return "?";
}

int rb_policy_parse_onoff(const char *s, bool *out)
{
	int v;

	if (lookup(onoff_names, s, &v))
		return -1;
	*out = v;
	return 0;
}

int rb_policy_parse_linger(const char *s, enum rb_linger *out)
{
	int v;

	if (lookup(linger_names, s, &v))
		return -1;
	*out = (enum rb_linger)v;
	return 0;
}

int rb_policy_parse_level(const char *s, enum rb_level *out)
{
	int v;

	if (lookup(level_names, s, &v))
		return -1;
	*out = (enum rb_level)v;
	return 0;
}

const char *rb_policy_linger_name(enum rb_linger l)
{
	return name_of(linger_names, (int)l);
}

const char *rb_policy_level_name(enum rb_level l)
{
	return name_of(level_names, (int)l);
}

static const char *skip_blanks(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/* A port 1-65535 in decimal; *end is left after the digits. */
static int parse_port(const char *s, const char **end, unsigned *out,
		      const char **why)
{
	unsigned long v = 0;
	const char *p = s;

	if (*p < '0' || *p > '9') {
		*why = *p ? "expected a port number" : "missing port number";
		return -1;
	}
	while (*p >= '0' && *p <= '9') {
		v = v * 10 + (unsigned long)(*p - '0');
		if (v > 65535) {
			*why = "port out of range (1-65535)";
			return -1;
		}
		p++;
	}
	if (v == 0) {
		*why = "port 0 is not a port (1-65535)";
		return -1;
	}
	*end = p;
	*out = (unsigned)v;
	return 0;
}

/* One item: "N" or "N-M", blanks allowed around it. */
static int parse_range(const char *s, const char **end,
		       struct rb_portrange *r, const char **why)
{
	unsigned lo, hi;

	s = skip_blanks(s);
	if (parse_port(s, &s, &lo, why))
		return -1;
	hi = lo;
	if (*s == '-' && parse_port(s + 1, &s, &hi, why))
		return -1;
	if (hi < lo) {
		*why = "range ends before it starts";
		return -1;
	}
	*end = skip_blanks(s);
	r->lo = (uint16_t)lo;
	r->hi = (uint16_t)hi;
	return 0;
}

static int parse_ports(const char *s, struct rb_portset *set,
		       const char **why)
{
	set->n = 0;
	for (;;) {
		if (set->n == RB_PORTSET_MAX) {
			*why = "too many items (at most 64)";
			return -1;
		}
		if (parse_range(s, &s, &set->r[set->n], why))
			return -1;
		set->n++;
		if (*s == '\0')
			return 0;
		if (*s != ',') {
			*why = "expected ',' between ports";
			return -1;
		}
		s++;
	}
}

int rb_policy_parse_ports(const char *s, struct rb_portset *out,
			  const char **why)
{
	struct rb_portset set;
	const char *reason = NULL;

	if (parse_ports(s, &set, &reason)) {
		if (why)
			*why = reason;
		return -1;
	}
	*out = set;
	return 0;
}

bool rb_policy_port_in(const struct rb_portset *set, unsigned port)
{
	if (set->n == 0)
		return true;
	for (unsigned i = 0; i < set->n; i++) {
		if (port >= set->r[i].lo && port <= set->r[i].hi)
			return true;
	}
	return false;
}

void rb_policy_default(struct rb_policy *out)
{
	memset(out, 0, sizeof(*out));
	out->enabled = true;
	out->reuseaddr = true;
	out->linger = RB_LINGER_OFF;
	out->log = RB_LOG_WARN;
}

bool rb_policy_for_port(const struct rb_policy *p, unsigned port,
			struct rb_sockpolicy *out)
{
	if (!p->enabled || port == 0 || !rb_policy_port_in(&p->ports, port))
		return false;
	out->reuseaddr = p->reuseaddr;
	out->linger = p->linger;
	return out->reuseaddr || out->linger != RB_LINGER_OFF;
}

static int set_reuseaddr(struct rb_policy *p, const char *v, const char **why)
{
	*why = "expected on or off";
	return rb_policy_parse_onoff(v, &p->reuseaddr);
}

static int set_linger(struct rb_policy *p, const char *v, const char **why)
{
	*why = "expected off, abort or safe-abort";
	return rb_policy_parse_linger(v, &p->linger);
}

static int set_ports(struct rb_policy *p, const char *v, const char **why)
{
	return rb_policy_parse_ports(v, &p->ports, why);
}

static int set_log(struct rb_policy *p, const char *v, const char **why)
{
	*why = "expected off, error, warn, info or debug";
	return rb_policy_parse_level(v, &p->log);
}

struct rb_envvar {
	const char *name;
	int (*set)(struct rb_policy *p, const char *value, const char **why);
};

/* REBIND_LOG first, so that its level governs errors in the others. */
static const struct rb_envvar envvars[] = {
	{"REBIND_LOG", set_log},
	{"REBIND_REUSEADDR", set_reuseaddr},
	{"REBIND_LINGER", set_linger},
	{"REBIND_PORTS", set_ports},
};

/* A value may hold any byte; the message it ends up in is one line. */
static void one_line(char *s)
{
	for (; *s; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
	}
}

static int set_var(struct rb_policy *p, const struct rb_envvar *var,
		   const char *value, char *err, size_t errlen)
{
	const char *why = "";

	if (*value != '\0' && var->set(p, value, &why) == 0)
		return 0;
	if (*value == '\0')
		why = "empty value";
	/* Truncation is fine: the variable name comes first. */
	(void)snprintf(err, errlen, "%s=%s: %s", var->name, value, why);
	one_line(err);
	return -1;
}

int rb_policy_build(struct rb_policy *out, rb_getenv_fn get, char *err,
		    size_t errlen)
{
	const size_t n = sizeof(envvars) / sizeof(envvars[0]);

	rb_policy_default(out);
	for (size_t i = 0; i < n; i++) {
		const char *value = get(envvars[i].name);

		if (value && set_var(out, &envvars[i], value, err, errlen)) {
			out->enabled = false;
			return -1;
		}
	}
	return 0;
}
