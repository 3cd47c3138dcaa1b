#include "config.h"

#include "suite.h"

#include <stdlib.h>

TCase *rb_test_tcase(Suite *s, const char *name)
{
	TCase *tc = tcase_create(name);

	suite_add_tcase(s, tc);
	return tc;
}

void rb_test_loop(Suite *s, const char *name, const TTest *t, size_t n)
{
	tcase_add_loop_test(rb_test_tcase(s, name), t, 0, (int)n);
}

int rb_test_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
