#ifndef RB_SDFD_H
#define RB_SDFD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

/*
 * systemd's side of a held listener, as strings: the LISTEN_* variables
 * a service starts with, the names rebind gives the listeners it stores
 * (FDNAME), and the notification datagram.  Pure: strings in, values
 * out; the shim reads the environment and does the sending.
 */

/* systemd passes descriptors from this number on. */
#define RB_SDFD_FIRST 3
/* More than any unit passes; a larger LISTEN_FDS is taken as bad. */
#define RB_SDFD_MAX 64
/* FDNAME: at most 255 bytes, and the NUL. */
#define RB_SDFD_NAME_MAX 256
/* Room for the longest notification rebind sends. */
#define RB_SDFD_MSG_MAX (RB_SDFD_NAME_MAX + 32)

/* A listener's local address. */
struct rb_sdaddr {
	int family;		/* AF_INET or AF_INET6 */
	unsigned char addr[16]; /* network order; IPv4 uses the first 4 */
	unsigned port;
};

/*
 * How many descriptors (from fd 3) systemd passed to the process self:
 * LISTEN_PID must be self and LISTEN_FDS a count from 1 to RB_SDFD_MAX,
 * both plain decimal.  0 for anything else (none, another process's,
 * a bad value).  A negative self takes any process's (LISTEN_PID > 0).
 */
unsigned rb_sdfd_count(const char *listen_pid, const char *listen_fds,
		       long self);

/*
 * The name of the i-th passed descriptor (from 0) in LISTEN_FDNAMES
 * (colon separated) into buf.  false when names is NULL, has no i-th
 * name, or the name does not fit.
 */
bool rb_sdfd_name_at(const char *names, unsigned i, char *buf, size_t len);

/* Is name a name systemd accepts: 1-255 of A-Z a-z 0-9 . _ - ? */
bool rb_sdfd_name_valid(const char *name);

/*
 * The name rebind stores a listener under, so that the next instance
 * can tell which address it holds: "rebind-ipv4-127.0.0.1-8080",
 * "rebind-ipv6-__1-8080" (an IPv6 address with ':' written as '_').
 * Returns 0, or -1 when a does not make a name or it does not fit.
 */
int rb_sdfd_name_build(const struct rb_sdaddr *a, char *buf, size_t len);

/* The address a name of rb_sdfd_name_build() encodes; -1 for any other. */
int rb_sdfd_name_parse(const char *name, struct rb_sdaddr *out);

/*
 * The notification that stores the descriptor sent with it under name
 * ("FDSTORE=1\nFDNAME=name"), or with remove, the one that makes systemd
 * drop every descriptor stored under name ("FDSTOREREMOVE=1\n...").
 * Returns its length, or -1 for a bad name or a short buffer.
 */
int rb_sdfd_message(bool remove, const char *name, char *buf, size_t len);

/*
 * NOTIFY_SOCKET as an AF_UNIX address: an absolute path, or with a
 * leading '@' a name in the abstract namespace.  Returns 0 and the
 * address length in *len; -1 when s is NULL, empty, relative or too
 * long.
 */
int rb_sdfd_notify_addr(const char *s, struct sockaddr_un *out,
			socklen_t *len);

#endif
