#include "config.h"

#include "core/dropin.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Longest LD_PRELOAD the drop-in carries. */
#define RB_DROPIN_PRELOAD_MAX 8192
/* The loader splits LD_PRELOAD on both. */
#define RB_PRELOAD_SEP ": "

/* Text appended into a fixed buffer; over is set once something did not fit. */
struct rb_buf {
	char *p;
	size_t len;
	size_t used;
	bool over;
};

static void buf_put(struct rb_buf *b, const char *s, size_t n)
{
	if (b->over || n >= b->len - b->used) {
		b->over = true;
		return;
	}
	memcpy(b->p + b->used, s, n);
	b->used += n;
	b->p[b->used] = '\0';
}

static void buf_str(struct rb_buf *b, const char *s)
{
	buf_put(b, s, strlen(s));
}

/* ASan and friends abort unless their runtime is the first object loaded. */
static bool is_sanitizer(const char *entry, size_t n)
{
	static const char *const prefixes[] = {
		"libasan", "libtsan",	"libubsan",
		"liblsan", "libhwasan", "libclang_rt.",
	};
	const char *slash = memrchr(entry, '/', n);
	const char *base = slash ? slash + 1 : entry;
	size_t blen = n - (size_t)(base - entry);

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		size_t plen = strlen(prefixes[i]);

		if (blen >= plen && memcmp(base, prefixes[i], plen) == 0)
			return true;
	}
	return false;
}

/*
 * The next entry of an LD_PRELOAD list at or after *list: its start, and
 * its length in *n; NULL at the end.  *list moves past it.
 */
static const char *next_entry(const char **list, size_t *n)
{
	const char *entry = *list + strspn(*list, RB_PRELOAD_SEP);

	if (*entry == '\0')
		return NULL;
	*n = strcspn(entry, RB_PRELOAD_SEP);
	*list = entry + *n;
	return entry;
}

static void join_entry(struct rb_buf *b, const char *entry, size_t n)
{
	if (b->used > 0)
		buf_put(b, ":", 1);
	buf_put(b, entry, n);
}

/* Appends the entries of list that are (or are not) sanitizers, minus lib. */
static void join_entries(struct rb_buf *b, const char *list, const char *lib,
			 bool sanitizers)
{
	size_t liblen = strlen(lib);
	const char *e;
	size_t n;

	while ((e = next_entry(&list, &n))) {
		if (is_sanitizer(e, n) == sanitizers &&
		    !(n == liblen && memcmp(e, lib, n) == 0))
			join_entry(b, e, n);
	}
}

static bool has_sanitizer(const char *list)
{
	const char *e;
	size_t n;

	while ((e = next_entry(&list, &n))) {
		if (is_sanitizer(e, n))
			return true;
	}
	return false;
}

int rb_dropin_join_preload(char *out, size_t len, const char *lib,
			   const char *runtime, const char *old)
{
	struct rb_buf b = {out, len, 0, len == 0};

	if (!old)
		old = "";
	if (len > 0)
		out[0] = '\0';
	if (runtime && runtime[0] && !has_sanitizer(old))
		join_entry(&b, runtime, strlen(runtime));
	join_entries(&b, old, lib, true);
	join_entry(&b, lib, strlen(lib));
	join_entries(&b, old, lib, false);
	return b.over ? -1 : 0;
}

/*
 * An assignment systemd reads back as written: '%' starts a specifier
 * (doubled here), and blanks, quotes and backslashes would need quoting,
 * which the loader's list never needs.
 */
static int put_value(struct rb_buf *b, const char *v)
{
	for (; *v; v++) {
		unsigned char c = (unsigned char)*v;

		if (c <= ' ' || c == 0x7f || c == '"' || c == '\'' ||
		    c == '\\')
			return -1;
		buf_put(b, v, 1);
		if (c == '%')
			buf_put(b, "%", 1);
	}
	return 0;
}

int rb_dropin_text(char *out, size_t len, const struct rb_dropin_in *in,
		   const char **why)
{
	char preload[RB_DROPIN_PRELOAD_MAX];
	struct rb_buf b = {out, len, 0, len == 0};
	unsigned fdstore = in->fdstore > RB_DROPIN_FDSTORE ? in->fdstore
							   : RB_DROPIN_FDSTORE;
	char line[64];

	if (rb_dropin_join_preload(preload, sizeof(preload), in->lib,
				   in->runtime, in->preload)) {
		*why = "LD_PRELOAD would be too long";
		return -1;
	}
	buf_str(&b, "# Written by \"rebind enable\"; \"rebind disable\" "
		    "removes it.  See rebind(1).\n");
	if (in->preload && strcmp(preload, in->lib) != 0)
		buf_str(&b, "# LD_PRELOAD keeps the unit's own entries.\n");
	buf_str(&b, "[Service]\nEnvironment=LD_PRELOAD=");
	if (put_value(&b, preload)) {
		*why = "an LD_PRELOAD entry has blanks, quotes or backslashes";
		return -1;
	}
	(void)snprintf(line, sizeof(line), "FileDescriptorStoreMax=%u\n",
		       fdstore);
	buf_str(&b, "\nEnvironment=REBIND_HOLD=systemd\n");
	buf_str(&b, line);
	/* The daemon's child holds the listener, not the main process. */
	if (strcmp(in->type, "forking") == 0)
		buf_str(&b, "NotifyAccess=all\n");
	if (b.over) {
		*why = "the drop-in would be too long";
		return -1;
	}
	return 0;
}

/* The characters systemd allows in a unit name (unit_name_is_valid). */
static bool valid_unit_chars(const char *s)
{
	static const char ok[] = "abcdefghijklmnopqrstuvwxyz"
				 "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				 "0123456789:-_.\\@";

	return s[0] != '\0' && s[0] != '.' && s[strspn(s, ok)] == '\0';
}

static bool is_unit_type(const char *suffix)
{
	static const char *const types[] = {
		"service", "socket", "target", "device", "mount", "automount",
		"swap",	   "timer",  "path",   "slice",	 "scope",
	};

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if (strcmp(suffix, types[i]) == 0)
			return true;
	}
	return false;
}

int rb_dropin_unit_name(const char *name, char *out, size_t len,
			const char **why)
{
	const char *dot = strrchr(name, '.');
	bool typed = dot && is_unit_type(dot + 1);
	const char *add = typed ? "" : ".service";

	if (!valid_unit_chars(name)) {
		*why = "not a unit name (letters, digits and :-_.\\@ only)";
		return -1;
	}
	if (typed && strcmp(dot + 1, "service") != 0) {
		*why = "not a service (rebind enable takes .service units)";
		return -1;
	}
	if (strlen(name) + strlen(add) > RB_DROPIN_UNIT_MAX ||
	    (size_t)snprintf(out, len, "%s%s", name, add) >= len) {
		*why = "unit name too long";
		return -1;
	}
	return 0;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The character \<s...> stands for; *s moves past it.  -1: unknown. */
static int unescape(const char **s)
{
	static const char plain[] = "\\\"'$`";
	static const char named[] = "n\nt\tr\ra\ab\bf\fv\v";
	char c = *(*s)++;
	const char *n;

	if (c != '\0' && strchr(plain, c))
		return (unsigned char)c;
	for (n = named; c != '\0' && *n; n += 2) {
		if (*n == c)
			return (unsigned char)n[1];
	}
	if (c == 'x') {
		int hi = hex_digit((*s)[0]);
		int lo = hi < 0 ? -1 : hex_digit((*s)[1]);

		if (lo >= 0) {
			*s += 2;
			return hi * 16 + lo;
		}
	}
	return -1;
}

/*
 * Decodes the assignment at *s into b (what fits); *s moves past it.
 * -1 on a bad escape or an unclosed quote.
 */
static int decode_word(const char **s, struct rb_buf *b)
{
	bool quoted = false;
	const char *p = *s;

	while (*p && (quoted || *p != ' ')) {
		char c = *p++;

		if (c == '"') {
			quoted = !quoted;
			continue;
		}
		if (c == '\\') {
			int u = unescape(&p);

			if (u < 0)
				return -1;
			c = (char)u;
		}
		buf_put(b, &c, 1);
	}
	*s = p;
	return quoted ? -1 : 0;
}

/* The value of the assignment at word, after its name and '='. */
static int decode_value(const char *word, size_t nlen, char *out, size_t len)
{
	struct rb_buf b = {out, len, 0, len == 0};

	if (decode_word(&word, &b) || b.over)
		return -1;
	memmove(out, out + nlen + 1, b.used - nlen);
	return 1;
}

int rb_dropin_env_get(const char *env, const char *name, char *out,
		      size_t len)
{
	/* Enough of each assignment to see its name. */
	char head[64];
	size_t nlen = strlen(name);
	const char *last = NULL;
	const char *p = env;

	if (nlen + 2 > sizeof(head))
		return -1;
	while (*(p += strspn(p, " ")) != '\0') {
		const char *start = p;
		struct rb_buf b = {head, sizeof(head), 0, false};

		head[0] = '\0';
		if (decode_word(&p, &b))
			return -1;
		if (b.used > nlen && strncmp(head, name, nlen) == 0 &&
		    head[nlen] == '=')
			last = start;
	}
	return last ? decode_value(last, nlen, out, len) : 0;
}
