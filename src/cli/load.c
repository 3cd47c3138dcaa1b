#include "config.h"

#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>

#include "core/conf.h"
#include "core/policy.h"

/* Large: static rather than on the stack. */
static struct rb_conf conf;

static const char *env_get(const char *name)
{
	return getenv(name);
}

const char *rb_cli_conf_path(bool *named)
{
	return rb_conf_path(env_get, named);
}

static void report(void *ctx, const char *msg)
{
	(void)ctx;
	(void)fprintf(stderr, "rebind: %s\n", msg);
}

static int load_file(const struct rb_conf **out)
{
	bool named;
	const char *path = rb_cli_conf_path(&named);

	*out = NULL;
	switch (rb_conf_load(&conf, path, named, report, NULL)) {
	case RB_CONF_OK:
		*out = &conf;
		return RB_EXIT_OK;
	case RB_CONF_ABSENT:
		return RB_EXIT_OK;
	case RB_CONF_UNREADABLE:
		return RB_EXIT_USAGE;
	default:
		return RB_EXIT_INVALID;
	}
}

int rb_cli_load(struct rb_policy *p, const struct rb_conf **out,
		const struct rb_names *names)
{
	char err[RB_ERR_MAX];
	int ret = load_file(out);

	if (ret != RB_EXIT_OK)
		return ret;
	if (rb_policy_build(p, env_get, *out, names, err, sizeof(err)) == 0)
		return RB_EXIT_OK;
	(void)fprintf(stderr, "rebind: %s\n", err);
	return RB_EXIT_INVALID;
}

int rb_cli_port(const char *s, unsigned *out)
{
	struct rb_portset set;

	if (rb_policy_parse_ports(s, &set, NULL) || set.n != 1 ||
	    set.r[0].lo != set.r[0].hi)
		return -1;
	*out = set.r[0].lo;
	return 0;
}
