#ifndef RB_JSON_H
#define RB_JSON_H

#include <stddef.h>

/*
 * The body of a JSON string (without the quotes) for the bytes of s:
 * valid UTF-8 passes as it is, '"', '\\' and control characters are
 * escaped, and each invalid sequence becomes U+FFFD.  Writes at most
 * len bytes with the NUL into out (len > 0) and returns the length the
 * whole text needs, as snprintf does.
 */
size_t rb_json_escape(const char *s, char *out, size_t len);

#endif
