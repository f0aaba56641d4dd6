/* Unit tests of the JSON writer (user/output/json.c): structure and commas, every escape, UTF-8
 * kept or repaired, integers at their limits, buffer growth and reuse, misuse errors. Each check
 * compares the exact output. */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>

#include "output/json.h"
#include "test.h"

/* Encodes n bytes as one top-level string value; NULL on error. The caller frees the result. */
static char *enc(const char *s, size_t n)
{
	struct hw_json j;
	char *out;

	hw_json__init(&j);
	hw_json__string_n(&j, NULL, s, n);
	out = j.error ? NULL : strdup(hw_json__cstr(&j));
	hw_json__free(&j);
	return out;
}

/* lit must be a string literal: its bytes up to (not including) the final NUL are encoded. */
#define CHECK_ENC(lit, want)                                                                       \
	({                                                                                         \
		char *out_ = enc(lit, sizeof(lit) - 1);                                            \
		bool ok_ = CHECK_STREQ(out_, want);                                                \
		free(out_);                                                                        \
		ok_;                                                                               \
	})

#define FFFD "\xef\xbf\xbd"

TEST(json_nested_commas)
{
	struct hw_json j;

	hw_json__init(&j);
	hw_json__begin_object(&j, NULL);
	hw_json__string(&j, "a", "x");
	hw_json__begin_object(&j, "o");
	hw_json__end_object(&j);
	hw_json__begin_array(&j, "arr");
	hw_json__u64(&j, NULL, 1);
	hw_json__begin_object(&j, NULL);
	hw_json__bool(&j, "t", 1);
	hw_json__bool(&j, "f", 0);
	hw_json__end_object(&j);
	hw_json__begin_array(&j, NULL);
	hw_json__end_array(&j);
	hw_json__begin_array(&j, NULL);
	hw_json__null(&j, NULL);
	hw_json__i64(&j, NULL, -2);
	hw_json__end_array(&j);
	hw_json__end_array(&j);
	hw_json__begin_object(&j, "p");
	hw_json__begin_object(&j, "q");
	hw_json__raw(&j, "r", "[1,{\"s\":2}]");
	hw_json__end_object(&j);
	hw_json__u64(&j, "n", 3);
	hw_json__end_object(&j);
	hw_json__end_object(&j);
	CHECK_EQ(j.error, 0);
	CHECK_EQ(j.depth, 0);
	CHECK_STREQ(hw_json__cstr(&j),
		    "{\"a\":\"x\",\"o\":{},\"arr\":[1,{\"t\":true,\"f\":false},[],"
		    "[null,-2]],\"p\":{\"q\":{\"r\":[1,{\"s\":2}]},\"n\":3}}");
	CHECK_EQ(j.len, strlen(j.buf));
	hw_json__free(&j);
}

TEST(json_empty_and_free)
{
	struct hw_json j;

	memset(&j, 0, sizeof(j));
	hw_json__free(&j); /* zeroed: nothing to free */
	CHECK(j.buf == NULL);
	hw_json__init(&j);
	CHECK_STREQ(hw_json__cstr(&j), "");
	CHECK_EQ(j.len, 0);
	hw_json__free(&j);
	hw_json__free(&j); /* twice is fine */
	CHECK(j.buf == NULL);
}

TEST(json_escapes)
{
	CHECK_ENC("\"", "\"\\\"\"");
	CHECK_ENC("\\", "\"\\\\\"");
	CHECK_ENC("\b\t\n\f\r", "\"\\b\\t\\n\\f\\r\"");
	CHECK_ENC("a/b c~", "\"a/b c~\""); /* '/' and the rest of ASCII pass */
	CHECK_ENC("say \"hi\"\\n", "\"say \\\"hi\\\"\\\\n\"");
	CHECK_ENC("", "\"\"");
}

TEST(json_all_control_chars)
{
	char in[32];
	char *out;

	for (int i = 0; i < 32; i++)
		in[i] = (char)i;
	out = enc(in, sizeof(in));
	CHECK_STREQ(out, "\"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007"
			 "\\b\\t\\n\\u000b\\f\\r\\u000e\\u000f"
			 "\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017"
			 "\\u0018\\u0019\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f\"");
	free(out);
}

TEST(json_del)
{
	CHECK_ENC("\x7f", "\"\\u007f\"");
	CHECK_ENC("a\x7f"
		  "b",
		  "\"a\\u007fb\"");
}

TEST(json_embedded_nul)
{
	CHECK_ENC("a\0b", "\"a\\u0000b\"");
	CHECK_ENC("\0", "\"\\u0000\"");
}

TEST(json_null_string)
{
	struct hw_json j;

	hw_json__init(&j);
	hw_json__begin_object(&j, NULL);
	hw_json__string(&j, "s", NULL);
	hw_json__string_n(&j, "n", NULL, 5);
	hw_json__raw(&j, "r", NULL);
	hw_json__raw(&j, "e", "");
	hw_json__end_object(&j);
	CHECK_EQ(j.error, 0);
	CHECK_STREQ(hw_json__cstr(&j), "{\"s\":null,\"n\":null,\"r\":null,\"e\":null}");
	hw_json__free(&j);
}

TEST(json_utf8_valid_kept)
{
	CHECK_ENC("\xc3\xa9", "\"\xc3\xa9\"");		       /* é, 2 bytes */
	CHECK_ENC("\xe2\x82\xac", "\"\xe2\x82\xac\"");	       /* €, 3 bytes */
	CHECK_ENC("\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\""); /* 😀, 4 bytes */
	/* The edges of each range of Unicode Table 3-7. */
	CHECK_ENC("\xc2\x80\xdf\xbf", "\"\xc2\x80\xdf\xbf\"");
	CHECK_ENC("\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbf",
		  "\"\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbf\"");
	CHECK_ENC("\xf0\x90\x80\x80\xf4\x8f\xbf\xbf", "\"\xf0\x90\x80\x80\xf4\x8f\xbf\xbf\"");
	CHECK_ENC("caf\xc3\xa9 \"\xe2\x82\xac\"", "\"caf\xc3\xa9 \\\"\xe2\x82\xac\\\"\"");
}

TEST(json_utf8_stray_continuation)
{
	CHECK_ENC("\x80", "\"" FFFD "\"");
	CHECK_ENC("a\x80\xbf"
		  "b",
		  "\"a" FFFD FFFD "b\"");
}

TEST(json_utf8_truncated)
{
	CHECK_ENC("\xe2\x82", "\"" FFFD "\""); /* one maximal subpart: one U+FFFD */
	CHECK_ENC("\xe2\x82x", "\"" FFFD "x\"");
	CHECK_ENC("\xf0\x9f\x98", "\"" FFFD "\"");
	CHECK_ENC("\xf0\x9f\x98\xc3\xa9", "\"" FFFD "\xc3\xa9\"");
	CHECK_ENC("\xc3", "\"" FFFD "\"");
}

TEST(json_utf8_overlong)
{
	CHECK_ENC("\xc0\xaf", "\"" FFFD FFFD "\""); /* 0xc0 never leads: one per byte */
	CHECK_ENC("\xc1\xbf", "\"" FFFD FFFD "\"");
	CHECK_ENC("\xe0\x80\xaf", "\"" FFFD FFFD FFFD "\"");
	CHECK_ENC("\xf0\x80\x80\xaf", "\"" FFFD FFFD FFFD FFFD "\"");
}

TEST(json_utf8_surrogate)
{
	CHECK_ENC("\xed\xa0\x80", "\"" FFFD FFFD FFFD "\"");
	CHECK_ENC("\xed\xbf\xbf", "\"" FFFD FFFD FFFD "\"");
}

TEST(json_utf8_above_max)
{
	CHECK_ENC("\xf4\x90\x80\x80", "\"" FFFD FFFD FFFD FFFD "\"");
	CHECK_ENC("\xf5\x80\x80\x80", "\"" FFFD FFFD FFFD FFFD "\"");
}

TEST(json_utf8_invalid_bytes)
{
	CHECK_ENC("\xff", "\"" FFFD "\"");
	CHECK_ENC("\xfe\xff", "\"" FFFD FFFD "\"");
	CHECK_ENC("\xc0", "\"" FFFD "\"");
	CHECK_ENC("\xf8\x88\x80\x80\x80", "\"" FFFD FFFD FFFD FFFD FFFD "\"");
}

/* The example of Unicode ch. 3, Table 3-8 (maximal subparts). */
TEST(json_utf8_maximal_subparts)
{
	CHECK_ENC("\x61\xf1\x80\x80\xe1\x80\xc2\x62\x80\x63\x80\xbf\x64",
		  "\"a" FFFD FFFD FFFD "b" FFFD "c" FFFD FFFD "d\"");
}

/* Characters to escape or repair at every offset of strings around the 8-byte scan width. */
TEST(json_scan_boundaries)
{
	static const struct {
		char in;
		const char *out;
	} special[] = {
	    {'"', "\\\""},     {'\\', "\\\\"},	   {'\n', "\\n"},      {0x1f, "\\u001f"},
	    {0x7f, "\\u007f"}, {(char)0x80, FFFD}, {(char)0xff, FFFD}, {'\0', "\\u0000"},
	};
	char in[24], want[64];

	for (size_t k = 0; k < sizeof(special) / sizeof(special[0]); k++) {
		for (size_t n = 1; n <= sizeof(in); n++) {
			for (size_t pos = 0; pos < n; pos++) {
				char *out, *w = want;

				memset(in, 'a', n);
				in[pos] = special[k].in;
				*w++ = '"';
				memset(w, 'a', pos);
				w += pos;
				w = stpcpy(w, special[k].out);
				memset(w, 'a', n - pos - 1);
				w += n - pos - 1;
				strcpy(w, "\"");
				out = enc(in, n);
				if (!CHECK_STREQ(out, want)) {
					free(out);
					return;
				}
				free(out);
			}
		}
	}
}

TEST(json_key_escaped)
{
	struct hw_json j;

	hw_json__init(&j);
	hw_json__begin_object(&j, NULL);
	hw_json__u64(&j, "a\"b\\c", 1);
	hw_json__end_object(&j);
	CHECK_STREQ(hw_json__cstr(&j), "{\"a\\\"b\\\\c\":1}");
	hw_json__free(&j);
}

TEST(json_integers)
{
	struct hw_json j;

	hw_json__init(&j);
	hw_json__begin_array(&j, NULL);
	hw_json__u64(&j, NULL, 0);
	hw_json__u64(&j, NULL, 9);
	hw_json__u64(&j, NULL, 10);
	hw_json__u64(&j, NULL, 99);
	hw_json__u64(&j, NULL, 100);
	hw_json__u64(&j, NULL, 1234567);
	hw_json__u64(&j, NULL, ULLONG_MAX);
	hw_json__i64(&j, NULL, 0);
	hw_json__i64(&j, NULL, -1);
	hw_json__i64(&j, NULL, -10);
	hw_json__i64(&j, NULL, LLONG_MAX);
	hw_json__i64(&j, NULL, LLONG_MIN);
	hw_json__end_array(&j);
	CHECK_EQ(j.error, 0);
	CHECK_STREQ(hw_json__cstr(&j), "[0,9,10,99,100,1234567,18446744073709551615,0,-1,-10,"
				       "9223372036854775807,-9223372036854775808]");
	hw_json__free(&j);
}

TEST(json_big_string_grows)
{
	const size_t n = 1 << 20;
	struct hw_json j;
	char *in = malloc(n + 1), *want = malloc(2 * n + 32), *w = want;

	if (!CHECK(in && want))
		goto out;
	w = stpcpy(w, "{\"big\":\"");
	for (size_t i = 0; i < n; i++) {
		in[i] = i % 1000 == 999 ? '"' : (char)('a' + i % 26);
		if (in[i] == '"')
			*w++ = '\\';
		*w++ = in[i];
	}
	in[n] = '\0';
	strcpy(w, "\"}");

	hw_json__init(&j);
	hw_json__begin_object(&j, NULL);
	hw_json__string(&j, "big", in);
	hw_json__end_object(&j);
	CHECK_EQ(j.error, 0);
	CHECK_EQ(j.len, strlen(want));
	CHECK(j.cap > j.len);
	CHECK_EQ(j.cap & (j.cap - 1), 0); /* doubled from a power of two */
	CHECK_STREQ(hw_json__cstr(&j), want);
	hw_json__free(&j);
out:
	free(in);
	free(want);
}

TEST(json_big_utf8_kept)
{
	const size_t n = 1 << 20; /* "é€😀" repeated: 9 bytes each */
	struct hw_json j;
	char *in = malloc(n + 1);

	if (!CHECK(in))
		return;
	for (size_t i = 0; i + 9 <= n; i += 9)
		memcpy(in + i, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9);
	in[n / 9 * 9] = '\0';

	hw_json__init(&j);
	hw_json__string(&j, NULL, in);
	CHECK_EQ(j.error, 0);
	CHECK_EQ(j.len, n / 9 * 9 + 2);
	CHECK(j.buf && j.buf[0] == '"' && memcmp(j.buf + 1, in, n / 9 * 9) == 0 &&
	      j.buf[j.len - 1] == '"');
	hw_json__free(&j);
	free(in);
}

TEST(json_reset_reuses_memory)
{
	struct hw_json j;
	char *buf;
	size_t cap;

	hw_json__init(&j);
	hw_json__begin_object(&j, NULL);
	hw_json__string(&j, "a", "a fairly long value that takes some room");
	hw_json__end_object(&j);
	buf = j.buf;
	cap = j.cap;
	CHECK(buf != NULL);

	hw_json__reset(&j);
	CHECK_EQ(j.len, 0);
	CHECK_EQ(j.depth, 0);
	CHECK_STREQ(hw_json__cstr(&j), "");
	hw_json__begin_object(&j, NULL);
	hw_json__u64(&j, "b", 2);
	hw_json__end_object(&j);
	CHECK(j.buf == buf);
	CHECK_EQ(j.cap, cap);
	CHECK_STREQ(hw_json__cstr(&j), "{\"b\":2}");

	/* reset also clears an error */
	hw_json__end_object(&j);
	CHECK_EQ(j.error, -EINVAL);
	hw_json__reset(&j);
	CHECK_EQ(j.error, 0);
	hw_json__begin_array(&j, NULL);
	hw_json__end_array(&j);
	CHECK(j.buf == buf);
	CHECK_STREQ(hw_json__cstr(&j), "[]");
	hw_json__free(&j);
}

TEST(json_lines)
{
	struct hw_json j;

	hw_json__init(&j);
	hw_json__end_line(&j); /* nothing written: no empty line */
	hw_json__begin_object(&j, NULL);
	hw_json__u64(&j, "n", 1);
	hw_json__end_object(&j);
	hw_json__end_line(&j);
	hw_json__end_line(&j);
	hw_json__begin_object(&j, NULL);
	hw_json__u64(&j, "n", 2);
	hw_json__end_object(&j);
	hw_json__end_line(&j);
	CHECK_EQ(j.error, 0);
	CHECK_STREQ(hw_json__cstr(&j), "{\"n\":1}\n{\"n\":2}\n");
	hw_json__free(&j);
}

/* Misuse sets -EINVAL, drops the document, and later calls do nothing. */
TEST(json_misuse)
{
	struct hw_json j;

	hw_json__init(&j);
	hw_json__string(&j, "k", "v"); /* key at the top level */
	CHECK_EQ(j.error, -EINVAL);
	CHECK_EQ(j.len, 0);

	hw_json__reset(&j);
	hw_json__begin_object(&j, NULL);
	hw_json__u64(&j, NULL, 1); /* missing key in an object */
	CHECK_EQ(j.error, -EINVAL);
	CHECK_EQ(j.len, 0);
	CHECK_STREQ(hw_json__cstr(&j), "");
	hw_json__u64(&j, "k", 1);
	hw_json__end_object(&j);
	CHECK_EQ(j.error, -EINVAL);
	CHECK_EQ(j.len, 0);

	hw_json__reset(&j);
	hw_json__begin_array(&j, NULL);
	hw_json__u64(&j, "k", 1); /* key in an array */
	CHECK_EQ(j.error, -EINVAL);

	hw_json__reset(&j);
	hw_json__begin_array(&j, NULL);
	hw_json__end_object(&j); /* mismatched end */
	CHECK_EQ(j.error, -EINVAL);

	hw_json__reset(&j);
	hw_json__end_array(&j); /* nothing open */
	CHECK_EQ(j.error, -EINVAL);

	hw_json__reset(&j);
	hw_json__null(&j, NULL);
	hw_json__null(&j, NULL); /* second top-level value on the line */
	CHECK_EQ(j.error, -EINVAL);

	hw_json__reset(&j);
	hw_json__begin_array(&j, NULL);
	hw_json__end_line(&j); /* line ended inside a container */
	CHECK_EQ(j.error, -EINVAL);
	hw_json__free(&j);
}

TEST(json_depth_limit)
{
	struct hw_json j;
	int i;

	hw_json__init(&j);
	for (i = 0; i < HW_JSON_MAX_DEPTH; i++)
		hw_json__begin_array(&j, NULL);
	CHECK_EQ(j.error, 0);
	CHECK_EQ(j.depth, HW_JSON_MAX_DEPTH);
	for (i = 0; i < HW_JSON_MAX_DEPTH; i++)
		hw_json__end_array(&j);
	CHECK_EQ(j.error, 0);
	CHECK_EQ(j.len, 2 * HW_JSON_MAX_DEPTH);

	hw_json__reset(&j);
	for (i = 0; i <= HW_JSON_MAX_DEPTH; i++)
		hw_json__begin_object(&j, i ? "k" : NULL);
	CHECK_EQ(j.error, -E2BIG);
	CHECK_EQ(j.len, 0);
	hw_json__free(&j);
}

/* After a failed growth (simulated: the code path is the same sticky error) nothing is written. */
TEST(json_error_sticky)
{
	struct hw_json j;

	hw_json__init(&j);
	hw_json__begin_object(&j, NULL);
	j.error = -ENOMEM;
	hw_json__string(&j, "a", "b");
	hw_json__u64(&j, "n", 1);
	hw_json__begin_array(&j, "x");
	hw_json__end_object(&j);
	hw_json__end_line(&j);
	CHECK_EQ(j.error, -ENOMEM);
	CHECK_EQ(j.len, 1);
	CHECK_EQ(j.depth, 1);
	hw_json__free(&j);
}

/* The literal-key functions (HW_JK) write what the generic ones write, count the same values,
 * and refuse a key where none belongs as they do. */
TEST(json_literal_keys_same_bytes)
{
	struct hw_json a, b;

	hw_json__init(&a);
	hw_json__init(&b);
	for (int round = 0; round < 2; round++) {
		hw_json__begin_object(&a, NULL);
		hw_json__string(&a, "s", "x\"y\xff\n");
		hw_json__string(&a, "nul", NULL);
		hw_json__string_n(&a, "n", "a\0b", 3);
		hw_json__string(&a, "plain", "2026-12-02T23:25:39.544388023Z");
		hw_json__u64(&a, "u", ULLONG_MAX);
		hw_json__i64(&a, "i", LLONG_MIN);
		hw_json__bool(&a, "t", 1);
		hw_json__bool(&a, "f", 0);
		hw_json__begin_array(&a, "arr");
		hw_json__string(&a, NULL, "e");
		hw_json__end_array(&a);
		hw_json__begin_object(&a, "o");
		hw_json__begin_object(&a, "in");
		hw_json__end_object(&a);
		hw_json__end_object(&a);
		hw_json__end_object(&a);
		hw_json__end_line(&a);

		hw_json__begin_object(&b, NULL);
		hw_json__kstring(&b, HW_JK("s"), "x\"y\xff\n");
		hw_json__kstring(&b, HW_JK("nul"), NULL);
		hw_json__kstring_n(&b, HW_JK("n"), "a\0b", 3);
		hw_json__kplain(&b, HW_JK("plain"), "2026-12-02T23:25:39.544388023Z", 30);
		hw_json__ku64(&b, HW_JK("u"), ULLONG_MAX);
		hw_json__ki64(&b, HW_JK("i"), LLONG_MIN);
		hw_json__kbool(&b, HW_JK("t"), 1);
		hw_json__kbool(&b, HW_JK("f"), 0);
		hw_json__kbegin_array(&b, HW_JK("arr"));
		hw_json__string(&b, NULL, "e");
		hw_json__end_array(&b);
		hw_json__kbegin_object(&b, HW_JK("o"));
		hw_json__kbegin_object(&b, HW_JK("in"));
		hw_json__end_object(&b);
		hw_json__end_object(&b);
		hw_json__end_object(&b);
		hw_json__end_line(&b);
	}
	CHECK_EQ(a.error, 0);
	CHECK_EQ(b.error, 0);
	CHECK_EQ(a.values, b.values);
	CHECK_STREQ(hw_json__cstr(&b), hw_json__cstr(&a));

	/* misuse: a key at the top level, a key inside an array */
	hw_json__reset(&b);
	hw_json__ku64(&b, HW_JK("k"), 1);
	CHECK_EQ(b.error, -EINVAL);
	CHECK_EQ(b.len, 0);
	hw_json__reset(&b);
	hw_json__begin_array(&b, NULL);
	hw_json__kstring(&b, HW_JK("k"), "v");
	CHECK_EQ(b.error, -EINVAL);
	hw_json__reset(&b);
	hw_json__begin_object(&b, NULL);
	for (int i = 0; i < HW_JSON_MAX_DEPTH; i++)
		hw_json__kbegin_object(&b, HW_JK("d"));
	CHECK_EQ(b.error, -E2BIG);
	hw_json__free(&a);
	hw_json__free(&b);
}
