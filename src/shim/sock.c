#include "config.h"

#include "shim/sock.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdatomic.h>

#include "core/log.h"
#include "shim/init.h"

#ifndef SO_COOKIE
#define SO_COOKIE 57
#endif
#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif

struct rb_tcp {
	int family;
	unsigned port;
	bool mptcp;
	bool fresh; /* FRESH entry: TCP, options at their defaults */
};

bool rb_sock_cookie(int fd, uint64_t *out)
{
	socklen_t len = sizeof(*out);

	return getsockopt(fd, SOL_SOCKET, SO_COOKIE, out, &len) == 0;
}

bool rb_sock_entry(int fd, struct rb_fdent *out)
{
	uint64_t cookie;

	if (!rb_fdtab_get(fd, out))
		return false;
	if (out->flags & RB_FD_FRESH)
		return true;
	return rb_sock_cookie(fd, &cookie) && cookie == out->cookie;
}

bool rb_sock_forget(int fd)
{
	if (!rb_fdtab_flags(fd))
		return false;
	if (rb_table_owner()) {
		rb_fdtab_clear(fd);
		return true;
	}
	/* Such a mark must not outlive its socket; losing one is safe. */
	rb_fdtab_drop_fresh(fd);
	return false;
}

/*
 * libc may have closed this number where no hook saw it: an old entry
 * must not describe the new socket.  A plain TCP socket is marked FRESH
 * instead, so that its listen() need not ask the kernel for its protocol
 * and SO_REUSEADDR (before the table is mapped, the table keeps the
 * newest such mark aside without mapping it); only where telling a
 * vfork() child from its parent costs no system call either.
 * The mark is trusted without a cookie (none is read here).  A socket no
 * hook saw, at the number of one libc closed, could pass for a fresh
 * one; so could one whose SO_REUSEADDR was set where no hook sees it
 * (through syscall(), by a child): rebind then sets 1 over 1, and puts
 * 0 back should that listen() fail.  A vfork() child marks nothing in
 * the parent's table.
 */
void rb_sock_created(int fd, int domain, int type, int protocol)
{
	struct rb_fdent e = {.flags = RB_FD_FRESH, .gen = rb_fork_gen()};

	if ((domain == AF_INET || domain == AF_INET6) &&
	    (type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) == SOCK_STREAM &&
	    (protocol == 0 || protocol == IPPROTO_TCP) && rb_table_owner_free())
		(void)rb_fdtab_set(fd, &e);
	else
		(void)rb_sock_forget(fd);
}

/*
 * e, fd's FRESH entry, stops being FRESH (the options are no longer the
 * defaults, or another descriptor now shares them): what it keeps, the
 * program's own options, is tied to the socket's cookie from now on.
 * Without any, or without the cookie, the entry goes (flags 0).  Stored,
 * and left in *e.
 */
static void unfresh(int fd, struct rb_fdent *e)
{
	e->flags &= ~(unsigned)RB_FD_FRESH;
	if (e->flags == 0 || !rb_sock_cookie(fd, &e->cookie))
		e->flags = 0;
	(void)rb_fdtab_set(fd, e);
}

static unsigned addr_port(const struct sockaddr *a, socklen_t len)
{
	if (a->sa_family == AF_INET && len >= sizeof(struct sockaddr_in))
		return ntohs(((const struct sockaddr_in *)a)->sin_port);
	if (a->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6))
		return ntohs(((const struct sockaddr_in6 *)a)->sin6_port);
	return 0;
}

static bool get_int(int fd, int name, int *out)
{
	socklen_t len = sizeof(*out);

	return getsockopt(fd, SOL_SOCKET, name, out, &len) == 0;
}

/*
 * TCP, or MPTCP (made with IPPROTO_MPTCP or switched by mptcpize): its
 * listeners and TIME_WAIT entries take SO_REUSEADDR as TCP's do.  SCTP
 * is SOCK_STREAM too, and stays out.
 */
static bool tcp_like(int fd, bool *mptcp)
{
	int proto = 0;

	if (!get_int(fd, SO_PROTOCOL, &proto))
		return false;
	*mptcp = proto == IPPROTO_MPTCP;
	return proto == IPPROTO_TCP || *mptcp;
}

/* Is fd a bound IPv4/IPv6 TCP (or MPTCP) socket?  fresh: socket() made
 * it as TCP (a FRESH entry). */
static bool tcp_bound(int fd, bool fresh, struct rb_tcp *out)
{
	struct sockaddr_storage ss = {0};
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		return false;
	out->family = ss.ss_family;
	out->port = addr_port((struct sockaddr *)&ss, len);
	out->mptcp = false;
	out->fresh = fresh;
	return out->port != 0 && (fresh || tcp_like(fd, &out->mptcp));
}

static bool set_reuseaddr(const struct rb_real *r, int fd, int on)
{
	return r->setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on,
			     sizeof(on)) == 0;
}

/* linger {1,0}; the value it replaces goes to u, when given, so that a
 * listen() that fails can put it back. */
static bool set_abort(const struct rb_real *r, int fd,
		      struct rb_listen_undo *u)
{
	const struct linger lg = {.l_onoff = 1, .l_linger = 0};
	socklen_t len = sizeof(struct linger);

	if (u && getsockopt(fd, SOL_SOCKET, SO_LINGER, &u->old_linger,
			    &len) != 0)
		return false;
	if (r->setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) != 0)
		return false;
	if (u)
		u->linger = true;
	return true;
}

static void line_start(struct rb_line *l, const struct rb_tcp *t)
{
	rb_line_reset(l);
	rb_fmt_str(l, t->family == AF_INET6 ? "IPv6" : "IPv4");
	rb_fmt_str(l, " port ");
	rb_fmt_int(l, t->port);
	rb_fmt_str(l, ":");
}

static void log_change(const struct rb_tcp *t, const char *what)
{
	struct rb_line l;

	if (!rb_log_enabled(RB_LOG_INFO))
		return;
	line_start(&l, t);
	rb_fmt_str(&l, what);
	rb_log_line(RB_LOG_INFO, &l);
}

/* user: the program's own options rebind keeps; all_user: every option
 * the program set.  A fresh socket's SO_REUSEADDR is 0 unless the
 * program set it (its value then unknown): only then is it read. */
static bool reuse_wanted(int fd, const struct rb_tcp *t,
			 const struct rb_sockpolicy *sp, unsigned user,
			 unsigned all_user)
{
	int cur = 1;

	if (!sp->reuseaddr || (user & RB_FD_USER_REUSE))
		return false;
	if (t->fresh && !(all_user & RB_FD_USER_REUSE))
		return true;
	return get_int(fd, SO_REUSEADDR, &cur) && cur == 0;
}

/*
 * Set the options sp asks for on fd, except those the program chose
 * itself (user), unless sp says to override them.  Returns the fdtab
 * flags that describe the result.
 */
static unsigned apply(const struct rb_real *r, int fd, const struct rb_tcp *t,
		      const struct rb_sockpolicy *sp, unsigned user,
		      struct rb_listen_undo *u)
{
	unsigned flags = RB_FD_LISTENER | user;
	unsigned mine = sp->override ? 0 : user;
	unsigned over = 0; /* the program's own options rebind replaced */
	struct rb_line l;

	if (sp->override)
		flags |= RB_FD_OVERRIDE;
	line_start(&l, t);
	if (reuse_wanted(fd, t, sp, mine, user) && set_reuseaddr(r, fd, 1)) {
		if (u)
			u->reuse = true;
		rb_fmt_str(&l, " SO_REUSEADDR=1");
		over |= user & RB_FD_USER_REUSE;
	}
	if (!(mine & RB_FD_USER_LINGER)) {
		if (sp->linger == RB_LINGER_ABORT && set_abort(r, fd, u)) {
			rb_fmt_str(&l, " SO_LINGER={1,0} (abort)");
			over |= user & RB_FD_USER_LINGER;
		}
		/* The kernel has no TCP_LINGER2 for MPTCP: their closes
		 * stay ordinary. */
		if (sp->linger == RB_LINGER_SAFE_ABORT && !t->mptcp) {
			flags |= RB_FD_CHILD_SAFE;
			rb_fmt_str(&l, " safe-abort on close");
			over |= user & RB_FD_USER_LINGER;
		}
	}
	if (l.buf[l.len - 1] == ':')
		return flags;
	if (over)
		rb_fmt_str(&l, " (override: over the program's own value)");
	rb_log_line(RB_LOG_INFO, &l);
	return flags;
}

/* Said once per process: descriptors the table cannot hold. */
static void untracked(void)
{
	static _Atomic int warned;

	if (!atomic_exchange(&warned, 1))
		rb_log_msg(RB_LOG_INFO, "cannot track a descriptor (above ",
			   "1048575, or no memory): passed through untouched");
}

/* Beyond the table: rebind leaves such a descriptor as it is, since it
 * could not tell later what it did to it. */
static bool beyond(int fd)
{
	if (fd < RB_FDTAB_MAX)
		return false;
	untracked();
	return true;
}

/* Record e's flags for fd, keeping the program's own options that
 * another thread may note meanwhile (only those bits survive). */
static void store(int fd, const struct rb_fdent *e)
{
	if (!rb_fdtab_update(fd, e, e->flags, ~(unsigned)RB_FD_USER_MASK))
		untracked();
}

/* Returns the flags recorded for the listener fd.  u: from listen(),
 * where the socket's entry may say socket() made it (FRESH). */
static unsigned record_listener(const struct rb_real *r,
				const struct rb_policy *p, int fd,
				unsigned user, struct rb_sockpolicy *sp,
				struct rb_listen_undo *u)
{
	struct rb_fdent e = {.flags = RB_FD_IGNORED | user,
			     .gen = rb_fork_gen()};
	bool fresh = u && u->entry && (u->old.flags & RB_FD_FRESH);
	struct rb_tcp t;

	if (!rb_sock_cookie(fd, &e.cookie))
		return 0;
	if (tcp_bound(fd, fresh, &t) && rb_policy_for_port(p, t.port, sp))
		e.flags = apply(r, fd, &t, sp, user, u);
	store(fd, &e);
	if (u)
		u->stored = true;
	return e.flags;
}

void rb_sock_listen(const struct rb_real *r, int fd,
		    struct rb_listen_undo *u)
{
	const struct rb_policy *p = rb_policy();
	struct rb_sockpolicy sp;
	int saved = errno;

	*u = (struct rb_listen_undo){0};
	if (p->enabled && !beyond(fd)) {
		unsigned user = 0;

		u->entry = rb_sock_entry(fd, &u->old);
		if (u->entry)
			user = u->old.flags & RB_FD_USER_MASK;
		(void)record_listener(r, p, fd, user, &sp, u);
	}
	errno = saved;
}

void rb_sock_listen_failed(const struct rb_real *r, int fd,
			   const struct rb_listen_undo *u)
{
	int saved = errno;

	if (u->reuse)
		(void)set_reuseaddr(r, fd, 0);
	if (u->linger)
		(void)r->setsockopt(fd, SOL_SOCKET, SO_LINGER, &u->old_linger,
				    sizeof(u->old_linger));
	if (u->entry)
		(void)rb_fdtab_set(fd, &u->old);
	else if (u->stored)
		rb_fdtab_clear(fd);
	errno = saved;
}

/*
 * A listener the program did not create under rebind (systemd socket
 * activation, inetd, a parent's socket): adopt it at its first accept.
 * The connection just accepted was cloned without the options, so it
 * gets them directly.
 */
static unsigned adopt(const struct rb_real *r, const struct rb_policy *p,
		      int lfd, int cfd, unsigned user)
{
	struct rb_sockpolicy sp;
	unsigned flags = record_listener(r, p, lfd, user, &sp, NULL);
	struct rb_tcp t;

	/* The connection inherited the program's own options from the
	 * listener: those stay, as they do on the listener. */
	if ((flags & RB_FD_LISTENER) && tcp_bound(cfd, false, &t))
		(void)apply(r, cfd, &t, &sp, user, NULL);
	return flags;
}

static void track_connection(int cfd, unsigned lflags, uint32_t gen)
{
	struct rb_fdent e = {.flags = RB_FD_SAFE_ABORT |
				      (lflags & RB_FD_OVERRIDE),
			     .gen = gen};

	if (rb_sock_cookie(cfd, &e.cookie))
		store(cfd, &e);
}

/*
 * A listener rebind has looked at already and whose connections need
 * nothing: trusted as the table says, without asking the kernel.  Were
 * the entry stale (libc closed that listener where no hook saw it, and
 * another took its number where none saw it either), the other listener
 * would go without rebind's options, as it would without rebind; acting
 * on nothing, a stale entry does no harm here.
 */
static bool settled_listener(int lfd)
{
	unsigned f = rb_fdtab_flags(lfd);

	return (f & (RB_FD_LISTENER | RB_FD_IGNORED)) &&
	       !(f & RB_FD_CHILD_SAFE);
}

void rb_sock_accepted(const struct rb_real *r, int lfd, int cfd, uint32_t gen)
{
	const struct rb_policy *p = rb_policy();
	struct rb_fdent le;
	unsigned flags;
	int saved = errno;

	rb_fdtab_clear(cfd);
	if (!p->enabled || beyond(lfd) || settled_listener(lfd))
		return;
	/* Acting on the entry: a stale one (libc closed the old socket
	 * where no hook saw it) must not hide a listener that needs
	 * adopting, nor give another listener's connections safe-abort,
	 * nor pass the program's own option on to a listener it
	 * inherited. */
	flags = rb_sock_entry(lfd, &le) ? le.flags : 0;
	if (!(flags & (RB_FD_LISTENER | RB_FD_IGNORED)))
		flags = adopt(r, p, lfd, cfd, flags & RB_FD_USER_MASK);
	if (flags & RB_FD_CHILD_SAFE)
		track_connection(cfd, flags, gen);
	errno = saved;
}

static bool retry_allowed(int fd, const struct sockaddr *addr,
			  socklen_t len)
{
	struct rb_sockpolicy sp;
	struct rb_fdent e;
	int cur = 1;
	bool mptcp;
	unsigned port = addr ? addr_port(addr, len) : 0;

	return rb_policy_for_port(rb_policy(), port, &sp) && sp.reuseaddr &&
	       (sp.override ||
		!(rb_sock_entry(fd, &e) && (e.flags & RB_FD_USER_REUSE))) &&
	       tcp_like(fd, &mptcp) && get_int(fd, SO_REUSEADDR, &cur) &&
	       cur == 0;
}

int rb_sock_bind_retry(const struct rb_real *r, int fd,
		       const struct sockaddr *addr, socklen_t len)
{
	struct rb_tcp t = {0};

	if (!retry_allowed(fd, addr, len) || !set_reuseaddr(r, fd, 1))
		return -1;
	if (r->bind(fd, addr, len) == 0) {
		struct rb_fdent e;

		/* SO_REUSEADDR is 1 now: no longer a fresh socket's. */
		if (rb_fdtab_get(fd, &e) && (e.flags & RB_FD_FRESH))
			unfresh(fd, &e);
		t.family = addr->sa_family;
		t.port = addr_port(addr, len);
		log_change(&t, " bind retried with SO_REUSEADDR=1");
		return 0;
	}
	(void)set_reuseaddr(r, fd, 0);
	return -1;
}

/*
 * One atomic change of the entry: a dup() in another thread may clear
 * the safe-abort flag at the same moment, and must not find it set again.
 * OVERRIDE never changes during an entry's life, so reading it first is
 * enough.
 */
static void note_user(int fd, unsigned flag, struct rb_fdent *e)
{
	/* A second round only when a FRESH entry read in the first is gone
	 * (another socket() took the mark kept before the table existed):
	 * the entry is read again, and this time tied to the cookie. */
	for (int round = 0; round < 2; round++) {
		unsigned clear = 0;

		if (!rb_sock_entry(fd, e)) {
			e->flags = 0;
			e->gen = rb_fork_gen();
			if (!rb_sock_cookie(fd, &e->cookie))
				return;
		}
		if (flag == RB_FD_USER_LINGER && !(e->flags & RB_FD_OVERRIDE))
			clear = RB_FD_CHILD_SAFE | RB_FD_SAFE_ABORT;
		e->flags = (e->flags & ~clear) | flag;
		if (rb_fdtab_update(fd, e, flag, clear) || e->cookie != 0)
			return;
	}
}

void rb_sock_user_option(const struct rb_real *r, int fd, int level,
			 int name)
{
	const struct rb_policy *p;
	struct rb_sockpolicy sp;
	struct rb_fdent e = {0};
	int saved = errno;

	if (level != SOL_SOCKET || (name != SO_REUSEADDR && name != SO_LINGER))
		return;
	/* Only now: the policy's first use reads the config file. */
	p = rb_policy();
	if (!p->enabled)
		return;
	note_user(fd, name == SO_REUSEADDR ? RB_FD_USER_REUSE
					    : RB_FD_USER_LINGER, &e);
	/* override = yes: a listener keeps rebind's values. */
	if ((e.flags & RB_FD_LISTENER) && (e.flags & RB_FD_OVERRIDE))
		(void)record_listener(r, p, fd, e.flags & RB_FD_USER_MASK,
				      &sp, NULL);
	errno = saved;
}

static void drop_safe_abort(int fd, struct rb_fdent *e)
{
	e->flags &= ~(unsigned)RB_FD_SAFE_ABORT;
	(void)rb_fdtab_update(fd, e, 0, RB_FD_SAFE_ABORT);
}

void rb_sock_shared(int fd)
{
	struct rb_fdent e;

	if (rb_fdtab_get(fd, &e) && (e.flags & RB_FD_SAFE_ABORT))
		drop_safe_abort(fd, &e);
}

void rb_sock_duplicated(int oldfd, int newfd)
{
	struct rb_fdent e;

	if (!rb_fdtab_get(oldfd, &e)) {
		(void)rb_sock_forget(newfd);
		return;
	}
	/* The copy has a second holder, even in a vfork() child (whose
	 * dup lands in the parent's table): never reset it.  The new
	 * descriptor is the child's own and stays out of that table. */
	if (e.flags & RB_FD_SAFE_ABORT)
		drop_safe_abort(oldfd, &e);
	if (!rb_table_owner()) {
		/* A fresh socket shared is no longer fresh. */
		rb_fdtab_drop_fresh(oldfd);
		rb_fdtab_drop_fresh(newfd);
		return;
	}
	/* An option set through the copy would go unseen at the original. */
	if (e.flags & RB_FD_FRESH)
		unfresh(oldfd, &e);
	(void)rb_fdtab_set(newfd, &e);
}
