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

/* One line saying what is wrong with the option in word arg. */
static void bad_option(int c, const char *arg)
{
	(void)fprintf(stderr, "rebind: explain: '%.*s' %s\n",
		      (int)strcspn(arg, "="), arg,
		      c == ':' ? "needs a value" : "is not an option here");
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
	int at;

	optind = 0;
	opterr = 0;
	while (at = optind ? optind : 1,
	       (c = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
		if (c == 'h')
			return 1;
		if (c == 'p') {
			e->program = optarg;
		} else if (c != 'P') {
			bad_option(c, argv[at]);
			return -1;
		} else if (parse_port(optarg, &e->port)) {
			return -1;
		}
	}
	e->argc = argc - optind;
	e->argv = argv + optind;
	return 0;
}

/* Room for the interpreter, its argument, the script and some args. */
#define RB_SCRIPT_ARGS 64
/* The kernel follows at most this many #! lines in a row. */
#define RB_SHEBANG_DEPTH 4

/* COMMAND as it will finally run, followed through #! lines and env. */
struct rb_cmdline {
	char line[RB_SHEBANG_DEPTH][256]; /* the #! lines, split in place */
	char script[RB_SHEBANG_DEPTH][PATH_MAX];
	char *argv[RB_SCRIPT_ARGS];
	int argc;
	char path[PATH_MAX];	/* the file argv[0] runs */
	const char *wrapper;	/* a script that runs the program in turn */
	const char *missing;	/* the word no file was found for */
};

/* Replace c->argv[at] by the n words (none: remove it). */
static void replace(struct rb_cmdline *c, int at, char *const *words, int n)
{
	int tail = c->argc - at - 1;

	if (at + n > RB_SCRIPT_ARGS - 1)
		n = RB_SCRIPT_ARGS - 1 - at;
	if (at + n + tail > RB_SCRIPT_ARGS - 1)
		tail = RB_SCRIPT_ARGS - 1 - at - n;
	memmove(&c->argv[at + n], &c->argv[at + 1],
		(size_t)tail * sizeof(c->argv[0]));
	memcpy(&c->argv[at], words, (size_t)n * sizeof(words[0]));
	c->argc = at + n + tail;
	c->argv[c->argc] = NULL;
}

/* Replace c->argv[at] by the blank-separated words of s (written in). */
static void splice_words(struct rb_cmdline *c, int at, char *s)
{
	char *words[RB_SCRIPT_ARGS];
	int n = 0;
	char *save = NULL;

	for (char *w = strtok_r(s, " \t", &save); w && n < RB_SCRIPT_ARGS;
	     w = strtok_r(NULL, " \t", &save))
		words[n++] = w;
	replace(c, at, words, n);
}

/* Is a an option of env(1) that takes the next word as its value? */
static bool env_takes_value(const char *a)
{
	return strcmp(a, "-u") == 0 || strcmp(a, "-C") == 0 ||
	       strcmp(a, "--unset") == 0 || strcmp(a, "--chdir") == 0;
}

/*
 * c->argv runs env(1): make it the command env runs, past env's options
 * and VAR=VALUE words.  -S STRING (one word "-S python3 -u" as a #! line
 * passes it, or two) is split at blanks and read as more arguments, as
 * env does; quotes and escapes in STRING are not interpreted.
 */
static void env_command(struct rb_cmdline *c)
{
	int i = 1;

	while (i < c->argc) {
		char *a = c->argv[i];

		if (strncmp(a, "-S", 2) == 0) {
			splice_words(c, i, a + 2);
			if (a[2] == '\0' && i < c->argc)
				splice_words(c, i, c->argv[i]);
		} else if (strcmp(a, "--") == 0) {
			i++;
			break;
		} else if (env_takes_value(a)) {
			i += 2;
		} else if (a[0] == '-' || (a[0] != '=' && strchr(a, '='))) {
			i++;
		} else {
			break;
		}
	}
	if (i > c->argc)
		i = c->argc;
	c->argc -= i;
	memmove(c->argv, c->argv + i, (size_t)(c->argc + 1) * sizeof(c->argv[0]));
}

/*
 * Reads the #! line of c->path into c->line[depth]: the interpreter and
 * its one argument (the rest of the line, blanks trimmed, as the kernel
 * passes it; NULL when none).  False when the file is no such script.
 */
static bool read_shebang(struct rb_cmdline *c, int depth, char **interp,
			 char **arg)
{
	char *line = c->line[depth];
	FILE *f = fopen(c->path, "re");
	bool got;
	size_t n;

	if (!f)
		return false;
	got = fgets(line, sizeof(c->line[0]), f) && strncmp(line, "#!", 2) == 0;
	(void)fclose(f);
	if (!got)
		return false;
	n = strcspn(line, "\n");
	while (n > 2 && (line[n - 1] == ' ' || line[n - 1] == '\t'))
		n--;
	line[n] = '\0';
	*interp = line + 2 + strspn(line + 2, " \t");
	n = strcspn(*interp, " \t");
	*arg = (*interp)[n] ? *interp + n + strspn(*interp + n, " \t") : NULL;
	(*interp)[n] = '\0';
	return **interp != '\0';
}

/* c->argv as the kernel runs the script c->path: interp [arg] script ARG... */
static void run_script(struct rb_cmdline *c, int depth, char *interp,
		       char *arg)
{
	char *front[3];
	int n = 0;

	(void)snprintf(c->script[depth], sizeof(c->script[0]), "%s", c->path);
	front[n++] = interp;
	if (arg)
		front[n++] = arg;
	front[n++] = c->script[depth];
	replace(c, 0, front, n);
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/*
 * A shell script named like another interpreter (pyenv's "python3" is a
 * bash script) runs that interpreter in turn, under the same arguments:
 * the daemon is that program, not the shell.
 */
static bool is_shim(const char *script, const struct rb_cmdline *c)
{
	return c->argc > 0 &&
	       rb_names_interpreter(script) == RB_INTERP_OTHER &&
	       rb_names_interpreter(c->argv[0]) == RB_INTERP_SHELL;
}

/*
 * Follows COMMAND (in c->argv) as execvp, the kernel and env(1) would,
 * to the program that finally runs: its argv in c->argv, its file in
 * c->path (unknown past a shim: c->wrapper names the shim then).
 * -1 with c->missing when no file would run.
 */
static int follow(struct rb_cmdline *c)
{
	char *saved[RB_SCRIPT_ARGS];
	char *interp, *arg;

	for (int depth = 0;; depth++) {
		int saved_argc;

		if (c->argc == 0 ||
		    rb_cli_resolve(c->argv[0], c->path, sizeof(c->path))) {
			c->missing = c->argc ? c->argv[0] : "env";
			return -1;
		}
		if (depth == RB_SHEBANG_DEPTH ||
		    !read_shebang(c, depth, &interp, &arg))
			return 0;
		memcpy(saved, c->argv, sizeof(saved));
		saved_argc = c->argc;
		run_script(c, depth, interp, arg);
		if (strcmp(base_name(interp), "env") == 0)
			env_command(c);
		if (is_shim(c->script[depth], c)) {
			memcpy(c->argv, saved, sizeof(saved));
			c->argc = saved_argc;
			c->wrapper = c->script[depth];
			return 0;
		}
	}
}

/*
 * The names the library would see in COMMAND, or the one given; -1
 * after saying so when COMMAND would not run.
 */
static int find_names(const struct explain *e, struct rb_names *names,
		      char *exe, struct rb_cmdline *c)
{
	names->n = 0;
	if (e->program) {
		names->n = 1;
		names->name[0] = e->program;
		return 0;
	}
	if (e->argc == 0)
		return 0;
	c->argc = e->argc < RB_SCRIPT_ARGS ? e->argc : RB_SCRIPT_ARGS - 1;
	memcpy(c->argv, e->argv, (size_t)c->argc * sizeof(c->argv[0]));
	c->argv[c->argc] = NULL;
	if (follow(c)) {
		(void)fprintf(stderr, "rebind: explain: %s: command not found\n",
			      c->missing);
		return -1;
	}
	/* /proc/self/exe names the file with symlinks resolved. */
	rb_names_find(names, !c->wrapper && realpath(c->path, exe) ? exe : NULL,
		      c->argc, c->argv);
	return 0;
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
	if (find_names(&e, &names, exe, &cmdline))
		return RB_EXIT_NOT_FOUND;
	ret = rb_cli_load(&p, &conf, &names);
	if (ret != RB_EXIT_OK) {
		(void)fprintf(stderr, "rebind: the library would do nothing\n");
		return ret;
	}
	print_header(conf, &names, e.port);
	if (cmdline.wrapper)
		(void)printf("note:          %s is a script that runs %s in "
			     "turn: the names are that program's\n",
			     cmdline.wrapper, cmdline.argv[0]);
	for (int k = 0; k < RB_KEY_N; k++)
		print_key(&p, (enum rb_key)k, e.port);
	print_effect(&p, e.port);
	return RB_EXIT_OK;
}
