#ifndef RB_NAMES_H
#define RB_NAMES_H

#include "core/progname.h"

/*
 * This process's names for [program NAME] sections, worked out only
 * when a config file has such a section and a socket first needs the
 * policy.  The arguments come from a copy made at load where libc hands
 * them to constructors (glibc), else from /proc/self/cmdline then.
 */

/* At load: copy the arguments before the program can rewrite them (a
 * process title written over argv).  No system call. */
void rb_shim_keep_args(int argc, char *const argv[]);

/* Fill out; its names point into this module's buffers. */
void rb_shim_names(struct rb_names *out);

#endif
