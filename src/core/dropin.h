#ifndef RB_DROPIN_H
#define RB_DROPIN_H

#include <stddef.h>

/*
 * The systemd drop-in that `rebind enable` writes, and what it needs to
 * know about the unit first.  Pure: strings in, text out, so the unit
 * tests and the shipped example (conf/systemd-rebind.conf.in) read the
 * same text the command writes.
 */

/* The file's name in UNIT.d/. */
#define RB_DROPIN_FILE "rebind.conf"
/*
 * FileDescriptorStoreMax= when the unit has less: hold stores one
 * descriptor per listener, and a daemon seldom has more than a few.
 */
#define RB_DROPIN_FDSTORE 16U
/* Longest unit name systemd accepts (UNIT_NAME_MAX). */
#define RB_DROPIN_UNIT_MAX 255

struct rb_dropin_in {
	const char *lib;     /* absolute path of librebind.so */
	const char *runtime; /* a sanitizer runtime that must load first, or "" */
	const char *preload; /* the unit's own LD_PRELOAD, or NULL */
	const char *type;    /* the unit's Type= (simple, forking, ...) */
	unsigned fdstore;    /* the unit's FileDescriptorStoreMax= */
};

/*
 * The drop-in's text into out.  0, or -1 with the reason in *why (out too
 * small, or a path systemd would read differently from what it says).
 */
int rb_dropin_text(char *out, size_t len, const struct rb_dropin_in *in,
		   const char **why);

/*
 * LD_PRELOAD with lib in it, as the wrapper sets it: a sanitizer runtime
 * first (runtime, unless old already has one), then old's sanitizer
 * runtimes, lib, and old's other entries without lib, joined by ':'.
 * old may be NULL.  0, or -1 when out is too small.
 */
int rb_dropin_join_preload(char *out, size_t len, const char *lib,
			   const char *runtime, const char *old);

/*
 * The service unit that name means, as systemctl reads it ("foo" is
 * "foo.service"), into out.  0, or -1 with the reason in *why: not a
 * valid unit name, or a unit of another type (only services run a
 * daemon).
 */
int rb_dropin_unit_name(const char *name, char *out, size_t len,
			const char **why);

/*
 * The value of the last NAME=... in env, a line as
 * `systemctl show -p Environment --value` prints it (space-separated
 * assignments, those with blanks or quotes double-quoted and
 * C-escaped).  1 with the value in out, 0 when NAME is not set, -1 when
 * env cannot be read or NAME=value does not fit in out.
 */
int rb_dropin_env_get(const char *env, const char *name, char *out,
		      size_t len);

#endif
