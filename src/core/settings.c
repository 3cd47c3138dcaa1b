#include "config.h"

#include "core/policy.h"

#include <stdio.h>
#include <string.h>

/* One row per key: its name in the file and in the environment. */
struct rb_keydef {
	const char *name;
	const char *env;
	const char *expected; /* why, for a bad value of a fixed set */
};

static const struct rb_keydef keys[RB_KEY_N] = {
	[RB_KEY_ENABLE] = {"enable", "REBIND_ENABLE", "expected yes or no"},
	[RB_KEY_REUSEADDR] = {"reuseaddr", "REBIND_REUSEADDR",
			      "expected on or off"},
	[RB_KEY_LINGER] = {"linger", "REBIND_LINGER",
			   "expected off, abort or safe-abort"},
	[RB_KEY_PORTS] = {"ports", "REBIND_PORTS", NULL},
	[RB_KEY_LOG] = {"log", "REBIND_LOG",
			"expected off, error, warn, info or debug"},
	[RB_KEY_OVERRIDE] = {"override", "REBIND_OVERRIDE",
			     "expected no or yes"},
	[RB_KEY_HOLD] = {"hold", "REBIND_HOLD", "expected no or systemd"},
};

int rb_key_lookup(const char *name, enum rb_key *out)
{
	for (int k = 0; k < RB_KEY_N; k++) {
		if (strcmp(keys[k].name, name) == 0) {
			*out = (enum rb_key)k;
			return 0;
		}
	}
	return -1;
}

const char *rb_key_name(enum rb_key key)
{
	return keys[key].name;
}

const char *rb_key_env(enum rb_key key)
{
	return keys[key].env;
}

static int parse_value(struct rb_settings *s, enum rb_key key,
		       const char *v, const char **why)
{
	*why = keys[key].expected;
	switch (key) {
	case RB_KEY_ENABLE:
		return rb_policy_parse_yesno(v, &s->enable);
	case RB_KEY_REUSEADDR:
		return rb_policy_parse_onoff(v, &s->reuseaddr);
	case RB_KEY_LINGER:
		return rb_policy_parse_linger(v, &s->linger);
	case RB_KEY_PORTS:
		return rb_policy_parse_ports(v, &s->ports, why);
	case RB_KEY_LOG:
		return rb_policy_parse_level(v, &s->log);
	case RB_KEY_OVERRIDE:
		return rb_policy_parse_yesno(v, &s->override);
	case RB_KEY_HOLD:
		return rb_policy_parse_hold(v, &s->hold);
	default:
		return -1;
	}
}

int rb_settings_parse(struct rb_settings *s, enum rb_key key,
		      const char *value, const char **why)
{
	if (*value == '\0') {
		*why = "empty value";
		return -1;
	}
	if (parse_value(s, key, value, why))
		return -1;
	s->set |= 1U << key;
	return 0;
}

static void format_ports(const struct rb_portset *set, char *buf, size_t len)
{
	size_t at = 0;

	if (len == 0)
		return;
	buf[0] = '\0';
	if (set->n == 0)
		(void)snprintf(buf, len, "all");
	for (unsigned i = 0; i < set->n && at < len; i++) {
		const struct rb_portrange *r = &set->r[i];
		int n = r->lo == r->hi
				? snprintf(buf + at, len - at, "%s%u",
					   i ? "," : "", r->lo)
				: snprintf(buf + at, len - at, "%s%u-%u",
					   i ? "," : "", r->lo, r->hi);

		at += n > 0 ? (size_t)n : 0;
	}
}

void rb_settings_format(const struct rb_settings *s, enum rb_key key,
			char *buf, size_t len)
{
	const char *v = "?";

	switch (key) {
	case RB_KEY_ENABLE:
		v = s->enable ? "yes" : "no";
		break;
	case RB_KEY_REUSEADDR:
		v = s->reuseaddr ? "on" : "off";
		break;
	case RB_KEY_LINGER:
		v = rb_policy_linger_name(s->linger);
		break;
	case RB_KEY_PORTS:
		format_ports(&s->ports, buf, len);
		return;
	case RB_KEY_LOG:
		v = rb_policy_level_name(s->log);
		break;
	case RB_KEY_OVERRIDE:
		v = s->override ? "yes" : "no";
		break;
	case RB_KEY_HOLD:
		v = rb_policy_hold_name(s->hold);
		break;
	default:
		break;
	}
	(void)snprintf(buf, len, "%s", v);
}
