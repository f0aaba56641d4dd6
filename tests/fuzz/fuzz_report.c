/* libFuzzer target for `hopwatch report FILE` (user/ir/report*.c): the input is a stream of
 * event lines, read as report_cmd.c reads them (facts into the sessions model with its engine,
 * every alert kept, the alert lines put on their sessions last), then the whole page written.
 * Nothing may crash, leak or loop, and:
 *   - the page has exactly its own two <script> elements: nothing in the data ends one;
 *   - the data block is printable ASCII without < > & or ' (every string escaped);
 *   - the same input fed twice to new models writes the same bytes.
 * Seeds (tests/fuzz/corpus/fuzz_report/): the sessions seeds, a fleet with the collector's
 * hop-chain alert, a hostile recording (markup, U+2028, invalid UTF-8). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "detect/fact.h"
#include "detect/jsonread.h"
#include "ir/report.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_report: check failed at line %d: %s\n", __LINE__,    \
				#cond);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#define DATA_OPEN "<script type=\"application/json\" id=\"hw-data\">"

static struct hw_config cfg;
static struct hw_jdoc *doc;
static struct hw_fact *fact;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	CHECK(!hw_config__init(&cfg));
	doc = calloc(1, sizeof(*doc));
	fact = calloc(1, sizeof(*fact));
	CHECK(doc && fact);
	return 0;
}

static void on_rule_alert(const struct hw_alert *al, void *ctx)
{
	struct hw_rp_alert a;

	hw_report__alert_of_rule(&a, al);
	CHECK(!hw_report__add_alert(ctx, &a));
}

/* each line in turn; alert lines (pass 0) kept, put on their sessions in pass 1 */
static void feed(struct hw_ir *ir, struct hw_report *r, const uint8_t *data, size_t size, int pass)
{
	size_t at = 0;
	char why[200];

	while (at < size) {
		const uint8_t *nl = memchr(data + at, '\n', size - at);
		size_t len = nl ? (size_t)(nl - (data + at)) : size - at;
		char *line = malloc(len + 1);
		struct hw_ir_extra x = {0};
		struct hw_rp_alert a;

		CHECK(line);
		memcpy(line, data + at, len);
		line[len] = 0;
		at += len + 1;
		if (!hw_jdoc__parse(doc, line, len) &&
		    !hw_fact__from_json(fact, doc, why, sizeof(why))) {
			if (fact->kind == HW_F_ALERT && pass) {
				hw_ir__alert_line(ir, fact, doc);
			} else if (fact->kind == HW_F_ALERT) {
				hw_report__alert_of_line(&a, fact, doc);
				CHECK(!hw_report__add_alert(r, &a));
			} else if (!pass) {
				x.auth_method = hw_jdoc__str(doc, "hopwatch.session.auth_method");
				x.ended_by = hw_jdoc__str(doc, "hopwatch.session.ended_by");
				hw_ir__feed(ir, fact, &x);
			}
		}
		free(line);
	}
}

static char *page_of(const uint8_t *data, size_t size, size_t *len)
{
	struct hw_ir *ir = hw_ir__new(&cfg);
	struct hw_report r = {0};
	struct hw_ir_session **v;
	char *buf = NULL;
	size_t n = 0;
	FILE *out = open_memstream(&buf, len);

	CHECK(ir && out);
	hw_ir__on_alert(ir, on_rule_alert, &r);
	feed(ir, &r, data, size, 0);
	feed(ir, &r, data, size, 1);
	v = hw_ir__sessions(ir, 0, &n);
	CHECK(!hw_report__page(out, v, n, &r));
	CHECK(!fclose(out));
	hw_report__free(&r);
	hw_ir__free(ir);
	return buf;
}

static size_t count(const char *s, const char *needle)
{
	size_t n = 0;

	for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t len = 0, len2 = 0;
	char *page = page_of(data, size, &len), *again = page_of(data, size, &len2);
	const char *d, *e;

	CHECK(strlen(page) == len); /* no NUL written */
	CHECK(count(page, "<script") == 2 && count(page, "</script") == 2);
	d = strstr(page, DATA_OPEN);
	CHECK(d);
	d += strlen(DATA_OPEN);
	e = strstr(d, "</script>");
	CHECK(e && *d == '{' && e[-1] == '}');
	for (const char *p = d; p < e; p++)
		CHECK(*p >= 0x20 && *p < 0x7f && !strchr("<>&'", *p));
	CHECK(len == len2 && !memcmp(page, again, len));
	free(page);
	free(again);
	return 0;
}
