#ifndef RB_NAMES_H
#define RB_NAMES_H

#include "core/progname.h"

/*
 * This process's names for [program NAME] sections, from
 * /proc/self/cmdline and /proc/self/exe.  The strings live in static
 * buffers: call once, at initialisation.
 */
void rb_shim_names(struct rb_names *out);

#endif
