#include "config.h"

#include "cli/cli.h"

#include <errno.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli/sockdiag.h"
#include "core/policy.h"

/* The TIME_WAIT entries to destroy, collected before any is. */
struct found {
	const struct rb_portset *set;
	struct rb_diag_sock *tw;
	size_t n;
	size_t cap;
	bool nomem;
};

static const char usage[] =
	"Usage: rebind purge PORT...\n"
	"Destroy the TIME_WAIT entries whose local port is PORT (or in a\n"
	"range such as 8000-8100), and nothing else, so that a restart can\n"
	"bind there at once.  Needs CAP_NET_ADMIN.\n"
	"Exit status: 0 done, 1 not permitted or not supported, 2 bad "
	"arguments.\n";

static void collect(void *ctx, const struct rb_diag_sock *s)
{
	struct found *f = ctx;

	/* The dump asks for TIME_WAIT only; nothing else may slip through. */
	if (s->state != TCP_TIME_WAIT || f->nomem ||
	    !rb_policy_port_in(f->set, rb_diag_port(s)))
		return;
	if (f->n == f->cap) {
		size_t cap = f->cap ? 2 * f->cap : 64;
		struct rb_diag_sock *more = realloc(f->tw, cap * sizeof(*more));

		if (!more) {
			f->nomem = true;
			return;
		}
		f->tw = more;
		f->cap = cap;
	}
	f->tw[f->n++] = *s;
}

static int collect_all(int nl, struct found *f)
{
	static const int families[] = {AF_INET, AF_INET6};

	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
		int ret = rb_diag_dump(nl, families[i], 1U << TCP_TIME_WAIT,
				       collect, f);

		if (ret)
			return ret;
	}
	return f->nomem ? -ENOMEM : 0;
}

static int destroy_all(int nl, const struct found *f, unsigned *done)
{
	for (size_t i = 0; i < f->n; i++) {
		int ret = rb_diag_destroy(nl, &f->tw[i]);

		/* ENOENT: it expired since the dump, which is as good. */
		if (ret == 0)
			(*done)++;
		else if (ret != -ENOENT)
			return ret;
	}
	return 0;
}

static void explain(int err, char *why, size_t len)
{
	if (err == EPERM || err == EACCES)
		(void)snprintf(why, len, "destroying TIME_WAIT entries needs "
					 "CAP_NET_ADMIN (run as root)");
	else if (err == EOPNOTSUPP)
		(void)snprintf(why, len, "this kernel cannot destroy TCP "
					 "sockets (built without "
					 "CONFIG_INET_DIAG_DESTROY)");
	else
		(void)snprintf(why, len, "sock_diag: %s", strerror(err));
}

int rb_cli_purge_ports(const struct rb_portset *set, unsigned *destroyed,
		       char *why, size_t len)
{
	struct found f = {set, NULL, 0, 0, false};
	int nl;
	int ret;

	*destroyed = 0;
	/* An empty set means every port to the policy: never here. */
	if (set->n == 0) {
		(void)snprintf(why, len, "purge needs explicit ports, not all");
		return -1;
	}
	nl = rb_diag_open();
	ret = nl < 0 ? nl : collect_all(nl, &f);
	if (ret == 0)
		ret = destroy_all(nl, &f, destroyed);
	if (nl >= 0)
		(void)close(nl);
	free(f.tw);
	if (ret)
		explain(-ret, why, len);
	return ret ? -1 : 0;
}

static int parse_ports(int n, char **args, struct rb_portset *sets)
{
	for (int i = 0; i < n; i++) {
		const char *why = NULL;

		if (args[i][0] == '-' ||
		    rb_policy_parse_ports(args[i], &sets[i], &why)) {
			(void)fprintf(stderr, "rebind: purge: '%s': %s\n",
				      args[i], why ? why : "expected a port");
			return -1;
		}
		if (sets[i].n == 0) {
			(void)fprintf(stderr, "rebind: purge: '%s': purge needs "
					      "explicit ports, e.g. 8080 or "
					      "8000-8100\n", args[i]);
			return -1;
		}
	}
	return 0;
}

/* rebind purge PORT...: one line per PORT, or one line on the failure. */
int rb_cli_purge(int argc, char **argv)
{
	struct rb_portset *sets;
	int ret = RB_EXIT_OK;

	if (argc == 2 &&
	    (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0))
		return fputs(usage, stdout) == EOF ? RB_EXIT_USAGE : RB_EXIT_OK;
	/* "--" ends the options, as for every subcommand. */
	if (argc >= 2 && strcmp(argv[1], "--") == 0) {
		argv[1] = argv[0];
		argc--;
		argv++;
	}
	if (argc < 2) {
		(void)fputs("rebind: usage: rebind purge PORT...\n", stderr);
		return RB_EXIT_USAGE;
	}
	sets = calloc((size_t)argc - 1, sizeof(*sets));
	if (!sets) {
		(void)fprintf(stderr, "rebind: %s\n", strerror(errno));
		return RB_EXIT_USAGE;
	}
	if (parse_ports(argc - 1, argv + 1, sets)) {
		free(sets);
		return RB_EXIT_USAGE;
	}
	for (int i = 0; i < argc - 1 && ret == RB_EXIT_OK; i++) {
		char why[256];
		unsigned n;

		if (rb_cli_purge_ports(&sets[i], &n, why, sizeof(why))) {
			(void)fprintf(stderr, "rebind: purge: %s\n", why);
			ret = RB_EXIT_INVALID;
		} else {
			(void)printf("%s: %u TIME_WAIT entr%s destroyed\n",
				     argv[i + 1], n, n == 1 ? "y" : "ies");
		}
	}
	free(sets);
	return ret;
}
