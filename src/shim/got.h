#ifndef RB_GOT_H
#define RB_GOT_H

#include <link.h>
#include <stdbool.h>
#include <stddef.h>

/*
 * Objects loaded with dlopen(..., RTLD_DEEPBIND) look their imports up in
 * their own dependencies first, so they bind socket(), close() and the
 * rest straight to libc, past librebind.  This module points those
 * objects' imports of librebind's exports (and of nothing else) at
 * librebind, by rewriting their GOT entries (JUMP_SLOT and GLOB_DAT
 * relocations) once the real dlopen() has returned.
 *
 * On an architecture without a relocation table here (see got.c), or a
 * C library without dladdr1(), rb_got_supported() is false and nothing is
 * patched: such libraries keep binding to libc, as without this module.
 */

/* The objects loaded before a dlopen() call, by dynamic section. */
struct rb_got_seen {
	const void **dyn;
	size_t n;
	size_t cap;
};

bool rb_got_supported(void);

/*
 * Would a dlopen() of file that librebind makes find the same object as
 * the caller's own call?  Not when the name has a $ORIGIN-style token or
 * no slash and the calling object (the one holding caller) carries a
 * RUNPATH or RPATH: glibc reads those from the object that called it.
 */
bool rb_got_same_search(const char *file, const void *caller);

/* Records what is loaded now; false (nothing to free) on no memory. */
bool rb_got_before(struct rb_got_seen *seen);

/*
 * The dlopen() between rb_got_before(seen) and now returned the object
 * lm: if it is new, patch it and the new objects it needs.  Keeps errno;
 * frees seen.  Several threads may call it at once.
 */
void rb_got_cover(struct rb_got_seen *seen, const struct link_map *lm);

#endif
