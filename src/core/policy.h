#ifndef RB_POLICY_H
#define RB_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The policy is pure data: built once from strings (the environment, later
 * a config file), then frozen.  Nothing here reads the environment itself,
 * so every parser is testable without LD_PRELOAD.
 */

enum rb_linger {
	RB_LINGER_OFF,
	RB_LINGER_ABORT,      /* linger {1,0} on the listener: RST, lossy */
	RB_LINGER_SAFE_ABORT, /* FIN then RST, only when nothing can be lost */
};

enum rb_level {
	RB_LOG_OFF,
	RB_LOG_ERROR,
	RB_LOG_WARN,
	RB_LOG_INFO,
	RB_LOG_DEBUG,
};

#define RB_PORTSET_MAX 64

struct rb_portrange {
	uint16_t lo;
	uint16_t hi;
};

/* n == 0 means every port. */
struct rb_portset {
	unsigned n;
	struct rb_portrange r[RB_PORTSET_MAX];
};

struct rb_policy {
	bool enabled;
	bool reuseaddr;
	enum rb_linger linger;
	struct rb_portset ports;
	enum rb_level log;
};

/* What rebind does to one TCP socket bound to a given port. */
struct rb_sockpolicy {
	bool reuseaddr;
	enum rb_linger linger;
};

/* Returns the value of an environment variable, or NULL when unset. */
typedef const char *(*rb_getenv_fn)(const char *name);

/* Room for any message the parsers write; longer values are cut. */
#define RB_ERR_MAX 256

void rb_policy_default(struct rb_policy *out);

/*
 * Fill *out from the REBIND_* variables that get() returns, over the
 * defaults.  On a bad value: returns -1, leaves *out disabled
 * (enabled == false, log level kept when it parsed) and writes one line
 * naming the variable and its value into err.
 */
int rb_policy_build(struct rb_policy *out, rb_getenv_fn get, char *err,
		    size_t errlen);

/* What to do with a socket bound to port; false when nothing at all. */
bool rb_policy_for_port(const struct rb_policy *p, unsigned port,
			struct rb_sockpolicy *out);

/* Value parsers: 0 on success, -1 on a bad value (then *out untouched). */
int rb_policy_parse_onoff(const char *s, bool *out);
int rb_policy_parse_linger(const char *s, enum rb_linger *out);
int rb_policy_parse_level(const char *s, enum rb_level *out);
/* why (may be NULL) receives a short reason such as "port out of range". */
int rb_policy_parse_ports(const char *s, struct rb_portset *out,
			  const char **why);

bool rb_policy_port_in(const struct rb_portset *set, unsigned port);

const char *rb_policy_linger_name(enum rb_linger l);
const char *rb_policy_level_name(enum rb_level l);

#endif
