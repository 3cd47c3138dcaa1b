#include "config.h"

#include <string.h>

#include "cli/json.h"
#include "suite.h"

/* escape ------------------------------------------------------------- */

struct escape_row {
	const char *in;
	const char *want;
};

static const struct escape_row escapes[] = {
	{"", ""},
	{"legacy-server", "legacy-server"},
	/* Only what JSON requires is escaped: quote, backslash, controls. */
	{"a\"b\\c", "a\\\"b\\\\c"},
	{"\b\f\n\r\t", "\\b\\f\\n\\r\\t"},
	{"\x01\x1f", "\\u0001\\u001f"},
	{"del\x7f", "del\x7f"},
	{"a/b", "a/b"},
	/* Valid UTF-8 stays as it is: 2, 3 and 4 bytes, and the edges. */
	{"d\xc3\xa6mon", "d\xc3\xa6mon"},
	{"\xe2\x82\xac", "\xe2\x82\xac"},
	{"\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80"},
	{"\xc2\x80", "\xc2\x80"},
	{"\xed\x9f\xbf", "\xed\x9f\xbf"},
	{"\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf"},
	/* Invalid: each bad byte or cut-off sequence is one U+FFFD. */
	{"\x80", "\xef\xbf\xbd"},
	{"a\xffz", "a\xef\xbf\xbdz"},
	{"\xc3", "\xef\xbf\xbd"},
	{"dae\xc3", "dae\xef\xbf\xbd"},
	{"\xe2\x82", "\xef\xbf\xbd"},
	{"\xe2\x82x", "\xef\xbf\xbdx"},
	{"\xf0\x9f\x98", "\xef\xbf\xbd"},
	/* Overlong forms, surrogates, beyond U+10FFFF. */
	{"\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd"},
	{"\xe0\x80\xaf", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
	{"\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
	{"\xf4\x90\x80\x80",
	 "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
	{"\xf5", "\xef\xbf\xbd"},
};

START_TEST(test_escape)
{
	const struct escape_row *row = &escapes[_i];
	char out[64];
	size_t n = rb_json_escape(row->in, out, sizeof(out));

	ck_assert_str_eq(out, row->want);
	ck_assert_uint_eq(n, strlen(row->want));
}
END_TEST

/* A short buffer keeps whole pieces only and says what was needed. */
START_TEST(test_escape_short)
{
	char out[6];
	size_t n = rb_json_escape("ab\xc3\xa6\"z", out, sizeof(out));

	ck_assert_str_eq(out, "ab\xc3\xa6");
	ck_assert_uint_eq(n, 7);
}
END_TEST

/* suite -------------------------------------------------------------- */

static Suite *json_suite(void)
{
	Suite *s = suite_create("json");

	rb_test_loop(s, "escape", test_escape, NELEM(escapes));
	tcase_add_test(rb_test_tcase(s, "escape_short_buffer"),
		       test_escape_short);
	return s;
}

int main(void)
{
	return rb_test_run(json_suite());
}
