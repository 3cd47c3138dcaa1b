#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <stdbool.h>

#include "shim/got.h"
#include "shim/init.h"

/*
 * A library loaded with RTLD_DEEPBIND binds its imports in its own scope
 * first, so its socket(), listen() and close() reach libc, not rebind
 * (PHP loads every extension so).  Once such a call has loaded it,
 * got.c points its imports of our exports at us; everything else it
 * imports resolves as glibc chose.  Every other call is forwarded as a
 * tail call: glibc looks at the return address to find the caller's
 * RUNPATH and $ORIGIN, and it must stay the program's.
 */

/*
 * So the forward must be a tail call, whatever the build's -O: compilers
 * that know musttail are told; older GCC makes one only when optimising.
 */
#if defined(__has_attribute) && defined(__clang__)
#if __has_attribute(musttail)
#define RB_MUSTTAIL __attribute__((musttail))
#endif
#elif defined(__GNUC__)
#define RB_SIBCALLS __attribute__((optimize("O2")))
#endif
#ifndef RB_MUSTTAIL
#define RB_MUSTTAIL
#endif
#ifndef RB_SIBCALLS
#define RB_SIBCALLS
#endif

#ifdef RTLD_DEEPBIND
static bool covers(const char *file, int mode, const void *caller)
{
	/* A disabled rebind stays a pure pass-through.  A file our own
	 * call would look for elsewhere than the caller's is left as it
	 * is (README: Limits). */
	return (mode & RTLD_DEEPBIND) && file && rb_policy()->enabled &&
	       rb_got_supported() && rb_got_same_search(file, caller);
}

/* errno and dlerror() are the real call's: nothing here fails visibly,
 * and dlinfo() on the handle just returned succeeds as dlopen() did. */
static void *deep_open(rb_dlopen_fn real, const char *file, int mode)
{
	int saved = errno;
	struct rb_got_seen seen;
	bool ok = rb_got_before(&seen);
	void *h, *lm = NULL;

	errno = saved;
	h = real(file, mode);
	if (!ok)
		return h;
	saved = errno;
	if (h && dlinfo(h, RTLD_DI_LINKMAP, &lm) != 0)
		lm = NULL;
	rb_got_cover(&seen, lm);
	errno = saved;
	return h;
}
#endif

RB_SIBCALLS RB_EXPORT void *dlopen(const char *file, int mode)
{
	const struct rb_real *r = rb_real();

#ifdef RTLD_DEEPBIND
	if (covers(file, mode, __builtin_return_address(0)))
		return deep_open(r->dlopen, file, mode);
#endif
	RB_MUSTTAIL return r->dlopen(file, mode);
}

/*
 * Programs linked before glibc 2.34 took dlopen from libdl, an older
 * version of the name: they get their own hook, forwarding to that
 * version (configure names it; on i386 there are two and none is
 * hooked, so such programs keep libc's and their DEEPBIND libraries
 * bypass rebind).
 */
#ifdef RB_VER_DLOPEN_OLD
void *rb_dlopen_old(const char *file, int mode);
__asm__(".symver rb_dlopen_old, dlopen@" RB_VER_DLOPEN_OLD);
RB_SIBCALLS RB_EXPORT void *rb_dlopen_old(const char *file, int mode)
{
	const struct rb_real *r = rb_real();

#ifdef RTLD_DEEPBIND
	if (covers(file, mode, __builtin_return_address(0)))
		return deep_open(r->dlopen_old, file, mode);
#endif
	RB_MUSTTAIL return r->dlopen_old(file, mode);
}
#endif
