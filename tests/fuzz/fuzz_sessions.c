/* libFuzzer target for `hopwatch sessions FILE` (user/ir/): the input is a stream of event
 * lines, read as sessions_cmd.c reads them (reader, facts, the alert lines), fed to the
 * sessions model with its engine, then printed every way: the table, each session's tree and
 * the JSON objects. Nothing may crash, leak or loop, and:
 *   - the table and the trees are printable lines (no control byte but the newline), the
 *     table one line per session plus its header and at most two notes;
 *   - each JSON object is one line of printable bytes, an object opening with its host (the
 *     project's reader, made for event lines, does not take arrays of objects: not used);
 *   - the same input fed twice to new models prints the same bytes.
 * Seeds (tests/fuzz/corpus/fuzz_sessions/): sessions in the agent's ECS shapes, made with
 * tests/lib/ecs_builder.py. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "detect/fact.h"
#include "detect/jsonread.h"
#include "ir/sessions.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_sessions: check failed at line %d: %s\n", __LINE__,  \
				#cond);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

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

static void feed_all(struct hw_ir *ir, const uint8_t *data, size_t size)
{
	size_t at = 0;
	char why[200];

	while (at < size) {
		const uint8_t *nl = memchr(data + at, '\n', size - at);
		size_t len = nl ? (size_t)(nl - (data + at)) : size - at;
		char *line = malloc(len + 1);
		struct hw_ir_extra x = {0};
		unsigned long long ns;
		const char *s;

		CHECK(line);
		memcpy(line, data + at, len);
		line[len] = 0;
		at += len + 1;
		if (!hw_jdoc__parse(doc, line, len) &&
		    !hw_fact__from_json(fact, doc, why, sizeof(why))) {
			if (fact->kind == HW_F_ALERT) {
				hw_ir__alert_line(ir, fact, doc);
			} else {
				s = hw_jdoc__str(doc, "process.start");
				if (s && !hw_parse_rfc3339(s, &ns))
					x.proc_start = ns;
				x.auth_method = hw_jdoc__str(doc, "hopwatch.session.auth_method");
				x.ended_by = hw_jdoc__str(doc, "hopwatch.session.ended_by");
				hw_ir__feed(ir, fact, &x);
			}
		}
		free(line);
	}
}

static void check_printable(const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		CHECK(buf[i] == '\n' || ((unsigned char)buf[i] >= 0x20 && buf[i] != 0x7f));
}

/* Everything printed for the input, in one buffer. */
static char *print_all(const uint8_t *data, size_t size, size_t *outlen)
{
	struct hw_ir *ir = hw_ir__new(&cfg);
	struct hw_ir_session **v;
	char *buf = NULL, *tbuf = NULL, *jbuf = NULL;
	size_t n = 0, len = 0, tlen = 0, jlen = 0, lines = 0;
	FILE *out, *t, *j;

	CHECK(ir);
	feed_all(ir, data, size);
	v = hw_ir__sessions(ir, 0, &n);
	CHECK(n == 0 || v);
	t = open_memstream(&tbuf, &tlen);
	j = open_memstream(&jbuf, &jlen);
	CHECK(t && j);
	CHECK(!hw_ir__print_table(t, v, n));
	for (size_t i = 0; i < n; i++)
		CHECK(!hw_ir__print_tree(t, v[i]));
	CHECK(!hw_ir__print_json(j, v, n));
	fclose(t);
	fclose(j);
	check_printable(tbuf, tlen);
	for (size_t i = 0; i < tlen; i++)
		lines += tbuf[i] == '\n';
	CHECK(lines >= n + 1);
	/* one JSON object a line */
	check_printable(jbuf, jlen);
	{
		size_t at = 0, k = 0;

		while (at < jlen) {
			char *nl = memchr(jbuf + at, '\n', jlen - at);

			CHECK(nl && k < n && nl > jbuf + at && nl[-1] == '}');
			CHECK(!strncmp(jbuf + at, "{\"host\":{", 9));
			at = (size_t)(nl - jbuf) + 1;
			k++;
		}
		CHECK(k == n);
	}
	hw_ir__free(ir);
	out = open_memstream(&buf, &len);
	CHECK(out);
	fwrite(tbuf, 1, tlen, out);
	fwrite(jbuf, 1, jlen, out);
	fclose(out);
	free(tbuf);
	free(jbuf);
	*outlen = len;
	return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t a_len, b_len;
	char *a, *b;

	if (size > (1u << 20))
		return 0;
	a = print_all(data, size, &a_len);
	b = print_all(data, size, &b_len);
	CHECK(a_len == b_len && !memcmp(a, b, a_len));
	free(a);
	free(b);
	return 0;
}
