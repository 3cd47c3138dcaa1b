#include "config.h"

#include <fcntl.h>
#include <stdarg.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/fdtab.h"
#include "shim/init.h"
#include "shim/sock.h"

/*
 * syscall() copies and closes descriptors where no other hook sees it
 * (syscall(SYS_dup, fd) and the like), and a copy rebind does not know
 * about is a copy safe-abort may shut down under its holder.  For those
 * numbers the table is kept as the dup and close hooks keep it; every
 * call goes to libc's syscall() exactly once, and its return value and
 * errno come back untouched.
 *
 * The arguments: libc's syscall() reads six after the number, whatever
 * the caller passed (x86_64: five registers and one stack slot; i386:
 * six stack slots, a 64-bit value taking two as the caller laid it out),
 * so six longs read and passed on give the kernel exactly what it would
 * have got.  The kernel takes descriptors and fcntl commands as 32-bit
 * values, so they are truncated here as there.
 */

#define RB_ARG_INT(a) ((int)(unsigned int)(a))

#ifndef HAVE_CLOSE_RANGE
int close_range(unsigned int first, unsigned int last, int flags);
#endif

/* fork, vfork and clone (unless it shares the table) copy every
 * descriptor: bumped for each, which only makes closes ordinary. */
static int copies_all(long nr)
{
#ifdef SYS_fork
	if (nr == SYS_fork || nr == SYS_vfork)
		return 1;
#endif
#ifdef SYS_clone3
	if (nr == SYS_clone3)
		return 1;
#endif
	return nr == SYS_clone;
}

static int is_fcntl(long nr)
{
#ifdef SYS_fcntl64
	if (nr == SYS_fcntl64)
		return 1;
#endif
	return nr == SYS_fcntl;
}

/* The number of the descriptor that ret copies, or -1. */
static int copied_from(long nr, const long *a, long ret)
{
	int cmd = RB_ARG_INT(a[1]);

	if (ret < 0)
		return -1;
	if (nr == SYS_dup || nr == SYS_dup3)
		return RB_ARG_INT(a[0]);
#ifdef SYS_dup2
	if (nr == SYS_dup2 && RB_ARG_INT(a[0]) != RB_ARG_INT(a[1]))
		return RB_ARG_INT(a[0]);
#endif
#ifdef SYS_pidfd_getfd
	/* Maybe from another process: a matching entry of ours then only
	 * loses its reset, which is safe. */
	if (nr == SYS_pidfd_getfd)
		return RB_ARG_INT(a[1]);
#endif
	if (is_fcntl(nr) && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC))
		return RB_ARG_INT(a[0]);
	return -1;
}

static long forward(long nr, const long *a)
{
	return rb_real_syscall()(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}

/* Like the close hook: forget the entry, and reset a safe-abort
 * connection when nothing can be lost. */
static long sys_close(const struct rb_real *r, const long *a)
{
	int fd = RB_ARG_INT(a[0]);

	if (rb_fdtab_flags(fd))
		rb_sock_closing(r, fd);
	return forward(SYS_close, a);
}

/* The generation moves before and after, as around fork(). */
static long sys_copy_all(long nr, const long *a)
{
	long ret;

	rb_fork_gen_bump();
	ret = forward(nr, a);
	rb_fork_gen_bump();
	return ret;
}

static long dispatch(const struct rb_real *r, long nr, const long *a)
{
	long ret;
	int from;

	if (nr == SYS_close)
		return sys_close(r, a);
#ifdef SYS_close_range
	/* The close_range hook does the same system call, same result. */
	if (nr == SYS_close_range)
		return close_range((unsigned int)a[0], (unsigned int)a[1],
				   RB_ARG_INT(a[2]));
#endif
	if (copies_all(nr))
		return sys_copy_all(nr, a);
	ret = forward(nr, a);
	from = copied_from(nr, a, ret);
	if (from >= 0)
		rb_sock_duplicated(from, (int)ret);
	return ret;
}

RB_EXPORT long syscall(long nr, ...)
{
	va_list ap;
	long a[6];

	va_start(ap, nr);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	return dispatch(rb_real(), nr, a);
}
