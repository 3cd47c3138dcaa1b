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

/* Who keeps a listener open while the daemon restarts. */
enum rb_hold {
	RB_HOLD_NO,
	RB_HOLD_SYSTEMD, /* systemd's fd store (sd_notify FDSTORE=1) */
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

/* The settings a config file or the environment can give. */
enum rb_key {
	RB_KEY_ENABLE,
	RB_KEY_REUSEADDR,
	RB_KEY_LINGER,
	RB_KEY_PORTS,
	RB_KEY_LOG,
	RB_KEY_OVERRIDE,
	RB_KEY_HOLD,
	RB_KEY_N,
};

/* Some settings, as one source gives them: the environment, a section. */
struct rb_settings {
	unsigned set;		   /* bit 1 << key for each key given */
	unsigned line[RB_KEY_N]; /* where, in a config file */
	bool enable;
	bool reuseaddr;
	enum rb_linger linger;
	struct rb_portset ports;
	enum rb_level log;
	bool override;
	enum rb_hold hold;
};

struct rb_conf;
struct rb_names;

/*
 * The effective settings of one process.  The plain fields hold what
 * applies to the program as a whole (environment > matching [program]
 * sections > global section > defaults); [port] and [program NAME port]
 * sections refine them per socket, through rb_policy_for_port().
 */
struct rb_policy {
	bool enabled; /* false: rebind does nothing in this process */
	bool reuseaddr;
	enum rb_linger linger;
	struct rb_portset ports;
	enum rb_level log;
	bool override;
	const struct rb_conf *conf; /* NULL: no config file */
	uint64_t programs;	    /* bit i: conf section i names us */
	struct rb_settings env;	    /* what REBIND_* variables gave */
	enum rb_hold hold;
};

/* What rebind does to one TCP socket bound to a given port. */
struct rb_sockpolicy {
	bool reuseaddr;
	enum rb_linger linger;
	bool override; /* keep rebind's value over the program's own */
};

/* Returns the value of an environment variable, or NULL when unset. */
typedef const char *(*rb_getenv_fn)(const char *name);

/* Room for any message the parsers write; longer values are cut. */
#define RB_ERR_MAX 256

void rb_policy_default(struct rb_policy *out);

/*
 * Fill *out from the defaults, then conf (may be NULL) as it applies to
 * the program called names (may be NULL), then the REBIND_* variables
 * that get() returns.  On a bad variable: returns -1, leaves *out
 * disabled (enabled == false, log level kept when it parsed) and writes
 * one line naming the variable and its value into err.
 */
int rb_policy_build(struct rb_policy *out, rb_getenv_fn get,
		    const struct rb_conf *conf, const struct rb_names *names,
		    char *err, size_t errlen);

/* Who holds a listener on port across a restart (RB_HOLD_NO where
 * rebind is off). */
enum rb_hold rb_policy_hold_at(const struct rb_policy *p, unsigned port);

/* What to do with a socket bound to port; false when nothing at all. */
bool rb_policy_for_port(const struct rb_policy *p, unsigned port,
			struct rb_sockpolicy *out);

/* Where the value of a key comes from, for `rebind explain`. */
enum rb_from {
	RB_FROM_DEFAULT,
	RB_FROM_ENV,
	RB_FROM_FILE,
};

/*
 * The settings that decide key for a socket on port (0: the program as
 * a whole), and where they come from (line: in the config file).
 */
const struct rb_settings *rb_policy_source(const struct rb_policy *p,
					   enum rb_key key, unsigned port,
					   enum rb_from *from, unsigned *line);

/* Value parsers: 0 on success, -1 on a bad value (then *out untouched). */
int rb_policy_parse_onoff(const char *s, bool *out);
int rb_policy_parse_yesno(const char *s, bool *out);
int rb_policy_parse_linger(const char *s, enum rb_linger *out);
int rb_policy_parse_level(const char *s, enum rb_level *out);
int rb_policy_parse_hold(const char *s, enum rb_hold *out);
/* why (may be NULL) receives a short reason such as "port out of range". */
int rb_policy_parse_ports(const char *s, struct rb_portset *out,
			  const char **why);

bool rb_policy_port_in(const struct rb_portset *set, unsigned port);

const char *rb_policy_linger_name(enum rb_linger l);
const char *rb_policy_level_name(enum rb_level l);
const char *rb_policy_hold_name(enum rb_hold h);

/* Keys by name ("linger"), by variable ("REBIND_LINGER"), and values. */
int rb_key_lookup(const char *name, enum rb_key *out);
const char *rb_key_name(enum rb_key key);
const char *rb_key_env(enum rb_key key);
/* Parse value into s and mark key set; -1 and why on a bad value. */
int rb_settings_parse(struct rb_settings *s, enum rb_key key,
		      const char *value, const char **why);
/* The value of key in s as a config file would spell it. */
void rb_settings_format(const struct rb_settings *s, enum rb_key key,
			char *buf, size_t len);

#endif
