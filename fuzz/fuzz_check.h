#ifndef RB_FUZZ_CHECK_H
#define RB_FUZZ_CHECK_H

/* What the fuzz targets share: libFuzzer's entry point, CHECK() (a
 * property the target asserts: a failed CHECK names the file and line
 * and aborts, which libFuzzer reports as a crash), and the checks of
 * structures both targets see. */

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			(void)fprintf(stderr, "%s:%d: %s\n", __FILE__,         \
			              __LINE__, #cond);                        \
			abort();                                               \
		}                                                              \
	} while (0)

/* A port set as policy.h promises it: at most RB_PORTSET_MAX ranges,
 * each within 1-65535 and in order. */
static inline void check_portset(const struct rb_portset *set)
{
	CHECK(set->n <= RB_PORTSET_MAX);
	for (unsigned i = 0; i < set->n; i++)
		CHECK(set->r[i].lo >= 1 && set->r[i].lo <= set->r[i].hi);
}

#endif
