#include "config.h"

#include "cli/json.h"

#include <stdio.h>
#include <string.h>

/* U+FFFD REPLACEMENT CHARACTER, in UTF-8. */
#define RB_REPLACEMENT "\xef\xbf\xbd"

/*
 * The length of the UTF-8 sequence that starts s, or 0 when it is not
 * valid; *take is then how many bytes form the invalid part (its
 * longest start that could still have become valid, at least 1), which
 * one U+FFFD replaces.  Ranges from RFC 3629 (no overlongs, no
 * surrogates, nothing past U+10FFFF).
 */
static size_t utf8_len(const unsigned char *s, size_t *take)
{
	unsigned char lo = 0x80;
	unsigned char hi = 0xbf;
	size_t n;

	*take = 1;
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	for (size_t i = 1; i < n; i++, lo = 0x80, hi = 0xbf) {
		if (s[i] < lo || s[i] > hi)
			return 0;
		*take = i + 1;
	}
	return n;
}

/* What stands for byte c (a single-byte character) in a JSON string. */
static void escape_byte(unsigned char c, char *buf, size_t len)
{
	static const char named[] = "\bb\ff\nn\rr\tt\"\"\\\\";
	const char *e = c ? memchr(named, c, sizeof(named) - 1) : NULL;

	/* named holds pairs: the byte, then the letter after '\'. */
	if (e && (e - named) % 2 == 0)
		(void)snprintf(buf, len, "\\%c", e[1]);
	else if (c < 0x20)
		(void)snprintf(buf, len, "\\u%04x", c);
	else
		(void)snprintf(buf, len, "%c", c);
}

size_t rb_json_escape(const char *s, char *out, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t need = 0;
	size_t used = 0; /* what fits in out: whole pieces only */

	while (*p) {
		char buf[8];
		size_t take;
		size_t n = utf8_len(p, &take);
		size_t w;

		if (n == 1)
			escape_byte(*p, buf, sizeof(buf));
		else if (n)
			(void)snprintf(buf, sizeof(buf), "%.*s", (int)n, p);
		else
			(void)snprintf(buf, sizeof(buf), RB_REPLACEMENT);
		p += n ? n : take;
		w = strlen(buf);
		if (used == need && used + w < len) {
			memcpy(out + used, buf, w);
			used += w;
		}
		need += w;
	}
	out[used] = '\0';
	return need;
}
