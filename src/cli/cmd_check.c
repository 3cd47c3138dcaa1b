#include "config.h"

#include "cli/cli.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/conf.h"

/* Large: static rather than on the stack. */
static struct rb_conf conf;

static void report(void *ctx, const char *msg)
{
	unsigned *n = ctx;

	(*n)++;
	(void)printf("%s\n", msg);
}

/*
 * The FILE argument, if any, into *path ("--" ends the options, as for
 * every subcommand); -1 after the usage line.
 */
static int file_arg(int argc, char **argv, const char **path, bool *named)
{
	bool dashes = argc > 1 && strcmp(argv[1], "--") == 0;

	if (dashes) {
		argc--;
		argv++;
	}
	if (argc > 2 || (argc == 2 && (argv[1][0] == '\0' ||
				       (!dashes && argv[1][0] == '-' &&
					argv[1][1])))) {
		(void)fprintf(stderr, "rebind: usage: rebind check [FILE]\n");
		return -1;
	}
	if (argc == 2) {
		*path = argv[1];
		*named = true;
	}
	return 0;
}

/*
 * rebind check [FILE]: every error of FILE (default: the file the
 * library would read) on stdout, one line each as PATH:LINE: what.
 */
int rb_cli_check(int argc, char **argv)
{
	bool named;
	const char *path = rb_cli_conf_path(&named);
	unsigned errors = 0;

	if (argc == 2 && (strcmp(argv[1], "-h") == 0 ||
			  strcmp(argv[1], "--help") == 0)) {
		(void)printf("Usage: rebind check [FILE]\n"
			     "Report every error in FILE (default: %s).\n",
			     path);
		return RB_EXIT_OK;
	}
	if (file_arg(argc, argv, &path, &named))
		return RB_EXIT_USAGE;
	switch (rb_conf_load(&conf, path, named, report, &errors)) {
	case RB_CONF_OK:
		(void)printf("%s: OK, %u section%s\n", path, conf.n - 1,
			     conf.n == 2 ? "" : "s");
		return RB_EXIT_OK;
	case RB_CONF_ABSENT:
		(void)printf("%s: no such file: the library uses its "
			     "defaults\n", path);
		return RB_EXIT_OK;
	case RB_CONF_UNREADABLE:
		return RB_EXIT_USAGE;
	default:
		(void)printf("%s: %u error%s\n", path, errors,
			     errors == 1 ? "" : "s");
		return RB_EXIT_INVALID;
	}
}
