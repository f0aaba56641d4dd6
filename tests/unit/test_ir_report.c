/* ir/report_json.c and report_page.c: the JSON string escaper that keeps the input inside the
 * page's data block (ASCII only; < > & ' " \ and every non-ASCII character as \u escapes;
 * bytes that are not UTF-8 as U+FFFD, overlong forms and surrogates included) and the
 * SHA-256 of the CSP's hashes (FIPS 180-4 vectors, one and two padding blocks). */
#include <stdlib.h>

#include "ir/report.h"
#include "test.h"

static char *esc(const char *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	hw_report__json_str(f, s);
	fclose(f);
	return buf;
}

static bool esc_is(const char *in, const char *want)
{
	char *got = esc(in);
	bool ok = got && !strcmp(got, want);

	if (!ok)
		hw_test__fail(__FILE__, __LINE__, "escaped %s, want %s", got ? got : "(null)",
			      want);
	free(got);
	return ok;
}

TEST(report_json_markup_and_controls)
{
	esc_is("plain text 1.2:3", "\"plain text 1.2:3\"");
	esc_is("</script>", "\"\\u003c/script\\u003e\"");
	esc_is("a&b'c\"d\\e", "\"a\\u0026b\\u0027c\\u0022d\\u005ce\"");
	esc_is("<!--", "\"\\u003c!--\"");
	esc_is("\n\t\x01\x7f", "\"\\u000a\\u0009\\u0001\\u007f\"");
	esc_is("", "\"\"");
}

TEST(report_json_utf8)
{
	esc_is("\xc3\xa9", "\"\\u00e9\"");			  /* é */
	esc_is("\xe2\x80\xa8\xe2\x80\xa9", "\"\\u2028\\u2029\""); /* line, paragraph separator */
	esc_is("\xf0\x9f\x98\x80", "\"\\ud83d\\ude00\"");	  /* U+1F600, a surrogate pair */
	esc_is("\xf4\x8f\xbf\xbf", "\"\\udbff\\udfff\"");	  /* U+10FFFF, the last */
}

TEST(report_json_invalid_utf8)
{
	esc_is("\xff\xfe", "\"\\ufffd\\ufffd\"");
	esc_is("\xc0\xaf", "\"\\ufffd\\ufffd\"");			/* overlong '/' */
	esc_is("\xe0\x80\xbc", "\"\\ufffd\\ufffd\\ufffd\"");		/* overlong '<' */
	esc_is("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"");		/* a lone surrogate */
	esc_is("\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""); /* above U+10FFFF */
	esc_is("a\xe2\x80", "\"a\\ufffd\\ufffd\"");			/* cut at the end */
	esc_is("\xc3<", "\"\\ufffd\\u003c\""); /* a lead byte eats no '<' */
}

TEST(report_csp_sha256)
{
	static const struct {
		const char *in;
		size_t len;
		const char *b64;
	} v[] = {
	    {"", 0, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="},
	    {"abc", 3, "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="},
	    {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56,
	     "JI1qYdIGOLjlwCaTDD5gOaM85Flk/yFn9uzt1BnbBsE="},
	};
	char want[80], got[80], *as = malloc(1000);

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		hw_report__csp_hash(v[i].in, v[i].len, got, sizeof(got));
		snprintf(want, sizeof(want), "sha256-%s", v[i].b64);
		CHECK_STREQ(got, want);
	}
	if (!CHECK(as))
		return;
	memset(as, 'a', 1000);
	hw_report__csp_hash(as, 55, got, sizeof(got)); /* the length fits the last block */
	CHECK_STREQ(got, "sha256-n0OQ+NMMLdkuyfCVtl4rmumwqSWlJY4kHJ8ekQ9zQxg=");
	hw_report__csp_hash(as, 64, got, sizeof(got)); /* a whole block, padding after it */
	CHECK_STREQ(got, "sha256-/+BU/nrgy23GXDr5th1SCfQ5hR20PQulmXM33xVGaOs=");
	hw_report__csp_hash(as, 1000, got, sizeof(got));
	CHECK_STREQ(got, "sha256-Qe3s5C1j6Nm/UVqbppMuHCDLyfWl0TRkWttdsblzfqM=");
	free(as);
}
