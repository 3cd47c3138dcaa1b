#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/sockdiag.h"
#include "cli/status.h"

#define RB_ALL_STATES 0xffffffffU
/* A request socket in a listener's queue (not in netinet/tcp.h). */
#define RB_NEW_SYN_RECV 12

static const char usage[] =
        "Usage: rebind status [--json] [ADDR:]PORT...\n"
        "Show who listens on each TCP port (at ADDR: 127.0.0.1, [::1]),\n"
        "its TIME_WAIT entries and other sockets, and whether a restart\n"
        "under rebind would bind there now (or once the listener stops),\n"
        "and why not.  A bare PORT means any address.\n"
        "Exit status: 0 it would, 1 it would not or cannot tell, 2 error.\n";

/* Every argument: one dump of the sockets serves them all. */
struct ports {
	struct rb_port_status *ps;
	int n;
	bool nomem;
};

/* --- addresses --- */

static void endpoint_of(int family, const void *addr, int v6only,
                        struct rb_endpoint *e)
{
	static const unsigned char mapped[12] = {[10] = 0xff, [11] = 0xff};
	static const unsigned char zero[16];
	const unsigned char *a = addr;
	size_t len;

	memset(e, 0, sizeof(*e));
	e->family = family;
	if (family == AF_INET6 && memcmp(a, mapped, sizeof(mapped)) == 0) {
		e->family = AF_INET;
		a += sizeof(mapped);
	}
	len = e->family == AF_INET ? 4 : 16;
	memcpy(e->addr, a, len);
	e->any = memcmp(a, zero, len) == 0;
	/* Unknown counts as dual-stack: the answer errs towards "no". */
	e->v6only = e->family == AF_INET6 && v6only == 1;
}

/*
 * Would binds to x and to y meet, as Linux compares them
 * (inet_rcv_saddr_equal)?  Same family: the same address, or either is
 * the wildcard.  IPv4 and IPv6: only a dual-stack IPv6 wildcard meets
 * IPv4 addresses.  status.sh checks this against real binds.
 */
static bool overlap(const struct rb_endpoint *x, const struct rb_endpoint *y)
{
	const struct rb_endpoint *v6 = x->family == AF_INET6 ? x : y;

	if (x->family == y->family)
		return x->any || y->any ||
		       memcmp(x->addr, y->addr,
		              x->family == AF_INET ? 4 : 16) == 0;
	return v6->any && !v6->v6only;
}

static bool targets(const struct rb_status_target *t,
                    const struct rb_diag_sock *s)
{
	struct rb_endpoint e;

	if (rb_diag_port(s) != t->port)
		return false;
	if (t->family == AF_UNSPEC)
		return true;
	endpoint_of(s->family, s->id.idiag_src, s->v6only, &e);
	return overlap(&t->ep, &e);
}

void rb_status_addr(const struct rb_diag_sock *s, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];
	bool v6 = s->family == AF_INET6;

	rb_diag_addr(s, a, sizeof(a));
	(void)snprintf(buf, len, "%s%s%s", v6 ? "[" : "", a, v6 ? "]" : "");
}

/* --- the sockets --- */

static enum rb_kind kind_of(const struct rb_diag_sock *s)
{
	if (s->state == TCP_LISTEN)
		return KIND_LISTEN;
	if (s->state == TCP_TIME_WAIT)
		return KIND_TW;
	if (s->state == TCP_SYN_RECV || s->state == RB_NEW_SYN_RECV)
		return KIND_QUEUED;
	return s->inode ? KIND_OTHER : KIND_CLOSING;
}

static void add(struct ports *all, struct rb_port_status *ps,
                const struct rb_diag_sock *s, enum rb_kind k)
{
	struct rb_status_entry *e;

	if (ps->n == ps->cap) {
		unsigned cap = ps->cap ? 2 * ps->cap : 16;

		e = realloc(ps->e, cap * sizeof(*e));
		if (!e) {
			all->nomem = true;
			return;
		}
		ps->e = e;
		ps->cap = cap;
	}
	e = &ps->e[ps->n++];
	memset(e, 0, sizeof(*e));
	e->s = *s;
	e->kind = k;
	e->reuse = -1;
}

/* Each socket counts for every argument whose port and address it meets. */
static void take(void *ctx, const struct rb_diag_sock *s)
{
	struct ports *all = ctx;
	enum rb_kind k = kind_of(s);

	for (int i = 0; i < all->n && k != KIND_QUEUED; i++) {
		if (targets(&all->ps[i].t, s))
			add(all, &all->ps[i], s, k);
	}
}

static bool only_bound(const struct rb_status_entry *e)
{
	return e->kind == KIND_OTHER && e->s.state == TCP_CLOSE;
}

static bool same_sock(const struct rb_diag_sock *a,
                      const struct rb_diag_sock *b)
{
	return a->family == b->family &&
	       memcmp(a->id.idiag_cookie, b->id.idiag_cookie,
	              sizeof(a->id.idiag_cookie)) == 0;
}

/* The second look: which only-bound sockets are still there. */
static void take_again(void *ctx, const struct rb_diag_sock *s)
{
	const struct ports *all = ctx;

	for (int i = 0; i < all->n; i++) {
		struct rb_port_status *ps = &all->ps[i];

		for (unsigned j = 0; j < ps->n; j++)
			ps->e[j].seen |= only_bound(&ps->e[j]) &&
			                 same_sock(&ps->e[j].s, s);
	}
}

/*
 * A socket that is only bound is mostly one a program binds and closes
 * again at once (a client, a bind loop, a daemon between bind() and
 * listen()).  Reading its SO_REUSEADDR means holding a copy, which can
 * keep the port from that program's next bind(): only sockets still
 * there at a second look are read, the others are dropped.
 */
static void drop_gone(struct rb_port_status *ps)
{
	unsigned left = 0;

	for (unsigned i = 0; i < ps->n; i++) {
		if (only_bound(&ps->e[i]) && !ps->e[i].seen)
			ps->gone++;
		else
			ps->e[left++] = ps->e[i];
	}
	ps->n = left;
}

static bool any_only_bound(const struct ports *all)
{
	for (int i = 0; i < all->n; i++) {
		for (unsigned j = 0; j < all->ps[i].n; j++) {
			if (only_bound(&all->ps[i].e[j]))
				return true;
		}
	}
	return false;
}

static int dump(struct ports *all, rb_diag_fn fn)
{
	static const int families[2] = {AF_INET, AF_INET6};
	int nl = rb_diag_open();
	int ret = nl < 0 ? nl : 0;

	for (unsigned i = 0; i < 2 && ret == 0; i++)
		ret = rb_diag_dump(nl, families[i], RB_ALL_STATES, fn, all);
	if (nl >= 0)
		(void)close(nl);
	if (ret == 0 && all->nomem)
		ret = -ENOMEM;
	if (ret)
		(void)fprintf(stderr, "rebind: status: sock_diag: %s\n",
		              strerror(-ret));
	return ret;
}

/* --- processes and SO_REUSEADDR --- */

static bool needs_owner(const struct rb_status_entry *e)
{
	return e->kind == KIND_LISTEN || e->kind == KIND_OTHER;
}

/* One walk over /proc for the sockets of every argument. */
static int find_owners(struct ports *all)
{
	struct rb_diag_want *w;
	size_t n = 0;

	for (int i = 0; i < all->n; i++)
		n += all->ps[i].n;
	w = calloc(n ? n : 1, sizeof(*w));
	if (!w)
		return -1;
	n = 0;
	for (int i = 0; i < all->n; i++) {
		for (unsigned j = 0; j < all->ps[i].n; j++) {
			struct rb_status_entry *e = &all->ps[i].e[j];

			if (needs_owner(e))
				w[n++] = (struct rb_diag_want){e->s.inode,
				                               &e->own, 0};
		}
	}
	rb_diag_owners(w, n);
	free(w);
	return 0;
}

static unsigned kept(unsigned n, unsigned max)
{
	return n < max ? n : max;
}

static void read_reuse(struct rb_status_entry *e)
{
	unsigned n = kept(e->own.n, RB_OWNERS_MAX);

	for (unsigned i = 0; i < n && e->reuse < 0; i++)
		e->reuse = rb_diag_reuseaddr(e->own.o[i].pid, e->own.o[i].fd,
		                             e->s.inode);
}

static bool same_process(const struct rb_owners *a, const struct rb_owners *b)
{
	for (unsigned i = 0; i < kept(a->n, RB_OWNERS_MAX); i++) {
		for (unsigned j = 0; j < kept(b->n, RB_OWNERS_MAX); j++) {
			if (a->o[i].pid == b->o[j].pid && !a->o[i].systemd)
				return true;
		}
	}
	return false;
}

/*
 * A connection of a process that listens there is the daemon's own: it
 * took the listener's SO_REUSEADDR when accepted, and the listener's
 * verdict covers it.  Reading each would copy thousands of sockets.
 */
static bool daemons_own(const struct rb_port_status *ps,
                        const struct rb_status_entry *c)
{
	for (unsigned i = 0; i < ps->n; i++) {
		if (ps->e[i].kind == KIND_LISTEN &&
		    same_process(&c->own, &ps->e[i].own))
			return true;
	}
	return false;
}

/* The listeners' SO_REUSEADDR, then the other sockets', counted. */
static void read_flags(struct rb_port_status *ps)
{
	for (unsigned i = 0; i < ps->n; i++) {
		if (ps->e[i].kind == KIND_LISTEN)
			read_reuse(&ps->e[i]);
	}
	for (unsigned i = 0; i < ps->n; i++) {
		struct rb_status_entry *e = &ps->e[i];

		if (e->kind == KIND_LISTEN)
			ps->nlisten++;
		else if (e->kind == KIND_CLOSING)
			ps->closing++;
		if (e->kind == KIND_TW) {
			ps->tw++;
			if (e->s.expires_ms > ps->tw_ms)
				ps->tw_ms = e->s.expires_ms;
		}
		if (e->kind != KIND_OTHER)
			continue;
		ps->other++;
		if (daemons_own(ps, e))
			e->reuse = RB_REUSE_DAEMON;
		else
			read_reuse(e);
		ps->other_mine += e->reuse == RB_REUSE_DAEMON;
		ps->other_off += e->reuse == 0;
		ps->other_unk += e->reuse == -1;
	}
}

/* --- command --- */

/* "PORT", "ADDR:PORT" or "[ADDR6]:PORT"; -1 (saying nothing) otherwise. */
static int parse_target(const char *arg, struct rb_status_target *t)
{
	const char *colon = strrchr(arg, ':');
	char a[RB_ADDR_MAX];
	size_t n = colon ? (size_t)(colon - arg) : 0;
	unsigned char bin[16];
	char txt[INET6_ADDRSTRLEN];
	bool v6;

	memset(t, 0, sizeof(*t));
	t->family = AF_UNSPEC;
	if (!colon)
		return rb_cli_port(arg, &t->port);
	if (rb_cli_port(colon + 1, &t->port) || n < 1 || n >= sizeof(a))
		return -1;
	memcpy(a, arg, n);
	a[n] = '\0';
	v6 = a[0] == '[';
	if (v6 && (n < 3 || a[n - 1] != ']'))
		return -1;
	if (v6)
		a[n - 1] = '\0';
	if (inet_pton(v6 ? AF_INET6 : AF_INET, a + v6, bin) != 1)
		return -1;
	/* [::] is judged dual-stack: Linux's default (bindv6only = 0). */
	endpoint_of(v6 ? AF_INET6 : AF_INET, bin, 0, &t->ep);
	t->family = t->ep.family;
	(void)inet_ntop(t->family, t->ep.addr, txt, sizeof(txt));
	(void)snprintf(t->text, sizeof(t->text), "%s%s%s",
	               t->family == AF_INET6 ? "[" : "", txt,
	               t->family == AF_INET6 ? "]" : "");
	return 0;
}

/* The index of the first PORT, 0 for --help, -1 on a usage error. */
static int parse(int argc, char **argv, bool *json)
{
	static const struct option opts[] = {
	        {"json", no_argument, NULL, 'j'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	int c;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h')
			return 0;
		if (c != 'j') {
			(void)fprintf(stderr,
			              "rebind: status: '%s' is not "
			              "an option\n",
			              argv[optind - 1]);
			return -1;
		}
		*json = true;
	}
	if (optind == argc) {
		(void)fputs("rebind: usage: rebind status [--json] "
		            "[ADDR:]PORT...\n",
		            stderr);
		return -1;
	}
	return optind;
}

static int gather_all(struct rb_port_status *ps, int n, char **args)
{
	struct ports all = {ps, n, false};

	for (int i = 0; i < n; i++) {
		if (parse_target(args[i], &ps[i].t) == 0)
			continue;
		(void)fprintf(stderr,
		              "rebind: status: '%s': expected PORT "
		              "(1-65535), IPV4:PORT or [IPV6]:PORT\n",
		              args[i]);
		return RB_EXIT_USAGE;
	}
	if (dump(&all, take))
		return RB_EXIT_USAGE;
	if (any_only_bound(&all) && dump(&all, take_again))
		return RB_EXIT_USAGE;
	for (int i = 0; i < n; i++)
		drop_gone(&ps[i]);
	if (find_owners(&all)) {
		(void)fprintf(stderr, "rebind: status: %s\n", strerror(ENOMEM));
		return RB_EXIT_USAGE;
	}
	for (int i = 0; i < n; i++) {
		read_flags(&ps[i]);
		rb_status_judge(&ps[i]);
	}
	return RB_EXIT_OK;
}

static int print_all(const struct rb_port_status *ps, int n, bool json)
{
	int ret = RB_EXIT_OK;

	if (json)
		(void)printf("{\"ports\":[");
	for (int i = 0; i < n; i++) {
		if (json)
			rb_status_print_json(&ps[i], i == 0);
		else
			rb_status_print_text(&ps[i]);
		if (ps[i].answer != ANSWER_YES)
			ret = RB_EXIT_INVALID;
	}
	if (json)
		(void)printf("]}\n");
	if (fflush(stdout) == EOF) {
		(void)fprintf(stderr, "rebind: write error: %s\n",
		              strerror(errno));
		return RB_EXIT_USAGE;
	}
	return ret;
}

/*
 * rebind status [--json] [ADDR:]PORT...: exit 0 when a restart under
 * rebind would bind on every PORT (or will once its listener stops), 1
 * when not or when that cannot be told, 2 on bad arguments or a
 * sock_diag failure.
 */
int rb_cli_status(int argc, char **argv)
{
	bool json = false;
	int first = parse(argc, argv, &json);
	int n = argc - first;
	struct rb_port_status *ps;
	int ret;

	if (first < 0)
		return RB_EXIT_USAGE;
	if (first == 0)
		return fputs(usage, stdout) == EOF ? RB_EXIT_USAGE : RB_EXIT_OK;
	ps = calloc((size_t)n, sizeof(*ps));
	if (!ps) {
		(void)fprintf(stderr, "rebind: %s\n", strerror(errno));
		return RB_EXIT_USAGE;
	}
	ret = gather_all(ps, n, argv + first);
	if (ret == RB_EXIT_OK)
		ret = print_all(ps, n, json);
	for (int i = 0; i < n; i++)
		free(ps[i].e);
	free(ps);
	return ret;
}
