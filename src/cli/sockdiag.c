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

static void deliver(struct nlmsghdr *h, rb_diag_fn fn, void *ctx)
{
	struct inet_diag_msg m;
	struct rb_diag_sock s;

	if (h->nlmsg_len < NLMSG_LENGTH(sizeof(m)))
		return;
	memcpy(&m, NLMSG_DATA(h), sizeof(m));
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

static void add_owner(struct rb_owners *out, pid_t pid, int fd)
{
	if (out->n < RB_OWNERS_MAX) {
		struct rb_owner *o = &out->o[out->n];

		o->pid = pid;
		o->fd = fd;
		read_comm(pid, o->comm, sizeof(o->comm));
		o->rebind = has_rebind(pid);
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

/* Adds pid to out when one of its descriptors is the socket want. */
static void scan_pid(pid_t pid, const char *want, struct rb_owners *out)
{
	char path[64];
	char link[64];
	struct dirent *e;
	DIR *d;

	(void)snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d) {
		out->denied |= errno == EACCES || errno == EPERM;
		return;
	}
	while ((e = readdir(d))) {
		ssize_t n =
			readlinkat(dirfd(d), e->d_name, link, sizeof(link) - 1);

		if (n <= 0)
			continue;
		link[n] = '\0';
		if (strcmp(link, want) == 0) {
			add_owner(out, pid, (int)number(e->d_name));
			break;
		}
	}
	(void)closedir(d);
}

void rb_diag_owners(uint32_t inode, struct rb_owners *out)
{
	char want[32];
	struct dirent *e;
	DIR *proc;

	memset(out, 0, sizeof(*out));
	(void)snprintf(want, sizeof(want), "socket:[%u]", (unsigned)inode);
	proc = opendir("/proc");
	if (!proc) {
		out->denied = true;
		return;
	}
	while ((e = readdir(proc))) {
		long pid = number(e->d_name);

		if (pid > 0)
			scan_pid((pid_t)pid, want, out);
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
	(void)close(pidfd);
	if (s < 0)
		return -1;
	/* The program may have closed fd and reused the number meanwhile. */
	if (fstat(s, &st) == 0 && st.st_ino == inode &&
	    getsockopt(s, SOL_SOCKET, SO_REUSEADDR, &on, &len) == 0)
		ret = on != 0;
	/* Only our copy: the program's socket stays open. */
	(void)close(s);
	return ret;
}

int rb_diag_trial_bind(int family, unsigned port)
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
	if ((family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one))) ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, &a.sa, len))
		err = errno;
	(void)close(fd);
	return err;
}
