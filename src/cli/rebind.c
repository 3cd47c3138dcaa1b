#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/policy.h"

/* Options that only set a REBIND_* variable: indexes into rb_envopts. */
enum rb_envopt_id {
	RB_OPT_LINGER,
	RB_OPT_PORTS,
	RB_OPT_NO_REUSEADDR,
	RB_OPT_LOG,
	RB_OPT_CONFIG,
	RB_OPT_HOLD,
	RB_OPT_N,
};

/* getopt_long values of the options above, clear of any short option. */
#define RB_OPT_BASE 256
/* --purge-timewait: acts itself rather than setting a variable. */
#define RB_OPT_PURGE (RB_OPT_BASE + RB_OPT_N)

struct rb_envopt {
	const char *name;
	const char *env;
	/* NULL when the value is good, else why not. */
	const char *(*check)(const char *value);
	/* The value of an option that takes none (check is NULL). */
	const char *fixed;
};

enum rb_action {
	RB_ACT_RUN,
	RB_ACT_HELP,
	RB_ACT_VERSION,
};

struct rb_cli {
	enum rb_action action;
	const char *val[RB_OPT_N];
	bool purge; /* --purge-timewait */
};

static const char *check_linger(const char *s)
{
	enum rb_linger l;

	if (rb_policy_parse_linger(s, &l) == 0)
		return NULL;
	return "expected off, abort or safe-abort";
}

static const char *check_ports(const char *s)
{
	struct rb_portset set;
	const char *why = NULL;

	if (rb_policy_parse_ports(s, &set, &why) == 0)
		return NULL;
	return why ? why : "expected ports and ranges such as 80,8000-8100";
}

static const char *check_level(const char *s)
{
	enum rb_level l;

	if (rb_policy_parse_level(s, &l) == 0)
		return NULL;
	return "expected off, error, warn, info or debug";
}

static const char *check_hold(const char *s)
{
	enum rb_hold h;

	if (rb_policy_parse_hold(s, &h) == 0)
		return NULL;
	return "expected no or systemd";
}

/* The file itself is checked with the whole environment, later. */
static const char *check_file(const char *s)
{
	return *s ? NULL : "expected a file name";
}

static const struct rb_envopt rb_envopts[RB_OPT_N] = {
	[RB_OPT_LINGER] = {"linger", "REBIND_LINGER", check_linger, NULL},
	[RB_OPT_PORTS] = {"ports", "REBIND_PORTS", check_ports, NULL},
	[RB_OPT_NO_REUSEADDR] = {"no-reuseaddr", "REBIND_REUSEADDR", NULL,
				 "off"},
	[RB_OPT_LOG] = {"log", "REBIND_LOG", check_level, NULL},
	[RB_OPT_CONFIG] = {"config", "REBIND_CONFIG", check_file, NULL},
	[RB_OPT_HOLD] = {"hold", "REBIND_HOLD", check_hold, NULL},
};

static const struct option rb_longopts[] = {
	{"linger", required_argument, NULL, RB_OPT_BASE + RB_OPT_LINGER},
	{"ports", required_argument, NULL, RB_OPT_BASE + RB_OPT_PORTS},
	{"no-reuseaddr", no_argument, NULL,
	 RB_OPT_BASE + RB_OPT_NO_REUSEADDR},
	{"log", required_argument, NULL, RB_OPT_BASE + RB_OPT_LOG},
	{"config", required_argument, NULL, RB_OPT_BASE + RB_OPT_CONFIG},
	{"hold", required_argument, NULL, RB_OPT_BASE + RB_OPT_HOLD},
	{"purge-timewait", no_argument, NULL, RB_OPT_PURGE},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, 'V'},
	{NULL, 0, NULL, 0},
};

static const char rb_usage[] =
	"Usage: rebind [OPTION]... [--] COMMAND [ARG]...\n"
	"       rebind check [FILE]\n"
	"       rebind explain [--program NAME] [--port N] [-- COMMAND [ARG]...]\n"
	"       rebind status [--json] PORT...\n"
	"       rebind purge PORT...\n"
	"       rebind enable|disable [--user] UNIT...\n"
	"Run COMMAND with librebind.so preloaded, so that it can be restarted\n"
	"at once although its port is full of TIME_WAIT entries.  check reports\n"
	"the errors of a config file; explain shows the settings a program\n"
	"gets and where each comes from.  status tells whether a restart on\n"
	"PORT would bind now, and why not; purge destroys the TIME_WAIT\n"
	"entries on PORT (as root) so that it can.\n"
	"\n"
	"  --linger=MODE   off, abort or safe-abort (sets REBIND_LINGER)\n"
	"  --ports=SPEC    only these ports, e.g. 80,443,8000-8100\n"
	"                  (sets REBIND_PORTS)\n"
	"  --no-reuseaddr  leave SO_REUSEADDR alone (REBIND_REUSEADDR=off)\n"
	"  --log=LEVEL     off, error, warn, info or debug (sets REBIND_LOG)\n"
	"  --config=FILE   read FILE instead of " RB_CONF_PATH "\n"
	"                  (sets REBIND_CONFIG)\n"
	"  --hold=WHO      no or systemd: keep listeners in systemd's fd\n"
	"                  store across restarts (sets REBIND_HOLD)\n"
	"  --purge-timewait  first destroy the TIME_WAIT entries on the ports\n"
	"                  of --ports or REBIND_PORTS (as root; on failure,\n"
	"                  warn and run COMMAND anyway)\n"
	"  -h, --help      print this help and exit\n"
	"  -V, --version   print the version and exit\n"
	"\n"
	"Environment read by the library (inherited values are checked too):\n"
	"  REBIND_REUSEADDR=on|off               default on\n"
	"  REBIND_LINGER=off|abort|safe-abort    default off (abort is lossy)\n"
	"  REBIND_PORTS=SPEC                     default all ports\n"
	"  REBIND_LOG=off|error|warn|info|debug  default warn\n"
	"  REBIND_ENABLE=yes|no                  default yes\n"
	"  REBIND_OVERRIDE=no|yes                default no (the program wins)\n"
	"  REBIND_HOLD=no|systemd                default no\n"
	"  REBIND_CONFIG=FILE                    default " RB_CONF_PATH "\n"
	"\n"
	"Exit status: 125 if rebind fails, 126 if COMMAND cannot be run,\n"
	"127 if COMMAND is not found, else the status of COMMAND; check and\n"
	"explain: 0 good, 1 a bad setting, 2 bad arguments or unreadable\n"
	"file (explain: 127 if COMMAND is not found); status: 0 a restart\n"
	"would bind, 1 it would not, 2 error;\n"
	"purge: 0 done, 1 not permitted or not supported, 2 bad arguments.\n"
	"enable, disable: 0 done, 1 a unit refused or systemctl failed,\n"
	"2 bad arguments.\n"
	"See rebind(1) for the limits (the stopped instance must have run\n"
	"under rebind too; static and set-uid programs are not covered).\n";

static int print_stdout(const char *text)
{
	if (fputs(text, stdout) == EOF || fflush(stdout) == EOF) {
		(void)fprintf(stderr, "rebind: write error: %s\n",
			      strerror(errno));
		return RB_EXIT_OWN;
	}
	return 0;
}

/*
 * getopt's own messages are off (opterr = 0) so that every error is one
 * line in our format; arg is the word the bad option came from.
 */
static void option_error(int c, const char *arg)
{
	bool is_long = strncmp(arg, "--", 2) == 0;
	const char *what = "is not an option";
	const char shortopt[] = {'-', (char)optopt, '\0'};

	if (c == ':')
		what = "needs a value";
	else if (is_long)
		what = optopt ? "takes no value" : "is unknown or ambiguous";
	(void)fprintf(stderr, "rebind: '%.*s' %s (try 'rebind --help')\n",
		      is_long ? (int)strcspn(arg, "=") : 2,
		      is_long ? arg : shortopt, what);
}

static int take_envopt(struct rb_cli *cli, int id, const char *value)
{
	const struct rb_envopt *o = &rb_envopts[id];
	const char *why;

	if (!o->check) {
		cli->val[id] = o->fixed;
		return 0;
	}
	why = o->check(value);
	if (why) {
		(void)fprintf(stderr, "rebind: --%s=%s: %s\n", o->name, value,
			      why);
		return -1;
	}
	cli->val[id] = value;
	return 0;
}

/*
 * Returns the index of the first word after the options, or -1 after
 * saying why.  The leading '+' stops at that word, so COMMAND's own
 * options are never taken for ours.
 */
static int parse_options(int argc, char **argv, struct rb_cli *cli)
{
	opterr = 0;
	for (;;) {
		int at = optind;
		int c = getopt_long(argc, argv, "+:hV", rb_longopts, NULL);

		if (c == -1)
			return optind;
		if (c == 'h' || c == 'V') {
			cli->action = c == 'h' ? RB_ACT_HELP : RB_ACT_VERSION;
			return optind;
		}
		if (c >= RB_OPT_BASE && c < RB_OPT_BASE + RB_OPT_N) {
			if (take_envopt(cli, c - RB_OPT_BASE, optarg))
				return -1;
			continue;
		}
		if (c == RB_OPT_PURGE) {
			cli->purge = true;
			continue;
		}
		option_error(c, argv[at]);
		return -1;
	}
}

static int apply_envopts(const struct rb_cli *cli)
{
	for (int i = 0; i < RB_OPT_N; i++) {
		if (cli->val[i] && setenv(rb_envopts[i].env, cli->val[i], 1)) {
			(void)fprintf(stderr, "rebind: %s: %s\n",
				      rb_envopts[i].env, strerror(errno));
			return -1;
		}
	}
	return 0;
}

/*
 * The command may change directory before it starts the daemon (start
 * scripts often `cd` first), and the library reads REBIND_CONFIG only
 * then: a relative name is made absolute here, from where it was given.
 */
static int absolute_config(void)
{
	const char *path = getenv("REBIND_CONFIG");
	char cwd[PATH_MAX];
	char *abs;
	size_t n;
	int ret;

	if (!path || !*path || path[0] == '/')
		return 0;
	if (!getcwd(cwd, sizeof(cwd))) {
		(void)fprintf(stderr, "rebind: REBIND_CONFIG=%s is relative and "
				      "the current directory is unknown: %s\n",
			      path, strerror(errno));
		return -1;
	}
	n = strlen(cwd) + strlen(path) + 2;
	abs = malloc(n);
	if (!abs) {
		(void)fprintf(stderr, "rebind: %s\n", strerror(errno));
		return -1;
	}
	(void)snprintf(abs, n, "%s/%s", strcmp(cwd, "/") ? cwd : "", path);
	ret = setenv("REBIND_CONFIG", abs, 1);
	if (ret)
		(void)fprintf(stderr, "rebind: REBIND_CONFIG: %s\n",
			      strerror(errno));
	free(abs);
	return ret;
}

/*
 * The library would stand by on a bad inherited value or config file:
 * fail here instead.  Program sections need the program's names, which
 * only the library knows; the file's syntax is checked all the same.
 * *ports gets what REBIND_PORTS says, for --purge-timewait.
 */
static int check_environment(struct rb_portset *ports)
{
	struct rb_policy p;
	const struct rb_conf *conf;

	if (rb_cli_load(&p, &conf, NULL) != RB_EXIT_OK)
		return -1;
	*ports = p.env.ports;
	return 0;
}

static int check_purge(const struct rb_cli *cli)
{
	if (!cli->purge || getenv("REBIND_PORTS"))
		return 0;
	(void)fputs("rebind: --purge-timewait needs --ports or REBIND_PORTS "
		    "(the ports to purge)\n", stderr);
	return -1;
}

/*
 * A purge that fails (no CAP_NET_ADMIN) only means the start may wait
 * for TIME_WAIT as it would have without the option, so it warns and
 * COMMAND runs: a supervisor gets the daemon, or the daemon's own bind
 * error, not an extra way to fail.
 */
static void purge_timewait(const struct rb_portset *set)
{
	unsigned n;
	char why[256];

	if (rb_cli_purge_ports(set, &n, why, sizeof(why)))
		(void)fprintf(stderr, "rebind: --purge-timewait: %s; running "
				      "the command anyway\n", why);
}

static int cmd_exec(const struct rb_cli *cli, char **cmd)
{
	char lib[PATH_MAX];
	struct rb_portset ports;
	int err;

	if (apply_envopts(cli) || absolute_config() || check_purge(cli) ||
	    check_environment(&ports) ||
	    rb_cli_find_library(lib, sizeof(lib)) || rb_cli_set_preload(lib))
		return RB_EXIT_OWN;
	if (cli->purge)
		purge_timewait(&ports);
	rb_cli_warn_unpreloadable(cmd[0]);
	execvp(cmd[0], cmd);
	err = errno;
	(void)fprintf(stderr, "rebind: %s: %s\n", cmd[0], strerror(err));
	return err == ENOENT ? RB_EXIT_NOT_FOUND : RB_EXIT_CANNOT_RUN;
}

typedef int (*rb_sub_fn)(int argc, char **argv);

/*
 * A first word that names a subcommand runs it, unless "--" came before
 * it: `rebind -- check` runs a program called check.
 */
static rb_sub_fn subcommand(char **argv, int first)
{
	static const struct {
		const char *name;
		rb_sub_fn run;
	} subs[] = {
		{"check", rb_cli_check},
		{"explain", rb_cli_explain},
		{"status", rb_cli_status},
		{"purge", rb_cli_purge},
		{"enable", rb_cli_enable},
		{"disable", rb_cli_disable},
	};

	if (strcmp(argv[first - 1], "--") == 0)
		return NULL;
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		if (strcmp(argv[first], subs[i].name) == 0)
			return subs[i].run;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct rb_cli cli = {.action = RB_ACT_RUN};
	rb_sub_fn sub;
	int first = parse_options(argc, argv, &cli);

	if (first < 0)
		return RB_EXIT_OWN;
	if (cli.action == RB_ACT_HELP)
		return print_stdout(rb_usage);
	if (cli.action == RB_ACT_VERSION)
		return print_stdout("rebind " PACKAGE_VERSION "\n");
	if (first == argc) {
		(void)fputs("rebind: missing COMMAND (try 'rebind --help')\n",
			    stderr);
		return RB_EXIT_OWN;
	}
	sub = subcommand(argv, first);
	if (sub && cli.purge) {
		(void)fputs("rebind: --purge-timewait is for COMMAND, not for "
			    "subcommands\n", stderr);
		return RB_EXIT_USAGE;
	}
	if (sub)
		return apply_envopts(&cli) ? RB_EXIT_USAGE
					   : sub(argc - first, argv + first);
	return cmd_exec(&cli, argv + first);
}
