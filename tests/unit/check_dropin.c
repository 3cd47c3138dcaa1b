#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dropin.h"
#include "suite.h"

#define LIB  "/usr/lib/rebind/librebind.so"
#define ASAN "/usr/lib/gcc/libasan.so.8"
#define HEAD "# Written by \"rebind enable\"; \"rebind disable\" removes it.  " \
	     "See rebind(1).\n"
#define MERGED "# LD_PRELOAD keeps the unit's own entries.\n"
#define HOLD "Environment=REBIND_HOLD=systemd\n"
/* The drop-in of a unit without LD_PRELOAD, up to FileDescriptorStoreMax. */
#define PLAIN HEAD "[Service]\nEnvironment=LD_PRELOAD=" LIB "\n" HOLD

/* want NULL: the call refused, saying why; else it wrote want. */
static void expect(int ret, const char *why, const char *out,
		   const char *want)
{
	if (!want) {
		ck_assert_int_eq(ret, -1);
		ck_assert_ptr_nonnull(why);
		return;
	}
	ck_assert_int_eq(ret, 0);
	ck_assert_str_eq(out, want);
}

/* join_preload ----------------------------------------------------------- */

struct join_row {
	const char *runtime;
	const char *old; /* the unit's LD_PRELOAD; NULL: unset */
	const char *want;
};

static const struct join_row joins[] = {
	{"", NULL, LIB},
	{"", "", LIB},
	{"", " : ", LIB},
	{"", "libm.so.6", LIB ":libm.so.6"},
	/* The loader also splits on blanks; the result uses ':' only. */
	{"", "/a.so  /b.so", LIB ":/a.so:/b.so"},
	/* Already there: moved first, never twice (enable is idempotent). */
	{"", "/a.so:" LIB, LIB ":/a.so"},
	{"", LIB ":/a.so", LIB ":/a.so"},
	/* A sanitizer runtime stays first. */
	{"", "/a.so:" ASAN, ASAN ":" LIB ":/a.so"},
	{ASAN, NULL, ASAN ":" LIB},
	{ASAN, ASAN ":" LIB, ASAN ":" LIB},
	{ASAN, "/x/libclang_rt.asan.so", "/x/libclang_rt.asan.so:" LIB},
};

START_TEST(join_preload)
{
	const struct join_row *r = &joins[_i];
	char out[256];

	ck_assert_int_eq(
		rb_dropin_join_preload(out, sizeof(out), LIB, r->runtime,
				       r->old),
		0);
	ck_assert_str_eq(out, r->want);
}
END_TEST

START_TEST(join_too_long)
{
	char out[sizeof(LIB) + 3];

	ck_assert_int_eq(rb_dropin_join_preload(out, sizeof(out), LIB, "",
						"/a.so"),
			 -1);
	ck_assert_int_eq(rb_dropin_join_preload(out, sizeof(out), LIB, "",
						"ab"),
			 0);
	ck_assert_str_eq(out, LIB ":ab");
}
END_TEST

/* text ------------------------------------------------------------------- */

struct text_row {
	const char *lib;
	const char *preload;
	const char *type;
	unsigned fdstore;
	const char *want; /* NULL: refused */
};

static const struct text_row texts[] = {
	{LIB, NULL, "simple", 0,
	 PLAIN "FileDescriptorStoreMax=16\n"},
	{LIB, NULL, "notify", 0,
	 PLAIN "FileDescriptorStoreMax=16\n"},
	/* The daemon's child sends FDSTORE=1, not the main process. */
	{LIB, NULL, "forking", 0,
	 PLAIN "FileDescriptorStoreMax=16\nNotifyAccess=all\n"},
	/* A larger store the unit asked for is kept. */
	{LIB, NULL, "simple", 64,
	 PLAIN "FileDescriptorStoreMax=64\n"},
	{LIB, "libm.so.6 /a.so", "simple", 0,
	 HEAD MERGED "[Service]\nEnvironment=LD_PRELOAD=" LIB
		     ":libm.so.6:/a.so\n" HOLD "FileDescriptorStoreMax=16\n"},
	/* What systemd shows once the drop-in is read: the same text. */
	{LIB, LIB ":libm.so.6:/a.so", "simple", 16,
	 HEAD MERGED "[Service]\nEnvironment=LD_PRELOAD=" LIB
		     ":libm.so.6:/a.so\n" HOLD "FileDescriptorStoreMax=16\n"},
	{LIB, LIB, "simple", 16,
	 PLAIN "FileDescriptorStoreMax=16\n"},
	/* '%' starts a systemd specifier. */
	{"/opt/50%/librebind.so", NULL, "simple", 0,
	 HEAD "[Service]\nEnvironment=LD_PRELOAD=/opt/50%%/librebind.so\n" HOLD
	      "FileDescriptorStoreMax=16\n"},
	/* systemd would read these back differently. */
	{LIB, "/a\"b.so", "simple", 0, NULL},
	{LIB, "/a\\b.so", "simple", 0, NULL},
	{LIB, "/a'b.so", "simple", 0, NULL},
	{LIB, "/a\tb.so", "simple", 0, NULL},
};

START_TEST(drop_in_text)
{
	const struct text_row *r = &texts[_i];
	struct rb_dropin_in in = {r->lib, "", r->preload, r->type, r->fdstore};
	const char *why = NULL;
	char out[1024];
	int ret = rb_dropin_text(out, sizeof(out), &in, &why);

	expect(ret, why, out, r->want);
}
END_TEST

START_TEST(text_too_long)
{
	struct rb_dropin_in in = {LIB, "", NULL, "simple", 0};
	const char *why = NULL;
	char out[64];

	ck_assert_int_eq(rb_dropin_text(out, sizeof(out), &in, &why), -1);
	ck_assert_ptr_nonnull(why);
}
END_TEST

/* The settings lines of text, comments and blank lines dropped. */
static void settings(const char *text, char *out, size_t len)
{
	size_t used = 0;

	out[0] = '\0';
	while (*text) {
		size_t n = strcspn(text, "\n");

		if (n > 0 && text[0] != '#') {
			ck_assert_uint_lt(used + n + 1, len);
			memcpy(out + used, text, n);
			used += n;
			out[used++] = '\n';
			out[used] = '\0';
		}
		text += n + (text[n] == '\n');
	}
}

/* The shipped example says what enable writes for a plain service. */
START_TEST(example)
{
	struct rb_dropin_in in = {"@pkglibdir@/librebind.so", "", NULL,
				  "simple", 0};
	const char *why = NULL;
	char text[1024], want[1024], file[8192], got[8192];
	FILE *f = fopen(RB_SRCDIR "/conf/systemd-rebind.conf.in", "r");
	size_t n;

	ck_assert_ptr_nonnull(f);
	n = fread(file, 1, sizeof(file) - 1, f);
	(void)fclose(f);
	file[n] = '\0';
	ck_assert_int_eq(rb_dropin_text(text, sizeof(text), &in, &why), 0);
	settings(text, want, sizeof(want));
	settings(file, got, sizeof(got));
	ck_assert_str_eq(got, want);
}
END_TEST

/* unit_name -------------------------------------------------------------- */

struct name_row {
	const char *arg;
	const char *want; /* NULL: refused */
};

static const struct name_row names[] = {
	{"foo", "foo.service"},
	{"foo.service", "foo.service"},
	{"foo@bar", "foo@bar.service"},
	{"foo@bar.service", "foo@bar.service"},
	/* Not a unit type: systemctl appends .service, so do we. */
	{"my.app", "my.app.service"},
	{"dbus-org.x:1_2", "dbus-org.x:1_2.service"},
	{"foo.socket", NULL},
	{"foo.timer", NULL},
	{"a/b", NULL},
	{"../x", NULL},
	{"", NULL},
	{".service", NULL},
	{"foo bar", NULL},
};

START_TEST(unit_name)
{
	const struct name_row *r = &names[_i];
	char out[RB_DROPIN_UNIT_MAX + 1];
	const char *why = NULL;
	int ret = rb_dropin_unit_name(r->arg, out, sizeof(out), &why);

	expect(ret, why, out, r->want);
}
END_TEST

START_TEST(unit_name_length)
{
	char name[RB_DROPIN_UNIT_MAX + 2];
	char out[RB_DROPIN_UNIT_MAX + 1];
	const char *why = NULL;

	/* 247 + ".service" is systemd's limit exactly. */
	memset(name, 'a', RB_DROPIN_UNIT_MAX - 8);
	name[RB_DROPIN_UNIT_MAX - 8] = '\0';
	ck_assert_int_eq(rb_dropin_unit_name(name, out, sizeof(out), &why), 0);
	ck_assert_uint_eq(strlen(out), RB_DROPIN_UNIT_MAX);
	strcat(name, "a");
	ck_assert_int_eq(rb_dropin_unit_name(name, out, sizeof(out), &why),
			 -1);
}
END_TEST

/* env_get ---------------------------------------------------------------- */

struct env_row {
	const char *env; /* as systemctl show -p Environment --value prints */
	int ret;
	const char *want;
};

static const struct env_row envs[] = {
	{"", 0, NULL},
	{"FOO=bar", 0, NULL},
	{"LD_PRELOAD=/a.so", 1, "/a.so"},
	{"FOO=bar LD_PRELOAD=/a.so:/b.so X=1", 1, "/a.so:/b.so"},
	{"LD_PRELOAD=", 1, ""},
	/* The last assignment wins, as in systemd. */
	{"LD_PRELOAD=/a.so LD_PRELOAD=/b.so", 1, "/b.so"},
	{"LD_PRELOADX=1 XLD_PRELOAD=2", 0, NULL},
	/* Measured with systemd 252: blanks and quotes are quoted. */
	{"\"LD_PRELOAD=/x/a b.so:/y/c.so\" FOO=bar", 1, "/x/a b.so:/y/c.so"},
	{"\"Q=it's \\\"q\\\"\" LD_PRELOAD=/a.so P=50%", 1, "/a.so"},
	{"\"LD_PRELOAD=a\\x20b\\tc\"", 1, "a b\tc"},
	{"\"LD_PRELOAD=/a.so", -1, NULL},
	{"LD_PRELOAD=a\\qb", -1, NULL},
	{"FOO=\"unclosed LD_PRELOAD=/a.so", -1, NULL},
};

START_TEST(env_get)
{
	const struct env_row *r = &envs[_i];
	char out[64];
	int ret = rb_dropin_env_get(r->env, "LD_PRELOAD", out, sizeof(out));

	ck_assert_int_eq(ret, r->ret);
	if (r->want)
		ck_assert_str_eq(out, r->want);
}
END_TEST

START_TEST(env_get_too_long)
{
	char out[8];

	ck_assert_int_eq(rb_dropin_env_get("LD_PRELOAD=/lib/long.so",
					   "LD_PRELOAD", out, sizeof(out)),
			 -1);
	/* A long other variable does not matter. */
	ck_assert_int_eq(rb_dropin_env_get("FOO=0123456789 X=1", "X", out,
					   sizeof(out)),
			 1);
	ck_assert_str_eq(out, "1");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("dropin");

	rb_test_loop(s, "join_preload", join_preload, NELEM(joins));
	tcase_add_test(rb_test_tcase(s, "join_too_long"), join_too_long);
	rb_test_loop(s, "text", drop_in_text, NELEM(texts));
	tcase_add_test(rb_test_tcase(s, "text_too_long"), text_too_long);
	tcase_add_test(rb_test_tcase(s, "example"), example);
	rb_test_loop(s, "unit_name", unit_name, NELEM(names));
	tcase_add_test(rb_test_tcase(s, "unit_name_length"), unit_name_length);
	rb_test_loop(s, "env_get", env_get, NELEM(envs));
	tcase_add_test(rb_test_tcase(s, "env_get_too_long"), env_get_too_long);
	return rb_test_run(s);
}
