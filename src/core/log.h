#ifndef RB_LOG_H
#define RB_LOG_H

#include <stddef.h>

#include "core/policy.h"

/*
 * Logging that is safe anywhere, a signal handler included: no malloc, no
 * stdio, no locks.  A line is built in a caller's stack buffer and written
 * with one write(2) as "rebind[PID]: text\n".  errno is kept, and no
 * signal is raised (a reader of stderr that went away means SIGPIPE).
 */

#define RB_LINE_MAX 256

struct rb_line {
	char buf[RB_LINE_MAX];
	size_t len;
};

/*
 * Set the level and remember which file fd is now, so that lines stop
 * once a daemon closes its stderr and the number is reused for something
 * else (a client socket, say).
 */
void rb_log_init(enum rb_level level, int fd);
int rb_log_enabled(enum rb_level level);

void rb_line_reset(struct rb_line *l);
void rb_fmt_str(struct rb_line *l, const char *s);
void rb_fmt_int(struct rb_line *l, long long v);

/* Write the line if level is enabled and the log fd is still the same. */
void rb_log_line(enum rb_level level, const struct rb_line *l);
/* Shorthand for a line made of a + b (b may be NULL). */
void rb_log_msg(enum rb_level level, const char *a, const char *b);

#endif
