#include "config.h"

#include "core/sdfd.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#define NAME_PREFIX "rebind-"

/* Plain decimal, no sign or blanks, at most max; -1 otherwise. */
static long parse_decimal(const char *s, long max)
{
	long v = 0;

	if (!s || !*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
		if (v > max)
			return -1;
	}
	return v;
}

unsigned rb_sdfd_count(const char *listen_pid, const char *listen_fds,
		       long self)
{
	long pid = parse_decimal(listen_pid, 0x7fffffffL);
	long n = parse_decimal(listen_fds, RB_SDFD_MAX);

	if (pid <= 0 || (self >= 0 && pid != self) || n <= 0)
		return 0;
	return (unsigned)n;
}

bool rb_sdfd_name_at(const char *names, unsigned i, char *buf, size_t len)
{
	const char *end;
	size_t n;

	if (!names)
		return false;
	for (; i > 0; i--) {
		names = strchr(names, ':');
		if (!names)
			return false;
		names++;
	}
	end = strchr(names, ':');
	n = end ? (size_t)(end - names) : strlen(names);
	if (n >= len)
		return false;
	memcpy(buf, names, n);
	buf[n] = '\0';
	return true;
}

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

bool rb_sdfd_name_valid(const char *name)
{
	size_t n = 0;

	for (; name[n]; n++) {
		if (!name_char(name[n]) || n >= RB_SDFD_NAME_MAX - 1)
			return false;
	}
	return n > 0;
}

static void swap_char(char *s, char from, char to)
{
	for (; *s; s++) {
		if (*s == from)
			*s = to;
	}
}

int rb_sdfd_name_build(const struct rb_sdaddr *a, char *buf, size_t len)
{
	char text[INET6_ADDRSTRLEN];
	int n;

	if ((a->family != AF_INET && a->family != AF_INET6) ||
	    a->port == 0 || a->port > 65535 ||
	    !inet_ntop(a->family, a->addr, text, sizeof(text)))
		return -1;
	swap_char(text, ':', '_');
	n = snprintf(buf, len, NAME_PREFIX "%s-%s-%u",
		     a->family == AF_INET ? "ipv4" : "ipv6", text, a->port);
	return n > 0 && (size_t)n < len ? 0 : -1;
}

int rb_sdfd_name_parse(const char *name, struct rb_sdaddr *out)
{
	char text[INET6_ADDRSTRLEN];
	struct rb_sdaddr a;
	const char *addr = name + strlen(NAME_PREFIX "ipv4-");
	const char *dash;
	long port;
	int family;

	if (strncmp(name, NAME_PREFIX "ipv4-", strlen(NAME_PREFIX "ipv4-")) == 0)
		family = AF_INET;
	else if (strncmp(name, NAME_PREFIX "ipv6-",
			 strlen(NAME_PREFIX "ipv6-")) == 0)
		family = AF_INET6;
	else
		return -1;
	dash = strrchr(addr, '-');
	if (!dash || dash == addr || (size_t)(dash - addr) >= sizeof(text))
		return -1;
	port = parse_decimal(dash + 1, 65535);
	memcpy(text, addr, (size_t)(dash - addr));
	text[dash - addr] = '\0';
	if (family == AF_INET6)
		swap_char(text, '_', ':');
	/* *out whole, and only on success: callers compare addresses with
	 * memcmp, and an IPv4 address fills only the first 4 bytes. */
	memset(&a, 0, sizeof(a));
	if (port <= 0 || inet_pton(family, text, a.addr) != 1)
		return -1;
	a.family = family;
	a.port = (unsigned)port;
	*out = a;
	return 0;
}

int rb_sdfd_message(bool remove, const char *name, char *buf, size_t len)
{
	int n;

	if (!rb_sdfd_name_valid(name))
		return -1;
	n = snprintf(buf, len, "%s=1\nFDNAME=%s",
		     remove ? "FDSTOREREMOVE" : "FDSTORE", name);
	return n > 0 && (size_t)n < len ? n : -1;
}

int rb_sdfd_notify_addr(const char *s, struct sockaddr_un *out,
			socklen_t *len)
{
	size_t n = s ? strlen(s) : 0;

	if (n < 2 || (s[0] != '/' && s[0] != '@') ||
	    n > sizeof(out->sun_path) - (s[0] == '/'))
		return -1;
	memset(out, 0, sizeof(*out));
	out->sun_family = AF_UNIX;
	memcpy(out->sun_path, s, n);
	/* Abstract: a leading NUL, and the length counts the name only. */
	if (s[0] == '@')
		out->sun_path[0] = '\0';
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n +
			   (s[0] == '/'));
	return 0;
}
