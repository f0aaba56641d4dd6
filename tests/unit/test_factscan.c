/* Replay's line scanner (user/detect/factscan.c) against the full reader: for lines it takes
 * and lines it must leave to the full reader (every way the full reader refuses a line, and
 * the shapes the scanner cannot vouch for), the same result, the same error text and the same
 * fact; and every field of the fact table read back through the scanner. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect/fact.h"
#include "detect/fact_fields.h"
#include "detect/factscan.h"
#include "test.h"

#define EV "\"@timestamp\":\"2026-12-03T04:00:00.5Z\",\"event\":{\"action\":\"exec\"}"

/* Both ways; returns whether the scan took the line itself. */
static int both(const char *what, const char *line, size_t len, int *fast)
{
	static struct hw_factscan fs;
	static struct hw_jdoc *d;
	struct hw_fact a, b;
	char ea[300], eb[300];
	int ra, rb;

	if (!fs.kept && !CHECK_EQ(hw_factscan__init(&fs), 0))
		return 0;
	if (!d)
		d = calloc(1, sizeof(*d));
	if (!CHECK(d))
		return 0;
	memset(&a, 0x5a, sizeof(a));
	memset(&b, 0x5a, sizeof(b));
	ea[0] = eb[0] = 0;
	*fast = !hw_factscan__scan(&fs, line, len);
	ra = hw_factscan__line(&fs, line, len, &a, ea, sizeof(ea));
	rb = hw_jdoc__parse(d, line, len);
	if (rb)
		snprintf(eb, sizeof(eb), "%s", d->err);
	else
		rb = hw_fact__from_json(&b, d, eb, sizeof(eb));
	if (!CHECK_EQ(ra, rb) || !CHECK_STREQ(ea, eb)) {
		printf("    %s: %.200s\n", what, line);
		return 0;
	}
	if (!ra && !CHECK(!memcmp(&a, &b, sizeof(a)))) {
		printf("    %s: facts differ: %.200s\n", what, line);
		return 0;
	}
	return 1;
}

static void expect(const char *line, int want_fast)
{
	int fast = -1;

	if (both(line, line, strlen(line), &fast) && !CHECK_EQ(fast, want_fast))
		printf("    %s\n", line);
}

TEST(factscan_takes_event_lines)
{
	/* args with escapes, a NUL and a surrogate pair; stdio; numbers as strings; nested
	 * members the rules do not read; whitespace around everything */
	expect(
	    "{" EV
	    ",\"process\":{\"pid\":42,\"args\":[\"sh\",\"-c\",\"a\\\"b\\u0000c\\ud83d\\ude00\","
	    "\"x\"],\"parent\":{\"pid\":1,\"entity_id\":\"P\"},\"name\":\"sh\",\"x\":{\"y\":[1,[2,"
	    "3]],\"z\":{}}},\"user\":{\"id\":\"0\",\"effective\":{\"id\":\"0\"}},"
	    "\"hopwatch\":{\"stdio\":[\"tcp\",null,\"pty\"],\"exe\":{\"trusted\":true}},"
	    "\"host\":{\"id\":\"h\",\"name\":\"n\"}}",
	    1);
	expect(" { " EV
	       " , \"source\" : { \"ip\" : \"::1\" , \"port\" : 22 , \"bytes\" : 0 } }\r\n\t",
	       1);
	/* args: only strings count, non-strings between them skipped */
	expect("{" EV ",\"process\":{\"args\":[1,\"a\",true,\"b\",[\"c\"],\"d\",\"e\"]}}", 1);
	/* a member the rules read, given as an object or an array of arrays */
	expect("{" EV ",\"process\":{\"pid\":{\"a\":1},\"name\":[[\"x\"]]}}", 1);
	expect("{" EV ",\"process\":7,\"host\":[]}", 1);
	/* no @timestamp, a bad one, no action: refused the same way by both */
	expect("{\"event\":{\"action\":\"exec\"}}", 1);
	expect("{\"@timestamp\":\"yesterday\",\"event\":{\"action\":\"exec\"}}", 1);
	expect("{\"@timestamp\":\"2026-12-03T04:00:00Z\"}", 1);
	expect("{" EV ",\"hopwatch\":{\"connection\":{\"start\":\"x\"}}}", 1);
	expect("{" EV ",\"event\":{\"kind\":\"alert\"}}", 0); /* "event" twice */
}

TEST(factscan_leaves_what_it_cannot_vouch_for)
{
	/* duplicates the full reader refuses: through a dotted name, in arrays of objects, the
	 * same member twice */
	expect("{" EV ",\"process.pid\":1,\"process\":{\"pid\":2}}", 0);
	expect("{" EV ",\"process\":{\"pid\":2},\"process.pid\":1}", 0);
	expect("{" EV ",\"a\":[{\"x\":1},{\"x\":2}]}", 0);
	expect("{" EV ",\"a\":[{\"x\":1},{\"y\":2}]}", 0);
	expect("{" EV ",\"a\":1,\"a\":2}", 0);
	expect("{" EV ",\"a\":[1],\"a\":[2]}", 0);
	/* the same name twice with objects: allowed by the full reader, left anyway */
	expect("{" EV ",\"p\":{\"x\":1},\"p\":{\"y\":2}}", 0);
	expect("{" EV ",\"p\":{},\"p\":3}", 0);
	/* an empty name at the top joins its members' paths to the top */
	expect("{" EV ",\"\":{\"a\":1},\"a\":2}", 0);
	expect("{" EV ",\"\":{\"process\":{\"pid\":9}}}", 0);
	/* escapes in names: a dotted path spelt with \u002e */
	expect("{" EV ",\"process\\u002epid\":5}", 0);
	expect("{" EV ",\"pro\\u0000cess\":5}", 0);
	/* bad JSON of every kind */
	expect("", 0);
	expect("[]", 0);
	expect("{" EV ",\"a\":\"\\x\"}", 0);
	expect("{" EV ",\"a\":\"\\u12\"}", 0);
	expect("{" EV ",\"a\":\"\\udc00\"}", 0);
	expect("{" EV ",\"a\":\"\\ud800x\"}", 0);
	expect("{" EV ",\"a\":\"tab\there\"}", 0);
	expect("{" EV ",\"a\":\"open}", 0);
	expect("{" EV ",\"a\":\"\\", 0);
	expect("{" EV ",\"a\":01}", 0);
	expect("{" EV ",\"a\":-}", 0);
	expect("{" EV ",\"a\":1.}", 0);
	expect("{" EV ",\"a\":1e}", 0);
	expect("{" EV ",\"a\":tru}", 0);
	expect("{" EV ",\"a\":nul}", 0);
	expect("{" EV ",\"a\":1,}", 0);
	expect("{" EV ",\"a\":[1,]}", 0);
	expect("{" EV ",\"a\" 1}", 0);
	expect("{" EV "}x", 0);
	expect("{" EV "}\x01", 0);
	expect("{" EV ",\"a\":\x0b"
	       "1}",
	       0);
}

TEST(factscan_limits_as_the_full_reader)
{
	static char line[1 << 20];
	int fast;
	size_t n;

	/* depth: 32 levels are read, 33 refused */
	for (int depth = 31; depth <= 33; depth++) {
		n = (size_t)snprintf(line, sizeof(line), "{" EV);
		for (int i = 1; i < depth; i++)
			n += (size_t)snprintf(line + n, sizeof(line) - n, ",\"d\":{\"x\":1");
		for (int i = 1; i < depth; i++)
			line[n++] = '}';
		line[n++] = '}';
		if (both("depth", line, n, &fast))
			CHECK_EQ(fast, depth <= 32);
	}
	/* leaves: 1024 read, 1025 refused (the event's two leaves count) */
	for (int leaves = 1022; leaves <= 1023; leaves++) {
		n = (size_t)snprintf(line, sizeof(line), "{" EV ",\"a\":[");
		for (int i = 0; i < leaves; i++)
			n += (size_t)snprintf(line + n, sizeof(line) - n, "%s%d", i ? "," : "", i);
		n += (size_t)snprintf(line + n, sizeof(line) - n, "]}");
		if (both("leaves", line, n, &fast))
			CHECK_EQ(fast, leaves == 1022);
	}
	/* a path of 512 bytes is read, 513 refused (by both) */
	for (int len = 511; len <= 513; len++) {
		n = (size_t)snprintf(line, sizeof(line), "{" EV ",\"ab\":{\"");
		memset(line + n, 'k', (size_t)len - 3);
		n += (size_t)len - 3;
		n += (size_t)snprintf(line + n, sizeof(line) - n, "\":1}}");
		if (both("path", line, n, &fast))
			CHECK_EQ(fast, len <= 512);
	}
	/* long paths on many leaves run the full reader's arena out: "line too complex" */
	n = (size_t)snprintf(line, sizeof(line), "{" EV ",\"");
	memset(line + n, 'p', 500);
	n += 500;
	n += (size_t)snprintf(line + n, sizeof(line) - n, "\":{");
	for (int i = 0; i < 1000; i++)
		n += (size_t)snprintf(line + n, sizeof(line) - n, "%s\"%d\":0", i ? "," : "", i);
	n += (size_t)snprintf(line + n, sizeof(line) - n, "}}");
	if (both("arena", line, n, &fast))
		CHECK_EQ(fast, 0);
	/* 300 names in one object: more than the scanner tells apart */
	n = (size_t)snprintf(line, sizeof(line), "{" EV);
	for (int i = 0; i < 300; i++)
		n += (size_t)snprintf(line + n, sizeof(line) - n, ",\"n%d\":%d", i, i);
	line[n++] = '}';
	if (both("names", line, n, &fast))
		CHECK_EQ(fast, 0);
}

/* Every field of the table, alone on a line, comes back through the scanner. */
TEST(factscan_reads_every_field)
{
	static struct hw_factscan fs;
	struct hw_jdoc *kept;
	char line[1024], *o;

	if (!CHECK_EQ(hw_factscan__init(&fs), 0))
		return;
	kept = fs.kept;
	for (int f = 0; f < HW_FF_COUNT; f++) {
		const char *path = hw_fact_field_path[f];
		const struct hw_jleaf *l;
		int open = 0;

		o = line + sprintf(line, "{\"other\":1,");
		for (const char *k = path;;) {
			const char *dot = strchr(k, '.');
			int n = dot ? (int)(dot - k) : (int)strlen(k);

			o += sprintf(o, "\"%.*s\":", n, k);
			if (!dot)
				break;
			o += sprintf(o, "{\"zz\":0,");
			open++;
			k = dot + 1;
		}
		o += sprintf(o, "\"v%d\"", f);
		while (open--)
			*o++ = '}';
		*o++ = '}';
		if (!CHECK_EQ(hw_factscan__scan(&fs, line, (size_t)(o - line)), 0)) {
			printf("    %s: %.*s\n", path, (int)(o - line), line);
			continue;
		}
		l = hw_fact__leaf(kept, (enum hw_fact_field)f);
		if (!CHECK(l && l->type == HW_J_STRING && atoi(l->val + 1) == f))
			printf("    %s not read back\n", path);
		CHECK_EQ(kept->n, 1);
	}
	hw_factscan__free(&fs);
}

/* Whether a scanner that has never seen the line's objects takes the line: the scan without
 * anything kept (factscan_memo.h). */
static int fresh_takes(const char *line, size_t len)
{
	struct hw_factscan fs;
	int fast;

	if (!CHECK_EQ(hw_factscan__init(&fs), 0))
		return -1;
	fast = !hw_factscan__scan(&fs, line, len);
	hw_factscan__free(&fs);
	return fast;
}

#define KEPT_X 40 /* P: 4 names, KEPT_X more, and "parent" with 2 names; 47 leaves */

static void kept_p(char *o, size_t cap)
{
	size_t n = (size_t)snprintf(o, cap,
				    "{\"pid\":7,\"entity_id\":\"E1\",\"name\":\"sh\","
				    "\"args\":[\"sh\",\"-i\"]");

	for (int i = 0; i < KEPT_X; i++)
		n += (size_t)snprintf(o + n, cap - n, ",\"x%d\":%d", i, i);
	snprintf(o + n, cap - n, ",\"parent\":{\"pid\":1,\"entity_id\":\"E0\"}}");
}

/* An object kept from one line is copied into the next only where reading it would be taken
 * too: the leaf limit and the names the scanner tells apart are those of the line it lands in,
 * with the object at the end of a line near either limit; a line whose object is not at the top,
 * or is cut short, or differs by a byte is read. Each line: the same result, error and fact as the
 * full reader, and taken by the scan exactly when a scanner that kept nothing takes it. */
TEST(factscan_kept_objects_meet_each_lines_limits)
{
	static char line[1 << 16], p[4096];
	size_t n;
	int fast;

	kept_p(p, sizeof(p));
	n = (size_t)snprintf(line, sizeof(line), "{" EV ",\"process\":%s}", p);
	if (!both("prime", line, n, &fast) || !CHECK_EQ(fast, 1))
		return;
	/* names: @timestamp, event, m more, process, then P's 45 and parent's 2 open at once */
	for (int m = 200; m <= 212; m++) {
		n = (size_t)snprintf(line, sizeof(line), "{" EV);
		for (int i = 0; i < m; i++)
			n += (size_t)snprintf(line + n, sizeof(line) - n, ",\"n%d\":%d", i, i);
		n += (size_t)snprintf(line + n, sizeof(line) - n, ",\"process\":%s}", p);
		if (both("names", line, n, &fast) && !CHECK_EQ(fast, fresh_takes(line, n)))
			printf("    names m=%d\n", m);
		CHECK_EQ(fast, m <= 206);
	}
	/* leaves: EV's 2, an array of k, P's 47 */
	for (int k = 972; k <= 978; k++) {
		n = (size_t)snprintf(line, sizeof(line), "{" EV ",\"a\":[");
		for (int i = 0; i < k; i++)
			n += (size_t)snprintf(line + n, sizeof(line) - n, "%s%d", i ? "," : "", i);
		n += (size_t)snprintf(line + n, sizeof(line) - n, "],\"process\":%s}", p);
		if (both("leaves", line, n, &fast) && !CHECK_EQ(fast, fresh_takes(line, n)))
			printf("    leaves k=%d\n", k);
		CHECK_EQ(fast, k <= 975);
	}
	/* the same bytes under another name, and nested under another member */
	n = (size_t)snprintf(line, sizeof(line), "{" EV ",\"proc\":%s}", p);
	if (both("other name", line, n, &fast))
		CHECK_EQ(fast, 1);
	n = (size_t)snprintf(line, sizeof(line), "{" EV ",\"x\":{\"process\":%s}}", p);
	if (both("nested", line, n, &fast))
		CHECK_EQ(fast, 1);
	/* cut inside the object, cut right after it, one byte changed, the same name twice */
	n = (size_t)snprintf(line, sizeof(line), "{" EV ",\"process\":%s}", p);
	both("cut inside", line, n - 10, &fast);
	CHECK_EQ(fast, 0);
	both("cut after", line, n - 1, &fast);
	CHECK_EQ(fast, 0);
	line[n - 30] = line[n - 30] == '1' ? '2' : '1';
	if (both("a byte changed", line, n, &fast))
		CHECK_EQ(fast, fresh_takes(line, n));
	n = (size_t)snprintf(line, sizeof(line), "{" EV ",\"process\":%s,\"process\":%s}", p, p);
	if (both("twice", line, n, &fast))
		CHECK_EQ(fast, 0);
}
