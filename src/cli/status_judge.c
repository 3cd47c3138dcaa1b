#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/utsname.h>

#include "cli/status.h"

/*
 * The verdict of rebind status on one [ADDR:]PORT, from the sockets
 * cmd_status.c gathered.  It binds a throwaway socket only when nothing
 * else can tell: TIME_WAIT entries and connections no process holds any
 * more keep their SO_REUSEADDR where no system call shows it.
 */

static unsigned seconds(uint32_t ms)
{
	return (ms + 999) / 1000;
}

static const char *state_name(unsigned state)
{
	static const char *const names[] = {
	        "?",          "ESTABLISHED", "SYN_SENT",  "SYN_RECV",
	        "FIN_WAIT1",  "FIN_WAIT2",   "TIME_WAIT", "bound",
	        "CLOSE_WAIT", "LAST_ACK",    "LISTEN",    "CLOSING",
	};

	return state < sizeof(names) / sizeof(names[0]) ? names[state] : "?";
}

/* A program may name itself with any bytes; a line of text holds none. */
void rb_status_printable(char *s)
{
	for (; *s; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
	}
}

/* "legacy-server (pid 42)" or "a process of uid 1000". */
static void who(const struct rb_status_entry *e, char *buf, size_t len)
{
	unsigned n = e->own.n < RB_OWNERS_MAX ? e->own.n : RB_OWNERS_MAX;

	(void)snprintf(buf, len, "a process of uid %u", (unsigned)e->s.uid);
	/* The daemon, not a systemd manager that holds a copy. */
	/* cppcheck-suppress knownConditionTrueFalse ; n comes from e */
	for (unsigned i = 0; i < n; i++) {
		if (!e->own.o[i].systemd) {
			(void)snprintf(buf, len, "%s (pid %d)",
			               e->own.o[i].comm, (int)e->own.o[i].pid);
			break;
		}
	}
	rb_status_printable(buf);
}

/* Adds "ADDR (why)" to the blocked list, once. */
static void blocked(struct rb_port_status *ps, const struct rb_status_entry *e,
                    const char *why)
{
	char item[RB_ADDR_MAX + 64];
	size_t used = strlen(ps->blocked);

	rb_status_addr(&e->s, item, sizeof(item));
	(void)snprintf(item + strlen(item), sizeof(item) - strlen(item),
	               " (%s)", why);
	if (strstr(ps->blocked, item))
		return;
	if (used + strlen(item) + 8 >= sizeof(ps->blocked)) {
		if (!strstr(ps->blocked, "..."))
			(void)snprintf(ps->blocked + used,
			               sizeof(ps->blocked) - used, ", ...");
		return;
	}
	(void)snprintf(ps->blocked + used, sizeof(ps->blocked) - used, "%s%s",
	               used ? ", " : "", item);
}

/* --- listeners --- */

/* Will the listener leave entries with SO_REUSEADDR, or be kept open? */
static enum rb_answer listener_answer(const struct rb_status_entry *l)
{
	if (l->own.systemd)
		return ANSWER_YES;
	if (l->reuse >= 0)
		return l->reuse ? ANSWER_YES : ANSWER_NO;
	/*
	 * librebind.so being mapped says nothing: it is off there with
	 * REBIND_ENABLE=no, for another port, or with a bad config.
	 */
	return ANSWER_UNKNOWN;
}

static void say_systemd(struct rb_port_status *ps,
                        const struct rb_status_entry *l, const char *name)
{
	char addr[RB_ADDR_MAX];

	rb_status_addr(&l->s, addr, sizeof(addr));
	if (l->own.daemons)
		(void)snprintf(
		        ps->verdict, sizeof(ps->verdict),
		        "yes: systemd (pid %d) holds the listener on %s too: "
		        "it stays open while %s restarts, clients wait in its "
		        "queue, and the new instance under rebind takes it "
		        "over: a restart loses no connection",
		        (int)l->own.systemd, addr, name);
	else
		(void)snprintf(
		        ps->verdict, sizeof(ps->verdict),
		        "yes: systemd (pid %d) holds the listener on %s and "
		        "no daemon does (a .socket unit, or its file "
		        "descriptor store between two instances): a daemon "
		        "its unit starts under rebind takes it over and "
		        "loses no connection",
		        (int)l->own.systemd, addr);
}

static void say_unknown(struct rb_port_status *ps,
                        const struct rb_status_entry *l, const char *name)
{
	bool loaded = l->own.n && l->own.o[0].rebind == 1;

	if (l->own.n == 0)
		(void)snprintf(ps->verdict, sizeof(ps->verdict),
		               "unknown: cannot tell which process holds the "
		               "listener (run 'rebind status' as root)");
	else
		(void)snprintf(
		        ps->verdict, sizeof(ps->verdict),
		        "unknown: %s %s, and its listener's SO_REUSEADDR "
		        "cannot be read here (that needs the right to ptrace "
		        "it, and pidfd_getfd(2)): run 'rebind status' as root",
		        name,
		        loaded ? "has rebind loaded, which may still be off "
		                 "for it or this port"
		               : "runs without rebind and may set the option "
		                 "itself");
}

static void say_listener(struct rb_port_status *ps,
                         const struct rb_status_entry *l, enum rb_answer a)
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
	               RB_TW_SECS, ps->t.port);
	if (a == ANSWER_YES && l->own.systemd)
		say_systemd(ps, l, name);
	else if (a == ANSWER_YES)
		(void)snprintf(v, len,
		               "yes, once it stops: %s listens %s, so the "
		               "TIME_WAIT entries it leaves carry SO_REUSEADDR "
		               "and a restart under rebind binds at once",
		               name,
		               loaded ? "under rebind"
		                      : "with SO_REUSEADDR of its own");
	else if (a == ANSWER_NO && loaded)
		(void)snprintf(v, len,
		               "no: %s listens without SO_REUSEADDR although "
		               "rebind is loaded (off for this program or "
		               "port? see 'rebind explain'); %s",
		               name, tail);
	else if (a == ANSWER_NO)
		(void)snprintf(v, len,
		               "no: %s runs without rebind and without "
		               "SO_REUSEADDR; %s",
		               name, tail);
	else
		say_unknown(ps, l, name);
}

/* The listener that decides: the first that says no, else unknown. */
static const struct rb_status_entry *worst_listener(struct rb_port_status *ps,
                                                    enum rb_answer *worst)
{
	const struct rb_status_entry *pick = NULL;

	*worst = ANSWER_YES;
	for (unsigned i = 0; i < ps->n; i++) {
		const struct rb_status_entry *l = &ps->e[i];
		enum rb_answer a;

		if (l->kind != KIND_LISTEN)
			continue;
		blocked(ps, l, "listening");
		a = listener_answer(l);
		if (!pick || (a != ANSWER_YES && *worst != ANSWER_NO &&
		              (*worst == ANSWER_YES || a == ANSWER_NO))) {
			*worst = a;
			pick = l;
		}
	}
	return pick;
}

/* --- other sockets --- */

/* Sockets without SO_REUSEADDR, not the listening daemon's own. */
static void say_other_off(struct rb_port_status *ps)
{
	const struct rb_status_entry *first = NULL;
	char name[64];
	char addr[RB_ADDR_MAX];

	for (unsigned i = 0; i < ps->n; i++) {
		if (ps->e[i].kind == KIND_OTHER && ps->e[i].reuse == 0) {
			blocked(ps, &ps->e[i], "no SO_REUSEADDR");
			first = first ? first : &ps->e[i];
		}
	}
	if (!first) /* other_off counts them: never */
		return;
	who(first, name, sizeof(name));
	rb_status_addr(&first->s, addr, sizeof(addr));
	ps->answer = ANSWER_NO;
	(void)snprintf(ps->verdict, sizeof(ps->verdict),
	               "no: %u open socket%s without SO_REUSEADDR hold%s the "
	               "port, e.g. %s %s:%u of %s: a start binds only once "
	               "%s closed (no TIME_WAIT entry is in the way, "
	               "removing them would not help)",
	               ps->other_off, ps->other_off == 1 ? "" : "s",
	               ps->other_off == 1 ? "s" : "",
	               state_name(first->s.state), addr, ps->t.port, name,
	               ps->other_off == 1 ? "it is" : "they are");
}

static void say_other_unknown(struct rb_port_status *ps)
{
	ps->answer = ANSWER_UNKNOWN;
	(void)snprintf(ps->verdict, sizeof(ps->verdict),
	               "unknown: %u socket%s on the port whose SO_REUSEADDR "
	               "cannot be read here (run 'rebind status' as root)",
	               ps->other_unk, ps->other_unk == 1 ? "" : "s");
}

/* --- the trial bind: only when nothing else can tell --- */

/* Linux 6.8 and later list sockets that are only bound (inet_diag). */
static bool lists_bound(void)
{
	struct utsname u;
	unsigned long major;
	unsigned long minor;
	char *end;

	if (uname(&u))
		return false;
	major = strtoul(u.release, &end, 10);
	minor = *end == '.' ? strtoul(end + 1, NULL, 10) : 0;
	return major > 6 || (major == 6 && minor >= 8);
}

static void trial(struct rb_port_status *ps, bool v4, bool v6)
{
	static const unsigned char any[16];

	ps->trial[0] = ps->trial[1] = RB_TRIAL_NONE;
	if (ps->t.family == AF_INET)
		ps->trial[0] = rb_diag_trial_bind(AF_INET, ps->t.ep.addr,
		                                  ps->t.port, 0);
	else if (ps->t.family == AF_INET6)
		ps->trial[1] = rb_diag_trial_bind(AF_INET6, ps->t.ep.addr,
		                                  ps->t.port, 0);
	if (ps->t.family == AF_UNSPEC && v4)
		ps->trial[0] = rb_diag_trial_bind(AF_INET, any, ps->t.port, 1);
	if (ps->t.family == AF_UNSPEC && v6)
		ps->trial[1] = rb_diag_trial_bind(AF_INET6, any, ps->t.port, 1);
}

/* The first errno of the trial binds, 0 when all bound, -1 if none ran. */
static int trial_error(const struct rb_port_status *ps)
{
	if (ps->trial[0] > 0)
		return ps->trial[0];
	if (ps->trial[1] > 0)
		return ps->trial[1];
	return ps->trial[0] == 0 || ps->trial[1] == 0 ? 0 : -1;
}

/* Which families the entries no flag is known of are in. */
static void unknown_families(struct rb_port_status *ps, bool *v4, bool *v6)
{
	*v4 = *v6 = false;
	for (unsigned i = 0; i < ps->n; i++) {
		const struct rb_status_entry *e = &ps->e[i];
		bool mapped = e->s.family == AF_INET6 &&
		              e->s.id.idiag_src[0] == 0 &&
		              e->s.id.idiag_src[1] == 0 &&
		              e->s.id.idiag_src[2] == htonl(0xffff);

		if (e->kind == KIND_LISTEN ||
		    (e->kind == KIND_OTHER && e->reuse != -1))
			continue;
		*v4 |= e->s.family == AF_INET || mapped;
		*v6 |= e->s.family == AF_INET6 && !mapped;
	}
}

static void say_trial_failed(struct rb_port_status *ps, int err)
{
	char *v = ps->verdict;
	size_t len = sizeof(ps->verdict);

	for (unsigned i = 0; i < ps->n; i++) {
		if (ps->e[i].kind == KIND_TW)
			blocked(ps, &ps->e[i], "TIME_WAIT");
		else if (ps->e[i].kind != KIND_LISTEN && ps->e[i].reuse == -1)
			blocked(ps, &ps->e[i], state_name(ps->e[i].s.state));
	}
	if (err == EADDRINUSE && ps->closing == 0 && ps->other_unk == 0)
		(void)snprintf(v, len,
		               "no: TIME_WAIT entries without SO_REUSEADDR "
		               "hold the port (the instance that left them ran "
		               "without rebind): a start binds in %u s at the "
		               "latest, or at once after 'rebind purge %u' (as "
		               "root)",
		               seconds(ps->tw_ms), ps->t.port);
	else if (err == EADDRINUSE)
		(void)snprintf(v, len,
		               "no: a trial bind fails; in the way are %u "
		               "TIME_WAIT entries, %u connections closing "
		               "without a process (they end by themselves) and "
		               "%u sockets whose SO_REUSEADDR cannot be read "
		               "here",
		               ps->tw, ps->closing, ps->other_unk);
	else
		(void)snprintf(v, len, "no: another socket holds the port: %s",
		               strerror(err));
}

static void say_trial_bound(struct rb_port_status *ps)
{
	unsigned others = ps->closing + ps->other;

	if (ps->tw)
		(void)snprintf(ps->verdict, sizeof(ps->verdict),
		               "yes: the %u TIME_WAIT entries carry "
		               "SO_REUSEADDR (the instance that left them ran "
		               "under rebind)%s: a start under rebind binds "
		               "now, one without it would wait up to %u s",
		               ps->tw,
		               others ? ", as do the other sockets" : "",
		               seconds(ps->tw_ms));
	else if (others)
		(void)snprintf(ps->verdict, sizeof(ps->verdict),
		               "yes: the %u sockets on the port carry "
		               "SO_REUSEADDR: a start under rebind binds now",
		               others);
	else
		(void)snprintf(ps->verdict, sizeof(ps->verdict),
		               "yes: nothing holds the port");
}

static void judge_trial(struct rb_port_status *ps)
{
	bool v4;
	bool v6;
	int err;

	unknown_families(ps, &v4, &v6);
	if (!v4 && !v6)
		v4 = v6 = true;
	trial(ps, v4, v6);
	err = trial_error(ps);
	ps->answer = err == 0                   ? ANSWER_YES
	             : err > 0 && err != EACCES ? ANSWER_NO
	                                        : ANSWER_UNKNOWN;
	if (err == 0)
		say_trial_bound(ps);
	else if (err == EACCES)
		(void)snprintf(ps->verdict, sizeof(ps->verdict),
		               "unknown: a trial bind on port %u needs root "
		               "here; run 'rebind status' as root",
		               ps->t.port);
	else if (err > 0)
		say_trial_failed(ps, err);
	else
		(void)snprintf(ps->verdict, sizeof(ps->verdict),
		               "unknown: no TCP socket could be made for a "
		               "trial bind");
}

/* --- the verdict --- */

/* Nothing listens: the other sockets tell, a trial bind if they must. */
static void judge_free(struct rb_port_status *ps)
{
	if (ps->other_off)
		say_other_off(ps);
	else if (ps->tw || ps->closing || ps->other_unk || !lists_bound())
		judge_trial(ps);
	else if (ps->other)
		(void)snprintf(ps->verdict, sizeof(ps->verdict),
		               "yes: the %u socket%s on the port carr%s "
		               "SO_REUSEADDR: a start under rebind binds now "
		               "(one without rebind fails while %s)",
		               ps->other, ps->other == 1 ? "" : "s",
		               ps->other == 1 ? "ies" : "y",
		               ps->other == 1 ? "it exists" : "they exist");
	else
		(void)snprintf(ps->verdict, sizeof(ps->verdict),
		               "yes: nothing holds the port");
}

void rb_status_judge(struct rb_port_status *ps)
{
	enum rb_answer a;
	const struct rb_status_entry *l;

	ps->trial[0] = ps->trial[1] = RB_TRIAL_NONE;
	ps->answer = ANSWER_YES;
	if (ps->nlisten == 0) {
		judge_free(ps);
		return;
	}
	l = worst_listener(ps, &a);
	if (a != ANSWER_NO && ps->other_off)
		say_other_off(ps);
	else if (a == ANSWER_YES && ps->other_unk)
		say_other_unknown(ps);
	else
		say_listener(ps, l, a);
}
