#ifndef RB_CLI_H
#define RB_CLI_H

#include <stddef.h>

/* The exit statuses of env(1), so callers can tell whose error it was. */
#define RB_EXIT_OWN		125
#define RB_EXIT_CANNOT_RUN	126
#define RB_EXIT_NOT_FOUND	127

/* Absolute path of the librebind.so to preload, or -1 after saying why. */
int rb_cli_find_library(char *out, size_t len);

/* Put lib first in LD_PRELOAD, after any sanitizer runtime. */
int rb_cli_set_preload(const char *lib);

/* One line on stderr when the loader will not preload into cmd. */
void rb_cli_warn_unpreloadable(const char *cmd);

#endif
