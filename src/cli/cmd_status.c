#include "config.h"

#include "cli/cli.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli/sockdiag.h"
#include "core/policy.h"

/* TCP_TIMEWAIT_LEN: how long a TIME_WAIT entry lives; not a sysctl. */
#define RB_TW_SECS     60
#define RB_LISTEN_MAX  8
#define RB_VERDICT_MAX 512
#define RB_ALL_STATES  0xffffffffU

/* Would a restart under rebind bind (once the listener stops)? */
enum answer {
	ANSWER_YES,
	ANSWER_NO,
	ANSWER_UNKNOWN,
};

struct listener {
	struct rb_diag_sock s;
	struct rb_owners own;
	int reuse; /* its SO_REUSEADDR: 1, 0, -1 unknown */
};

struct port_status {
	unsigned port;
	unsigned nlisten; /* listeners found; the first RB_LISTEN_MAX in l */
	struct listener l[RB_LISTEN_MAX];
	unsigned tw;	/* TIME_WAIT entries */
	uint32_t tw_ms; /* the longest time one has left */
	unsigned other; /* sockets in any other state */
	int trial[2];	/* rb_diag_trial_bind() for IPv4, IPv6 */
	enum answer answer;
	char verdict[RB_VERDICT_MAX];
};

static const char usage[] =
	"Usage: rebind status [--json] PORT...\n"
	"Show who listens on each TCP port, its TIME_WAIT entries, and\n"
	"whether a restart under rebind would bind there now (or once the\n"
	"listener stops), and why not.\n"
	"Exit status: 0 it would, 1 it would not or cannot tell, 2 error.\n";

static const int families[2] = {AF_INET, AF_INET6};

/* Every PORT: one dump of the sockets serves them all. */
struct ports {
	struct port_status *ps;
	int n;
};

static void count(struct port_status *ps, const struct rb_diag_sock *s)
{
	if (s->state == TCP_TIME_WAIT) {
		ps->tw++;
		if (s->expires_ms > ps->tw_ms)
			ps->tw_ms = s->expires_ms;
	} else if (s->state == TCP_LISTEN) {
		if (ps->nlisten < RB_LISTEN_MAX)
			ps->l[ps->nlisten].s = *s;
		ps->nlisten++;
	} else {
		ps->other++;
	}
}

/* Each socket counts for every PORT argument that names its port. */
static void take(void *ctx, const struct rb_diag_sock *s)
{
	const struct ports *all = ctx;
	unsigned port = rb_diag_port(s);

	for (int i = 0; i < all->n; i++) {
		if (all->ps[i].port == port)
			count(&all->ps[i], s);
	}
}

static unsigned kept(unsigned n, unsigned max)
{
	return n < max ? n : max;
}

static void find_owner(struct listener *l)
{
	unsigned n;

	rb_diag_owners(l->s.inode, &l->own);
	n = kept(l->own.n, RB_OWNERS_MAX);
	l->reuse = -1;
	for (unsigned i = 0; i < n && l->reuse < 0; i++)
		l->reuse = rb_diag_reuseaddr(l->own.o[i].pid, l->own.o[i].fd,
					     l->s.inode);
}

static unsigned seconds(uint32_t ms)
{
	return (ms + 999) / 1000;
}

/* The first errno of the trial binds, 0 when both bound, -1 if neither ran. */
static int trial_error(const struct port_status *ps)
{
	if (ps->trial[0] > 0)
		return ps->trial[0];
	if (ps->trial[1] > 0)
		return ps->trial[1];
	return ps->trial[0] < 0 && ps->trial[1] < 0 ? -1 : 0;
}

static enum answer free_answer(int err)
{
	if (err == 0)
		return ANSWER_YES;
	return err > 0 && err != EACCES ? ANSWER_NO : ANSWER_UNKNOWN;
}

/* Nothing listens: the trial binds tell. */
static void judge_free(struct port_status *ps)
{
	int err = trial_error(ps);
	char *v = ps->verdict;
	size_t len = sizeof(ps->verdict);

	ps->answer = free_answer(err);
	if (err == 0 && ps->tw)
		(void)snprintf(v, len,
			       "yes: the %u TIME_WAIT entries carry "
			       "SO_REUSEADDR (the instance that left them ran "
			       "under rebind): a start under rebind binds now, "
			       "one without it would wait up to %u s",
			       ps->tw, seconds(ps->tw_ms));
	else if (err == 0)
		(void)snprintf(v, len, "yes: nothing holds the port");
	else if (err == EACCES)
		(void)snprintf(v, len,
			       "unknown: a trial bind on port %u needs root "
			       "here; run 'rebind status' as root",
			       ps->port);
	else if (err == EADDRINUSE && ps->tw)
		(void)snprintf(v, len,
			       "no: TIME_WAIT entries without SO_REUSEADDR "
			       "hold the port (the instance that left them ran "
			       "without rebind): a start binds in %u s at the "
			       "latest, or at once after 'rebind purge %u' (as "
			       "root)",
			       seconds(ps->tw_ms), ps->port);
	else if (err > 0)
		(void)snprintf(v, len,
			       "no: another socket holds the port (bound or "
			       "connected, not listening): %s",
			       strerror(err));
	else
		(void)snprintf(v, len, "unknown: no TCP socket could be made "
				       "for a trial bind");
}

/* Will the TIME_WAIT entries this listener leaves carry SO_REUSEADDR? */
static enum answer listener_answer(const struct listener *l)
{
	unsigned n = kept(l->own.n, RB_OWNERS_MAX);
	bool all = n > 0;

	if (l->reuse >= 0)
		return l->reuse ? ANSWER_YES : ANSWER_NO;
	for (unsigned i = 0; i < n; i++) {
		if (l->own.o[i].rebind == 0)
			return ANSWER_NO;
		all = all && l->own.o[i].rebind == 1;
	}
	return all ? ANSWER_YES : ANSWER_UNKNOWN;
}

/* A program may name itself with any bytes; a line of text holds none. */
static void printable(char *s)
{
	for (; *s; s++) {
		if (!isprint((unsigned char)*s))
			*s = '?';
	}
}

/* "legacy-server (pid 42)" or "a process of uid 1000". */
static void who(const struct listener *l, char *buf, size_t len)
{
	if (l->own.n == 0) {
		(void)snprintf(buf, len, "a process of uid %u",
			       (unsigned)l->s.uid);
		return;
	}
	(void)snprintf(buf, len, "%s (pid %d)", l->own.o[0].comm,
		       (int)l->own.o[0].pid);
	printable(buf);
}

static void judge_listener(struct port_status *ps, const struct listener *l,
			   enum answer a)
{
	bool loaded = l->own.n && l->own.o[0].rebind == 1;
	char *v = ps->verdict;
	size_t len = sizeof(ps->verdict);
	char name[64];
	char tail[256];

	ps->answer = a;
	who(l, name, sizeof(name));
	(void)snprintf(tail, sizeof(tail),
		       "once it stops, a restart waits up to %d s for the "
		       "TIME_WAIT entries it leaves, or run 'rebind purge %u' "
		       "(as root) in between",
		       RB_TW_SECS, ps->port);
	if (a == ANSWER_YES)
		(void)snprintf(v, len,
			       "yes, once it stops: %s listens %s, so the "
			       "TIME_WAIT entries it leaves carry SO_REUSEADDR "
			       "and a restart under rebind binds at once",
			       name,
			       loaded ? "under rebind"
				      : "with SO_REUSEADDR of its own");
	else if (a == ANSWER_NO && l->reuse == 0 && loaded)
		(void)snprintf(v, len,
			       "no: %s listens without SO_REUSEADDR although "
			       "rebind is loaded (off for this program or "
			       "port? see 'rebind explain'); %s",
			       name, tail);
	else if (a == ANSWER_NO)
		(void)snprintf(
			v, len, "no: %s runs without rebind%s; %s", name,
			l->reuse == 0 ? " and without SO_REUSEADDR"
				      : " (unless it sets SO_REUSEADDR itself)",
			tail);
	else
		(void)snprintf(v, len,
			       "unknown: cannot tell whether %s runs under "
			       "rebind (run 'rebind status' as root)",
			       name);
}

/* The listener that decides: the first that says no, else unknown. */
static void judge_listeners(struct port_status *ps)
{
	unsigned n = kept(ps->nlisten, RB_LISTEN_MAX);
	unsigned pick = 0;
	enum answer worst = ANSWER_YES;

	for (unsigned i = 0; i < n; i++) {
		enum answer a = listener_answer(&ps->l[i]);

		if (a != ANSWER_YES &&
		    (worst == ANSWER_YES || (a == ANSWER_NO && worst != a))) {
			worst = a;
			pick = i;
		}
	}
	judge_listener(ps, &ps->l[pick], worst);
}

/* After the dump: the listeners' owners, or trial binds, then the verdict. */
static void judge(struct port_status *ps)
{
	for (unsigned i = 0; i < kept(ps->nlisten, RB_LISTEN_MAX); i++)
		find_owner(&ps->l[i]);
	if (ps->nlisten) {
		judge_listeners(ps);
		return;
	}
	for (unsigned i = 0; i < 2; i++)
		ps->trial[i] = rb_diag_trial_bind(families[i], ps->port);
	judge_free(ps);
}

/* --- text --- */

static void print_owners(const struct rb_owners *own)
{
	static const char *const rebind[] = {
		"rebind: unknown", "rebind not loaded", "rebind loaded"};
	unsigned n = kept(own->n, RB_OWNERS_MAX);

	if (n == 0)
		(void)printf("process unknown (%s)",
			     own->denied ? "needs root" : "not found in /proc");
	for (unsigned i = 0; i < n; i++) {
		char comm[sizeof(own->o[i].comm)];

		memcpy(comm, own->o[i].comm, sizeof(comm));
		printable(comm);
		(void)printf("%spid %d (%s, %s)", i ? ", " : "",
			     (int)own->o[i].pid, comm,
			     rebind[own->o[i].rebind + 1]);
	}
	if (own->n > n)
		(void)printf(", and %u more", own->n - n);
}

static void print_listener(const struct listener *l)
{
	static const char *const reuse[] = {"unknown", "off", "on"};
	char addr[64];
	bool v6 = l->s.family == AF_INET6;

	rb_diag_addr(&l->s, addr, sizeof(addr));
	(void)printf("  listening: %s%s%s:%u, uid %u, ", v6 ? "[" : "", addr,
		     v6 ? "]" : "", rb_diag_port(&l->s), (unsigned)l->s.uid);
	print_owners(&l->own);
	(void)printf(", SO_REUSEADDR %s\n", reuse[l->reuse + 1]);
}

static const char *trial_text(int err)
{
	if (err < 0)
		return "not available";
	return err ? strerror(err) : "binds";
}

static void print_text(const struct port_status *ps)
{
	unsigned n = kept(ps->nlisten, RB_LISTEN_MAX);

	(void)printf("port %u\n", ps->port);
	if (n == 0)
		(void)printf("  listening: nothing\n");
	for (unsigned i = 0; i < n; i++)
		print_listener(&ps->l[i]);
	if (ps->nlisten > n)
		(void)printf("  listening: and %u more\n", ps->nlisten - n);
	(void)printf("  TIME_WAIT: %u entries", ps->tw);
	if (ps->tw)
		(void)printf(", the last expires in %u s", seconds(ps->tw_ms));
	(void)printf("\n  other connections: %u\n", ps->other);
	if (n == 0)
		(void)printf("  trial bind with SO_REUSEADDR: IPv4 %s, "
			     "IPv6 %s\n",
			     trial_text(ps->trial[0]),
			     trial_text(ps->trial[1]));
	(void)printf("  restart: %s\n", ps->verdict);
}

/* --- JSON --- */

/* Control characters and bytes outside ASCII as \u00XX: always valid. */
static void json_str(const char *s)
{
	(void)putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			(void)printf("\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			(void)printf("\\u%04x", c);
		else
			(void)putchar(c);
	}
	(void)putchar('"');
}

static const char *json_tri(int v)
{
	return v < 0 ? "null" : v ? "true" : "false";
}

static void json_owners(const struct rb_owners *own)
{
	unsigned n = kept(own->n, RB_OWNERS_MAX);

	(void)printf("\"processes\":[");
	for (unsigned i = 0; i < n; i++) {
		(void)printf("%s{\"pid\":%d,\"program\":", i ? "," : "",
			     (int)own->o[i].pid);
		json_str(own->o[i].comm);
		(void)printf(",\"rebind\":%s}", json_tri(own->o[i].rebind));
	}
	(void)printf("],\"processes_found\":%u,\"processes_hidden\":%s", own->n,
		     own->denied ? "true" : "false");
}

static void json_listener(const struct listener *l, bool first)
{
	char addr[64];

	rb_diag_addr(&l->s, addr, sizeof(addr));
	(void)printf("%s{\"address\":", first ? "" : ",");
	json_str(addr);
	(void)printf(",\"family\":\"%s\",\"uid\":%u,\"inode\":%u,"
		     "\"reuseaddr\":%s,",
		     l->s.family == AF_INET6 ? "ipv6" : "ipv4",
		     (unsigned)l->s.uid, (unsigned)l->s.inode,
		     json_tri(l->reuse));
	json_owners(&l->own);
	(void)putchar('}');
}

static void json_trial(int err)
{
	if (err < 0)
		(void)printf("null");
	else
		json_str(err ? strerror(err) : "ok");
}

static void print_json(const struct port_status *ps, bool first)
{
	static const char *const answers[] = {"yes", "no", "unknown"};
	unsigned n = kept(ps->nlisten, RB_LISTEN_MAX);

	(void)printf("%s{\"port\":%u,\"listening\":[", first ? "" : ",",
		     ps->port);
	for (unsigned i = 0; i < n; i++)
		json_listener(&ps->l[i], i == 0);
	(void)printf("],\"listening_count\":%u,\"time_wait\":{\"count\":%u,"
		     "\"longest_timer_ms\":%u},\"other_connections\":%u,"
		     "\"trial_bind\":",
		     ps->nlisten, ps->tw, (unsigned)ps->tw_ms, ps->other);
	if (n == 0) {
		(void)printf("{\"ipv4\":");
		json_trial(ps->trial[0]);
		(void)printf(",\"ipv6\":");
		json_trial(ps->trial[1]);
		(void)putchar('}');
	} else {
		(void)printf("null");
	}
	(void)printf(",\"restart\":\"%s\",\"verdict\":", answers[ps->answer]);
	json_str(ps->verdict);
	(void)putchar('}');
}

/* --- command --- */

static int parse_port(const char *s, unsigned *out)
{
	if (rb_cli_port(s, out) == 0)
		return 0;
	(void)fprintf(stderr, "rebind: status: '%s': expected a port "
			      "(1-65535)\n", s);
	return -1;
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
			(void)fprintf(stderr, "rebind: status: '%s' is not "
					      "an option\n", argv[optind - 1]);
			return -1;
		}
		*json = true;
	}
	if (optind == argc) {
		(void)fputs("rebind: usage: rebind status [--json] PORT...\n",
			    stderr);
		return -1;
	}
	return optind;
}

static int gather_all(struct port_status *ps, int n, char **ports)
{
	struct ports all = {ps, n};
	int nl;
	int ret = 0;

	for (int i = 0; i < n; i++) {
		if (parse_port(ports[i], &ps[i].port))
			return RB_EXIT_USAGE;
	}
	nl = rb_diag_open();
	for (unsigned i = 0; i < 2 && nl >= 0 && ret == 0; i++)
		ret = rb_diag_dump(nl, families[i], RB_ALL_STATES, take, &all);
	if (nl >= 0)
		(void)close(nl);
	if (nl < 0 || ret) {
		(void)fprintf(stderr, "rebind: status: sock_diag: %s\n",
			      strerror(nl < 0 ? -nl : -ret));
		return RB_EXIT_USAGE;
	}
	for (int i = 0; i < n; i++)
		judge(&ps[i]);
	return RB_EXIT_OK;
}

static int print_all(const struct port_status *ps, int n, bool json)
{
	int ret = RB_EXIT_OK;

	if (json)
		(void)printf("{\"ports\":[");
	for (int i = 0; i < n; i++) {
		if (json)
			print_json(&ps[i], i == 0);
		else
			print_text(&ps[i]);
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
 * rebind status [--json] PORT...: exit 0 when a restart under rebind
 * would bind on every PORT (or will once its listener stops), 1 when
 * not or when that cannot be told, 2 on bad arguments or a sock_diag
 * failure.
 */
int rb_cli_status(int argc, char **argv)
{
	bool json = false;
	int first = parse(argc, argv, &json);
	struct port_status *ps;
	int ret;

	if (first < 0)
		return RB_EXIT_USAGE;
	if (first == 0)
		return fputs(usage, stdout) == EOF ? RB_EXIT_USAGE : RB_EXIT_OK;
	ps = calloc((size_t)(argc - first), sizeof(*ps));
	if (!ps) {
		(void)fprintf(stderr, "rebind: %s\n", strerror(errno));
		return RB_EXIT_USAGE;
	}
	ret = gather_all(ps, argc - first, argv + first);
	if (ret == RB_EXIT_OK)
		ret = print_all(ps, argc - first, json);
	free(ps);
	return ret;
}
