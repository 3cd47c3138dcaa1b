#include "config.h"

#include <sys/wait.h>
#include <unistd.h>

/* The steps of mapping the table are static: this test is built with
 * the table's code itself, not against librbcore. */
#include "core/fdtab.c"
#include "suite.h"

/*
 * Before the table is mapped, fdtab keeps one FRESH entry aside; mapping
 * the table copies it in before publishing the table.  A clear of that
 * entry (its descriptor closed in another thread or a signal handler)
 * may fall anywhere among the mapping's steps, and the entry must be
 * gone after it in every order: a FRESH mark outliving its descriptor
 * would let a socket no hook saw, at that number, pass for a fresh one.
 * So must one forgotten by an rb_fdtab_set() that saw no table yet; and
 * a reader that saw no table must still find the entry once the slot is
 * given up.  Each order runs in a child of its own, so each starts
 * unmapped.
 */
#define FD_KEPT 40

enum when {
	W_NEVER,          /* no clear: the entry is taken in */
	W_BEFORE_TAKE_IN, /* cleared before the mapper looked */
	W_BEFORE_PUBLISH, /* after the copy, before the table is seen */
	W_BEFORE_SETTLE,  /* table seen, the slot not yet given up */
	W_ACROSS,         /* flags read before publishing, cleared after */
	W_AFTER,          /* the mapping done */
	W_READ_ACROSS,    /* no clear: a reader saw no table, then the slot
			     after settle() gave it up */
	W_SET_ACROSS,     /* rb_fdtab_set(fd, nothing) saw no table, and
			     forgot the entry after the mapping */
};

static const char *const names[] = {
	"never",  "before take_in", "before publish", "before settle",
	"across", "after",          "read across",    "set across",
};

/* Exit status: 0 right, 1 wrong, 2 setup failed. */
static int one_order(enum when w)
{
	const struct rb_fdent fresh = {RB_FD_FRESH, 0, 3};
	const struct rb_fdent none = {0, 0, 0};
	struct rb_fdtab_mem *m;
	struct rb_fdent got;
	bool seen;
	int early;

	if (mapped() || !rb_fdtab_set(FD_KEPT, &fresh) || mapped())
		return 2;
	m = map_new();
	if (!m)
		return 2;
	if (w == W_BEFORE_TAKE_IN)
		rb_fdtab_clear(FD_KEPT);
	early = take_in(m);
	if (w == W_BEFORE_PUBLISH)
		rb_fdtab_clear(FD_KEPT);
	seen = rb_fdtab_flags(FD_KEPT) != 0;
	if (publish(m) != m)
		return 2;
	if (w == W_BEFORE_SETTLE)
		rb_fdtab_clear(FD_KEPT);
	settle(m, early);
	if (w == W_ACROSS && seen)
		clear_known(FD_KEPT);
	if (w == W_AFTER)
		rb_fdtab_clear(FD_KEPT);
	if (w == W_READ_ACROSS)
		return rb_fdtab_flags_early(FD_KEPT) == RB_FD_FRESH ? 0 : 1;
	if (w == W_SET_ACROSS)
		(void)early_set(FD_KEPT, &none);
	if (atomic_load(&rb_fdtab_early) != -1)
		return 1;
	if (w != W_NEVER)
		return rb_fdtab_flags(FD_KEPT) == 0 ? 0 : 1;
	return rb_fdtab_get(FD_KEPT, &got) && got.flags == RB_FD_FRESH &&
			       got.gen == 3 && got.cookie == 0
		       ? 0
		       : 1;
}

START_TEST(test_order)
{
	pid_t pid = fork();
	int st = 0;

	if (pid == 0)
		_exit(one_order((enum when)_i));
	ck_assert_int_ge(pid, 0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	ck_assert_msg(WEXITSTATUS(st) == 0, "%s: %s", names[_i],
		      WEXITSTATUS(st) == 1 ? "entry wrong after the mapping"
					   : "setup failed");
}
END_TEST

static Suite *steps_suite(void)
{
	Suite *s = suite_create("fdtab_steps");

	rb_test_loop(s, "clear_among_steps", test_order, NELEM(names));
	return s;
}

int main(void)
{
	return rb_test_run(steps_suite());
}
