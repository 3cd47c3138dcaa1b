#ifndef RB_TEST_SUITE_H
#define RB_TEST_SUITE_H

#include <check.h>
#include <stddef.h>

/* What every unit test program does with its Check suite. */

/* Rows in a table: the n of rb_test_loop(), and of other walks. */
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* A TCase named after a behaviour, added to s. */
TCase *rb_test_tcase(Suite *s, const char *name);

/* A TCase running t once per table row, 0 to n - 1 (_i in the test). */
void rb_test_loop(Suite *s, const char *name, const TTest *t, size_t n);

/* Run s; returns main()'s exit status. */
int rb_test_run(Suite *s);

#endif
