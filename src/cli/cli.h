#ifndef RB_CLI_H
#define RB_CLI_H

#include <stdbool.h>
#include <stddef.h>

/* The exit statuses of env(1), so callers can tell whose error it was. */
#define RB_EXIT_OWN		125
#define RB_EXIT_CANNOT_RUN	126
#define RB_EXIT_NOT_FOUND	127

/* Absolute path of the librebind.so to preload, or -1 after saying why. */
int rb_cli_find_library(char *out, size_t len);

/* Put lib first in LD_PRELOAD, after any sanitizer runtime. */
int rb_cli_set_preload(const char *lib);

/* The file execvp would run for cmd, into out; -1 when none. */
int rb_cli_resolve(const char *cmd, char *out, size_t len);

/* One line on stderr when the loader will not preload into cmd. */
void rb_cli_warn_unpreloadable(const char *cmd);

/* Exit statuses of the subcommands (check, explain). */
#define RB_EXIT_OK	0
#define RB_EXIT_INVALID 1 /* a bad setting: the library would stand by */
#define RB_EXIT_USAGE	2 /* bad arguments, or a file that cannot be read */

struct rb_conf;
struct rb_names;
struct rb_policy;
struct rb_portset;

/*
 * Load the config file and the environment exactly as the library would
 * for a program with these names (may be NULL).  Errors go to stderr,
 * each on a line of its own.  *conf is NULL when no file is read.
 * Returns RB_EXIT_OK, RB_EXIT_INVALID or RB_EXIT_USAGE (unreadable).
 */
int rb_cli_load(struct rb_policy *p, const struct rb_conf **conf,
		const struct rb_names *names);

/* One port number, 1-65535, into *out; -1 (saying nothing) otherwise. */
int rb_cli_port(const char *s, unsigned *out);

/*
 * The file the library would read: REBIND_CONFIG (then *named is true:
 * it must exist), else the system one.
 */
const char *rb_cli_conf_path(bool *named);

int rb_cli_check(int argc, char **argv);
int rb_cli_explain(int argc, char **argv);
int rb_cli_status(int argc, char **argv);
int rb_cli_purge(int argc, char **argv);
/* rebind enable|disable [--user] UNIT...: the drop-in of cmd_enable.c. */
int rb_cli_enable(int argc, char **argv);
int rb_cli_disable(int argc, char **argv);

/*
 * Destroy the TIME_WAIT entries on the ports of set, and nothing else
 * (sock_diag SOCK_DESTROY; needs CAP_NET_ADMIN).  0 with the count in
 * *destroyed, or -1 with one line's worth of reason in why.
 */
int rb_cli_purge_ports(const struct rb_portset *set, unsigned *destroyed,
		       char *why, size_t len);

#endif
