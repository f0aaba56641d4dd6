/* libFuzzer target for what `hopwatch replay` and the collector read: the event-line reader
 * (user/detect/jsonread.c), the facts (fact.c) and the detection engine with its rules.
 *
 * The input is a stream of lines. The whole input goes to hw_jdoc__parse as one document, and
 * each line to hw_parse_rfc3339, and each line, copied into a buffer of exactly its length, to
 * two engines (the default config, and one with thresholds of 2 and allowlists so every rule
 * gets to fire). Nothing may crash or leak, and:
 *   - a document the reader accepts is RFC 8259 JSON (a reference validator below); every
 *     leaf is NUL-terminated at its length and found again by its path, and only array
 *     elements share a path; an unsigned integer read back is the one its text spells;
 *   - a time the parser accepts is the one a reference computes (days from the civil date,
 *     in 128 bits): never a wrapped value;
 *   - a refused line gets an error message that is one printable line fitting its buffer
 *     (replay prints it after FILE:LINE);
 *   - every alert is well formed: a known rule, severity and name, bounded lists of non-NULL
 *     strings; its ECS JSON is read back by the same reader as an alert of that rule, and its
 *     text form is one printable line;
 *   - alerts come in time order, the engine counts them, and the same lines fed again to a
 *     new engine give the same alerts byte for byte (replay's promise).
 *
 * Seeds (tests/fuzz/corpus/fuzz_replay/) are short event streams in the agent's ECS shapes,
 * one per rule, made with the builder in tests/lib/ecs_builder.py.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "detect/engine.h"
#include "detect/fact.h"
#include "detect/jsonread.h"
#include "output/alert.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_replay: check failed at line %d: %s\n", __LINE__,    \
				#cond);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

static struct hw_config cfg_default, cfg_tight;
static struct hw_jdoc *doc, *alert_doc;

static const char *const tight_sets[] = {
    "detect.fanout_hosts=2",
    "detect.bruteforce_failures=2",
    "detect.long_session=1s",
    "detect.long_connection=1s",
    "detect.allow_sources=10.9.0.0/16",
    "detect.allow_programs=/usr/bin/rsync",
    "detect.allow_services=nginx",
    "detect.allow_relays=haproxy",
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[256];

	(void)argc;
	(void)argv;
	doc = calloc(1, sizeof(*doc));
	alert_doc = calloc(1, sizeof(*alert_doc));
	if (!doc || !alert_doc || hw_config__init(&cfg_default) || hw_config__init(&cfg_tight))
		abort();
	for (size_t i = 0; i < sizeof(tight_sets) / sizeof(tight_sets[0]); i++)
		if (hw_config__set(&cfg_tight, tight_sets[i], err, sizeof(err)))
			abort();
	return 0;
}

/* --- one printable line ------------------------------------------------------------------- */

static void check_message(const char *err, size_t errlen)
{
	size_t n = strnlen(err, errlen);

	CHECK(n > 0 && n < errlen);
	for (size_t i = 0; i < n; i++)
		CHECK((unsigned char)err[i] >= 0x20 && err[i] != 0x7f);
}

/* --- a reference JSON validator (RFC 8259, without the UTF-8 check) ----------------------- */

struct ref {
	const unsigned char *p, *end;
};

static void ref_ws(struct ref *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
		r->p++;
}

static int ref_hex(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int ref_string(struct ref *r)
{
	if (r->p >= r->end || *r->p != '"')
		return -1;
	for (r->p++; r->p < r->end; r->p++) {
		if (*r->p == '"') {
			r->p++;
			return 0;
		}
		if (*r->p < 0x20)
			return -1;
		if (*r->p != '\\')
			continue;
		if (++r->p >= r->end)
			return -1;
		if (*r->p == 'u') {
			if (r->end - r->p < 5 || !ref_hex(r->p[1]) || !ref_hex(r->p[2]) ||
			    !ref_hex(r->p[3]) || !ref_hex(r->p[4]))
				return -1;
			r->p += 4;
		} else if (!strchr("\"\\/bfnrt", *r->p) || !*r->p) {
			return -1;
		}
	}
	return -1;
}

static int ref_digits(struct ref *r)
{
	const unsigned char *b = r->p;

	while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
		r->p++;
	return r->p > b ? 0 : -1;
}

static int ref_number(struct ref *r)
{
	if (r->p < r->end && *r->p == '-')
		r->p++;
	if (r->p < r->end && *r->p == '0')
		r->p++;
	else if (ref_digits(r))
		return -1;
	if (r->p < r->end && *r->p == '.') {
		r->p++;
		if (ref_digits(r))
			return -1;
	}
	if (r->p < r->end && (*r->p == 'e' || *r->p == 'E')) {
		r->p++;
		if (r->p < r->end && (*r->p == '+' || *r->p == '-'))
			r->p++;
		if (ref_digits(r))
			return -1;
	}
	return 0;
}

static int ref_value(struct ref *r, int depth)
{
	static const char *const words[] = {"true", "false", "null"};

	if (depth > 64 || r->p >= r->end)
		return -1;
	if (*r->p == '{' || *r->p == '[') {
		unsigned char close = *r->p == '{' ? '}' : ']';

		r->p++;
		ref_ws(r);
		if (r->p < r->end && *r->p == close) {
			r->p++;
			return 0;
		}
		for (;;) {
			ref_ws(r);
			if (close == '}') {
				if (ref_string(r))
					return -1;
				ref_ws(r);
				if (r->p >= r->end || *r->p != ':')
					return -1;
				r->p++;
				ref_ws(r);
			}
			if (ref_value(r, depth + 1))
				return -1;
			ref_ws(r);
			if (r->p < r->end && *r->p == ',') {
				r->p++;
				continue;
			}
			if (r->p < r->end && *r->p == close) {
				r->p++;
				return 0;
			}
			return -1;
		}
	}
	if (*r->p == '"')
		return ref_string(r);
	for (int i = 0; i < 3; i++) {
		size_t n = strlen(words[i]);

		if ((size_t)(r->end - r->p) >= n && !memcmp(r->p, words[i], n)) {
			r->p += n;
			return 0;
		}
	}
	return ref_number(r);
}

static int ref_object(const char *s, size_t len)
{
	struct ref r = {(const unsigned char *)s, (const unsigned char *)s + len};

	ref_ws(&r);
	if (r.p >= r.end || *r.p != '{' || ref_value(&r, 0))
		return -1;
	ref_ws(&r);
	return r.p == r.end ? 0 : -1;
}

/* --- the reader's output ------------------------------------------------------------------ */

static void check_doc(const struct hw_jdoc *d)
{
	CHECK(d->n <= HW_JREAD_MAX_LEAVES);
	for (size_t i = 0; i < d->n; i++) {
		const struct hw_jleaf *l = &d->leaves[i], *g;
		unsigned long long v;

		CHECK(l->path && l->val && l->type <= HW_J_STRING);
		CHECK(l->val[l->len] == 0);
		if (l->type != HW_J_STRING)
			CHECK(strlen(l->val) == l->len);
		g = hw_jdoc__get(d, l->path);
		CHECK(g && g <= l && !strcmp(g->path, l->path));
		if (!l->in_array)
			CHECK(g == l); /* duplicate members are refused */
		if (g == l && !hw_jdoc__u64(d, l->path, &v)) {
			char want[24];

			CHECK(l->len >= 1 && l->len <= 20);
			snprintf(want, sizeof(want), "%llu", v);
			/* leading zeros are allowed in strings ("007"): compare without them */
			{
				const char *t = l->val;

				while (*t == '0' && t[1])
					t++;
				CHECK(!strcmp(t, want));
			}
		}
	}
}

/* --- times -------------------------------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil), for
 * any day number (linear in d, like timegm's normalization). */
static __int128 days_from_civil(__int128 y, unsigned int m, unsigned int d)
{
	__int128 era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static unsigned int num(const char *s, int n)
{
	unsigned int v = 0;

	for (int i = 0; i < n; i++)
		v = v * 10 + (unsigned int)(s[i] - '0');
	return v;
}

static void fuzz_time(const char *s)
{
	unsigned long long ns = 0;
	__int128 want, frac = 0, off = 0;
	const char *p;
	int fd = 0;

	if (hw_parse_rfc3339(s, &ns))
		return;
	/* accepted: the grammar held, so the fields are where RFC 3339 puts them */
	want = days_from_civil(num(s, 4), num(s + 5, 2), num(s + 8, 2)) * 86400 +
	       num(s + 11, 2) * 3600 + num(s + 14, 2) * 60 + num(s + 17, 2);
	p = s + 19;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++, fd++)
			if (fd < 9)
				frac = frac * 10 + (*p - '0');
	for (; fd < 9; fd++)
		frac *= 10;
	if (*p == '+' || *p == '-')
		off = (__int128)(num(p + 1, 2) * 3600 + num(p + 4, 2) * 60) * (*p == '-' ? -1 : 1);
	want = (want - off) * 1000000000 + frac;
	CHECK(want >= 0 && want <= (__int128)~0ULL); /* else it had to be refused */
	CHECK((unsigned long long)want == ns);
}

/* One document: the reader's checks, then every string in it as a time (the @timestamp and
 * hopwatch.*.start of real lines reach the time parser this way). */
static void fuzz_reader(const char *s, size_t size)
{
	int r = hw_jdoc__parse(doc, s, size);

	if (r) {
		CHECK(r == -EINVAL || r == -ENOMEM);
		check_message(doc->err, sizeof(doc->err));
		return;
	}
	CHECK(!ref_object(s, size));
	check_doc(doc);
	for (size_t i = 0; i < doc->n; i++)
		if (doc->leaves[i].type == HW_J_STRING)
			fuzz_time(doc->leaves[i].val);
}

/* --- the engine --------------------------------------------------------------------------- */

struct run {
	struct hw_json j;
	struct hw_text t;
	char *log; /* every alert's JSON, for the second run to match */
	size_t len, cap;
	unsigned long long n, last_ts;
};

static int known_rule(const char *id)
{
	static const char *const rules[] = {"lateral-movement",
					    "admin-fanout",
					    "long-session",
					    "long-connection",
					    "reverse-shell",
					    "service-shell",
					    "brute-force",
					    "tunnel",
					    "agent-hijack",
					    "persistence",
					    "transfer-exec",
					    "raw-socket-bridge",
					    NULL};

	for (int i = 0; rules[i]; i++)
		if (!strcmp(rules[i], id))
			return 1;
	return 0;
}

static void check_alert(const struct hw_alert *a)
{
	static const char *const names[] = {"low", "medium", "high", "critical"};
	static const int sevs[] = {21, 47, 73, 99};
	int k = -1;

	CHECK(a->rule_id && known_rule(a->rule_id) && a->rule_name && a->rule_name[0]);
	for (int i = 0; i < 4; i++)
		if (a->severity == sevs[i])
			k = i;
	CHECK(k >= 0 && a->severity_name && !strcmp(a->severity_name, names[k]));
	CHECK(strnlen(a->message, sizeof(a->message)) < sizeof(a->message) && a->message[0]);
	CHECK(strnlen(a->id, sizeof(a->id)) == 16);
	CHECK(a->ntechniques >= 1 && a->ntechniques <= HW_ALERT_TECHNIQUES);
	for (int i = 0; i < a->ntechniques; i++)
		CHECK(a->techniques[i] && a->techniques[i][0] == 'T');
	CHECK(a->nchain >= 0 && a->nchain <= HW_ALERT_CHAIN);
	for (int i = 0; i < a->nchain; i++)
		CHECK(a->chain[i] && a->chain_ids[i]);
	CHECK(a->nrelated >= 0 && a->nrelated <= 4);
	for (int i = 0; i < a->nrelated; i++)
		CHECK(a->related_ids[i]);
	CHECK(a->nhosts >= 0 && a->nhosts <= 16);
	for (int i = 0; i < a->nhosts; i++)
		CHECK(a->hosts[i]);
	CHECK(a->host_id && a->host_name);
}

static void on_alert(const struct hw_alert *a, void *ctx)
{
	struct run *r = ctx;
	struct hw_fact f;
	char why[200];

	check_alert(a);
	CHECK(a->ts >= r->last_ts);
	r->last_ts = a->ts;
	r->n++;

	hw_json__reset(&r->j);
	hw_ecs__alert(&r->j, a);
	CHECK(!r->j.error && r->j.len > 1 && r->j.buf[r->j.len - 1] == '\n');
	CHECK(memchr(r->j.buf, '\n', r->j.len) == r->j.buf + r->j.len - 1);
	/* replay reads alert lines in its input, and skips them */
	CHECK(!hw_jdoc__parse(alert_doc, r->j.buf, r->j.len - 1));
	CHECK(!hw_fact__from_json(&f, alert_doc, why, sizeof(why)) && f.kind == HW_F_ALERT);
	CHECK(hw_jdoc__str(alert_doc, "rule.id") &&
	      !strcmp(hw_jdoc__str(alert_doc, "rule.id"), a->rule_id));
	if (r->len + r->j.len > r->cap) {
		r->cap = (r->len + r->j.len) * 2;
		r->log = realloc(r->log, r->cap);
		CHECK(r->log);
	}
	memcpy(r->log + r->len, r->j.buf, r->j.len);
	r->len += r->j.len;

	hw_text__alert(&r->t, a);
	CHECK(!r->t.error && r->t.len > 1 && r->t.buf[r->t.len - 1] == '\n');
	for (size_t i = 0; i + 1 < r->t.len; i++)
		CHECK((unsigned char)r->t.buf[i] >= 0x20 && r->t.buf[i] != 0x7f);
}

static void run_free(struct run *r)
{
	hw_json__free(&r->j);
	hw_text__free(&r->t);
	free(r->log);
}

/* Every line, each in a buffer of exactly its length (an overread is caught). */
static void feed_all(const struct hw_config *cfg, const uint8_t *data, size_t size, struct run *r)
{
	struct hw_engine *e = hw_engine__new(cfg, on_alert, r);
	const uint8_t *line = data, *end = data + size;

	CHECK(e);
	while (line < end) {
		const uint8_t *nl = memchr(line, '\n', (size_t)(end - line));
		size_t n = nl ? (size_t)(nl - line) : (size_t)(end - line);
		char *copy = malloc(n ? n : 1), err[200];
		int ret;

		CHECK(copy);
		memcpy(copy, line, n);
		memset(err, 'x', sizeof(err)); /* unterminated: a message must be written */
		ret = hw_engine__feed_line(e, copy, n, err, sizeof(err));
		if (ret) {
			CHECK(ret == -EINVAL || ret == -ENOMEM);
			check_message(err, sizeof(err));
		} else {
			CHECK(hw_engine__last_kind(e) <= HW_F_ALERT);
		}
		free(copy);
		line = nl ? nl + 1 : end;
	}
	CHECK(hw_engine__alerts(e) == r->n);
	hw_engine__free(e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run a = {0}, b = {0}, c = {0};

	/* the whole input as one document, then each line: as a document and as a time */
	fuzz_reader((const char *)data, size);
	for (const uint8_t *line = data, *end = data + size; line < end;) {
		const uint8_t *nl = memchr(line, '\n', (size_t)(end - line));
		size_t n = nl ? (size_t)(nl - line) : (size_t)(end - line);
		char *s = malloc(n + 1);

		CHECK(s);
		memcpy(s, line, n);
		s[n] = 0;
		fuzz_reader(s, n);
		fuzz_time(s);
		free(s);
		line = nl ? nl + 1 : end;
	}

	feed_all(&cfg_default, data, size, &a);
	feed_all(&cfg_tight, data, size, &b);
	feed_all(&cfg_tight, data, size, &c);
	CHECK(b.len == c.len && (!b.len || !memcmp(b.log, c.log, b.len)));
	run_free(&a);
	run_free(&b);
	run_free(&c);
	return 0;
}
