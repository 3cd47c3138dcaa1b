#include "config.h"

#include "core/conf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* No valid value comes near this; longer ones are refused, not cut. */
#define RB_VALUE_MAX 1024
#define RB_CONF_SIZE_MAX (1024L * 1024L)

struct parser {
	struct rb_conf *conf;
	struct rb_section *cur;
	unsigned line;
	unsigned errors;
	rb_conf_report_fn report;
	void *ctx;
	/* Takes the keys after a bad header: checked, then thrown away. */
	struct rb_section scratch;
};

/* A piece of a line: [b, e). */
struct span {
	const char *b;
	const char *e;
};

/*
 * A message must fit the library's one log line whole, with its prefix
 * and "(rebind is disabled)" (RB_LINE_MAX in log.h): a long path gives
 * way, as "..." and its tail, never the line number or the reason.
 */
#define RB_MSG_MAX 200
#define RB_TAIL_MIN 32

/*
 * The end of path, at most room bytes (but never fewer than
 * RB_TAIL_MIN), not starting inside a UTF-8 character.
 */
static const char *path_tail(const char *path, size_t room)
{
	size_t n = strlen(path);
	size_t keep = room < RB_TAIL_MIN ? RB_TAIL_MIN : room;
	const char *tail;

	if (n <= keep)
		return path;
	tail = path + n - keep;
	while ((*tail & 0xc0) == 0x80)
		tail++;
	return tail;
}

__attribute__((format(printf, 2, 3))) static void
error(struct parser *ps, const char *fmt, ...)
{
	char msg[RB_CONF_PATH_MAX + RB_ERR_MAX + 48];
	char what[RB_ERR_MAX];
	char where[16] = "";
	const char *path = ps->conf->path;
	const char *tail;
	size_t used;
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	/* Line 0: the file as a whole (cannot open it, say). */
	if (ps->line)
		(void)snprintf(where, sizeof(where), ":%u", ps->line);
	used = strlen(where) + strlen(what) + 2;
	tail = path_tail(path, used < RB_MSG_MAX - 3 ? RB_MSG_MAX - 3 - used
						     : 0);
	(void)snprintf(msg, sizeof(msg), "%s%s%s: %s", tail == path ? "" : "...",
		       tail, where, what);
	ps->errors++;
	if (ps->report)
		ps->report(ps->ctx, msg);
}

static bool blank(char c)
{
	return c == ' ' || c == '\t';
}

static struct span trim(struct span s)
{
	while (s.b < s.e && blank(*s.b))
		s.b++;
	while (s.e > s.b && blank(s.e[-1]))
		s.e--;
	return s;
}

static size_t len_of(struct span s)
{
	return (size_t)(s.e - s.b);
}

/* Copy s into buf as a string; false when it does not fit. */
static bool copy(struct span s, char *buf, size_t size)
{
	if (len_of(s) >= size)
		return false;
	memcpy(buf, s.b, len_of(s));
	buf[len_of(s)] = '\0';
	return true;
}

/* How much of s to quote in a message: lines may be of any length. */
static int shown(struct span s)
{
	return len_of(s) > 64 ? 64 : (int)len_of(s);
}

static bool word_is(struct span s, const char *w)
{
	return len_of(s) == strlen(w) && memcmp(s.b, w, len_of(s)) == 0;
}

/* Split off the first blank-separated word of s into *word. */
static struct span next_word(struct span s, struct span *word)
{
	const char *p = s.b;

	while (p < s.e && !blank(*p))
		p++;
	word->b = s.b;
	word->e = p;
	return trim((struct span){p, s.e});
}

/* "value  # comment", "[port 80]  # comment": a '#' after a blank starts a comment. */
static struct span strip_comment(struct span s)
{
	for (const char *p = s.b; p < s.e; p++) {
		if (*p == '#' && p > s.b && blank(p[-1])) {
			s.e = p;
			break;
		}
	}
	return trim(s);
}

static bool parse_portspec(struct parser *ps, struct span s,
			   struct rb_portset *out)
{
	char buf[RB_VALUE_MAX];
	const char *why = "too long";

	if (len_of(s) == 0) {
		error(ps, "missing ports, e.g. [port 8080]");
		return false;
	}
	if (copy(s, buf, sizeof(buf)) && rb_policy_parse_ports(buf, out, &why) == 0)
		return true;
	error(ps, "ports '%.*s': %s", shown(s), s.b, why);
	return false;
}

static struct rb_section *new_section(struct parser *ps,
				      enum rb_section_kind kind)
{
	struct rb_section *sec;

	if (ps->conf->n == RB_SECTIONS_MAX) {
		/* The global section takes one. */
		error(ps, "too many sections (at most %d)",
		      RB_SECTIONS_MAX - 1);
		return NULL;
	}
	sec = &ps->conf->sec[ps->conf->n];
	memset(sec, 0, sizeof(*sec));
	sec->kind = kind;
	sec->line = ps->line;
	return sec;
}

/* [program NAME] or [program NAME port SPEC]; rest is after "program". */
static bool program_section(struct parser *ps, struct span rest,
			    struct rb_section *sec)
{
	struct span name, word;

	rest = next_word(rest, &name);
	if (len_of(name) == 0) {
		error(ps, "missing program name, e.g. [program mydaemon]");
		return false;
	}
	if (!copy(name, sec->program, sizeof(sec->program))) {
		error(ps, "program name longer than %d bytes",
		      RB_PROGRAM_MAX - 1);
		return false;
	}
	if (len_of(rest) == 0)
		return true;
	rest = next_word(rest, &word);
	if (!word_is(word, "port")) {
		error(ps, "expected [program NAME] or [program NAME port SPEC]");
		return false;
	}
	sec->kind = RB_SEC_PROGRAM_PORT;
	return parse_portspec(ps, rest, &sec->ports);
}

/*
 * Until a header proves good, its keys go to the scratch section: they
 * must not land in the section before, and check must still report
 * their own errors (a bad value, a key twice) now, not once the header
 * is fixed.
 */
static void discard_keys(struct parser *ps, enum rb_section_kind kind)
{
	memset(&ps->scratch, 0, sizeof(ps->scratch));
	ps->scratch.kind = kind;
	ps->cur = &ps->scratch;
}

static void section(struct parser *ps, struct span s)
{
	struct span inner;
	struct span word, rest;
	struct rb_section *sec = NULL;
	bool ok = false;

	discard_keys(ps, RB_SEC_PROGRAM); /* unknown kind: any key may follow */
	s = strip_comment(s);
	inner = trim((struct span){s.b + 1, s.e - 1});
	if (s.e[-1] != ']') {
		error(ps, "a section header ends with ']'");
		return;
	}
	rest = next_word(inner, &word);
	if (word_is(word, "port")) {
		sec = new_section(ps, RB_SEC_PORT);
		ok = sec && parse_portspec(ps, rest, &sec->ports);
	} else if (word_is(word, "program")) {
		sec = new_section(ps, RB_SEC_PROGRAM);
		ok = sec && program_section(ps, rest, sec);
	} else {
		error(ps, "unknown section '%.*s' (expected [port SPEC], "
			  "[program NAME] or [program NAME port SPEC])",
		      shown(s), s.b);
	}
	if (ok)
		ps->cur = &ps->conf->sec[ps->conf->n++];
	else if (sec)
		ps->scratch.kind = sec->kind;
}

/* ports and log are per process: a port section cannot change them. */
static bool key_allowed(struct parser *ps, enum rb_key k)
{
	enum rb_section_kind kind = ps->cur->kind;

	if ((k != RB_KEY_PORTS && k != RB_KEY_LOG) || kind == RB_SEC_GLOBAL ||
	    kind == RB_SEC_PROGRAM)
		return true;
	error(ps, "'%s' belongs in the global or a [program NAME] section",
	      rb_key_name(k));
	return false;
}

static void set_key(struct parser *ps, enum rb_key k, struct span val)
{
	struct rb_settings *st = &ps->cur->s;
	char buf[RB_VALUE_MAX];
	const char *why = "";

	if (st->set & (1U << k)) {
		error(ps, "'%s' is already set on line %u", rb_key_name(k),
		      st->line[k]);
		return;
	}
	if (len_of(val) == 0) {
		error(ps, "missing value for '%s'", rb_key_name(k));
		return;
	}
	if (!copy(val, buf, sizeof(buf)) ||
	    rb_settings_parse(st, k, buf, &why)) {
		error(ps, "%s = %.*s: %s", rb_key_name(k), shown(val), val.b,
		      len_of(val) >= sizeof(buf) ? "value too long" : why);
		return;
	}
	st->line[k] = ps->line;
}

static void key_value(struct parser *ps, struct span s)
{
	const char *eq = memchr(s.b, '=', len_of(s));
	struct span key;
	char name[32];
	enum rb_key k;

	if (!eq) {
		error(ps, "expected 'key = value' or a [section]");
		return;
	}
	key = trim((struct span){s.b, eq});
	if (!copy(key, name, sizeof(name)) || rb_key_lookup(name, &k)) {
		error(ps, "unknown key '%.*s'", shown(key), key.b);
		return;
	}
	if (key_allowed(ps, k))
		set_key(ps, k, strip_comment((struct span){eq + 1, s.e}));
}

/* Anything but text is refused with the byte named, never skipped. */
static bool text_only(struct parser *ps, struct span s)
{
	for (const char *p = s.b; p < s.e; p++) {
		unsigned char c = (unsigned char)*p;

		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			error(ps, "binary data (byte 0x%02x)", c);
			return false;
		}
	}
	return true;
}

static void parse_line(struct parser *ps, struct span s)
{
	if (s.e > s.b && s.e[-1] == '\r')
		s.e--; /* CRLF files */
	if (!text_only(ps, s))
		return;
	s = trim(s);
	if (len_of(s) == 0 || *s.b == '#')
		return;
	if (*s.b == '[')
		section(ps, s);
	else
		key_value(ps, s);
}

/*
 * path may be out->path itself (rb_conf_load parses the file it named).
 * Too long, it keeps its tail, which tells more than its head.
 */
static void copy_path(struct rb_conf *out, const char *path)
{
	size_t n = strlen(path);
	size_t at = 0;

	if (n >= sizeof(out->path)) {
		path = path_tail(path, sizeof(out->path) - 4);
		n = strlen(path);
		at = 3;
	}
	memmove(out->path + at, path, n);
	memcpy(out->path, "...", at);
	out->path[at + n] = '\0';
}

unsigned rb_conf_parse(struct rb_conf *out, const char *path,
		       const char *text, size_t len, rb_conf_report_fn report,
		       void *ctx)
{
	struct parser ps = {
		.conf = out, .cur = &out->sec[0], .report = report, .ctx = ctx};
	const char *p;
	const char *end;

	copy_path(out, path);
	/* Editors on other systems may start the file with a UTF-8 BOM. */
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) {
		text += 3;
		len -= 3;
	}
	p = text;
	end = text + len;
	memset(&out->sec[0], 0, sizeof(out->sec[0]));
	out->sec[0].kind = RB_SEC_GLOBAL;
	out->n = 1;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;

		ps.line++;
		parse_line(&ps, (struct span){p, eol});
		p = nl ? nl + 1 : end;
	}
	return ps.errors;
}

/* Read, not mmap: a file rewritten in place while we map it would kill
 * the host program with SIGBUS.  One more byte than allowed tells a
 * file that is too large.  Static: read once, at start. */
static char text[RB_CONF_SIZE_MAX + 1];

static ssize_t read_all(int fd)
{
	size_t got = 0;

	while (got < sizeof(text)) {
		ssize_t n = read(fd, text + got, sizeof(text) - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

static enum rb_conf_status load_fd(struct rb_conf *out, int fd,
				   struct parser *ps)
{
	struct stat st;
	ssize_t n;

	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		error(ps, "not a regular file");
		return RB_CONF_UNREADABLE;
	}
	n = read_all(fd);
	if (n < 0) {
		error(ps, "cannot read: %s", strerror(errno));
		return RB_CONF_UNREADABLE;
	}
	if (n > RB_CONF_SIZE_MAX) {
		error(ps, "larger than 1 MiB");
		return RB_CONF_UNREADABLE;
	}
	return rb_conf_parse(out, out->path, text, (size_t)n, ps->report,
			     ps->ctx) ? RB_CONF_INVALID : RB_CONF_OK;
}

/* errno for "not a regular file": no open(2) fails with it. */
#define RB_ENOTREG EMEDIUMTYPE

/*
 * Opens path for reading if it is a regular file, and looks before it
 * opens: opening a FIFO releases a writer waiting on it, opening a
 * device does whatever its driver does.  An O_PATH descriptor opens
 * only the name; reopening it through /proc/self/fd reads that very
 * inode, so a rename in between cannot slip another file in.  Without
 * /proc (a chroot), a plain open, non-blocking, is the fallback, and
 * load_fd() still refuses what it finds there if it is no file.
 */
static int open_regular(const char *path)
{
	const int flags = O_RDONLY | O_CLOEXEC | O_NOCTTY;
	struct stat st;
	int fd = open(path, O_PATH | O_CLOEXEC);
	int rd = -1;
	int saved;

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		errno = RB_ENOTREG;
	} else {
		char self[32];

		(void)snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
		rd = open(self, flags);
		if (rd < 0 && errno == ENOENT)
			rd = open(path, flags | O_NONBLOCK);
	}
	saved = errno;
	(void)close(fd);
	errno = saved;
	return rd;
}

const char *rb_conf_path(rb_getenv_fn get, bool *named)
{
	const char *path = get("REBIND_CONFIG");

	*named = path != NULL;
	return path ? path : RB_CONF_PATH;
}

enum rb_conf_status rb_conf_load(struct rb_conf *out, const char *path,
				 bool required, rb_conf_report_fn report,
				 void *ctx)
{
	struct parser ps = {.conf = out, .report = report, .ctx = ctx};
	enum rb_conf_status ret;
	int fd;

	copy_path(out, path);
	out->n = 0;
	/* No file is named "": only REBIND_CONFIG= gives one. */
	if (*path == '\0') {
		if (report)
			report(ctx, "REBIND_CONFIG is empty: unset it or name "
				    "a file");
		return RB_CONF_UNREADABLE;
	}
	fd = open_regular(path);
	if (fd < 0 && errno == ENOENT && !required)
		return RB_CONF_ABSENT;
	if (fd < 0 && errno == RB_ENOTREG) {
		error(&ps, "not a regular file");
		return RB_CONF_UNREADABLE;
	}
	if (fd < 0) {
		error(&ps, "cannot open: %s", strerror(errno));
		return RB_CONF_UNREADABLE;
	}
	ret = load_fd(out, fd, &ps);
	(void)close(fd);
	return ret;
}

bool rb_conf_names(const struct rb_section *s, const struct rb_names *names)
{
	return (s->kind == RB_SEC_PROGRAM || s->kind == RB_SEC_PROGRAM_PORT) &&
	       rb_names_match(names, s->program);
}
