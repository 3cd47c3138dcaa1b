#ifndef RB_STATUS_H
#define RB_STATUS_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cli/sockdiag.h"

/*
 * rebind status, inside: cmd_status.c gathers the sockets on each
 * [ADDR:]PORT, status_judge.c gives the verdict, status_print.c prints
 * it as text or JSON.
 */

/* TCP_TIMEWAIT_LEN: how long a TIME_WAIT entry lives; not a sysctl. */
#define RB_TW_SECS     60
#define RB_VERDICT_MAX 768
#define RB_BLOCKED_MAX 512
#define RB_ADDR_MAX    (INET6_ADDRSTRLEN + 2)
/* rb_port_status.trial: no trial bind was made. */
#define RB_TRIAL_NONE (-2)
/* rb_status_entry.reuse of a connection of a process that listens there. */
#define RB_REUSE_DAEMON (-2)

/* Would a restart under rebind bind (once the listener stops)? */
enum rb_answer {
	ANSWER_YES,
	ANSWER_NO,
	ANSWER_UNKNOWN,
};

/* What a socket on the port is, for a bind that comes later. */
enum rb_kind {
	KIND_LISTEN,
	KIND_TW,
	KIND_CLOSING, /* no process holds it: its flag cannot be read */
	KIND_OTHER,   /* connected or only bound, held by a process */
	KIND_QUEUED,  /* a request in a listener's queue: never in the way */
};

/* An address a socket is bound to, as the kernel compares them. */
struct rb_endpoint {
	int family; /* an IPv4-mapped IPv6 address counts as AF_INET */
	bool any;
	bool v6only;
	unsigned char addr[16];
};

/* What status is asked about: a port, and an address or any. */
struct rb_status_target {
	unsigned port;
	int family; /* AF_UNSPEC: any address (a bare PORT) */
	struct rb_endpoint ep;
	char text[RB_ADDR_MAX]; /* "127.0.0.1", "[::1]"; "" for any */
};

struct rb_status_entry {
	struct rb_diag_sock s;
	enum rb_kind kind;
	struct rb_owners own; /* listeners and KIND_OTHER only */
	int reuse; /* SO_REUSEADDR: 1, 0, -1 unknown, RB_REUSE_DAEMON */
	bool seen; /* only bound: still there at the second look */
};

struct rb_port_status {
	struct rb_status_target t;
	struct rb_status_entry *e; /* each socket meeting t, but queued ones */
	unsigned n;
	unsigned cap;
	unsigned nlisten;
	unsigned tw;
	uint32_t tw_ms; /* the longest time a TIME_WAIT entry has left */
	unsigned closing;
	unsigned other;      /* KIND_OTHER */
	unsigned other_off;  /* of those, without SO_REUSEADDR */
	unsigned other_unk;  /* of those, not read */
	unsigned other_mine; /* of those, the listening process's own */
	unsigned gone;       /* only bound, gone at the second look */
	int trial[2]; /* IPv4, IPv6: errno, 0, -1 no family, RB_TRIAL_NONE */
	enum rb_answer answer;
	char verdict[RB_VERDICT_MAX];
	char blocked[RB_BLOCKED_MAX]; /* "ADDR (why), ..." */
};

/* The verdict, from the gathered sockets; may make a trial bind. */
void rb_status_judge(struct rb_port_status *ps);

/* "127.0.0.1", "[::1]": a socket's local address as status prints it. */
void rb_status_addr(const struct rb_diag_sock *s, char *buf, size_t len);

/* Control characters as '?': a line of text holds none. */
void rb_status_printable(char *s);

void rb_status_print_text(const struct rb_port_status *ps);
void rb_status_print_json(const struct rb_port_status *ps, bool first);

#endif
