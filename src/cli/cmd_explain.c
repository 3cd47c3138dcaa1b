#include "config.h"

#include "cli/cli.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/conf.h"
#include "core/policy.h"
#include "core/progname.h"

struct explain {
	const char *program; /* --program NAME */
	unsigned port;	     /* --port N; 0: none */
	int argc;	     /* -- COMMAND ARG... */
	char **argv;
};

static const char usage[] =
	"Usage: rebind explain [--program NAME] [--port N] [-- COMMAND [ARG]...]\n"
	"Show what the library would do in a program (NAME, or the names\n"
	"COMMAND would run under) for sockets on port N, and where each\n"
	"setting comes from.\n";

static int parse_port(const char *s, unsigned *out)
{
	if (rb_cli_port(s, out) == 0)
		return 0;
	(void)fprintf(stderr, "rebind: --port=%s: expected one port "
			      "(1-65535)\n", s);
	return -1;
}

static int parse(int argc, char **argv, struct explain *e)
{
	static const struct option opts[] = {
		{"program", required_argument, NULL, 'p'},
		{"port", required_argument, NULL, 'P'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		if (c == 'h')
			return 1;
		if (c == 'p')
			e->program = optarg;
		else if (c != 'P' || parse_port(optarg, &e->port))
			return -1;
	}
	e->argc = argc - optind;
	e->argv = argv + optind;
	return 0;
}

/* Room for the interpreter, its argument, the script and some args. */
#define RB_SCRIPT_ARGS 64

struct rb_cmdline {
	char line[256]; /* the #! line, split in place */
	char script[PATH_MAX];
	char *argv[RB_SCRIPT_ARGS];
	int argc;
};

/*
 * A script started through its #! line runs the interpreter with the
 * script's path as an argument; `#!/usr/bin/env python3` runs python3
 * from PATH.  Rewrites c->argv as the interpreter will see it; false
 * when path is no such script.
 */
static bool shebang(const char *path, char **argv, int argc,
		    struct rb_cmdline *c)
{
	FILE *f = fopen(path, "re");
	char *interp, *arg;

	if (!f)
		return false;
	c->argc = fgets(c->line, sizeof(c->line), f) ? 1 : 0;
	(void)fclose(f);
	if (!c->argc || strncmp(c->line, "#!", 2) != 0)
		return false;
	interp = strtok(c->line + 2, " \t\n");
	arg = interp ? strtok(NULL, "\n") : NULL;
	if (!interp)
		return false;
	c->argc = 0;
	if (!(arg && strcmp(strrchr(interp, '/') ? strrchr(interp, '/') + 1
						 : interp, "env") == 0))
		c->argv[c->argc++] = interp;
	if (arg)
		c->argv[c->argc++] = arg + strspn(arg, " \t");
	(void)snprintf(c->script, sizeof(c->script), "%s", path);
	c->argv[c->argc++] = c->script;
	for (int i = 1; i < argc && c->argc < RB_SCRIPT_ARGS - 1; i++)
		c->argv[c->argc++] = argv[i];
	c->argv[c->argc] = NULL;
	return true;
}

/* The names the library would see in COMMAND, or the one given. */
static void find_names(const struct explain *e, struct rb_names *names,
		       char *exe, struct rb_cmdline *c)
{
	char path[PATH_MAX];
	int argc = e->argc;
	char **argv = e->argv;
	bool found;

	names->n = 0;
	if (e->program) {
		names->n = 1;
		names->name[0] = e->program;
		return;
	}
	if (argc == 0)
		return;
	found = rb_cli_resolve(argv[0], path, sizeof(path)) == 0;
	/* A script runs as its #! line says: the names come from that. */
	if (found && shebang(path, argv, argc, c)) {
		argc = c->argc;
		argv = c->argv;
		found = rb_cli_resolve(argv[0], path, sizeof(path)) == 0;
	}
	/* /proc/self/exe names the file with symlinks resolved. */
	rb_names_find(names, found && realpath(path, exe) ? exe : NULL, argc,
		      argv);
}

static void print_header(const struct rb_conf *conf,
			 const struct rb_names *names, unsigned port)
{
	if (conf)
		(void)printf("config file:   %s\n", conf->path);
	else /* a named file must exist: this is the system one */
		(void)printf("config file:   none (%s does not exist)\n",
			     RB_CONF_PATH);
	(void)printf("program names:");
	for (unsigned i = 0; i < names->n; i++)
		(void)printf("%s %s", i ? "," : "", names->name[i]);
	(void)printf("%s\n", names->n ? "" : " none given ([program] "
					     "sections do not apply)");
	if (port)
		(void)printf("port:          %u\n", port);
	else
		(void)printf("port:          none given ([port] sections do "
			     "not apply)\n");
}

static void print_key(const struct rb_policy *p, enum rb_key key,
		      unsigned port)
{
	enum rb_from from;
	unsigned line;
	const struct rb_settings *s =
		rb_policy_source(p, key, port, &from, &line);
	char value[512];

	rb_settings_format(s, key, value, sizeof(value));
	(void)printf("%-10s %-12s ", rb_key_name(key), value);
	if (from == RB_FROM_ENV)
		(void)printf("env %s\n", rb_key_env(key));
	else if (from == RB_FROM_FILE)
		(void)printf("%s:%u\n", p->conf->path, line);
	else
		(void)printf("default\n");
}

static void print_effect(const struct rb_policy *p, unsigned port)
{
	struct rb_sockpolicy sp = {p->reuseaddr, p->linger, p->override};
	enum rb_from from;
	unsigned line;
	bool whole = rb_policy_source(p, RB_KEY_ENABLE, 0, &from, &line)->enable;
	bool any = p->enabled && (port ? rb_policy_for_port(p, port, &sp)
				       : whole && (sp.reuseaddr ||
						   sp.linger != RB_LINGER_OFF));

	if (!any) {
		(void)printf("effect:        none%s\n",
			     port	     ? " on this port"
			     : p->enabled ? " except on ports that sections enable "
					   "(try --port N)"
					 : "");
		return;
	}
	(void)printf("effect:        %s%s%s%s%s\n",
		     sp.reuseaddr ? "SO_REUSEADDR when listening" : "",
		     sp.reuseaddr && sp.linger ? "; " : "",
		     sp.linger == RB_LINGER_ABORT ? "linger {1,0} (abort)" : "",
		     sp.linger == RB_LINGER_SAFE_ABORT ? "safe-abort on close"
						       : "",
		     sp.override ? "; over the program's own values" : "");
	if ((port ? rb_policy_hold_at(p, port) : p->hold) == RB_HOLD_SYSTEMD)
		(void)printf("hold:          listeners go to systemd's fd store "
			     "(with NOTIFY_SOCKET)\n");
}

int rb_cli_explain(int argc, char **argv)
{
	struct explain e = {NULL, 0, 0, NULL};
	struct rb_policy p;
	struct rb_names names;
	const struct rb_conf *conf;
	static struct rb_cmdline cmdline;
	char exe[PATH_MAX];
	int ret = parse(argc, argv, &e);

	if (ret != 0) {
		(void)fputs(usage, ret > 0 ? stdout : stderr);
		return ret > 0 ? RB_EXIT_OK : RB_EXIT_USAGE;
	}
	find_names(&e, &names, exe, &cmdline);
	ret = rb_cli_load(&p, &conf, &names);
	if (ret != RB_EXIT_OK) {
		(void)fprintf(stderr, "rebind: the library would do nothing\n");
		return ret;
	}
	print_header(conf, &names, e.port);
	for (int k = 0; k < RB_KEY_N; k++)
		print_key(&p, (enum rb_key)k, e.port);
	print_effect(&p, e.port);
	return RB_EXIT_OK;
}
