/*
 * libFuzzer target for the environment: the bytes become REBIND_*
 * values, fed to rb_policy_build() through an injected getter, and are
 * also given whole to each value parser and to the program-name code.
 *
 * Input: byte 0 says which variables are set (bit i: key i), byte 1 the
 * size of the error buffer (0-249 as is, 250-255: RB_ERR_MAX and up),
 * the rest is the
 * values in key order, separated by NUL bytes.  Every string lives in a
 * heap block of exactly its size, so ASan sees a read past its end.
 *
 * Checked besides memory errors (policy.h): a bad value returns -1,
 * leaves the policy disabled and writes one line into err within
 * errlen; a good one sets its field; a failed value parser leaves *out
 * untouched; ports print in a form that parses back to the same set.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/policy.h"
#include "core/progname.h"
#include "fuzz_check.h"

/* rb_policy_build's getter takes no context: the values are here. */
static char *values[RB_KEY_N];

static const char *get(const char *name)
{
	for (int k = 0; k < RB_KEY_N; k++) {
		if (strcmp(name, rb_key_env((enum rb_key)k)) == 0)
			return values[k];
	}
	/* The core asks for REBIND_* keys only; nothing else. */
	CHECK(!"rb_policy_build asked for an unknown variable");
	return NULL;
}

static char *dup_span(const uint8_t *b, size_t n)
{
	char *s = malloc(n + 1);

	if (!s)
		abort();
	memcpy(s, b, n);
	s[n] = '\0';
	return s;
}

static bool valid(enum rb_key k, const char *v)
{
	struct rb_settings s;
	const char *why = NULL;

	memset(&s, 0, sizeof(s));
	if (rb_settings_parse(&s, k, v, &why) == 0) {
		CHECK(s.set == 1U << k);
		return true;
	}
	CHECK(why != NULL && s.set == 0);
	return false;
}

static void check_err(const char *err, size_t errlen, bool bad)
{
	size_t n;

	if (errlen == 0 || !bad)
		return;
	n = strnlen(err, errlen);
	CHECK(n < errlen);
	for (size_t i = 0; i < n; i++)
		CHECK((unsigned char)err[i] >= 0x20 && err[i] != 0x7f);
	CHECK(strncmp(err, "REBIND_", n < 7 ? n : 7) == 0);
}

static void build(size_t errlen)
{
	struct rb_policy p;
	char *err = malloc(errlen ? errlen : 1);
	bool bad = false;
	int ret;

	if (!err)
		abort();
	for (int k = 0; k < RB_KEY_N; k++)
		bad = bad || (values[k] && !valid((enum rb_key)k, values[k]));
	ret = rb_policy_build(&p, get, NULL, NULL, err, errlen);
	CHECK(ret == (bad ? -1 : 0));
	check_err(err, errlen, bad);
	check_portset(&p.ports);
	if (bad) {
		CHECK(!p.enabled);
	} else {
		for (int k = 0; k < RB_KEY_N; k++)
			CHECK(!values[k] == !(p.env.set & (1U << k)));
		if (values[RB_KEY_ENABLE])
			CHECK(p.enabled ==
			      (strcmp(values[RB_KEY_ENABLE], "yes") == 0));
	}
	free(err);
}

/* Each value parser on s: success, or failure with *out untouched. */
static void parsers(const char *s)
{
	bool b = true;
	enum rb_linger l = (enum rb_linger)77;
	enum rb_level v = (enum rb_level)77;
	struct rb_portset set, again;
	const char *why = NULL;
	char buf[RB_PORTSET_MAX * 16];

	if (rb_policy_parse_onoff(s, &b))
		CHECK(b == true);
	b = true;
	if (rb_policy_parse_yesno(s, &b))
		CHECK(b == true);
	if (rb_policy_parse_linger(s, &l))
		CHECK(l == 77);
	else
		CHECK(strcmp(rb_policy_linger_name(l), s) == 0);
	if (rb_policy_parse_level(s, &v))
		CHECK(v == 77);
	else
		CHECK(strcmp(rb_policy_level_name(v), s) == 0);
	memset(&set, 0xa5, sizeof(set));
	memcpy(&again, &set, sizeof(set));
	if (rb_policy_parse_ports(s, &set, &why)) {
		CHECK(why != NULL);
		CHECK(memcmp(&set, &again, sizeof(set)) == 0);
		return;
	}
	check_portset(&set);
	struct rb_settings st = {.ports = set};
	rb_settings_format(&st, RB_KEY_PORTS, buf, sizeof(buf));
	CHECK(rb_policy_parse_ports(buf, &again, NULL) == 0);
	CHECK(again.n == set.n);
	CHECK(memcmp(again.r, set.r, set.n * sizeof(set.r[0])) == 0);
}

/* The strings as an argv, for the names [program NAME] matches. */
static void names(char *const *argv, int argc)
{
	struct rb_names n;

	rb_names_find(&n, argc ? argv[0] : NULL, argc, argv);
	CHECK(n.n <= RB_NAMES_MAX);
	for (int i = 0; i < argc; i++)
		(void)rb_names_match(&n, argv[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *argv[RB_KEY_N + 1] = {NULL};
	const uint8_t *p, *end = data + size;
	unsigned mask;
	size_t errlen;

	if (size < 2)
		return 0;
	mask = data[0];
	errlen = data[1] < 250 ? data[1] : RB_ERR_MAX + (data[1] - 250U) * 16;
	p = data + 2;
	/* Every value is also an argument; the set ones are variables too. */
	for (int k = 0; k < RB_KEY_N; k++) {
		const uint8_t *nul = memchr(p, '\0', (size_t)(end - p));
		const uint8_t *e = nul ? nul : end;

		argv[k] = dup_span(p, (size_t)(e - p));
		values[k] = (mask & (1U << k)) ? argv[k] : NULL;
		p = nul ? nul + 1 : end;
	}
	build(errlen);
	for (int k = 0; k < RB_KEY_N; k++)
		parsers(argv[k]);
	names(argv, RB_KEY_N);
	for (int k = 0; k < RB_KEY_N; k++) {
		free(argv[k]);
		values[k] = NULL;
	}
	return 0;
}
