#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cli/json.h"
#include "cli/status.h"

/* rebind status: the gathered sockets and the verdict, as text or JSON. */

static unsigned kept(unsigned n)
{
	return n < RB_OWNERS_MAX ? n : RB_OWNERS_MAX;
}

static unsigned seconds(uint32_t ms)
{
	return (ms + 999) / 1000;
}

/* --- text --- */

static void print_owners(const struct rb_owners *own)
{
	static const char *const rebind[] = {
	        "rebind: unknown", "rebind not loaded", "rebind loaded"};
	unsigned n = kept(own->n);

	if (n == 0)
		(void)printf("process unknown (%s)",
		             own->denied ? "needs root" : "not found in /proc");
	for (unsigned i = 0; i < n; i++) {
		char comm[sizeof(own->o[i].comm)];

		memcpy(comm, own->o[i].comm, sizeof(comm));
		rb_status_printable(comm);
		(void)printf("%spid %d (%s, %s)", i ? ", " : "",
		             (int)own->o[i].pid, comm,
		             own->o[i].systemd ? "systemd manager"
		                               : rebind[own->o[i].rebind + 1]);
	}
	if (own->n > n)
		(void)printf(", and %u more", own->n - n);
}

static void print_listener(const struct rb_status_entry *l)
{
	static const char *const reuse[] = {"unknown", "off", "on"};
	char addr[RB_ADDR_MAX];

	rb_status_addr(&l->s, addr, sizeof(addr));
	(void)printf("  listening: %s:%u, uid %u, ", addr, rb_diag_port(&l->s),
	             (unsigned)l->s.uid);
	print_owners(&l->own);
	(void)printf(", SO_REUSEADDR %s\n", reuse[l->reuse + 1]);
}

static const char *trial_text(int err)
{
	if (err == RB_TRIAL_NONE)
		return "not tried";
	if (err < 0)
		return "not available";
	return err ? strerror(err) : "binds";
}

/* "other sockets: 3 (2 with SO_REUSEADDR, 1 without)" */
static void print_other(const struct rb_port_status *ps)
{
	const unsigned n[] = {
	        ps->other - ps->other_off - ps->other_unk - ps->other_mine,
	        ps->other_off, ps->other_unk, ps->other_mine, ps->closing};
	static const char *const what[] = {
	        "with SO_REUSEADDR", "without SO_REUSEADDR", "not read",
	        "the listening process's own", "closing without a process"};
	const char *sep = " (";

	(void)printf("  other sockets: %u", ps->other + ps->closing);
	for (unsigned i = 0; i < sizeof(n) / sizeof(n[0]); i++) {
		if (n[i]) {
			(void)printf("%s%u %s", sep, n[i], what[i]);
			sep = ", ";
		}
	}
	(void)printf("%s\n", *sep == ',' ? ")" : "");
}

void rb_status_print_text(const struct rb_port_status *ps)
{
	(void)printf("port %u%s%s\n", ps->t.port, *ps->t.text ? " on " : "",
	             ps->t.text);
	if (ps->nlisten == 0)
		(void)printf("  listening: nothing\n");
	for (unsigned i = 0; i < ps->n; i++) {
		if (ps->e[i].kind == KIND_LISTEN)
			print_listener(&ps->e[i]);
	}
	(void)printf("  TIME_WAIT: %u entries", ps->tw);
	if (ps->tw)
		(void)printf(", the last expires in %u s", seconds(ps->tw_ms));
	(void)printf("\n");
	print_other(ps);
	if (ps->trial[0] != RB_TRIAL_NONE || ps->trial[1] != RB_TRIAL_NONE)
		(void)printf("  trial bind with SO_REUSEADDR: IPv4 %s, "
		             "IPv6 %s\n",
		             trial_text(ps->trial[0]),
		             trial_text(ps->trial[1]));
	if (*ps->blocked)
		(void)printf("  blocked: %s\n", ps->blocked);
	(void)printf("  restart: %s\n", ps->verdict);
}

/* --- JSON --- */

/* A JSON string: UTF-8 as it is, invalid bytes as U+FFFD. */
static void json_str(const char *s)
{
	char buf[256];
	size_t n = rb_json_escape(s, buf, sizeof(buf));
	char *big = n < sizeof(buf) ? NULL : malloc(n + 1);

	if (big)
		(void)rb_json_escape(s, big, n + 1);
	(void)printf("\"%s\"", big ? big : buf);
	free(big);
}

static const char *json_tri(int v)
{
	return v < 0 ? "null" : v ? "true" : "false";
}

static void json_owners(const struct rb_owners *own)
{
	unsigned n = kept(own->n);

	(void)printf("\"processes\":[");
	for (unsigned i = 0; i < n; i++) {
		(void)printf("%s{\"pid\":%d,\"program\":", i ? "," : "",
		             (int)own->o[i].pid);
		json_str(own->o[i].comm);
		(void)printf(",\"rebind\":%s,\"systemd\":%s}",
		             json_tri(own->o[i].rebind),
		             own->o[i].systemd ? "true" : "false");
	}
	(void)printf("],\"processes_found\":%u,\"processes_hidden\":%s", own->n,
	             own->denied ? "true" : "false");
	if (own->systemd)
		(void)printf(",\"held_by_systemd\":%d", (int)own->systemd);
	else
		(void)printf(",\"held_by_systemd\":null");
}

static void json_listener(const struct rb_status_entry *l, bool first)
{
	char addr[RB_ADDR_MAX];

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

static void json_sockets(const struct rb_port_status *ps)
{
	(void)printf("\"time_wait\":{\"count\":%u,\"longest_timer_ms\":%u},"
	             "\"other_connections\":%u,\"other_sockets\":{"
	             "\"reuseaddr_on\":%u,\"reuseaddr_off\":%u,\"unknown\":%u,"
	             "\"listening_process\":%u,\"closing\":%u},",
	             ps->tw, (unsigned)ps->tw_ms, ps->other + ps->closing,
	             ps->other - ps->other_off - ps->other_unk - ps->other_mine,
	             ps->other_off, ps->other_unk, ps->other_mine, ps->closing);
	(void)printf("\"trial_bind\":");
	if (ps->trial[0] != RB_TRIAL_NONE || ps->trial[1] != RB_TRIAL_NONE) {
		(void)printf("{\"ipv4\":");
		json_trial(ps->trial[0]);
		(void)printf(",\"ipv6\":");
		json_trial(ps->trial[1]);
		(void)putchar('}');
	} else {
		(void)printf("null");
	}
}

void rb_status_print_json(const struct rb_port_status *ps, bool first)
{
	static const char *const answers[] = {"yes", "no", "unknown"};
	bool none = true;

	(void)printf("%s{\"port\":%u,\"address\":", first ? "" : ",",
	             ps->t.port);
	if (*ps->t.text)
		json_str(ps->t.text);
	else
		(void)printf("null");
	(void)printf(",\"listening\":[");
	for (unsigned i = 0; i < ps->n; i++) {
		if (ps->e[i].kind == KIND_LISTEN) {
			json_listener(&ps->e[i], none);
			none = false;
		}
	}
	(void)printf("],\"listening_count\":%u,", ps->nlisten);
	json_sockets(ps);
	(void)printf(",\"blocked\":");
	if (*ps->blocked)
		json_str(ps->blocked);
	else
		(void)printf("null");
	(void)printf(",\"restart\":\"%s\",\"verdict\":", answers[ps->answer]);
	json_str(ps->verdict);
	(void)putchar('}');
}
