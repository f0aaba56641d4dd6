/* libFuzzer target for the collector's message handling (user/collect/fleet.c): subject and
 * payload -> checks -> facts -> one detection engine per host and the cross-host stitcher
 * (user/collect/stitch.c).
 *
 * The input is a stream of messages, one per line: "SUBJECT PAYLOAD" when the line starts with
 * "hopwatch." (a NATS message; the payload may be anything), "@SECONDS" moves the collector's
 * clock (hw_fleet__tick: bounded event times, idle hosts forgotten) to SECONDS after
 * 2026-11-27T10:00:00Z, else the whole line is a line of a recorded file (no subject). Each payload
 * is copied into a buffer of exactly its length, so an overread is caught. Nothing may crash or
 * leak, and:
 *   - a message is fed, skipped or refused; a refusal says why in one printable line that fits
 *     its buffer; the counters add up (messages = events + skipped + malformed + failed);
 *   - every alert is well formed: a known rule, severity and name, bounded lists of non-NULL
 *     strings, and for hop-chain a chain of 2 to HW_STITCH_MAX_HOPS hops naming one host more
 *     than it has hops; its ECS JSON is read back by the event reader as an alert of that rule;
 *   - the same messages fed again to a new fleet give the same alerts byte for byte, also when
 *     the clock is then moved on and the input ended (pending hop-chain alerts fire);
 *   - the fleet stays within its budgets: after each message its memory is at most
 *     collect.memory_max (the tight configuration's limits are small: 16M, 1M per host, 2
 *     alerts a minute, idle after 1 s).
 *
 * Seeds (tests/fuzz/corpus/fuzz_collect/): hosts b and c (and d) of tests/cli/test_collect.py,
 * their lines interleaved, with their subjects; agent-borrow.ndjson: root's hop from b with
 * the agent of alice's session (tests/cli/test_rule_agent_hijack.py).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect/fleet.h"
#include "config.h"
#include "detect/fact.h"
#include "detect/jsonread.h"
#include "output/alert.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_collect: check failed at line %d: %s\n", __LINE__,   \
				#cond);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

static struct hw_config cfg_default, cfg_tight;
static struct hw_jdoc *alert_doc;

static const char *const tight_sets[] = {
    "detect.fanout_hosts=2",
    "detect.bruteforce_failures=2",
    "detect.long_session=1s",
    "detect.long_connection=1s",
    "detect.allow_sources=198.18.0.4/32",
    "detect.internal_nets=198.18.0.0/15",
    "detect.admin_ports=22, 2222",
    "output.nats_subject=hopwatch",
    "collect.memory_max=16M",
    "collect.host_memory_max=1M",
    "collect.host_alerts=2",
    "collect.host_idle=1s",
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[256];

	(void)argc;
	(void)argv;
	alert_doc = calloc(1, sizeof(*alert_doc));
	if (!alert_doc || hw_config__init(&cfg_default) || hw_config__init(&cfg_tight))
		abort();
	for (size_t i = 0; i < sizeof(tight_sets) / sizeof(tight_sets[0]); i++)
		if (hw_config__set(&cfg_tight, tight_sets[i], err, sizeof(err)))
			abort();
	return 0;
}

struct run {
	struct hw_json j;
	char *log; /* every alert's JSON, for the second run to match */
	size_t len, cap;
	unsigned long long n;
};

static int known_rule(const char *id)
{
	static const char *const rules[] = {"lateral-movement",	 "admin-fanout",
					    "long-session",	 "long-connection",
					    "reverse-shell",	 "service-shell",
					    "brute-force",	 "tunnel",
					    "hop-chain",	 "agent-hijack",
					    "persistence",	 "transfer-exec",
					    "raw-socket-bridge", NULL};

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
		CHECK(a->related_ids[i] && a->related_ids[i][0]);
	CHECK(a->nhosts >= 0 && a->nhosts <= 16);
	for (int i = 0; i < a->nhosts; i++)
		CHECK(a->hosts[i]);
	CHECK(a->host_id && a->host_id[0] && a->host_name && a->host_name[0]);
	if (!strcmp(a->rule_id, "hop-chain")) {
		CHECK(a->count >= 2 && a->count <= HW_STITCH_MAX_HOPS);
		CHECK(a->nhosts == (int)a->count + 1);
		CHECK(!strcmp(a->hosts[a->nhosts - 1], a->host_name));
		CHECK(strstr(a->message, " hopped "));
	}
}

static void on_alert(const struct hw_alert *a, void *ctx)
{
	struct run *r = ctx;
	struct hw_fact f;
	char why[200];

	check_alert(a);
	r->n++;
	hw_json__reset(&r->j);
	hw_ecs__alert(&r->j, a);
	CHECK(!r->j.error && r->j.len > 1 && r->j.buf[r->j.len - 1] == '\n');
	CHECK(memchr(r->j.buf, '\n', r->j.len) == r->j.buf + r->j.len - 1);
	/* the collector skips alert lines in its input, and publishes these */
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
}

static void check_message(const char *err, size_t errlen)
{
	size_t n = strnlen(err, errlen);

	CHECK(n > 0 && n < errlen);
	for (size_t i = 0; i < n; i++)
		CHECK((unsigned char)err[i] >= 0x20 && err[i] != 0x7f);
}

static void feed_all(const struct hw_config *cfg, const uint8_t *data, size_t size, struct run *r)
{
	struct hw_fleet *f = hw_fleet__new(cfg, on_alert, r);
	struct hw_fleet_stats st;
	const uint8_t *line = data, *end = data + size;
	unsigned long long nomem = 0;

	CHECK(f);
	while (line < end) {
		const uint8_t *nl = memchr(line, '\n', (size_t)(end - line));
		size_t n = nl ? (size_t)(nl - line) : (size_t)(end - line), skip = 0;
		char subject[256], err[200], *copy;
		const char *subj = NULL;
		int ret;

		if (n > 1 && n < 16 && line[0] == '@') {
			unsigned long long sec = 0;

			for (size_t i = 1; i < n && line[i] >= '0' && line[i] <= '9'; i++)
				sec = sec * 10 + (unsigned long long)(line[i] - '0');
			hw_fleet__tick(f, (1795860000ULL + sec) * 1000000000ULL);
			line = nl ? nl + 1 : end;
			continue;
		}
		if (n > 9 && !memcmp(line, "hopwatch.", 9)) {
			const uint8_t *sp = memchr(line, ' ', n);
			size_t sl = sp ? (size_t)(sp - line) : n;

			if (sl >= sizeof(subject))
				sl = sizeof(subject) - 1;
			memcpy(subject, line, sl);
			subject[sl] = 0;
			subj = subject;
			skip = sp ? (size_t)(sp - line) + 1 : n;
		}
		copy = malloc(n - skip ? n - skip : 1);
		CHECK(copy);
		memcpy(copy, line + skip, n - skip);
		memset(err, 'x', sizeof(err)); /* unterminated: a refusal must write a message */
		ret = hw_fleet__feed(f, subj, copy, n - skip, err, sizeof(err));
		if (ret == -EINVAL)
			check_message(err, sizeof(err));
		else if (ret == -ENOMEM)
			nomem++;
		else
			CHECK(ret == 0);
		free(copy);
		hw_fleet__stats(f, &st, NULL);
		CHECK(st.memory <= cfg->collect_memory_max);
		line = nl ? nl + 1 : end;
	}
	/* an hour on, then the end: alerts waiting for a login fire, old halves go */
	hw_fleet__tick(f, hw_fleet__now(f) + 3600ULL * 1000000000ULL);
	hw_fleet__flush(f);
	hw_fleet__stats(f, &st, NULL);
	CHECK(st.alerts == r->n);
	CHECK(st.failed == nomem);
	CHECK(st.messages == st.events + st.skipped + st.malformed + st.failed);
	hw_fleet__free(f);
}

static void run_free(struct run *r)
{
	hw_json__free(&r->j);
	free(r->log);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run a = {0}, b = {0}, c = {0};

	feed_all(&cfg_default, data, size, &a);
	feed_all(&cfg_tight, data, size, &b);
	feed_all(&cfg_tight, data, size, &c);
	CHECK(b.n == c.n && b.len == c.len && (!b.len || !memcmp(b.log, c.log, b.len)));
	run_free(&a);
	run_free(&b);
	run_free(&c);
	return 0;
}
