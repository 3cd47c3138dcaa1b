#include "config.h"

#include "core/policy.h"

#include <stdio.h>
#include <string.h>

#include "core/conf.h"

struct rb_name {
	const char *name;
	int value;
};

static const struct rb_name onoff_names[] = {
	{"on", 1}, {"off", 0}, {NULL, 0},
};

static const struct rb_name yesno_names[] = {
	{"yes", 1}, {"no", 0}, {NULL, 0},
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

static const struct rb_name hold_names[] = {
	{"no", RB_HOLD_NO},
	{"systemd", RB_HOLD_SYSTEMD},
	{NULL, 0},
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

int rb_policy_parse_yesno(const char *s, bool *out)
{
	int v;

	if (lookup(yesno_names, s, &v))
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

int rb_policy_parse_hold(const char *s, enum rb_hold *out)
{
	int v;

	if (lookup(hold_names, s, &v))
		return -1;
	*out = (enum rb_hold)v;
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

const char *rb_policy_hold_name(enum rb_hold h)
{
	return name_of(hold_names, (int)h);
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

	/* What the default is called, so `rebind explain` can be copied. */
	if (strcmp(s, "all") == 0) {
		out->n = 0;
		return 0;
	}
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

/* The documented defaults, as a source like any other. */
static const struct rb_settings defaults = {
	.set = (1U << RB_KEY_N) - 1,
	.enable = true,
	.reuseaddr = true,
	.linger = RB_LINGER_OFF,
	.log = RB_LOG_WARN,
	.override = false,
	.hold = RB_HOLD_NO,
};

/* Copy key's value from s into the plain fields of p. */
static void take(struct rb_policy *p, const struct rb_settings *s,
		 enum rb_key key)
{
	switch (key) {
	case RB_KEY_ENABLE:
		p->enabled = s->enable;
		break;
	case RB_KEY_REUSEADDR:
		p->reuseaddr = s->reuseaddr;
		break;
	case RB_KEY_LINGER:
		p->linger = s->linger;
		break;
	case RB_KEY_PORTS:
		p->ports = s->ports;
		break;
	case RB_KEY_LOG:
		p->log = s->log;
		break;
	case RB_KEY_HOLD:
		p->hold = s->hold;
		break;
	default:
		p->override = s->override;
		break;
	}
}

void rb_policy_default(struct rb_policy *out)
{
	memset(out, 0, sizeof(*out));
	for (int k = 0; k < RB_KEY_N; k++)
		take(out, &defaults, (enum rb_key)k);
}

static bool port_kind(enum rb_section_kind kind)
{
	return kind == RB_SEC_PORT || kind == RB_SEC_PROGRAM_PORT;
}

/* The last section of kind that applies to port and sets key. */
static int find_section(const struct rb_policy *p, enum rb_section_kind kind,
			enum rb_key key, unsigned port)
{
	const struct rb_conf *c = p->conf;

	for (int i = c ? (int)c->n - 1 : -1; i >= 0; i--) {
		const struct rb_section *s = &c->sec[i];

		if (s->kind != kind || !(s->s.set & (1U << key)))
			continue;
		if (kind != RB_SEC_GLOBAL && kind != RB_SEC_PORT &&
		    !(p->programs & (1ULL << i)))
			continue;
		if (port_kind(kind) && !rb_policy_port_in(&s->ports, port))
			continue;
		return i;
	}
	return -1;
}

/* Most specific first; a port of 0 skips the port sections. */
static const enum rb_section_kind order[] = {
	RB_SEC_PROGRAM_PORT,
	RB_SEC_PROGRAM,
	RB_SEC_PORT,
	RB_SEC_GLOBAL,
};

const struct rb_settings *rb_policy_source(const struct rb_policy *p,
					   enum rb_key key, unsigned port,
					   enum rb_from *from, unsigned *line)
{
	*from = RB_FROM_ENV;
	*line = 0;
	if (p->env.set & (1U << key))
		return &p->env;
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		int at;

		if (port == 0 && port_kind(order[i]))
			continue;
		at = find_section(p, order[i], key, port);
		if (at >= 0) {
			*from = RB_FROM_FILE;
			*line = p->conf->sec[at].s.line[key];
			return &p->conf->sec[at].s;
		}
	}
	*from = RB_FROM_DEFAULT;
	return &defaults;
}

/* REBIND_LOG first, so that its level governs errors in the others. */
static const enum rb_key env_order[] = {
	RB_KEY_LOG,    RB_KEY_ENABLE, RB_KEY_REUSEADDR,
	RB_KEY_LINGER, RB_KEY_PORTS,  RB_KEY_OVERRIDE, RB_KEY_HOLD,
};

/* A value may hold any byte; the message it ends up in is one line. */
static void one_line(char *s)
{
	for (; *s; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
	}
}

static int read_env(struct rb_settings *env, rb_getenv_fn get, char *err,
		    size_t errlen)
{
	for (size_t i = 0; i < sizeof(env_order) / sizeof(env_order[0]); i++) {
		enum rb_key k = env_order[i];
		const char *value = get(rb_key_env(k));
		const char *why = "";

		if (!value || rb_settings_parse(env, k, value, &why) == 0)
			continue;
		/* Truncation is fine: the variable name comes first. */
		if (errlen == 0)
			return -1;
		(void)snprintf(err, errlen, "%s=%s: %s", rb_key_env(k), value,
			       why);
		one_line(err);
		return -1;
	}
	return 0;
}

static uint64_t match_programs(const struct rb_conf *conf,
			       const struct rb_names *names)
{
	uint64_t bits = 0;

	for (unsigned i = 0; conf && i < conf->n && i < 64; i++) {
		if (rb_conf_names(&conf->sec[i], names))
			bits |= 1ULL << i;
	}
	return bits;
}

static const struct rb_settings *setting_at(const struct rb_policy *p,
					     enum rb_key key, unsigned port)
{
	enum rb_from from;
	unsigned line;

	return rb_policy_source(p, key, port, &from, &line);
}

/* Does the resolved policy enable port (in range and ports)? */
static bool port_enabled(const struct rb_policy *p, long port)
{
	return port >= 1 && port <= 65535 &&
	       rb_policy_port_in(&p->ports, (unsigned)port) &&
	       setting_at(p, RB_KEY_ENABLE, (unsigned)port)->enable;
}

static bool edge_enabled(const struct rb_policy *p,
			 const struct rb_portset *set)
{
	for (unsigned r = 0; r < set->n; r++) {
		long lo = set->r[r].lo, hi = set->r[r].hi;

		if (port_enabled(p, lo) || port_enabled(p, hi) ||
		    port_enabled(p, lo - 1) || port_enabled(p, hi + 1))
			return true;
	}
	return false;
}

/*
 * A program disabled as a whole may still be enabled on some port by a
 * section.  Settings only change at the edges of the sections' ranges
 * and of `ports`, so trying each edge and its neighbours tries them all.
 */
static bool enabled_on_some_port(const struct rb_policy *p)
{
	if (edge_enabled(p, &p->ports))
		return true;
	for (unsigned i = 0; p->conf && i < p->conf->n; i++) {
		const struct rb_section *s = &p->conf->sec[i];

		if (port_kind(s->kind) && edge_enabled(p, &s->ports))
			return true;
	}
	return false;
}

int rb_policy_build(struct rb_policy *out, rb_getenv_fn get,
		    const struct rb_conf *conf, const struct rb_names *names,
		    char *err, size_t errlen)
{
	int ret = 0;

	rb_policy_default(out);
	out->conf = conf;
	out->programs = match_programs(conf, names);
	if (read_env(&out->env, get, err, errlen))
		ret = -1;
	for (int k = 0; k < RB_KEY_N; k++)
		take(out, setting_at(out, (enum rb_key)k, 0), (enum rb_key)k);
	/* A variable decides for the whole process. */
	if (ret == 0 && !out->enabled &&
	    !(out->env.set & (1U << RB_KEY_ENABLE)))
		out->enabled = enabled_on_some_port(out);
	if (ret != 0)
		out->enabled = false;
	return ret;
}

bool rb_policy_for_port(const struct rb_policy *p, unsigned port,
			struct rb_sockpolicy *out)
{
	if (!p->enabled || port == 0 || !rb_policy_port_in(&p->ports, port))
		return false;
	if (!p->conf) {
		out->reuseaddr = p->reuseaddr;
		out->linger = p->linger;
		out->override = p->override;
	} else {
		if (!setting_at(p, RB_KEY_ENABLE, port)->enable)
			return false;
		out->reuseaddr = setting_at(p, RB_KEY_REUSEADDR, port)->reuseaddr;
		out->linger = setting_at(p, RB_KEY_LINGER, port)->linger;
		out->override = setting_at(p, RB_KEY_OVERRIDE, port)->override;
	}
	return out->reuseaddr || out->linger != RB_LINGER_OFF;
}

enum rb_hold rb_policy_hold_at(const struct rb_policy *p, unsigned port)
{
	if (!p->enabled || port == 0 || !rb_policy_port_in(&p->ports, port))
		return RB_HOLD_NO;
	if (!p->conf)
		return p->hold;
	if (!setting_at(p, RB_KEY_ENABLE, port)->enable)
		return RB_HOLD_NO;
	return setting_at(p, RB_KEY_HOLD, port)->hold;
}
