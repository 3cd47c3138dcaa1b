#ifndef RB_FUZZ_CHECK_H
#define RB_FUZZ_CHECK_H

/* What the fuzz targets share: libFuzzer's entry point and CHECK(), a
 * property the target asserts.  A failed CHECK names the file and line
 * and aborts, which libFuzzer reports as a crash. */

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			(void)fprintf(stderr, "%s:%d: %s\n", __FILE__,         \
			              __LINE__, #cond);                        \
			abort();                                               \
		}                                                              \
	} while (0)

#endif
