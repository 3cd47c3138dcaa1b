#include "config.h"

#include "shim/hold.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "core/fdtab.h"
#include "core/log.h"
#include "core/sdfd.h"
#include "shim/init.h"
#include "shim/sock.h"

/*
 * A listener systemd passed (LISTEN_FDS).  fd is where it is now: the
 * passed number until the program closes that blindly, then wherever
 * rebind moved it; -1 once claimed or given up.  The rest is written at
 * start-up only.
 */
struct passed {
	_Atomic int fd;
	int first_fd;
	uint64_t cookie;
	struct sockaddr_storage addr;
	bool ours; /* stored by rebind: FDSTOREREMOVE on giving it up */
	char name[RB_SDFD_NAME_MAX];
};

static struct passed passed[RB_SDFD_MAX];
static unsigned npassed;
static _Atomic unsigned pending; /* entries with fd >= 0 */

/* Listeners this process stored: each socket once. */
static _Atomic uint64_t stored[RB_SDFD_MAX];
static _Atomic unsigned nstored;

static struct sockaddr_un notify_addr;
static socklen_t notify_len; /* 0: no NOTIFY_SOCKET */

static bool get_sockopt_int(int fd, int level, int name, int *out)
{
	socklen_t len = sizeof(*out);

	return getsockopt(fd, level, name, out, &len) == 0;
}

/* A TCP socket of family AF_INET or AF_INET6; its local address. */
static bool tcp_local(int fd, struct sockaddr_storage *ss)
{
	socklen_t len = sizeof(*ss);
	int proto = 0;

	memset(ss, 0, sizeof(*ss));
	return getsockname(fd, (struct sockaddr *)ss, &len) == 0 &&
	       (ss->ss_family == AF_INET || ss->ss_family == AF_INET6) &&
	       get_sockopt_int(fd, SOL_SOCKET, SO_PROTOCOL, &proto) &&
	       proto == IPPROTO_TCP;
}

static unsigned ss_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

static void ss_sdaddr(const struct sockaddr_storage *ss, struct rb_sdaddr *a)
{
	memset(a, 0, sizeof(*a));
	a->family = ss->ss_family;
	a->port = ss_port(ss);
	if (ss->ss_family == AF_INET)
		memcpy(a->addr, &((const struct sockaddr_in *)ss)->sin_addr, 4);
	else
		memcpy(a->addr, &((const struct sockaddr_in6 *)ss)->sin6_addr,
		       16);
}

/* Same family, address and port (an IPv6 scope id is not compared). */
static bool same_addr(const struct sockaddr_storage *ss,
		      const struct sockaddr *a, socklen_t len)
{
	struct rb_sdaddr x, y;
	struct sockaddr_storage tmp = {0};

	if (a->sa_family != ss->ss_family ||
	    len < (a->sa_family == AF_INET ? sizeof(struct sockaddr_in)
					   : sizeof(struct sockaddr_in6)))
		return false;
	memcpy(&tmp, a,
	       a->sa_family == AF_INET ? sizeof(struct sockaddr_in)
				       : sizeof(struct sockaddr_in6));
	ss_sdaddr(ss, &x);
	ss_sdaddr(&tmp, &y);
	return memcmp(&x, &y, sizeof(x)) == 0;
}

static bool covered(const struct rb_policy *p, unsigned port)
{
	struct rb_sockpolicy sp;

	return rb_policy_for_port(p, port, &sp) ||
	       rb_policy_hold_at(p, port) != RB_HOLD_NO;
}

static bool listening(int fd)
{
	int on = 0;

	return get_sockopt_int(fd, SOL_SOCKET, SO_ACCEPTCONN, &on) && on;
}

/* Is fd the socket e describes (not a number reused since)? */
static bool still(int fd, const struct passed *e)
{
	uint64_t c;

	return rb_sock_cookie(fd, &c) && c == e->cookie;
}

/*
 * The passed descriptor fd, i-th in LISTEN_FDNAMES: claimable?  In a
 * process systemd did not pass it to (foreign: a script started the
 * daemon with a fork), only a listener rebind stored and named, with
 * the address its name says, is taken: it is certainly no descriptor
 * the program knows.
 */
static void note_passed(const struct rb_policy *p, int fd, const char *names,
			unsigned i, bool foreign)
{
	struct passed *e = &passed[npassed];
	struct rb_sdaddr a, named;

	if (!listening(fd) || !tcp_local(fd, &e->addr) ||
	    !covered(p, ss_port(&e->addr)) || !rb_sock_cookie(fd, &e->cookie))
		return;
	e->first_fd = fd;
	if (!rb_sdfd_name_at(names, i, e->name, sizeof(e->name)))
		e->name[0] = '\0';
	ss_sdaddr(&e->addr, &a);
	e->ours = rb_sdfd_name_parse(e->name, &named) == 0 &&
		  memcmp(&a, &named, sizeof(a)) == 0;
	if (foreign && !e->ours)
		return;
	atomic_store(&e->fd, fd);
	npassed++;
	atomic_fetch_add(&pending, 1);
}

void rb_hold_init(const struct rb_policy *p, rb_getenv_fn get, long pid)
{
	unsigned n;
	bool foreign;
	int saved = errno;

	if (!p->enabled)
		return;
	if (rb_sdfd_notify_addr(get("NOTIFY_SOCKET"), &notify_addr,
				&notify_len) != 0)
		notify_len = 0;
	n = rb_sdfd_count(get("LISTEN_PID"), get("LISTEN_FDS"), pid);
	foreign = n == 0;
	if (foreign)
		n = rb_sdfd_count(get("LISTEN_PID"), get("LISTEN_FDS"), -1);
	for (unsigned i = 0; i < n; i++)
		note_passed(p, RB_SDFD_FIRST + (int)i, get("LISTEN_FDNAMES"), i,
			    foreign);
	errno = saved;
}

bool rb_hold_pending(void)
{
	return atomic_load_explicit(&pending, memory_order_acquire) != 0;
}

/* Send msg to systemd, with fd in SCM_RIGHTS (fd < 0: none).  Never
 * blocks: a full queue drops the message. */
static bool notify(const struct rb_real *r, const char *msg, size_t len,
		   int fd)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} c;
	struct iovec iov = {.iov_base = (void *)(uintptr_t)msg,
			    .iov_len = len};
	struct msghdr m = {.msg_name = &notify_addr,
			   .msg_namelen = notify_len,
			   .msg_iov = &iov,
			   .msg_iovlen = 1};
	int s;
	bool ok;

	if (notify_len == 0)
		return false;
	if (fd >= 0) {
		memset(&c, 0, sizeof(c));
		m.msg_control = c.buf;
		m.msg_controllen = sizeof(c.buf);
		c.h.cmsg_level = SOL_SOCKET;
		c.h.cmsg_type = SCM_RIGHTS;
		c.h.cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(&c.h), &fd, sizeof(fd));
	}
	s = r->socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s < 0)
		return false;
	ok = r->sendmsg(s, &m, MSG_NOSIGNAL) == (ssize_t)len;
	(void)r->close(s);
	return ok;
}

static void log_addr(enum rb_level level, const char *what,
		     const struct passed *e)
{
	struct rb_line l;

	if (!rb_log_enabled(level))
		return;
	rb_line_reset(&l);
	rb_fmt_str(&l, what);
	rb_fmt_str(&l, e->addr.ss_family == AF_INET6 ? " IPv6 port "
						       : " IPv4 port ");
	rb_fmt_int(&l, ss_port(&e->addr));
	if (e->name[0]) {
		rb_fmt_str(&l, " (");
		rb_fmt_str(&l, e->name);
		rb_fmt_str(&l, ")");
	}
	rb_log_line(level, &l);
}

/* Take entry e out of the table; returns its descriptor (or -1). */
static int take(struct passed *e)
{
	int fd = atomic_exchange(&e->fd, -1);

	if (fd >= 0)
		atomic_fetch_sub(&pending, 1);
	return fd;
}

/*
 * Let go of a passed listener: systemd drops its copy (when rebind
 * stored it) and rebind closes its own.  Returns true when systemd was
 * asked to drop one.
 */
static bool give_up(const struct rb_real *r, struct passed *e)
{
	char msg[RB_SDFD_MSG_MAX];
	int fd = take(e);
	int n;
	bool removed = false;

	if (fd < 0)
		return false;
	/* A listener rebind stored itself: shut it down, which frees its
	 * address at once for every holder (systemd's copy included, which
	 * systemd then drops), instead of waiting for systemd to read the
	 * message.  A .socket unit's listener is systemd's: only closed. */
	if (still(fd, e)) {
		if (e->ours)
			(void)shutdown(fd, SHUT_RDWR);
		(void)r->close(fd);
	}
	n = e->ours ? rb_sdfd_message(true, e->name, msg, sizeof(msg)) : -1;
	if (n > 0)
		removed = notify(r, msg, (size_t)n, -1);
	log_addr(RB_LOG_INFO, "gave up the passed listener on", e);
	return removed;
}

/* The options a program sets before bind() that the claimed listener
 * takes over.  IPV6_V6ONLY cannot change once bound: it must match. */
static const struct {
	int level;
	int name;
} carried[] = {
	{SOL_SOCKET, SO_REUSEADDR}, {SOL_SOCKET, SO_REUSEPORT},
	{SOL_SOCKET, SO_KEEPALIVE}, {SOL_SOCKET, SO_OOBINLINE},
	{SOL_SOCKET, SO_RCVBUF},    {SOL_SOCKET, SO_SNDBUF},
	{IPPROTO_TCP, TCP_NODELAY},
};

static void carry_int(const struct rb_real *r, int from, int to, int level,
		      int name)
{
	int want, have;

	if (!get_sockopt_int(from, level, name, &want) ||
	    !get_sockopt_int(to, level, name, &have) || want == have)
		return;
	/* The kernel doubles a buffer size on the way in. */
	if (name == SO_RCVBUF || name == SO_SNDBUF)
		want /= 2;
	(void)r->setsockopt(to, level, name, &want, sizeof(want));
}

static void carry_options(const struct rb_real *r, int from, int to)
{
	struct linger want, have;
	socklen_t wl = sizeof(want), hl = sizeof(have);

	for (size_t i = 0; i < sizeof(carried) / sizeof(carried[0]); i++)
		carry_int(r, from, to, carried[i].level, carried[i].name);
	if (getsockopt(from, SOL_SOCKET, SO_LINGER, &want, &wl) == 0 &&
	    getsockopt(to, SOL_SOCKET, SO_LINGER, &have, &hl) == 0 &&
	    (want.l_onoff != have.l_onoff || want.l_linger != have.l_linger))
		(void)r->setsockopt(to, SOL_SOCKET, SO_LINGER, &want,
				    sizeof(want));
}

/*
 * Would the program's socket fd, bound, be what e is?  IPV6_V6ONLY
 * matters on the wildcard address only: binding any other IPv6
 * address sets it.
 */
static bool fits(int fd, const struct passed *e)
{
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&e->addr;
	int type = 0, proto = 0, a = 0, b = 0;

	if (!get_sockopt_int(fd, SOL_SOCKET, SO_TYPE, &type) ||
	    type != SOCK_STREAM ||
	    !get_sockopt_int(fd, SOL_SOCKET, SO_PROTOCOL, &proto) ||
	    proto != IPPROTO_TCP)
		return false;
	if (e->addr.ss_family != AF_INET6 ||
	    !IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr))
		return true;
	return get_sockopt_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, &a) &&
	       get_sockopt_int(atomic_load(&e->fd), IPPROTO_IPV6, IPV6_V6ONLY,
			       &b) &&
	       a == b;
}

static struct passed *find(int fd, const struct sockaddr *addr,
			   socklen_t len)
{
	for (unsigned i = 0; i < npassed; i++) {
		struct passed *e = &passed[i];

		if (atomic_load(&e->fd) >= 0 && same_addr(&e->addr, addr, len) &&
		    fits(fd, e))
			return e;
	}
	return NULL;
}

/* fdtab knows the program's socket by its cookie: now the listener's,
 * which is no fresh socket of the program's (options set, listening). */
static void retag(int fd, const struct passed *e)
{
	struct rb_fdent ent;

	if (rb_fdtab_get(fd, &ent)) {
		ent.cookie = e->cookie;
		ent.flags &= ~(unsigned)RB_FD_FRESH;
		(void)rb_fdtab_set(fd, &ent);
	}
}

/* Put held (e's listener) at fd with fd's flags; closes held. */
static int swap_in(const struct rb_real *r, int held, int fd,
		   const struct passed *e)
{
	int fl = r->fcntl(fd, F_GETFL);
	int fdfl = r->fcntl(fd, F_GETFD);
	int hfl = r->fcntl(held, F_GETFL);

	if (fl < 0 || fdfl < 0 || hfl < 0)
		return -1;
	carry_options(r, fd, held);
	/* O_NONBLOCK belongs to the open file, which systemd shares. */
	if ((hfl ^ fl) & O_NONBLOCK)
		(void)r->fcntl(held, F_SETFL, (hfl & ~O_NONBLOCK) |
						      (fl & O_NONBLOCK));
	if (r->dup3(held, fd, (fdfl & FD_CLOEXEC) ? O_CLOEXEC : 0) != fd)
		return -1;
	retag(fd, e);
	(void)r->close(held);
	return 0;
}

int rb_hold_claim(const struct rb_real *r, int fd, const struct sockaddr *addr,
		  socklen_t len)
{
	struct passed *e;
	int held;
	int saved = errno;

	if (!addr || !(e = find(fd, addr, len)))
		return -1;
	held = take(e);
	if (held < 0)
		return -1;
	/* Shut down since start-up (or the number reused): never claim. */
	if (!still(held, e) || !listening(held)) {
		if (still(held, e))
			(void)r->close(held);
		errno = saved;
		return -1;
	}
	if (swap_in(r, held, fd, e) != 0) {
		atomic_store(&e->fd, held);
		atomic_fetch_add(&pending, 1);
		errno = saved;
		return -1;
	}
	log_addr(RB_LOG_INFO, "claimed the passed listener on", e);
	errno = saved;
	return 0;
}

/* Give up every passed listener on port; true if systemd must drop one. */
static bool give_up_port(const struct rb_real *r, unsigned port, bool *any)
{
	bool removed = false;

	*any = false;
	for (unsigned i = 0; i < npassed; i++) {
		struct passed *e = &passed[i];

		if (atomic_load(&e->fd) < 0 || ss_port(&e->addr) != port)
			continue;
		*any = true;
		removed |= give_up(r, e);
	}
	return removed;
}

static bool bind_again(const struct rb_real *r, int fd,
		       const struct sockaddr *addr, socklen_t len)
{
	return r->bind(fd, addr, len) == 0 ||
	       (errno == EADDRINUSE && rb_sock_bind_retry(r, fd, addr, len) == 0);
}

int rb_hold_bind_retry(const struct rb_real *r, int fd,
		       const struct sockaddr *addr, socklen_t len)
{
	const struct timespec tick = {.tv_sec = 0, .tv_nsec = 5000000};
	struct sockaddr_storage ss = {0};
	bool any, removed;

	if (!addr || (addr->sa_family != AF_INET && addr->sa_family != AF_INET6) ||
	    len > sizeof(ss))
		return -1;
	memcpy(&ss, addr, len);
	removed = give_up_port(r, ss_port(&ss), &any);
	if (!any)
		return -1;
	/* systemd drops its copy when it reads the message: poll. */
	for (int i = 0; i < (removed ? 200 : 1); i++) {
		if (i > 0)
			(void)nanosleep(&tick, NULL);
		if (bind_again(r, fd, addr, len))
			return 0;
		if (errno != EADDRINUSE)
			return -1;
	}
	return -1;
}

static bool is_passed(uint64_t cookie)
{
	for (unsigned i = 0; i < npassed; i++) {
		if (passed[i].cookie == cookie)
			return true;
	}
	return false;
}

/* Note cookie as stored; false when it already was (or no room). */
static bool note_stored(uint64_t cookie)
{
	unsigned n = atomic_load(&nstored);

	for (unsigned i = 0; i < n && i < RB_SDFD_MAX; i++) {
		if (atomic_load(&stored[i]) == cookie)
			return false;
	}
	n = atomic_fetch_add(&nstored, 1);
	if (n >= RB_SDFD_MAX)
		return false;
	atomic_store(&stored[n], cookie);
	return true;
}

static void store(const struct rb_real *r, int fd,
		  const struct sockaddr_storage *ss)
{
	struct rb_sdaddr a;
	char name[RB_SDFD_NAME_MAX];
	char msg[RB_SDFD_MSG_MAX];
	uint64_t cookie;
	int n;

	ss_sdaddr(ss, &a);
	if (!rb_sock_cookie(fd, &cookie) || is_passed(cookie) ||
	    rb_sdfd_name_build(&a, name, sizeof(name)) != 0)
		return;
	n = rb_sdfd_message(false, name, msg, sizeof(msg));
	if (n < 0 || !note_stored(cookie))
		return;
	if (notify(r, msg, (size_t)n, fd))
		rb_log_msg(RB_LOG_INFO, "stored in systemd's fd store: ", name);
	else
		rb_log_msg(RB_LOG_WARN, "systemd did not take the listener ",
			   name);
}

void rb_hold_listen(const struct rb_real *r, int fd)
{
	struct sockaddr_storage ss;
	int saved = errno;

	if (notify_len != 0 && tcp_local(fd, &ss) &&
	    rb_policy_hold_at(rb_policy(), ss_port(&ss)) == RB_HOLD_SYSTEMD)
		store(r, fd, &ss);
	errno = saved;
}

void rb_hold_accepting(const struct rb_real *r, int lfd)
{
	uint64_t cookie;
	int saved = errno;
	bool aware = rb_sock_cookie(lfd, &cookie) && is_passed(cookie);

	for (unsigned i = 0; i < npassed; i++) {
		struct passed *e = &passed[i];
		int fd = atomic_load(&e->fd);

		/* A program that serves a passed listener uses LISTEN_FDS
		 * itself: its descriptors are its own.  So is one a
		 * .socket unit passed that the program never closed. */
		if (fd < 0)
			continue;
		if (aware || (!e->ours && fd == e->first_fd))
			(void)take(e);
		else
			(void)give_up(r, e);
	}
	errno = saved;
}

/*
 * The close path.  A daemon that closes every descriptor above 2 before
 * it binds does not know about the passed ones; the listener must
 * survive for the bind() that follows.  Plain system calls only: this
 * runs in close() loops and signal handlers.
 */

/* Move e's listener off fd, to the lowest free number from 3: below an
 * ascending close loop's position, so the loop never meets it again (a
 * descending loop moves it down until it lands above the loop). */
static void move_away(const struct rb_real *r, struct passed *e, int fd)
{
	int to;

	if (!still(fd, e)) { /* libc closed it unseen; the number is reused */
		(void)take(e);
		return;
	}
	to = r->fcntl(fd, F_DUPFD_CLOEXEC, RB_SDFD_FIRST);
	if (to < 0 || !atomic_compare_exchange_strong(&e->fd, &fd, to)) {
		if (to >= 0)
			(void)r->close(to);
		else
			(void)take(e);
	}
}

void rb_hold_closing(const struct rb_real *r, int fd)
{
	int saved = errno;

	for (unsigned i = 0; i < npassed; i++) {
		if (atomic_load(&passed[i].fd) == fd)
			move_away(r, &passed[i], fd);
	}
	errno = saved;
}

/* The held descriptors in [first, last], sorted; returns how many. */
static unsigned held_in(unsigned int first, unsigned int last, int *out)
{
	unsigned n = 0;

	for (unsigned i = 0; i < npassed; i++) {
		int fd = atomic_load(&passed[i].fd);
		unsigned j = n;

		if (fd < 0 || (unsigned)fd < first || (unsigned)fd > last ||
		    !still(fd, &passed[i]))
			continue;
		for (; j > 0 && out[j - 1] > fd; j--)
			out[j] = out[j - 1];
		out[j] = fd;
		n++;
	}
	return n;
}

/*
 * close_range() around the held descriptors: one call per gap.  The
 * program's descriptors are all closed, as it asked; only the ones it
 * never knew of stay.
 */
int rb_hold_close_range(const struct rb_real *r, unsigned int first,
			unsigned int last, int flags)
{
	int keep[RB_SDFD_MAX];
	unsigned n;
	unsigned int lo = first;
	int ret = 0;

	if (!rb_hold_pending() || first > last || (flags & CLOSE_RANGE_CLOEXEC))
		return r->close_range(first, last, flags);
	n = held_in(first, last, keep);
	if (n == 0)
		return r->close_range(first, last, flags);
	for (unsigned i = 0; i < n; i++) {
		if ((unsigned int)keep[i] > lo &&
		    r->close_range(lo, (unsigned int)keep[i] - 1, flags) != 0)
			ret = -1;
		lo = (unsigned int)keep[i] + 1;
	}
	if (lo != 0 && lo <= last && r->close_range(lo, last, flags) != 0)
		ret = -1;
	return ret;
}

void rb_hold_closefrom(const struct rb_real *r, int lowfd)
{
	int keep[RB_SDFD_MAX];
	unsigned n = 0;
	int lo = lowfd;

	if (rb_hold_pending() && lowfd >= 0)
		n = held_in((unsigned int)lowfd, ~0U, keep);
	/* The held ones are low numbers: close the gaps one by one. */
	for (unsigned i = 0; i < n; i++) {
		for (; lo < keep[i]; lo++)
			(void)r->close(lo);
		lo = keep[i] + 1;
	}
	r->closefrom(lo);
}
