#include "config.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fdtab.h"
#include "suite.h"

/*
 * The table is process-global and Check may run without fork
 * (CK_FORK=no), so each test keeps to its own fds and clears them.
 */
#define FD_UNKNOWN   100
#define FD_ROUNDTRIP 200
#define FD_CLEAR     300
#define FD_REFUSED   400
#define FD_UPDATE    500
#define FD_RACE      600
#define FD_EARLY     700

static const int unknown_fds[] = {0, 1, 2, FD_UNKNOWN, 65535, 70000,
				  RB_FDTAB_MAX - 1};

START_TEST(test_unknown)
{
	struct rb_fdent e = {0};

	ck_assert_uint_eq(rb_fdtab_flags(unknown_fds[_i]), 0);
	ck_assert_int_eq(rb_fdtab_get(unknown_fds[_i], &e), false);
}
END_TEST

static const struct rb_fdent entries[] = {
	{RB_FD_LISTENER, 1, 0},
	{RB_FD_LISTENER | RB_FD_CHILD_SAFE, UINT64_MAX, UINT32_MAX},
	{RB_FD_SAFE_ABORT, 0x0123456789abcdefULL, 7},
	{RB_FD_USER_REUSE, 0, 1},
	{RB_FD_USER_LINGER, 1ULL << 63, 1U << 31},
	{RB_FD_IGNORED, 42, 42},
	{RB_FD_LISTENER | RB_FD_CHILD_SAFE | RB_FD_SAFE_ABORT |
		 RB_FD_USER_REUSE | RB_FD_USER_LINGER | RB_FD_IGNORED,
	 0xfeedfacecafebeefULL, 0xdeadbeef},
};

START_TEST(test_roundtrip)
{
	const struct rb_fdent *want = &entries[_i];
	const int fd = FD_ROUNDTRIP + _i;
	struct rb_fdent got = {0};

	ck_assert_int_eq(rb_fdtab_set(fd, want), true);
	ck_assert_uint_eq(rb_fdtab_flags(fd), want->flags);
	ck_assert_int_eq(rb_fdtab_get(fd, &got), true);
	ck_assert_uint_eq(got.flags, want->flags);
	ck_assert_uint_eq(got.cookie, want->cookie);
	ck_assert_uint_eq(got.gen, want->gen);
	rb_fdtab_clear(fd);
}
END_TEST

/* A second set replaces the whole entry, not only the flags. */
START_TEST(test_overwrite)
{
	const struct rb_fdent a = {RB_FD_LISTENER, 11, 1};
	const struct rb_fdent b = {RB_FD_SAFE_ABORT, 22, 2};
	const int fd = FD_ROUNDTRIP + 50;
	struct rb_fdent got = {0};

	ck_assert_int_eq(rb_fdtab_set(fd, &a), true);
	ck_assert_int_eq(rb_fdtab_set(fd, &b), true);
	ck_assert_int_eq(rb_fdtab_get(fd, &got), true);
	ck_assert_uint_eq(got.flags, b.flags);
	ck_assert_uint_eq(got.cookie, b.cookie);
	ck_assert_uint_eq(got.gen, b.gen);
	rb_fdtab_clear(fd);
}
END_TEST

START_TEST(test_clear)
{
	const struct rb_fdent e = {RB_FD_LISTENER, 99, 3};
	struct rb_fdent got = {0};

	ck_assert_int_eq(rb_fdtab_set(FD_CLEAR, &e), true);
	ck_assert_int_eq(rb_fdtab_set(FD_CLEAR + 1, &e), true);
	rb_fdtab_clear(FD_CLEAR);
	ck_assert_uint_eq(rb_fdtab_flags(FD_CLEAR), 0);
	ck_assert_int_eq(rb_fdtab_get(FD_CLEAR, &got), false);
	/* Its neighbour is untouched. */
	ck_assert_uint_eq(rb_fdtab_flags(FD_CLEAR + 1), RB_FD_LISTENER);
	rb_fdtab_clear(FD_CLEAR + 1);
}
END_TEST

/* Clearing an unknown fd, or twice, is harmless. */
START_TEST(test_clear_unknown)
{
	rb_fdtab_clear(FD_CLEAR + 10);
	rb_fdtab_clear(FD_CLEAR + 10);
	ck_assert_uint_eq(rb_fdtab_flags(FD_CLEAR + 10), 0);
}
END_TEST

static const int refused_fds[] = {-1, -2, -1000, INT32_MIN, RB_FDTAB_MAX,
				  RB_FDTAB_MAX + 1, INT32_MAX};

START_TEST(test_refused)
{
	const struct rb_fdent e = {RB_FD_LISTENER, 5, 5};
	const int fd = refused_fds[_i];
	const unsigned end = rb_fdtab_end();
	struct rb_fdent got = {0};

	ck_assert_int_eq(rb_fdtab_set(fd, &e), false);
	ck_assert_uint_eq(rb_fdtab_flags(fd), 0);
	ck_assert_int_eq(rb_fdtab_get(fd, &got), false);
	rb_fdtab_clear(fd);
	ck_assert_uint_eq(rb_fdtab_end(), end);
}
END_TEST

/* A refused fd must not land on an entry inside the table either. */
START_TEST(test_refused_no_alias)
{
	const struct rb_fdent e = {RB_FD_LISTENER, 5, 5};

	ck_assert_int_eq(rb_fdtab_set(RB_FDTAB_MAX, &e), false);
	ck_assert_int_eq(rb_fdtab_set(-1, &e), false);
	ck_assert_uint_eq(rb_fdtab_flags(0), 0);
	ck_assert_uint_eq(rb_fdtab_flags(RB_FDTAB_MAX - 1), 0);
}
END_TEST

/*
 * Relative to the current end, so it holds whatever ran before in this
 * process.
 */
START_TEST(test_end)
{
	const struct rb_fdent e = {RB_FD_LISTENER, 1, 1};
	const unsigned base = rb_fdtab_end();
	const int hi = (int)base + 10, lo = (int)base + 5;

	ck_assert_int_le(hi, RB_FDTAB_MAX - 1);
	ck_assert_int_eq(rb_fdtab_set(hi, &e), true);
	ck_assert_uint_eq(rb_fdtab_end(), base + 11);
	/* A lower fd, a clear, or a refused fd never shrink it. */
	ck_assert_int_eq(rb_fdtab_set(lo, &e), true);
	ck_assert_uint_eq(rb_fdtab_end(), base + 11);
	rb_fdtab_clear(hi);
	rb_fdtab_clear(lo);
	ck_assert_uint_eq(rb_fdtab_end(), base + 11);
	ck_assert_int_eq(rb_fdtab_set(-1, &e), false);
	ck_assert_uint_eq(rb_fdtab_end(), base + 11);
}
END_TEST

static const int high_fds[] = {65535, 65536, 70000, RB_FDTAB_MAX - 1};

START_TEST(test_high)
{
	const struct rb_fdent e = {RB_FD_SAFE_ABORT, 0x1234, 9};
	const int fd = high_fds[_i];
	struct rb_fdent got = {0};

	ck_assert_int_eq(rb_fdtab_set(fd, &e), true);
	ck_assert_int_eq(rb_fdtab_get(fd, &got), true);
	ck_assert_uint_eq(got.flags, e.flags);
	ck_assert_uint_eq(got.cookie, e.cookie);
	ck_assert_uint_eq(got.gen, e.gen);
	ck_assert_uint_ge(rb_fdtab_end(), (unsigned)fd + 1);
	rb_fdtab_clear(fd);
	ck_assert_uint_eq(rb_fdtab_flags(fd), 0);
}
END_TEST

/*
 * Resident anonymous memory in KiB, or -1.  RssAnon rather than VmRSS:
 * in a forked Check child, pages of libc and libcheck fault back in as
 * the test runs (even the stdio calls that read this file) and count as
 * RssFile, several hundred KiB of noise.  The table is anonymous memory.
 */
static long rss_anon_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kib = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "RssAnon:", 8) == 0) {
			kib = strtol(line + 8, NULL, 10);
			break;
		}
	}
	(void)fclose(f);
	return kib;
}

/*
 * A daemon may close every fd up to its limit at start-up, and each
 * close reads (and, if set, clears) one entry.  The flags array is
 * RB_FDTAB_MAX bytes = 1 MiB of BSS: read faults on untouched BSS map
 * the shared zero page, which RSS does not count.  Were those reads
 * to allocate, or were clear to write unconditionally, RSS would grow
 * by the whole 1 MiB (more if the cookie or gen arrays were touched:
 * 8 MiB and 4 MiB).  256 KiB of slack covers what else may fault in
 * meanwhile (stdio buffers, stack) while staying far below 1 MiB.
 */
#define RSS_SLACK_KIB 256

START_TEST(test_sweep_rss)
{
	long before, after;
	unsigned sum = 0;

	before = rss_anon_kib();
	ck_assert_int_gt(before, 0);
	for (int fd = 0; fd < RB_FDTAB_MAX; fd++) {
		sum += rb_fdtab_flags(fd);
		rb_fdtab_clear(fd);
	}
	after = rss_anon_kib();
	ck_assert_int_gt(after, 0);
	ck_assert_int_le(after - before, RSS_SLACK_KIB);
	/* Nothing left behind by the tests above: all reads saw zero. */
	ck_assert_uint_eq(sum, 0);
}
END_TEST

/* The same for the full get, which reads cookie and gen when set. */
START_TEST(test_sweep_get_rss)
{
	struct rb_fdent e;
	long before, after;
	unsigned hits = 0;

	before = rss_anon_kib();
	ck_assert_int_gt(before, 0);
	for (int fd = 0; fd < RB_FDTAB_MAX; fd++)
		hits += rb_fdtab_get(fd, &e);
	after = rss_anon_kib();
	ck_assert_int_gt(after, 0);
	ck_assert_int_le(after - before, RSS_SLACK_KIB);
	ck_assert_uint_eq(hits, 0);
}
END_TEST

/* update changes only the bits asked for, on the entry of the same
 * socket; another socket's (stale) entry is replaced, and a clear alone
 * never creates one. */
START_TEST(test_update)
{
	const struct rb_fdent a = {RB_FD_SAFE_ABORT, 0xa, 3};
	const struct rb_fdent b = {0, 0xb, 4};
	struct rb_fdent got = {0};

	ck_assert_int_eq(rb_fdtab_set(FD_UPDATE, &a), true);
	ck_assert_int_eq(rb_fdtab_update(FD_UPDATE, &a, RB_FD_USER_REUSE, 0),
			 true);
	ck_assert_uint_eq(rb_fdtab_flags(FD_UPDATE),
			  RB_FD_SAFE_ABORT | RB_FD_USER_REUSE);
	ck_assert_int_eq(rb_fdtab_update(FD_UPDATE, &a, 0, RB_FD_SAFE_ABORT),
			 true);
	ck_assert_uint_eq(rb_fdtab_flags(FD_UPDATE), RB_FD_USER_REUSE);
	/* another socket on the number: a clear does nothing... */
	ck_assert_int_eq(rb_fdtab_update(FD_UPDATE, &b, 0, RB_FD_USER_REUSE),
			 true);
	ck_assert_uint_eq(rb_fdtab_flags(FD_UPDATE), RB_FD_USER_REUSE);
	/* ...a set replaces the stale entry, cookie and gen too */
	ck_assert_int_eq(rb_fdtab_update(FD_UPDATE, &b, RB_FD_LISTENER, 0),
			 true);
	ck_assert_int_eq(rb_fdtab_get(FD_UPDATE, &got), true);
	ck_assert_uint_eq(got.flags, RB_FD_LISTENER);
	ck_assert_uint_eq(got.cookie, b.cookie);
	ck_assert_uint_eq(got.gen, b.gen);
	rb_fdtab_clear(FD_UPDATE);
	ck_assert_int_eq(rb_fdtab_update(FD_UPDATE, &b, 0, RB_FD_LISTENER),
			 true);
	ck_assert_uint_eq(rb_fdtab_flags(FD_UPDATE), 0);
}
END_TEST

/*
 * Four threads each turn their own bit of one entry on and off, and
 * check it after every change: an update that wrote back another
 * thread's stale view of the entry would flip someone's bit.
 */
#define RACE_ROUNDS 200000
static const struct rb_fdent race_ent = {RB_FD_LISTENER, 0x5a5a, 1};
static const unsigned race_bits[] = {RB_FD_CHILD_SAFE, RB_FD_SAFE_ABORT,
				     RB_FD_USER_REUSE, RB_FD_USER_LINGER};

static void *race_thread(void *arg)
{
	const unsigned bit = race_bits[(uintptr_t)arg];
	long bad = 0;

	for (int i = 0; i < RACE_ROUNDS; i++) {
		(void)rb_fdtab_update(FD_RACE, &race_ent, bit, 0);
		bad += !(rb_fdtab_flags(FD_RACE) & bit);
		(void)rb_fdtab_update(FD_RACE, &race_ent, 0, bit);
		bad += !!(rb_fdtab_flags(FD_RACE) & bit);
	}
	return (void *)bad;
}

START_TEST(test_update_race)
{
	pthread_t t[NELEM(race_bits)];
	void *bad;

	ck_assert_int_eq(rb_fdtab_set(FD_RACE, &race_ent), true);
	for (size_t i = 0; i < NELEM(race_bits); i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, race_thread,
						(void *)(uintptr_t)i),
				 0);
	for (size_t i = 0; i < NELEM(race_bits); i++) {
		ck_assert_int_eq(pthread_join(t[i], &bad), 0);
		ck_assert_ptr_eq(bad, NULL);
	}
	ck_assert_uint_eq(rb_fdtab_flags(FD_RACE), RB_FD_LISTENER);
	rb_fdtab_clear(FD_RACE);
}
END_TEST

/*
 * Before the table is mapped, one FRESH entry is kept aside: stored,
 * read, replaced and cleared without mapping the table, and taken in
 * when the first other entry maps it.  Must run before any test maps
 * the table (first after the memory tests, which only read).
 */
START_TEST(test_early)
{
	const struct rb_fdent fresh = {RB_FD_FRESH, 0, 5};
	const struct rb_fdent other = {RB_FD_LISTENER, 1, 0};
	const struct rb_fdent user = {0, 0, 0};
	struct rb_fdent got = {0};

	ck_assert_msg(!rb_fdtab_mapped(), "the table is mapped already");
	ck_assert_int_eq(rb_fdtab_set(FD_EARLY, &fresh), true);
	ck_assert_uint_eq(rb_fdtab_flags(FD_EARLY), RB_FD_FRESH);
	ck_assert_int_eq(rb_fdtab_get(FD_EARLY, &got), true);
	ck_assert_uint_eq(got.flags, RB_FD_FRESH);
	ck_assert_uint_eq(got.cookie, 0);
	ck_assert_uint_eq(got.gen, 5);
	ck_assert_uint_ge(rb_fdtab_end(), FD_EARLY + 1);
	/* The newest one only. */
	ck_assert_int_eq(rb_fdtab_set(FD_EARLY + 1, &fresh), true);
	ck_assert_uint_eq(rb_fdtab_flags(FD_EARLY), 0);
	ck_assert_uint_eq(rb_fdtab_flags(FD_EARLY + 1), RB_FD_FRESH);
	rb_fdtab_clear(FD_EARLY + 1);
	ck_assert_uint_eq(rb_fdtab_flags(FD_EARLY + 1), 0);
	ck_assert_int_eq(rb_fdtab_set(FD_EARLY, &fresh), true);
	ck_assert_int_eq(rb_fdtab_set(FD_EARLY + 1, &user), true);
	ck_assert_msg(!rb_fdtab_mapped(), "mapped for a FRESH entry");
	/* Another entry maps the table: the kept one is taken in, and
	 * changes to it keep its FRESH mark. */
	ck_assert_int_eq(rb_fdtab_set(FD_EARLY + 2, &other), true);
	ck_assert(rb_fdtab_mapped());
	ck_assert_int_eq(rb_fdtab_get(FD_EARLY, &got), true);
	ck_assert_uint_eq(got.flags, RB_FD_FRESH);
	ck_assert_uint_eq(got.gen, 5);
	ck_assert_int_eq(rb_fdtab_update(FD_EARLY, &got, RB_FD_USER_REUSE, 0),
			 true);
	ck_assert_uint_eq(rb_fdtab_flags(FD_EARLY),
			  RB_FD_FRESH | RB_FD_USER_REUSE);
	/* A FRESH entry a caller read and that is gone meanwhile: no new
	 * entry without a cookie to tie it to. */
	ck_assert_int_eq(rb_fdtab_get(FD_EARLY, &got), true);
	rb_fdtab_clear(FD_EARLY);
	ck_assert_int_eq(rb_fdtab_update(FD_EARLY, &got, RB_FD_USER_LINGER, 0),
			 false);
	ck_assert_uint_eq(rb_fdtab_flags(FD_EARLY), 0);
	rb_fdtab_clear(FD_EARLY + 2);
}
END_TEST

static Suite *fdtab_suite(void)
{
	Suite *s = suite_create("fdtab");
	TCase *tc;

	/* Memory first: with CK_FORK=no, later tests touch pages. */
	tc = rb_test_tcase(s, "sweep_memory");
	tcase_add_test(tc, test_sweep_rss);
	tcase_add_test(tc, test_sweep_get_rss);
	tc = rb_test_tcase(s, "early");
	tcase_add_test(tc, test_early);
	rb_test_loop(s, "unknown", test_unknown, NELEM(unknown_fds));
	rb_test_loop(s, "roundtrip", test_roundtrip, NELEM(entries));
	tc = rb_test_tcase(s, "overwrite");
	tcase_add_test(tc, test_overwrite);
	tc = rb_test_tcase(s, "clear");
	tcase_add_test(tc, test_clear);
	tcase_add_test(tc, test_clear_unknown);
	rb_test_loop(s, "refused", test_refused, NELEM(refused_fds));
	tc = rb_test_tcase(s, "refused_no_alias");
	tcase_add_test(tc, test_refused_no_alias);
	tc = rb_test_tcase(s, "end");
	tcase_add_test(tc, test_end);
	rb_test_loop(s, "high_fds", test_high, NELEM(high_fds));
	tc = rb_test_tcase(s, "update");
	tcase_add_test(tc, test_update);
	tcase_add_test(tc, test_update_race);
	return s;
}

int main(void)
{
	return rb_test_run(fdtab_suite());
}
