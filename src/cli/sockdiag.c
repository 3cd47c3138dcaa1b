#include "config.h"

#include "cli/sockdiag.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

/* Replies still to come; any other value ends the wait for them. */
#define RB_NL_MORE 1

struct rb_diag_req {
	struct nlmsghdr h;
	struct inet_diag_req_v2 r;
};

/* Each request gets its own number, so a stray reply is never taken. */
static uint32_t seq;

int rb_diag_open(void)
{
	int nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC,
			NETLINK_SOCK_DIAG);

	return nl < 0 ? -errno : nl;
}

static int send_req(int nl, uint16_t type, uint16_t flags,
		    const struct inet_diag_req_v2 *r)
{
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	struct rb_diag_req req;
	ssize_t n;

	memset(&req, 0, sizeof(req));
	req.h.nlmsg_len = sizeof(req);
	req.h.nlmsg_type = type;
	req.h.nlmsg_flags = NLM_F_REQUEST | flags;
	req.h.nlmsg_seq = ++seq;
	req.r = *r;
	n = sendto(nl, &req, sizeof(req), 0, (struct sockaddr *)&kernel,
		   sizeof(kernel));
	if (n < 0)
		return -errno;
	return n == (ssize_t)sizeof(req) ? 0 : -EIO;
}

/*
 * NLMSG_ERROR carries the request's status (0: an ack), NLMSG_DONE the
 * dump's; either as 0 or a negative errno.
 */
static int msg_status(struct nlmsghdr *h)
{
	int err = 0;

	if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(err)))
		memcpy(&err, NLMSG_DATA(h), sizeof(err));
	else if (h->nlmsg_type == NLMSG_ERROR)
		return -EPROTO;
	if (h->nlmsg_type == NLMSG_DONE)
		return err < 0 ? err : 0;
	return err <= 0 ? err : -EPROTO;
}

/* INET_DIAG_SKV6ONLY among the attributes after the message, or -1. */
static int v6only_attr(const struct nlmsghdr *h)
{
	size_t off = NLMSG_LENGTH(NLMSG_ALIGN(sizeof(struct inet_diag_msg)));

	while (off + sizeof(struct nlattr) <= h->nlmsg_len) {
		struct nlattr a;
		unsigned char v;

		memcpy(&a, (const char *)h + off, sizeof(a));
		if (a.nla_len < sizeof(a) || off + a.nla_len > h->nlmsg_len)
			return -1;
		if ((a.nla_type & NLA_TYPE_MASK) == INET_DIAG_SKV6ONLY &&
		    a.nla_len >= sizeof(a) + 1) {
			memcpy(&v, (const char *)h + off + NLA_HDRLEN, 1);
			return v != 0;
		}
		off += NLA_ALIGN(a.nla_len);
	}
	return -1;
}

static void deliver(struct nlmsghdr *h, rb_diag_fn fn, void *ctx)
{
	struct inet_diag_msg m;
	struct rb_diag_sock s;

	if (h->nlmsg_len < NLMSG_LENGTH(sizeof(m)))
		return;
	memcpy(&m, NLMSG_DATA(h), sizeof(m));
	s.v6only = m.idiag_family == AF_INET6 ? v6only_attr(h) : 0;
	s.family = m.idiag_family;
	s.state = m.idiag_state;
	s.id = m.id;
	s.uid = m.idiag_uid;
	s.inode = m.idiag_inode;
	s.expires_ms = m.idiag_expires;
	fn(ctx, &s);
}

/* One datagram of replies: RB_NL_MORE, or the request's status. */
static int walk(char *buf, size_t len, rb_diag_fn fn, void *ctx)
{
	/* Not NLMSG_OK/NLMSG_NEXT: they compare signed with unsigned. */
	for (size_t off = 0; off + sizeof(struct nlmsghdr) <= len;) {
		struct nlmsghdr *h = (struct nlmsghdr *)(void *)(buf + off);

		if (h->nlmsg_len < sizeof(*h) || h->nlmsg_len > len - off)
			return -EPROTO;
		off += NLMSG_ALIGN(h->nlmsg_len);
		if (h->nlmsg_seq != seq)
			continue;
		if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR)
			return msg_status(h);
		if (h->nlmsg_type == SOCK_DIAG_BY_FAMILY && fn)
			deliver(h, fn, ctx);
	}
	return RB_NL_MORE;
}

/* Reads the replies to the last request until its DONE or ERROR. */
static int recv_replies(int nl, rb_diag_fn fn, void *ctx)
{
	/* Dump datagrams are at most 32 KiB; aligned for nlmsghdr. */
	static long buf[65536 / sizeof(long)];

	for (;;) {
		struct iovec iov = {buf, sizeof(buf)};
		struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
		ssize_t n = recvmsg(nl, &mh, 0);
		int ret;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (mh.msg_flags & MSG_TRUNC)
			return -EMSGSIZE;
		ret = walk((char *)buf, (size_t)n, fn, ctx);
		if (ret != RB_NL_MORE)
			return ret;
	}
}

int rb_diag_dump(int nl, int family, uint32_t states, rb_diag_fn fn, void *ctx)
{
	struct inet_diag_req_v2 r;
	int ret;

	memset(&r, 0, sizeof(r));
	r.sdiag_family = (uint8_t)family;
	r.sdiag_protocol = IPPROTO_TCP;
	r.idiag_states = states;
	ret = send_req(nl, SOCK_DIAG_BY_FAMILY, NLM_F_DUMP, &r);
	return ret ? ret : recv_replies(nl, fn, ctx);
}

int rb_diag_destroy(int nl, const struct rb_diag_sock *s)
{
	struct inet_diag_req_v2 r;
	int ret;

	/* Without a cookie the kernel would take any socket at the address. */
	if (s->id.idiag_cookie[0] == INET_DIAG_NOCOOKIE &&
	    s->id.idiag_cookie[1] == INET_DIAG_NOCOOKIE)
		return -EINVAL;
	memset(&r, 0, sizeof(r));
	r.sdiag_family = (uint8_t)s->family;
	r.sdiag_protocol = IPPROTO_TCP;
	r.idiag_states = 1U << s->state;
	r.id = s->id;
	ret = send_req(nl, SOCK_DESTROY, NLM_F_ACK, &r);
	return ret ? ret : recv_replies(nl, NULL, NULL);
}

unsigned rb_diag_port(const struct rb_diag_sock *s)
{
	return ntohs(s->id.idiag_sport);
}

void rb_diag_addr(const struct rb_diag_sock *s, char *buf, size_t len)
{
	if (!inet_ntop(s->family, s->id.idiag_src, buf, (socklen_t)len))
		(void)snprintf(buf, len, "?");
}

static void read_comm(pid_t pid, char *out, size_t len)
{
	char path[64];
	ssize_t n = -1;
	int fd;

	(void)snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, out, len - 1);
		(void)close(fd);
	}
	if (n <= 0)
		n = 0;
	out[n] = '\0';
	out[strcspn(out, "\n")] = '\0';
}

/* 1 when pid has librebind.so mapped, 0 when not, -1 unreadable. */
static int has_rebind(pid_t pid)
{
	char path[64];
	char *line = NULL;
	size_t cap = 0;
	int found = 0;
	FILE *f;

	(void)snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (!found && getline(&line, &cap, f) > 0) {
		const char *lib = strstr(line, "/librebind.so");

		/* The path ends there, or goes on with " (deleted)". */
		found = lib && strchr("\n ", lib[sizeof("/librebind.so") - 1]);
	}
	if (!found && ferror(f))
		found = -1;
	free(line);
	(void)fclose(f);
	return found;
}

/*
 * A systemd manager: PID 1 or a user manager (systemd --user), both
 * named "systemd".  Its executable, where it can be read, must be one
 * too: any program may call itself systemd.
 */
static bool is_systemd(pid_t pid, const char *comm)
{
	static const char name[] = "/systemd";
	char path[64];
	char exe[256];
	ssize_t n;
	size_t len;

	if (strcmp(comm, "systemd") != 0)
		return false;
	(void)snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	if (n <= 0)
		return true;
	exe[n] = '\0';
	/* The path, without a " (deleted)" after an upgrade. */
	len = strcspn(exe, " ");
	return len >= sizeof(name) - 1 &&
	       memcmp(exe + len - (sizeof(name) - 1), name,
		      sizeof(name) - 1) == 0;
}

static void add_owner(struct rb_owners *out, pid_t pid, int fd)
{
	char comm[sizeof(out->o[0].comm)];
	bool systemd;

	read_comm(pid, comm, sizeof(comm));
	systemd = is_systemd(pid, comm);
	if (systemd && !out->systemd)
		out->systemd = pid;
	out->daemons += !systemd;
	if (out->n < RB_OWNERS_MAX) {
		struct rb_owner *o = &out->o[out->n];

		o->pid = pid;
		o->fd = fd;
		memcpy(o->comm, comm, sizeof(comm));
		o->rebind = has_rebind(pid);
		o->systemd = systemd;
	}
	out->n++;
}

/* A number, or -1: /proc entries and descriptor names. */
static long number(const char *s)
{
	char *end;
	long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	return *end || errno || v > INT32_MAX ? -1 : v;
}

static int by_inode(const void *a, const void *b)
{
	uint32_t x = ((const struct rb_diag_want *)a)->inode;
	uint32_t y = ((const struct rb_diag_want *)b)->inode;

	return (x > y) - (x < y);
}

/* The want for descriptor link text "socket:[N]", or NULL. */
static struct rb_diag_want *wanted(const char *link, struct rb_diag_want *w,
				   size_t n)
{
	struct rb_diag_want key;
	unsigned long ino;
	char *end;

	if (strncmp(link, "socket:[", 8) != 0)
		return NULL;
	errno = 0;
	ino = strtoul(link + 8, &end, 10);
	if (errno || strcmp(end, "]") != 0 || ino > UINT32_MAX)
		return NULL;
	key.inode = (uint32_t)ino;
	return bsearch(&key, w, n, sizeof(*w), by_inode);
}

/* Adds pid to the owners of each wanted socket among its descriptors. */
static void scan_pid(pid_t pid, struct rb_diag_want *w, size_t n)
{
	char path[64];
	char link[64];
	struct dirent *e;
	DIR *d;

	(void)snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d) {
		bool denied = errno == EACCES || errno == EPERM;

		for (size_t i = 0; i < n; i++)
			w[i].own->denied |= denied;
		return;
	}
	while ((e = readdir(d))) {
		ssize_t len =
			readlinkat(dirfd(d), e->d_name, link, sizeof(link) - 1);
		struct rb_diag_want *hit;

		if (len <= 0)
			continue;
		link[len] = '\0';
		hit = wanted(link, w, n);
		/* One entry per process, however many copies it holds. */
		if (hit && hit->last != pid) {
			hit->last = pid;
			add_owner(hit->own, pid, (int)number(e->d_name));
		}
	}
	(void)closedir(d);
}

void rb_diag_owners(struct rb_diag_want *w, size_t n)
{
	struct dirent *e;
	DIR *proc;

	qsort(w, n, sizeof(*w), by_inode);
	for (size_t i = 0; i < n; i++) {
		memset(w[i].own, 0, sizeof(*w[i].own));
		w[i].last = 0;
	}
	proc = opendir("/proc");
	for (size_t i = 0; i < n && !proc; i++)
		w[i].own->denied = true;
	if (!proc)
		return;
	while ((e = readdir(proc))) {
		long pid = number(e->d_name);

		if (pid > 0)
			scan_pid((pid_t)pid, w, n);
	}
	(void)closedir(proc);
}

int rb_diag_reuseaddr(pid_t pid, int fd, uint32_t inode)
{
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	int on = 0;
	socklen_t len = sizeof(on);
	struct stat st;
	int ret = -1;
	int s;

	if (pidfd < 0)
		return -1;
	s = (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);
	/*
	 * From here to close(s) the socket has one more holder: a daemon
	 * that exits just then leaves its listener open that long, and a
	 * new instance's bind() fails.  Two system calls, nothing else.
	 */
	if (s >= 0) {
		int got = getsockopt(s, SOL_SOCKET, SO_REUSEADDR, &on, &len);
		int same = fstat(s, &st) == 0 && st.st_ino == inode;

		(void)close(s);
		/* The program may have closed fd and reused the number. */
		if (got == 0 && same)
			ret = on != 0;
	}
	(void)close(pidfd);
	return ret;
}

int rb_diag_trial_bind(int family, const void *addr, unsigned port,
		       int v6only)
{
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} a;
	socklen_t len = family == AF_INET ? sizeof(a.in) : sizeof(a.in6);
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	int err = 0;

	if (fd < 0)
		return -1;
	memset(&a, 0, sizeof(a));
	a.sa.sa_family = (sa_family_t)family;
	/* Same offset in both: sin_port and sin6_port. */
	a.in.sin_port = htons((uint16_t)port);
	if (family == AF_INET)
		memcpy(&a.in.sin_addr, addr, 4);
	else
		memcpy(&a.in6.sin6_addr, addr, 16);
	if ((family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY,
					      &v6only, sizeof(v6only))) ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, &a.sa, len))
		err = errno;
	(void)close(fd);
	return err;
}
