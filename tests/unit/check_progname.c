#include "config.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/progname.h"
#include "suite.h"

#define ARGS_MAX 6

/* find --------------------------------------------------------------- */

struct find_row {
	const char *exe;		 /* NULL: unknown */
	const char *argv[ARGS_MAX + 1];	 /* NULL-terminated */
	const char *want[RB_NAMES_MAX]; /* in order; NULL-terminated */
};

static const struct find_row finds[] = {
	/* Plain binaries. */
	{"/usr/sbin/nginx", {"nginx", "-g", "daemon off;"}, {"nginx"}},
	{"/usr/sbin/sshd", {"/usr/sbin/sshd", "-D"}, {"sshd"}},
	{"/opt/app/bin/server",
	 {"/opt/app/bin/server", "--port", "80"},
	 {"server"}},
	{"/usr/bin/memcached", {"./memcached"}, {"memcached"}},
	/* A symlinked binary: argv[0] and the executable differ. */
	{"/usr/sbin/busybox", {"httpd", "-f"}, {"httpd", "busybox"}},
	{"/usr/lib/postgresql/15/bin/postgres",
	 {"/usr/bin/postmaster"},
	 {"postmaster", "postgres"}},
	/* exec -a: argv[0] is anything the parent chose. */
	{"/usr/bin/gunicorn", {"my-worker", "app:wsgi"}, {"my-worker",
							  "gunicorn"}},
	{"/usr/bin/daemon", {"daemon: accepting connections"},
	 {"daemon: accepting connections", "daemon"}},
	/* An empty argument (fuzzer find): python3 would run the file "",
	 * so there is no script name to add. */
	{"/usr/bin/python3.11", {"python3", "", "app.py"},
	 {"python3", "python3.11"}},
	{"/usr/bin/node", {"node", ""}, {"node"}},
	/* Interpreters and their scripts. */
	{"/usr/bin/python3.11",
	 {"python3", "script.py"},
	 {"python3", "python3.11", "script.py"}},
	{"/usr/bin/python3",
	 {"python3", "script.py"},
	 {"python3", "script.py"}},
	{"/usr/bin/python3",
	 {"/usr/bin/python3", "/srv/app/main.py", "--debug"},
	 {"python3", "main.py"}},
	{"/usr/bin/python3",
	 {"python3", "-u", "script.py"},
	 {"python3", "script.py"}},
	{"/usr/bin/python3",
	 {"python3", "-u", "-B", "script.py", "-c", "x"},
	 {"python3", "script.py"}},
	{"/usr/bin/python3",
	 {"python3", "-W", "ignore", "script.py"},
	 {"python3", "script.py"}},
	{"/usr/bin/python3",
	 {"python3", "-X", "dev", "script.py"},
	 {"python3", "script.py"}},
	{"/usr/bin/python3",
	 {"python3", "-m", "http.server", "8000"},
	 {"python3", "http.server"}},
	{"/usr/bin/python3",
	 {"python3", "-u", "-m", "app"},
	 {"python3", "app"}},
	{"/usr/bin/python3", {"python3", "-m"}, {"python3"}},
	/* Options read as getopt reads them: a value glued on (-mMODULE),
	 * several letters in one word (-um MODULE, perl -wle CODE). */
	{"/usr/bin/python3",
	 {"python3", "-mhttp.server", "8000"},
	 {"python3", "http.server"}},
	{"/usr/bin/python3", {"python3", "-um", "app"}, {"python3", "app"}},
	{"/usr/bin/python3", {"python3", "-umapp", "x"}, {"python3", "app"}},
	{"/usr/bin/python3",
	 {"python3", "-Wignore", "script.py"},
	 {"python3", "script.py"}},
	{"/usr/bin/python3",
	 {"python3", "-c", "import app", "x.py"},
	 {"python3"}},
	{"/usr/bin/python3", {"python3", "-cimport app", "x.py"}, {"python3"}},
	{"/usr/bin/python3", {"python3", "-uc", "import app", "x.py"},
	 {"python3"}},
	{"/usr/bin/perl", {"perl", "-wle", "print 1"}, {"perl"}},
	{"/usr/bin/perl", {"perl", "-Mstrict", "app.pl"}, {"perl", "app.pl"}},
	{"/usr/bin/php", {"php", "-fapp.php"}, {"php", "app.php"}},
	{"/bin/sh",
	 {"sh", "-eo", "pipefail", "script.sh"},
	 {"sh", "script.sh"}},
	{"/usr/bin/node", {"node", "--eval", "x()", "a.js"}, {"node"}},
	{"/usr/bin/python3",
	 {"python3", "-c", "import app; app.run()"},
	 {"python3"}},
	{"/usr/bin/python3", {"python3"}, {"python3"}},
	{"/usr/bin/perl", {"perl", "-e", "sleep 1"}, {"perl"}},
	{"/usr/bin/perl", {"perl", "-E", "say 1"}, {"perl"}},
	{"/usr/bin/perl", {"perl", "-w", "/srv/app.pl"}, {"perl", "app.pl"}},
	{"/usr/bin/dash", {"sh", "-c", "exec srv"}, {"sh", "dash"}},
	{"/bin/sh", {"sh", "-c", "exec srv", "script.sh"}, {"sh"}},
	{"/bin/sh", {"sh", "script.sh"}, {"sh", "script.sh"}},
	{"/bin/sh", {"/bin/sh", "./run/start.sh", "a"}, {"sh", "start.sh"}},
	{"/bin/sh",
	 {"sh", "-o", "errexit", "script.sh"},
	 {"sh", "script.sh"}},
	{"/bin/bash", {"bash", "--", "script"}, {"bash", "script"}},
	{"/bin/bash", {"bash", "-x", "--", "-odd.sh"}, {"bash", "-odd.sh"}},
	{"/bin/bash", {"bash", "--"}, {"bash"}},
	{"/usr/bin/ruby3.1", {"ruby", "app.rb"}, {"ruby", "ruby3.1", "app.rb"}},
	{"/usr/bin/node", {"node", "server.js"}, {"node", "server.js"}},
	/* An interpreter known by argv[0] only, or by the executable. */
	{NULL, {"python3", "app.py"}, {"python3", "app.py"}},
	{"/usr/bin/python3", {"my-app", "app.py"},
	 {"my-app", "python3", "app.py"}},
	/* Not an interpreter: arguments are not scripts. */
	{"/usr/sbin/nginx", {"nginx", "conf.py"}, {"nginx"}},
	{"/usr/bin/shellcheck", {"shellcheck", "a.sh"}, {"shellcheck"}},
	/* Missing pieces. */
	{"/usr/bin/foo", {NULL}, {"foo"}},
	{NULL, {"foo", "bar"}, {"foo"}},
	{NULL, {NULL}, {NULL}},
	{"", {""}, {NULL}},
	{"/usr/bin/", {"/"}, {NULL}},
	/* Duplicates dropped. */
	{"/usr/bin/foo", {"/usr/bin/foo"}, {"foo"}},
	{"/usr/local/bin/foo", {"foo"}, {"foo"}},
	{"/usr/bin/python3", {"python3", "python3"}, {"python3"}},
	{"/usr/bin/python3", {"python3", "/tmp/python3"}, {"python3"}},
};

static int count(const char *const *v, int max)
{
	int n = 0;

	while (n < max && v[n])
		n++;
	return n;
}

static void check_find(const struct find_row *row)
{
	const int argc = count(row->argv, ARGS_MAX);
	char *argv[ARGS_MAX + 1] = {NULL};
	const unsigned want = (unsigned)count(row->want, RB_NAMES_MAX);
	struct rb_names names;

	/* main() gets char **; the strings are never written. */
	memcpy(argv, row->argv, sizeof(argv));
	memset(&names, 0xa5, sizeof(names));
	rb_names_find(&names, row->exe, argc, argv);
	ck_assert_uint_eq(names.n, want);
	for (unsigned i = 0; i < want && i < names.n; i++)
		ck_assert_str_eq(names.name[i], row->want[i]);
}

START_TEST(test_find)
{
	check_find(&finds[_i]);
}
END_TEST

/* Names point into the arguments: nothing is copied or cut. */
START_TEST(test_find_points_into_args)
{
	char a0[] = "/usr/bin/python3";
	char a1[] = "/srv/app.py";
	char *argv[] = {a0, a1, NULL};
	char exe[] = "/usr/bin/python3.11";
	struct rb_names names;

	rb_names_find(&names, exe, 2, argv);
	ck_assert_uint_eq(names.n, 3);
	ck_assert_ptr_eq(names.name[0], a0 + 9);
	ck_assert_ptr_eq(names.name[1], exe + 9);
	ck_assert_ptr_eq(names.name[2], a1 + 5);
}
END_TEST

/*
 * Options that mean something else to another interpreter: -E is
 * "ignore PYTHON* variables" to python and an encoding to ruby (inline
 * code only to perl), -e is "exit on error" to sh and bash, -I takes a
 * directory in perl, -c names php.ini in php, -r a module in node.
 * Each of these runs a script.
 */
static const struct find_row per_interpreter[] = {
	{"/usr/bin/python3",
	 {"python3", "-E", "app.py"},
	 {"python3", "app.py"}},
	{"/bin/bash", {"bash", "-e", "deploy.sh"}, {"bash", "deploy.sh"}},
	{"/usr/bin/perl", {"perl", "-I", "/opt/lib", "app.pl"},
	 {"perl", "app.pl"}},
	{"/usr/bin/php", {"php", "-c", "/etc/php.ini", "app.php"},
	 {"php", "app.php"}},
	{"/usr/bin/ruby",
	 {"ruby", "-E", "UTF-8", "app.rb"},
	 {"ruby", "app.rb"}},
	{"/usr/bin/node", {"node", "-r", "dotenv/config", "server.js"},
	 {"node", "server.js"}},
};

START_TEST(test_find_per_interpreter)
{
	check_find(&per_interpreter[_i]);
}
END_TEST

/* match -------------------------------------------------------------- */

struct match_row {
	const char *names[RB_NAMES_MAX]; /* NULL-terminated */
	const char *glob;
	bool want;
};

static const struct match_row matches[] = {
	{{"nginx"}, "nginx", true},
	{{"nginx"}, "*", true},
	{{"nginx"}, "ngin?", true},
	{{"nginx"}, "n*x", true},
	{{"nginx"}, "[mn]ginx", true},
	{{"nginx"}, "[!a]ginx", true},
	{{"nginx"}, "[a-m]ginx", false},
	{{"nginx"}, "ngin", false},
	{{"nginx"}, "nginx?", false},
	{{"nginx"}, "NGINX", false},
	{{"nginx"}, "apache2", false},
	{{"nginx"}, "", false},
	{{"python3", "python3.11", "app.py"}, "python3.11", true},
	{{"python3", "python3.11", "app.py"}, "python3.*", true},
	{{"python3", "python3.11", "app.py"}, "*.py", true},
	{{"python3", "python3.11", "app.py"}, "app.py", true},
	{{"python3", "python3.11", "app.py"}, "app", false},
	{{"python3", "python3.11", "app.py"}, "python2*", false},
	{{"my-worker", "gunicorn"}, "gunicorn", true},
	{{"my-worker", "gunicorn"}, "my-*", true},
	{{"a.b"}, "a?b", true},
	{{".hidden"}, "*", true},
	{{"x"}, "??", false},
	{{NULL}, "*", false},
	{{NULL}, "", false},
};

START_TEST(test_match)
{
	const struct match_row *row = &matches[_i];
	struct rb_names names = {0, {NULL}};

	names.n = (unsigned)count(row->names, RB_NAMES_MAX);
	memcpy(names.name, row->names, sizeof(names.name));
	ck_assert_int_eq(rb_names_match(&names, row->glob), row->want);
}
END_TEST

START_TEST(test_match_null_names)
{
	ck_assert_int_eq(rb_names_match(NULL, "*"), false);
}
END_TEST

/* interpreter kinds: explain tells a shim (a shell script named like
 * another interpreter) by them. */
static const struct {
	const char *path;
	enum rb_interp_kind want;
} kinds[] = {
	{"/usr/bin/python3", RB_INTERP_OTHER},
	{"python3.11", RB_INTERP_OTHER},
	{"/root/.pyenv/shims/python3", RB_INTERP_OTHER},
	{"node", RB_INTERP_OTHER},
	{"/bin/bash", RB_INTERP_SHELL},
	{"sh", RB_INTERP_SHELL},
	{"ksh93", RB_INTERP_SHELL},
	{"/usr/bin/env", RB_INTERP_NONE},
	{"nginx", RB_INTERP_NONE},
	{"", RB_INTERP_NONE},
};

START_TEST(test_kind)
{
	ck_assert_int_eq(rb_names_interpreter(kinds[_i].path), kinds[_i].want);
}
END_TEST

/* suite -------------------------------------------------------------- */

static Suite *progname_suite(void)
{
	Suite *s = suite_create("progname");

	rb_test_loop(s, "find_names", test_find, NELEM(finds));
	tcase_add_test(rb_test_tcase(s, "names_point_into_args"),
		       test_find_points_into_args);
	rb_test_loop(s, "script_options_per_interpreter",
		     test_find_per_interpreter, NELEM(per_interpreter));
	rb_test_loop(s, "interpreter_kind", test_kind, NELEM(kinds));
	rb_test_loop(s, "match_glob", test_match, NELEM(matches));
	tcase_add_test(rb_test_tcase(s, "match_no_names"),
		       test_match_null_names);
	return s;
}

int main(void)
{
	return rb_test_run(progname_suite());
}
