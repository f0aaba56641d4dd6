/* The event-line reader (user/detect/jsonread.c) and facts (user/detect/fact.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "detect/fact.h"
#include "detect/jsonread.h"
#include "test.h"

static struct hw_jdoc *doc(void)
{
	return calloc(1, sizeof(struct hw_jdoc));
}

static int parse(struct hw_jdoc *d, const char *s)
{
	return hw_jdoc__parse(d, s, strlen(s));
}

TEST(jsonread_paths_and_values)
{
	struct hw_jdoc *d = doc();
	unsigned long long v = 0;
	const struct hw_jleaf *l;

	if (!CHECK(d))
		return;
	CHECK_EQ(parse(d, " {\"a\":{\"b\":{\"c\":\"x\"},\"n\":42,\"t\":true,\"z\":null},"
			  "\"arr\":[\"p\",\"q\"],\"neg\":-1.5e3} \n"),
		 0);
	CHECK(hw_jdoc__str(d, "a.b.c") && !strcmp(hw_jdoc__str(d, "a.b.c"), "x"));
	CHECK_EQ(hw_jdoc__u64(d, "a.n", &v), 0);
	CHECK_EQ(v, 42);
	CHECK_EQ(hw_jdoc__get(d, "a.t")->type, HW_J_TRUE);
	CHECK_EQ(hw_jdoc__get(d, "a.z")->type, HW_J_NULL);
	CHECK_EQ(hw_jdoc__u64(d, "neg", &v), -EINVAL);
	CHECK_EQ(hw_jdoc__u64(d, "missing", &v), -ENOENT);
	l = hw_jdoc__get(d, "arr");
	if (CHECK(l)) {
		CHECK(!strcmp(l[0].val, "p") && l[0].index == 0 && l[0].in_array);
		CHECK(!strcmp(l[1].val, "q") && l[1].index == 1 && l[1].path == l[0].path);
	}
	CHECK(!hw_jdoc__get(d, "a.b"));
	hw_jdoc__free(d);
	free(d);
}

/* A number (or a string of digits) as an unsigned 64-bit value: every width up to the largest,
 * and one past it refused. */
TEST(jsonread_u64_bounds)
{
	static const struct {
		const char *text;
		int ret;
		unsigned long long v;
	} cases[] = {
	    {"0", 0, 0},
	    {"7", 0, 7},
	    {"007", 0, 7},
	    {"9999999999999999999", 0, 9999999999999999999ULL},	  /* 19 digits */
	    {"10000000000000000000", 0, 10000000000000000000ULL}, /* 20 */
	    {"18446744073709551615", 0, 18446744073709551615ULL}, /* the largest */
	    {"00000000000000000042", 0, 42},
	    {"18446744073709551616", -EINVAL, 0},
	    {"18446744073709551620", -EINVAL, 0},
	    {"18446744073709551700", -EINVAL, 0},
	    {"99999999999999999999", -EINVAL, 0},
	    {"184467440737095516150", -EINVAL, 0}, /* 21 digits */
	    {"12a", -EINVAL, 0},
	    {"-1", -EINVAL, 0},
	    {"1.5", -EINVAL, 0},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hw_jleaf l = {
		    .val = cases[i].text, .len = strlen(cases[i].text), .type = HW_J_STRING};
		unsigned long long v = 0;

		CHECK_EQ(hw_jleaf__u64(&l, &v), cases[i].ret);
		if (!cases[i].ret)
			CHECK_EQ(v, cases[i].v);
	}
}

TEST(jsonread_escapes)
{
	struct hw_jdoc *d = doc();
	const struct hw_jleaf *l;

	if (!CHECK(d))
		return;
	CHECK_EQ(parse(d, "{\"s\":\"a\\\"b\\\\c\\/d\\n\\t\\u00e9\\ud83d\\ude00\\u0000e\"}"), 0);
	l = hw_jdoc__get(d, "s");
	if (CHECK(l))
		CHECK(l->len == 17 &&
		      !memcmp(l->val, "a\"b\\c/d\n\t\xc3\xa9\xf0\x9f\x98\x80\0e", 17));
	CHECK_EQ(parse(d, "{\"s\":\"\\ud83d\"}"), -EINVAL); /* lone high surrogate */
	CHECK_EQ(parse(d, "{\"s\":\"\\ude00\"}"), -EINVAL);
	CHECK_EQ(parse(d, "{\"s\":\"\\x41\"}"), -EINVAL);
	CHECK_EQ(parse(d, "{\"s\":\"a\nb\"}"), -EINVAL); /* raw control character */
	hw_jdoc__free(d);
	free(d);
}

TEST(jsonread_rejects)
{
	static const char *const bad[] = {
	    "",
	    "[]",
	    "{",
	    "{\"a\"}",
	    "{\"a\":}",
	    "{\"a\":1,}",
	    "{\"a\":01}",
	    "{\"a\":1.}",
	    "{\"a\":tru}",
	    "{\"a\":1} x",
	    "{\"a\":\"x}",
	    "{\"a\":1,\"a\":2}",
	    "{\"a\":{\"b\":1},\"a\":{\"b\":2}}",
	    "{\"a\":[1],\"a\":[2]}",
	};
	struct hw_jdoc *d = doc();
	char *deep;

	if (!CHECK(d))
		return;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (!CHECK_EQ(parse(d, bad[i]), -EINVAL))
			fprintf(stderr, "  accepted: %s\n", bad[i]);
	CHECK(strstr(d->err, "duplicate") != NULL);
	/* nesting beyond the limit */
	deep = malloc(512);
	if (CHECK(deep)) {
		size_t n = 0;

		for (int i = 0; i < 40; i++)
			n += (size_t)sprintf(deep + n, "{\"a\":");
		n += (size_t)sprintf(deep + n, "1");
		for (int i = 0; i < 40; i++)
			deep[n++] = '}';
		deep[n] = 0;
		CHECK_EQ(parse(d, deep), -EINVAL);
		CHECK(strstr(d->err, "deep") != NULL);
		free(deep);
	}
	/* the document is usable again after an error */
	CHECK_EQ(parse(d, "{\"ok\":\"yes\"}"), 0);
	CHECK(hw_jdoc__str(d, "ok") != NULL);
	CHECK(!hw_jdoc__get(d, "a"));
	hw_jdoc__free(d);
	free(d);
}

TEST(rfc3339)
{
	unsigned long long ns = 0;

	CHECK_EQ(hw_parse_rfc3339("1970-01-01T00:00:01Z", &ns), 0);
	CHECK_EQ(ns, 1000000000ULL);
	CHECK_EQ(hw_parse_rfc3339("2026-11-27T16:00:00.123456789Z", &ns), 0);
	CHECK_EQ(ns, 1795795200123456789ULL);
	CHECK_EQ(hw_parse_rfc3339("2026-11-27T17:00:00.5+01:00", &ns), 0);
	CHECK_EQ(ns, 1795795200500000000ULL);
	CHECK_EQ(hw_parse_rfc3339("2026-11-27 16:00:00Z", &ns), -EINVAL);
	CHECK_EQ(hw_parse_rfc3339("2026-13-27T16:00:00Z", &ns), -EINVAL);
	CHECK_EQ(hw_parse_rfc3339("2026-11-27T16:00:00", &ns), -EINVAL);
	CHECK_EQ(hw_parse_rfc3339("2026-11-27T16:00:00.Z", &ns), -EINVAL);
	CHECK_EQ(hw_parse_rfc3339("2026-11-27T16:00:00Zjunk", &ns), -EINVAL);
	/* the date and time of the last timestamp are kept: a new fraction, zone or a bad end
	 * after the same prefix, and a bad date right after a good one, are still read whole */
	CHECK_EQ(hw_parse_rfc3339("2026-11-27T16:00:00.25Z", &ns), 0);
	CHECK_EQ(ns, 1795795200250000000ULL);
	CHECK_EQ(hw_parse_rfc3339("2026-11-27T16:00:00-01:00", &ns), 0);
	CHECK_EQ(ns, 1795798800000000000ULL);
	CHECK_EQ(hw_parse_rfc3339("2026-11-27T16:00:00.x", &ns), -EINVAL);
	CHECK_EQ(hw_parse_rfc3339("2026-11-27T16:00:00", &ns), -EINVAL);
	CHECK_EQ(hw_parse_rfc3339("2028-02-29T00:00:00Z", &ns), 0);
	CHECK_EQ(hw_parse_rfc3339("2027-02-29T00:00:00Z", &ns), -EINVAL);
	CHECK_EQ(hw_parse_rfc3339("2028-02-29T00:00:00.000000001Z", &ns), 0);
	CHECK_EQ(ns, 1835395200000000001ULL);
	CHECK_EQ(hw_parse_rfc3339("2028-02-29T00:00:0", &ns), -EINVAL);
}

TEST(fact_from_event)
{
	static const char line[] =
	    "{\"@timestamp\":\"2026-11-27T16:00:00Z\",\"event\":{\"kind\":\"event\","
	    "\"action\":\"exec\"},\"host\":{\"name\":\"b\",\"id\":\"h1\"},\"process\":{\"pid\":7,"
	    "\"entity_id\":\"E\",\"name\":\"bash\",\"executable\":\"/usr/bin/bash\",\"args\":"
	    "[\"bash\",\"-i\",\"x\",\"y\"],\"parent\":{\"pid\":6,\"entity_id\":\"P\"}},"
	    "\"hopwatch\":{\"stdio\":[\"tcp\",\"pty\",\"closed\"],\"session\":{\"id\":\"S\"}}}";
	struct hw_jdoc *d = doc();
	struct hw_fact f;
	char err[128];

	if (!CHECK(d))
		return;
	CHECK_EQ(parse(d, line), 0);
	CHECK_EQ(hw_fact__from_json(&f, d, err, sizeof(err)), 0);
	CHECK_EQ(f.kind, HW_F_EXEC);
	CHECK_EQ(f.ts, 1795795200000000000ULL);
	CHECK_EQ(f.pid, 7);
	CHECK(!strcmp(f.parent_entity_id, "P") && !strcmp(f.session_id, "S"));
	CHECK_EQ(f.nargs, 3); /* the first HW_FACT_ARGS */
	CHECK(!strcmp(f.args[1], "-i"));
	CHECK_EQ(f.stdio[0], HW_IO_TCP);
	CHECK_EQ(f.stdio[1], HW_IO_PTY);
	CHECK_EQ(f.stdio[2], HW_IO_CLOSED);
	CHECK_EQ(parse(d, "{\"event\":{\"action\":\"exec\"}}"), 0);
	CHECK_EQ(hw_fact__from_json(&f, d, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "@timestamp") != NULL);
	hw_jdoc__free(d);
	free(d);
}

/* RFC 3339 times (fact.c, computed without timegm) against timegm for leap days, century
 * years, second 60 and offsets, over the whole range the parser takes. */
TEST(rfc3339_matches_timegm)
{
	unsigned long long x = 0x9e3779b97f4a7c15ULL;
	static const unsigned char mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	for (int i = 0; i < 100000; i++) {
		unsigned int y, mo, d, h, mi, s, oh, om;
		int leap, neg;
		unsigned long long got = 0, want;
		char text[64];
		struct tm tm = {0};
		long long t, off;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		y = 1970 + (unsigned int)(x % 584);
		mo = 1 + (unsigned int)(x >> 10) % 12;
		leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
		d = 1 + (unsigned int)(x >> 14) % (mdays[mo - 1] + (mo == 2 && leap));
		h = (unsigned int)(x >> 20) % 24;
		mi = (unsigned int)(x >> 25) % 60;
		s = (unsigned int)(x >> 31) % 61;
		oh = i % 4 ? (unsigned int)(x >> 37) % 24 : 0;
		om = i % 4 ? (unsigned int)(x >> 42) % 60 : 0;
		neg = (int)(x >> 50) & 1;
		snprintf(text, sizeof(text), "%04u-%02u-%02uT%02u:%02u:%02u.5%c%02u:%02u", y, mo, d,
			 h, mi, s, neg ? '-' : '+', oh, om);
		tm.tm_year = (int)y - 1900;
		tm.tm_mon = (int)mo - 1;
		tm.tm_mday = (int)d;
		tm.tm_hour = (int)h;
		tm.tm_min = (int)mi;
		tm.tm_sec = (int)s;
		off = (long long)(oh * 3600 + om * 60) * (neg ? -1 : 1);
		t = (long long)timegm(&tm) - off;
		if (t < 0 || t > 18446744072LL) {
			CHECK_EQ(hw_parse_rfc3339(text, &got), -EINVAL);
			continue;
		}
		want = (unsigned long long)t * 1000000000ULL + 500000000ULL;
		if (!CHECK_EQ(hw_parse_rfc3339(text, &got), 0) || !CHECK_EQ(got, want)) {
			printf("    %s\n", text);
			return;
		}
	}
}
