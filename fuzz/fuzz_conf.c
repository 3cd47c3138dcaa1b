/*
 * libFuzzer target for rebind.conf: the bytes are a config file.  Parse
 * it, build a policy from it for a few program names, and ask that
 * policy about a few ports, as the library and `rebind explain` do.
 * Besides what the sanitizers catch, it checks what conf.h and
 * policy.h promise: one report per error, each a single line; at most
 * RB_SECTIONS_MAX sections; port sets within 1-65535, in order.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/conf.h"
#include "core/policy.h"
#include "core/progname.h"
#include "fuzz_check.h"

static const unsigned ports[] = {1, 22, 80, 443, 8000, 8080, 65535};

static void report(void *ctx, const char *msg)
{
	unsigned *n = ctx;

	(*n)++;
	CHECK(strchr(msg, '\n') == NULL);
	CHECK(strncmp(msg, "fuzz.conf:", 10) == 0);
}

static const char *no_env(const char *name)
{
	(void)name;
	return NULL;
}

static void check_conf(const struct rb_conf *c)
{
	CHECK(c->n >= 1 && c->n <= RB_SECTIONS_MAX);
	CHECK(c->sec[0].kind == RB_SEC_GLOBAL);
	for (unsigned i = 0; i < c->n; i++) {
		const struct rb_section *s = &c->sec[i];

		CHECK(memchr(s->program, '\0', sizeof(s->program)) != NULL);
		check_portset(&s->ports);
		check_portset(&s->s.ports);
		CHECK((s->s.set >> RB_KEY_N) == 0);
	}
}

/* Every key's value and source, as `rebind explain` prints them. */
static void explain(const struct rb_policy *p, unsigned port)
{
	for (int k = 0; k < RB_KEY_N; k++) {
		enum rb_from from;
		unsigned line;
		char buf[RB_ERR_MAX * 4];
		const struct rb_settings *s =
		        rb_policy_source(p, (enum rb_key)k, port, &from, &line);

		CHECK(s != NULL);
		rb_settings_format(s, (enum rb_key)k, buf, sizeof(buf));
		CHECK(memchr(buf, '\0', sizeof(buf)) != NULL);
	}
}

static void build(const struct rb_conf *c, const struct rb_names *names)
{
	struct rb_policy p;
	struct rb_sockpolicy sp;
	char err[RB_ERR_MAX];

	CHECK(rb_policy_build(&p, no_env, c, names, err, sizeof(err)) == 0);
	check_portset(&p.ports);
	explain(&p, 0);
	for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
		(void)rb_policy_for_port(&p, ports[i], &sp);
		explain(&p, ports[i]);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rb_conf conf;
	static char *const argv[] = {"python3", "pyd.py", "--port", "80", NULL};
	struct rb_names names;
	unsigned reported = 0;
	unsigned errors;
	/* An exact copy: a read past the end is a heap overflow for ASan. */
	char *text = malloc(size ? size : 1);

	if (!text)
		return 0;
	if (size)
		memcpy(text, data, size);
	errors = rb_conf_parse(&conf, "fuzz.conf", text, size, report,
	                       &reported);
	CHECK(errors == reported);
	check_conf(&conf);
	build(&conf, NULL);
	rb_names_find(&names, "/usr/bin/legacy-server", 1, argv);
	build(&conf, &names);
	rb_names_find(&names, "/usr/bin/python3.11", 4, argv);
	build(&conf, &names);
	free(text);
	return 0;
}
