#ifndef RB_NAMES_H
#define RB_NAMES_H

#include "core/progname.h"

/*
 * This process's names for [program NAME] sections.  glibc hands every
 * constructor the program's arguments; the library's constructor passes
 * them here first.  When a hook initialised the library earlier (from
 * another library's constructor), only argv[0] is known: then the names
 * are argv[0] and the executable, without a script.
 */
void rb_shim_set_args(int argc, char **argv);

/* Call once, at initialisation: the executable's path is kept here. */
void rb_shim_names(struct rb_names *out);

#endif
