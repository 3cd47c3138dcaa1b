#include "config.h"

#include <arpa/inet.h>
#include <stddef.h>
#include <string.h>

#include "core/sdfd.h"
#include "suite.h"

/* count: LISTEN_PID and LISTEN_FDS ------------------------------------ */

static const struct {
	const char *pid;
	const char *fds;
	long self;
	unsigned want;
} counts[] = {
	{"42", "1", 42, 1},
	{"42", "3", 42, 3},
	{"42", "64", 42, 64},
	{"42", "65", 42, 0},   /* more than any unit passes */
	{"42", "1", 43, 0},    /* another process's (a parent's) */
	{"42", "2", -1, 2},    /* any process's */
	{"0", "2", -1, 0},
	{"42", "x", -1, 0},
	{NULL, "1", 42, 0},
	{"42", NULL, 42, 0},
	{"42", "0", 42, 0},
	{"42", "", 42, 0},
	{"", "1", 0, 0},
	{"42", "-1", 42, 0},
	{"42", "1x", 42, 0},
	{"42", " 1", 42, 0},
	{"+42", "1", 42, 0},
	{"0", "1", 0, 0},
	{"99999999999999999999", "1", 42, 0},
};

START_TEST(test_count)
{
	ck_assert_uint_eq(rb_sdfd_count(counts[_i].pid, counts[_i].fds,
					counts[_i].self),
			  counts[_i].want);
}
END_TEST

/* name_at: LISTEN_FDNAMES --------------------------------------------- */

static const struct {
	const char *names;
	unsigned i;
	size_t len;
	const char *want; /* NULL: false */
} name_ats[] = {
	{"a:b:c", 0, 16, "a"},
	{"a:b:c", 1, 16, "b"},
	{"a:b:c", 2, 16, "c"},
	{"a:b:c", 3, 16, NULL},
	{"web", 0, 16, "web"},
	{"a::c", 1, 16, ""},
	{"rebind-ipv4-127.0.0.1-80:x", 0, 27, "rebind-ipv4-127.0.0.1-80"},
	{"rebind-ipv4-127.0.0.1-80:x", 0, 24, NULL}, /* no room */
	{NULL, 0, 16, NULL},
	{"", 0, 16, ""},
};

START_TEST(test_name_at)
{
	char buf[32] = "untouched";
	bool ok = rb_sdfd_name_at(name_ats[_i].names, name_ats[_i].i, buf,
				  name_ats[_i].len);

	ck_assert_int_eq(ok, name_ats[_i].want != NULL);
	if (ok)
		ck_assert_str_eq(buf, name_ats[_i].want);
}
END_TEST

/* valid: what systemd accepts as FDNAME ------------------------------- */

static const struct {
	const char *name;
	bool ok;
} valids[] = {
	{"rebind-ipv4-127.0.0.1-80", true},
	{"A_z.0-9", true},
	{"", false},
	{"a:b", false}, /* the LISTEN_FDNAMES separator */
	{"a b", false},
	{"a\nb", false},
	{"caf\xc3\xa9", false},
};

START_TEST(test_valid)
{
	ck_assert_int_eq(rb_sdfd_name_valid(valids[_i].name), valids[_i].ok);
}
END_TEST

START_TEST(test_valid_length)
{
	char name[RB_SDFD_NAME_MAX + 1];

	memset(name, 'x', sizeof(name));
	name[255] = '\0';
	ck_assert(rb_sdfd_name_valid(name));
	name[255] = 'x';
	name[256] = '\0';
	ck_assert(!rb_sdfd_name_valid(name));
}
END_TEST

/* build and parse: one name per address, and back ---------------------- */

static const struct {
	int family;
	const char *addr;
	unsigned port;
	const char *name;
} names[] = {
	{AF_INET, "127.0.0.1", 8080, "rebind-ipv4-127.0.0.1-8080"},
	{AF_INET, "0.0.0.0", 1, "rebind-ipv4-0.0.0.0-1"},
	{AF_INET, "255.255.255.255", 65535,
	 "rebind-ipv4-255.255.255.255-65535"},
	{AF_INET6, "::1", 443, "rebind-ipv6-__1-443"},
	{AF_INET6, "::", 80, "rebind-ipv6-__-80"},
	{AF_INET6, "2001:db8::8:800:200c:417a", 8443,
	 "rebind-ipv6-2001_db8__8_800_200c_417a-8443"},
	{AF_INET6, "::ffff:10.0.0.1", 22, "rebind-ipv6-__ffff_10.0.0.1-22"},
};

static void make_addr(int i, struct rb_sdaddr *a)
{
	memset(a, 0, sizeof(*a));
	a->family = names[i].family;
	a->port = names[i].port;
	ck_assert_int_eq(inet_pton(a->family, names[i].addr, a->addr), 1);
}

START_TEST(test_build)
{
	struct rb_sdaddr a;
	char buf[RB_SDFD_NAME_MAX];

	make_addr(_i, &a);
	ck_assert_int_eq(rb_sdfd_name_build(&a, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, names[_i].name);
	ck_assert(rb_sdfd_name_valid(buf));
}
END_TEST

START_TEST(test_parse)
{
	struct rb_sdaddr want, got;

	make_addr(_i, &want);
	memset(&got, 0xff, sizeof(got)); /* the parser must fill it whole */
	ck_assert_int_eq(rb_sdfd_name_parse(names[_i].name, &got), 0);
	ck_assert_int_eq(got.family, want.family);
	ck_assert_uint_eq(got.port, want.port);
	ck_assert_mem_eq(got.addr, want.addr, sizeof(want.addr));
}
END_TEST

START_TEST(test_build_short)
{
	struct rb_sdaddr a;
	char buf[8];

	make_addr(0, &a);
	ck_assert_int_eq(rb_sdfd_name_build(&a, buf, sizeof(buf)), -1);
	a.port = 0;
	ck_assert_int_eq(rb_sdfd_name_build(&a, buf, sizeof(buf)), -1);
	a.family = AF_UNIX;
	ck_assert_int_eq(rb_sdfd_name_build(&a, buf, sizeof(buf)), -1);
}
END_TEST

static const char *const not_ours[] = {
	"web",
	"rebind-ipv4-127.0.0.1",
	"rebind-ipv4-127.0.0.1-",
	"rebind-ipv4-127.0.0.1-0",
	"rebind-ipv4-127.0.0.1-65536",
	"rebind-ipv4-127.0.0.1-80x",
	"rebind-ipv4--80",
	"rebind-ipv4-__1-80",
	"rebind-ipv6-127.0.0.1-80",
	"rebind-ipv5-127.0.0.1-80",
	"rebind-ipv6-____________________________________________________-1",
	"",
};

START_TEST(test_parse_bad)
{
	struct rb_sdaddr got = {.family = 99};

	ck_assert_int_eq(rb_sdfd_name_parse(not_ours[_i], &got), -1);
	ck_assert_int_eq(got.family, 99);
}
END_TEST

/* message -------------------------------------------------------------- */

START_TEST(test_message)
{
	char buf[RB_SDFD_MSG_MAX];

	ck_assert_int_eq(rb_sdfd_message(false, "x-1", buf, sizeof(buf)),
			 (int)strlen("FDSTORE=1\nFDNAME=x-1"));
	ck_assert_str_eq(buf, "FDSTORE=1\nFDNAME=x-1");
	ck_assert_int_eq(rb_sdfd_message(true, "x-1", buf, sizeof(buf)),
			 (int)strlen("FDSTOREREMOVE=1\nFDNAME=x-1"));
	ck_assert_str_eq(buf, "FDSTOREREMOVE=1\nFDNAME=x-1");
	ck_assert_int_eq(rb_sdfd_message(false, "a:b", buf, sizeof(buf)), -1);
	ck_assert_int_eq(rb_sdfd_message(false, "x-1", buf, 10), -1);
}
END_TEST

/* notify_addr: NOTIFY_SOCKET ------------------------------------------- */

static const struct {
	const char *s;
	int ok;
	size_t pathlen; /* bytes of sun_path the length covers */
} notifies[] = {
	{"/run/user/0/systemd/notify", 0, 27},
	{"@/org/freedesktop/systemd1/notify", 0, 33},
	{"@x", 0, 2},
	{"relative/path", -1, 0},
	{"", -1, 0},
	{"/", -1, 0},
	{"@", -1, 0},
	{NULL, -1, 0},
};

START_TEST(test_notify_addr)
{
	struct sockaddr_un sa;
	socklen_t len = 0;
	int ret = rb_sdfd_notify_addr(notifies[_i].s, &sa, &len);

	ck_assert_int_eq(ret, notifies[_i].ok);
	if (ret != 0)
		return;
	ck_assert_int_eq(sa.sun_family, AF_UNIX);
	ck_assert_uint_eq(len, offsetof(struct sockaddr_un, sun_path) +
				       notifies[_i].pathlen);
	if (notifies[_i].s[0] == '@') {
		ck_assert_int_eq(sa.sun_path[0], '\0');
		ck_assert_mem_eq(sa.sun_path + 1, notifies[_i].s + 1,
				 notifies[_i].pathlen - 1);
	} else {
		ck_assert_str_eq(sa.sun_path, notifies[_i].s);
	}
}
END_TEST

START_TEST(test_notify_addr_long)
{
	struct sockaddr_un sa;
	char path[sizeof(sa.sun_path) + 1];
	socklen_t len;

	memset(path, 'a', sizeof(path));
	path[0] = '/';
	path[sizeof(sa.sun_path) - 1] = '\0'; /* fits with its NUL */
	ck_assert_int_eq(rb_sdfd_notify_addr(path, &sa, &len), 0);
	path[sizeof(sa.sun_path) - 1] = 'a';
	path[sizeof(sa.sun_path)] = '\0';
	ck_assert_int_eq(rb_sdfd_notify_addr(path, &sa, &len), -1);
	path[0] = '@'; /* abstract: no NUL needed */
	ck_assert_int_eq(rb_sdfd_notify_addr(path, &sa, &len), 0);
}
END_TEST

static Suite *sdfd_suite(void)
{
	Suite *s = suite_create("sdfd");
	TCase *tc;

	rb_test_loop(s, "listen_count", test_count, NELEM(counts));
	rb_test_loop(s, "listen_fdnames", test_name_at, NELEM(name_ats));
	rb_test_loop(s, "name_valid", test_valid, NELEM(valids));
	tc = rb_test_tcase(s, "name_length");
	tcase_add_test(tc, test_valid_length);
	rb_test_loop(s, "name_build", test_build, NELEM(names));
	rb_test_loop(s, "name_parse", test_parse, NELEM(names));
	rb_test_loop(s, "name_parse_not_ours", test_parse_bad,
		     NELEM(not_ours));
	tc = rb_test_tcase(s, "name_build_bad");
	tcase_add_test(tc, test_build_short);
	tc = rb_test_tcase(s, "message");
	tcase_add_test(tc, test_message);
	rb_test_loop(s, "notify_addr", test_notify_addr, NELEM(notifies));
	tc = rb_test_tcase(s, "notify_addr_long");
	tcase_add_test(tc, test_notify_addr_long);
	return s;
}

int main(void)
{
	return rb_test_run(sdfd_suite());
}
