#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "suite.h"

/* Longest text a line holds: one byte for '\n', one for the NUL. */
#define TEXT_MAX (RB_LINE_MAX - 2)

/* No call in these tests sets errno to this on its own. */
#define ERRNO_SENTINEL 4242

/* A line with guard bytes behind it, to catch a write past buf. */
struct guarded {
	struct rb_line l;
	unsigned char guard[64];
};

static void guarded_init(struct guarded *g)
{
	memset(g, 0xa5, sizeof(*g));
	rb_line_reset(&g->l);
}

static int guard_intact(const struct guarded *g)
{
	for (size_t i = 0; i < sizeof(g->guard); i++) {
		if (g->guard[i] != 0xa5)
			return 0;
	}
	return 1;
}

/* Append n copies of c through rb_fmt_str. */
static void fill(struct rb_line *l, size_t n, char c)
{
	char chunk[RB_LINE_MAX * 2];

	ck_assert_uint_lt(n, sizeof(chunk));
	memset(chunk, c, n);
	chunk[n] = '\0';
	rb_fmt_str(l, chunk);
}

/* fmt --------------------------------------------------------------- */

static const struct {
	const char *a;
	const char *b;
	const char *want;
} fmt_str_rows[] = {
	{"", "", ""},
	{"abc", "", "abc"},
	{"", "abc", "abc"},
	{"ab", "cd", "abcd"},
	{"rebind: ", "SO_LINGER failed", "rebind: SO_LINGER failed"},
};

START_TEST(test_fmt_str)
{
	struct guarded g;

	guarded_init(&g);
	rb_fmt_str(&g.l, fmt_str_rows[_i].a);
	rb_fmt_str(&g.l, fmt_str_rows[_i].b);
	ck_assert_str_eq(g.l.buf, fmt_str_rows[_i].want);
	ck_assert_uint_eq(g.l.len, strlen(fmt_str_rows[_i].want));
}
END_TEST

static const struct {
	long long v;
	const char *want;
} fmt_int_rows[] = {
	{0, "0"},
	{7, "7"},
	{-7, "-7"},
	{10, "10"},
	{-10, "-10"},
	{65535, "65535"},
	{1000000, "1000000"},
	{INT_MAX, "2147483647"},
	{INT_MIN, "-2147483648"},
	{LLONG_MAX, "9223372036854775807"},
	{LLONG_MIN, "-9223372036854775808"},
	{LLONG_MIN + 1, "-9223372036854775807"},
};

START_TEST(test_fmt_int)
{
	struct guarded g;

	guarded_init(&g);
	rb_fmt_str(&g.l, "fd=");
	rb_fmt_int(&g.l, fmt_int_rows[_i].v);
	ck_assert_str_eq(g.l.buf + 3, fmt_int_rows[_i].want);
	ck_assert_uint_eq(g.l.len, 3 + strlen(fmt_int_rows[_i].want));
}
END_TEST

/* Text already in the line, then what is appended and what stays. */
struct trunc_row {
	size_t pre;
	const char *s; /* NULL: append v with rb_fmt_int */
	long long v;
	const char *kept;
};

static const struct trunc_row trunc_rows[] = {
	{0, "abc", 0, "abc"},
	{TEXT_MAX - 3, "abc", 0, "abc"},
	{TEXT_MAX - 2, "abc", 0, "ab"},
	{TEXT_MAX - 1, "abc", 0, "a"},
	{TEXT_MAX, "abc", 0, ""},
	{TEXT_MAX - 5, NULL, 12345, "12345"},
	{TEXT_MAX - 2, NULL, 12345, "12"},
	{TEXT_MAX, NULL, 7, ""},
	{TEXT_MAX - 1, NULL, -5, "-"},
	{TEXT_MAX - 14, NULL, LLONG_MIN, "-9223372036854"},
	{TEXT_MAX - 19, NULL, LLONG_MAX, "9223372036854775807"},
	{TEXT_MAX - 18, NULL, LLONG_MAX, "922337203685477580"},
};

START_TEST(test_fmt_truncate)
{
	const struct trunc_row *row = &trunc_rows[_i];
	struct guarded g;

	guarded_init(&g);
	fill(&g.l, row->pre, 'x');
	if (row->s)
		rb_fmt_str(&g.l, row->s);
	else
		rb_fmt_int(&g.l, row->v);
	ck_assert_uint_eq(g.l.len, row->pre + strlen(row->kept));
	ck_assert_str_eq(g.l.buf + row->pre, row->kept);
	ck_assert_int_eq(guard_intact(&g), 1);
}
END_TEST

/* Far more than fits, in one go and piece by piece. */
START_TEST(test_fmt_overlong)
{
	struct guarded g;

	guarded_init(&g);
	fill(&g.l, RB_LINE_MAX + 100, 'y');
	ck_assert_uint_eq(g.l.len, TEXT_MAX);
	ck_assert_int_eq(g.l.buf[TEXT_MAX], '\0');
	for (int i = 0; i < RB_LINE_MAX; i++) {
		rb_fmt_str(&g.l, "z");
		rb_fmt_int(&g.l, LLONG_MIN);
	}
	ck_assert_uint_eq(g.l.len, TEXT_MAX);
	ck_assert_int_eq(g.l.buf[TEXT_MAX], '\0');
	ck_assert_int_eq(guard_intact(&g), 1);
}
END_TEST

/* lines ------------------------------------------------------------- */

static int pipe_fds[2] = {-1, -1};

static void pipe_setup(void)
{
	ck_assert_int_eq(pipe2(pipe_fds, O_NONBLOCK | O_CLOEXEC), 0);
}

static void pipe_teardown(void)
{
	(void)close(pipe_fds[0]);
	(void)close(pipe_fds[1]);
	pipe_fds[0] = pipe_fds[1] = -1;
}

/* Everything in the pipe now, NUL-terminated; -1 on an error. */
static ssize_t drain(char *buf, size_t size)
{
	size_t got = 0;

	for (;;) {
		ssize_t n = read(pipe_fds[0], buf + got, size - 1 - got);

		if (n > 0) {
			got += (size_t)n;
			continue;
		}
		buf[got] = '\0';
		if (n == 0 || errno == EAGAIN)
			return (ssize_t)got;
		return -1;
	}
}

static void expect_line(char *buf, size_t size, const char *text)
{
	(void)snprintf(buf, size, "rebind[%ld]: %s\n", (long)getpid(), text);
}

static void line_of(struct rb_line *l, const char *text)
{
	rb_line_reset(l);
	rb_fmt_str(l, text);
}

START_TEST(test_line_written)
{
	struct rb_line l;
	char got[RB_LINE_MAX * 2], want[RB_LINE_MAX * 2];

	rb_log_init(RB_LOG_WARN, pipe_fds[1]);
	line_of(&l, "SO_REUSEADDR set on port 8080");
	rb_log_line(RB_LOG_WARN, &l);
	expect_line(want, sizeof(want), "SO_REUSEADDR set on port 8080");
	ck_assert_int_eq(drain(got, sizeof(got)), (ssize_t)strlen(want));
	ck_assert_str_eq(got, want);
}
END_TEST

/* Each call is one whole line, in order. */
START_TEST(test_two_lines)
{
	struct rb_line l;
	char got[RB_LINE_MAX * 2], want[RB_LINE_MAX * 2];
	const long pid = (long)getpid();

	rb_log_init(RB_LOG_DEBUG, pipe_fds[1]);
	line_of(&l, "one");
	rb_log_line(RB_LOG_ERROR, &l);
	line_of(&l, "two");
	rb_log_line(RB_LOG_DEBUG, &l);
	(void)snprintf(want, sizeof(want),
		       "rebind[%ld]: one\nrebind[%ld]: two\n", pid, pid);
	ck_assert_int_eq(drain(got, sizeof(got)), (ssize_t)strlen(want));
	ck_assert_str_eq(got, want);
}
END_TEST

/* The longest text: the whole line, newline included, is cut to fit. */
START_TEST(test_line_overlong)
{
	struct rb_line l;
	char got[RB_LINE_MAX * 2], prefix[64];
	ssize_t n;

	rb_log_init(RB_LOG_WARN, pipe_fds[1]);
	rb_line_reset(&l);
	fill(&l, TEXT_MAX, 'q');
	rb_log_line(RB_LOG_ERROR, &l);
	(void)snprintf(prefix, sizeof(prefix), "rebind[%ld]: q",
		       (long)getpid());
	n = drain(got, sizeof(got));
	ck_assert_int_eq(n, RB_LINE_MAX - 1);
	ck_assert_int_eq(strncmp(got, prefix, strlen(prefix)), 0);
	ck_assert_int_eq(got[n - 1], '\n');
	ck_assert_ptr_eq(strchr(got, '\n'), got + n - 1);
}
END_TEST

static const struct {
	enum rb_level cfg;
	enum rb_level lvl;
	int want;
} level_rows[] = {
	{RB_LOG_WARN, RB_LOG_ERROR, 1},
	{RB_LOG_WARN, RB_LOG_WARN, 1},
	{RB_LOG_WARN, RB_LOG_INFO, 0},
	{RB_LOG_WARN, RB_LOG_DEBUG, 0},
	{RB_LOG_ERROR, RB_LOG_ERROR, 1},
	{RB_LOG_ERROR, RB_LOG_WARN, 0},
	{RB_LOG_INFO, RB_LOG_INFO, 1},
	{RB_LOG_INFO, RB_LOG_DEBUG, 0},
	{RB_LOG_DEBUG, RB_LOG_DEBUG, 1},
	{RB_LOG_DEBUG, RB_LOG_ERROR, 1},
	{RB_LOG_OFF, RB_LOG_ERROR, 0},
	{RB_LOG_OFF, RB_LOG_DEBUG, 0},
	/* RB_LOG_OFF is no message level: never written. */
	{RB_LOG_OFF, RB_LOG_OFF, 0},
	{RB_LOG_DEBUG, RB_LOG_OFF, 0},
};

START_TEST(test_level_enabled)
{
	rb_log_init(level_rows[_i].cfg, pipe_fds[1]);
	ck_assert_int_eq(rb_log_enabled(level_rows[_i].lvl) != 0,
			 level_rows[_i].want);
}
END_TEST

START_TEST(test_level_line)
{
	struct rb_line l;
	char got[RB_LINE_MAX * 2];
	const ssize_t none = 0;

	rb_log_init(level_rows[_i].cfg, pipe_fds[1]);
	line_of(&l, "x");
	rb_log_line(level_rows[_i].lvl, &l);
	if (level_rows[_i].want)
		ck_assert_int_gt(drain(got, sizeof(got)), none);
	else
		ck_assert_int_eq(drain(got, sizeof(got)), none);
}
END_TEST

static const struct {
	const char *a;
	const char *b;
	const char *want;
} msg_rows[] = {
	{"bind retried", NULL, "bind retried"},
	{"REBIND_PORTS=80-: missing port number", " (rebind is disabled)",
	 "REBIND_PORTS=80-: missing port number (rebind is disabled)"},
	{"", "b", "b"},
};

START_TEST(test_msg)
{
	char got[RB_LINE_MAX * 2], want[RB_LINE_MAX * 2];

	rb_log_init(RB_LOG_WARN, pipe_fds[1]);
	rb_log_msg(RB_LOG_ERROR, msg_rows[_i].a, msg_rows[_i].b);
	expect_line(want, sizeof(want), msg_rows[_i].want);
	ck_assert_int_eq(drain(got, sizeof(got)), (ssize_t)strlen(want));
	ck_assert_str_eq(got, want);
}
END_TEST

START_TEST(test_msg_level)
{
	char got[RB_LINE_MAX * 2];

	rb_log_init(RB_LOG_ERROR, pipe_fds[1]);
	rb_log_msg(RB_LOG_WARN, "quiet", NULL);
	ck_assert_int_eq(drain(got, sizeof(got)), 0);
}
END_TEST

/* A fresh unlinked file: a different inode from anything else. */
static int temp_fd(void)
{
	char path[] = "/tmp/check_log.XXXXXX";
	int fd = mkostemp(path, O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	(void)unlink(path);
	return fd;
}

static off_t size_of(int fd)
{
	struct stat st;

	ck_assert_int_eq(fstat(fd, &st), 0);
	return st.st_size;
}

/* A regular file works as the log fd too. */
START_TEST(test_file)
{
	const int fd = temp_fd();
	char want[RB_LINE_MAX];

	rb_log_init(RB_LOG_WARN, fd);
	rb_log_msg(RB_LOG_WARN, "to a file", NULL);
	expect_line(want, sizeof(want), "to a file");
	ck_assert_int_eq(size_of(fd), (off_t)strlen(want));
	(void)close(fd);
}
END_TEST

/*
 * The daemon closed its stderr and the number now names another file
 * (a client socket, say): not one byte may go there.
 */
START_TEST(test_fd_reused)
{
	const int other = temp_fd();
	char got[RB_LINE_MAX * 2];

	rb_log_init(RB_LOG_DEBUG, pipe_fds[1]);
	ck_assert_int_eq(dup2(other, pipe_fds[1]), pipe_fds[1]);
	rb_log_msg(RB_LOG_ERROR, "must not appear", NULL);
	ck_assert_int_eq(size_of(other), 0);
	/* The pipe lost its only writer: EOF, and nothing before it. */
	ck_assert_int_eq(drain(got, sizeof(got)), 0);
	(void)close(other);
}
END_TEST

/* Closed and not reused: silent, no crash. */
START_TEST(test_fd_closed)
{
	char got[RB_LINE_MAX * 2];

	rb_log_init(RB_LOG_DEBUG, pipe_fds[1]);
	ck_assert_int_eq(close(pipe_fds[1]), 0);
	pipe_fds[1] = -1;
	rb_log_msg(RB_LOG_ERROR, "nowhere", NULL);
	ck_assert_int_eq(drain(got, sizeof(got)), 0);
}
END_TEST

/* Log to the pipe, whose reader then goes away. */
static void reader_gone(void)
{
	rb_log_init(RB_LOG_DEBUG, pipe_fds[1]);
	ck_assert_int_eq(close(pipe_fds[0]), 0);
	pipe_fds[0] = -1;
}

/*
 * The reader of the pipe has gone: the write fails with EPIPE and would
 * raise SIGPIPE, whose default action ends the process.  The line must
 * raise nothing (none pending after), keep errno and the signal mask.
 */
START_TEST(test_reader_gone)
{
	sigset_t before, after, pending;

	reader_gone();
	ck_assert_int_eq(pthread_sigmask(SIG_SETMASK, NULL, &before), 0);
	errno = EINTR;
	rb_log_msg(RB_LOG_ERROR, "reader gone", NULL);
	ck_assert_int_eq(errno, EINTR);
	ck_assert_int_eq(pthread_sigmask(SIG_SETMASK, NULL, &after), 0);
	ck_assert_int_eq(sigismember(&after, SIGPIPE),
			 sigismember(&before, SIGPIPE));
	ck_assert_int_eq(sigpending(&pending), 0);
	ck_assert_int_eq(sigismember(&pending, SIGPIPE), 0);
}
END_TEST

/* A SIGPIPE the program had pending (blocked) before stays pending. */
START_TEST(test_reader_gone_pending)
{
	sigset_t pipe_only, old, pending;

	reader_gone();
	ck_assert_int_eq(sigemptyset(&pipe_only), 0);
	ck_assert_int_eq(sigaddset(&pipe_only, SIGPIPE), 0);
	ck_assert_int_eq(pthread_sigmask(SIG_BLOCK, &pipe_only, &old), 0);
	ck_assert_int_eq(raise(SIGPIPE), 0);
	rb_log_msg(RB_LOG_ERROR, "reader gone", NULL);
	ck_assert_int_eq(sigpending(&pending), 0);
	ck_assert_int_eq(sigismember(&pending, SIGPIPE), 1);
	/* take it back before the mask is restored */
	ck_assert_int_eq(sigtimedwait(&pipe_only, NULL,
				      &(struct timespec){0, 0}),
			 SIGPIPE);
	ck_assert_int_eq(pthread_sigmask(SIG_SETMASK, &old, NULL), 0);
}
END_TEST

/*
 * A bad fd at init: later lines are dropped, even once the number names
 * the very file an earlier init recorded.
 */
START_TEST(test_init_bad_fd)
{
	const int fd = temp_fd();
	char got[RB_LINE_MAX * 2];

	ck_assert_int_eq(close(fd), 0);
	rb_log_init(RB_LOG_DEBUG, pipe_fds[1]);
	rb_log_init(RB_LOG_DEBUG, fd);
	ck_assert_int_eq(dup2(pipe_fds[1], fd), fd);
	rb_log_msg(RB_LOG_ERROR, "nowhere", NULL);
	(void)close(fd);
	(void)close(pipe_fds[1]);
	pipe_fds[1] = -1;
	ck_assert_int_eq(drain(got, sizeof(got)), 0);
}
END_TEST

/* errno ------------------------------------------------------------- */

enum errno_case {
	EC_WRITTEN,
	EC_LEVEL,
	EC_OFF,
	EC_REUSED,
	EC_CLOSED,
	EC_WRITE_FAILS,
};

static const enum errno_case errno_cases[] = {
	EC_WRITTEN, EC_LEVEL, EC_OFF, EC_REUSED, EC_CLOSED, EC_WRITE_FAILS,
};

/* Put the log where the case says; returns an fd to close after. */
static int errno_setup(enum errno_case c)
{
	int other = -1;

	switch (c) {
	case EC_WRITTEN:
	case EC_LEVEL:
		rb_log_init(RB_LOG_WARN, pipe_fds[1]);
		break;
	case EC_OFF:
		rb_log_init(RB_LOG_OFF, pipe_fds[1]);
		break;
	case EC_REUSED:
		other = temp_fd();
		rb_log_init(RB_LOG_DEBUG, pipe_fds[1]);
		ck_assert_int_eq(dup2(other, pipe_fds[1]), pipe_fds[1]);
		break;
	case EC_CLOSED:
		rb_log_init(RB_LOG_DEBUG, pipe_fds[1]);
		ck_assert_int_eq(close(pipe_fds[1]), 0);
		pipe_fds[1] = -1;
		break;
	case EC_WRITE_FAILS:
		/* The read end: fstat matches, write(2) fails with EBADF. */
		rb_log_init(RB_LOG_DEBUG, pipe_fds[0]);
		break;
	}
	return other;
}

START_TEST(test_keeps_errno)
{
	const enum errno_case c = errno_cases[_i];
	const enum rb_level lvl = c == EC_LEVEL ? RB_LOG_DEBUG : RB_LOG_ERROR;
	const int other = errno_setup(c);
	struct rb_line l;
	int after_line, after_msg;

	line_of(&l, "errno");
	errno = ERRNO_SENTINEL;
	rb_log_line(lvl, &l);
	after_line = errno;
	errno = ERRNO_SENTINEL;
	rb_log_msg(lvl, "errno", NULL);
	after_msg = errno;
	if (other >= 0)
		(void)close(other);
	ck_assert_int_eq(after_line, ERRNO_SENTINEL);
	ck_assert_int_eq(after_msg, ERRNO_SENTINEL);
}
END_TEST

/*
 * The shim calls rb_log_init(level, 2) from its constructor.  A daemon
 * started with fd 2 closed must still see errno as it was (0 at main).
 */
START_TEST(test_init_keeps_errno)
{
	const int fd = temp_fd();
	int after_bad, after_good;

	ck_assert_int_eq(close(fd), 0);
	errno = ERRNO_SENTINEL;
	rb_log_init(RB_LOG_WARN, fd);
	after_bad = errno;
	errno = ERRNO_SENTINEL;
	rb_log_init(RB_LOG_WARN, pipe_fds[1]);
	after_good = errno;
	ck_assert_int_eq(after_good, ERRNO_SENTINEL);
	ck_assert_int_eq(after_bad, ERRNO_SENTINEL);
}
END_TEST

/* suite ------------------------------------------------------------- */

/* Every case here writes through a fresh pipe. */
static TCase *add_tcase(Suite *s, const char *name)
{
	TCase *tc = rb_test_tcase(s, name);

	tcase_add_checked_fixture(tc, pipe_setup, pipe_teardown);
	return tc;
}

static void add_loop(Suite *s, const char *name, const TTest *t, size_t n)
{
	tcase_add_loop_test(add_tcase(s, name), t, 0, (int)n);
}

static Suite *log_suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc;

	add_loop(s, "fmt_str", test_fmt_str, NELEM(fmt_str_rows));
	add_loop(s, "fmt_int", test_fmt_int, NELEM(fmt_int_rows));
	add_loop(s, "fmt_truncate", test_fmt_truncate, NELEM(trunc_rows));
	tc = add_tcase(s, "fmt_overlong");
	tcase_add_test(tc, test_fmt_overlong);
	tc = add_tcase(s, "one_line_per_call");
	tcase_add_test(tc, test_line_written);
	tcase_add_test(tc, test_two_lines);
	tcase_add_test(tc, test_line_overlong);
	tcase_add_test(tc, test_file);
	add_loop(s, "level_enabled", test_level_enabled, NELEM(level_rows));
	add_loop(s, "level_filters_lines", test_level_line, NELEM(level_rows));
	add_loop(s, "msg", test_msg, NELEM(msg_rows));
	tc = add_tcase(s, "msg_level");
	tcase_add_test(tc, test_msg_level);
	tc = add_tcase(s, "silent_when_fd_changed");
	tcase_add_test(tc, test_fd_reused);
	tcase_add_test(tc, test_fd_closed);
	tcase_add_test(tc, test_init_bad_fd);
	tc = add_tcase(s, "no_signal");
	tcase_add_test(tc, test_reader_gone);
	tcase_add_test(tc, test_reader_gone_pending);
	add_loop(s, "keeps_errno", test_keeps_errno, NELEM(errno_cases));
	tc = add_tcase(s, "init_keeps_errno");
	tcase_add_test(tc, test_init_keeps_errno);
	return s;
}

int main(void)
{
	return rb_test_run(log_suite());
}
