/* libFuzzer target: every line the ECS encoders can write is one the agent's own reader takes
 * (issue 11, finding 1: the agent must never write what it cannot read).
 *
 * The input drives a builder of random processes (argv of any count up to HW_ARGS_MAX bytes:
 * empty arguments, invalid UTF-8, control characters, long runs made by repeating a chunk;
 * paths, names and terminals of any bytes), connections, sessions, agent events and alerts;
 * each goes through its encoder (hw_ecs__proc_event, __net_event, __session_event,
 * __agent_event, hw_ecs__alert, hw_ecs__tick). Every line must:
 *   - be written (no error) as one line ending in '\n';
 *   - parse with hw_jdoc__parse (detect/jsonread.c: HW_JREAD_MAX_LEAVES values,
 *     HW_JREAD_MAX_LINE bytes), and be accepted by the engine's fact parser;
 *   - carry ecs.version;
 *   - for a process: keep process.args_count the count of the whole argv, write a prefix of
 *     it no longer than HW_ECS_ARGS_MAX elements, and list process.args in hopwatch.truncated
 *     whenever fewer elements were written than the argv has.
 * Any violation aborts.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect/engine.h"
#include "detect/fact.h"
#include "detect/jsonread.h"
#include "output/alert.h"
#include "output/ecs.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_ecs: check failed at line %d: %s\n", __LINE__,       \
				#cond);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

struct in {
	const uint8_t *p;
	size_t n;
};

static uint8_t byte(struct in *in)
{
	uint8_t b;

	if (!in->n)
		return 0;
	b = in->p[0];
	in->p++;
	in->n--;
	return b;
}

static uint32_t u32(struct in *in)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++)
		v = v << 8 | byte(in);
	return v;
}

/* Up to max bytes into out (NUL-terminated, so at most max - 1 from the input). */
static void text(struct in *in, char *out, size_t max)
{
	size_t n = byte(in) % max;

	if (n > in->n)
		n = in->n;
	memcpy(out, in->p, n);
	out[n] = 0;
	in->p += n;
	in->n -= n;
}

/* argv: a mix of chunks copied from the input and repeated, up to HW_ARGS_MAX bytes. */
static __u32 argv_bytes(struct in *in, char *out)
{
	__u32 len = 0;
	int chunks = byte(in) % 8;

	for (int c = 0; c < chunks && len < HW_ARGS_MAX; c++) {
		uint8_t mode = byte(in);
		size_t k = byte(in) % 16 + 1,
		       reps = (size_t)(byte(in) | byte(in) << 8) % HW_ARGS_MAX + 1;
		uint8_t chunk[16];

		for (size_t i = 0; i < k; i++)
			chunk[i] = byte(in);
		switch (mode % 4) {
		case 0: /* "a\0" many times: the most arguments */
			chunk[0] = 'a';
			chunk[1] = 0;
			k = 2;
			break;
		case 1: /* empty arguments */
			chunk[0] = 0;
			k = 1;
			break;
		case 2: /* control bytes: the longest escapes */
			memset(chunk, 0x01, k);
			break;
		default: /* whatever the input says, NULs and invalid UTF-8 included */
			break;
		}
		for (size_t r = 0; r < reps && len < HW_ARGS_MAX; r++)
			for (size_t i = 0; i < k && len < HW_ARGS_MAX; i++)
				out[len++] = (char)chunk[i];
	}
	return len;
}

static __u32 argv_count(const char *a, __u32 len)
{
	__u32 i = 0, n = 0;

	while (i < len) {
		const char *nul = memchr(a + i, 0, len - i);

		i += (nul ? (__u32)(nul - (a + i)) : len - i) + 1;
		n++;
	}
	return n;
}

static struct hw_jdoc *doc;
static char exe[HW_PATH_MAX + 8], cwd[HW_PATH_MAX + 8], argbuf[HW_ARGS_MAX];
static char uname1[64], uname2[64];

/* Checks one encoded line; p, when not NULL, is the process it carries. */
static void judge(const struct hw_json *j, const struct hw_process *p, int alert)
{
	struct hw_fact f;
	char err[256];
	unsigned long long count;
	size_t nargs = 0;
	int flagged = 0;

	CHECK(!j->error);
	CHECK(j->len && j->buf[j->len - 1] == '\n');
	CHECK(memchr(j->buf, '\n', j->len) == j->buf + j->len - 1);
	if (hw_jdoc__parse(doc, j->buf, j->len)) {
		fprintf(stderr, "fuzz_ecs: reader refused a line (%zu bytes, %zu values): %s\n",
			j->len, j->values, doc->err);
		abort();
	}
	CHECK(doc->n == j->values);
	CHECK(hw_fact__from_json(&f, doc, err, sizeof(err)) == 0);
	CHECK(!alert || f.kind == HW_F_ALERT);
	CHECK(hw_jdoc__str(doc, "ecs.version") &&
	      !strcmp(hw_jdoc__str(doc, "ecs.version"), HW_ECS_VERSION));
	if (!p || !(p->flags & HW_PROC_EXEC || p->args_len))
		return;
	CHECK(hw_jdoc__u64(doc, "process.args_count", &count) == 0);
	CHECK(count == argv_count(p->args, p->args_len));
	for (size_t i = 0; i < doc->n; i++) {
		const struct hw_jleaf *l = &doc->leaves[i];

		if (!strcmp(l->path, "process.args"))
			nargs++;
		if (!strcmp(l->path, "hopwatch.truncated") && !strcmp(l->val, "process.args"))
			flagged = 1;
	}
	CHECK(nargs <= HW_ECS_ARGS_MAX);
	CHECK(nargs <= count);
	CHECK(nargs == count || flagged);
}

static void build_proc(struct in *in, struct hw_process *p)
{
	memset(p, 0, sizeof(*p));
	p->k.pid = u32(in);
	p->k.tid = u32(in);
	p->k.ppid = u32(in);
	p->k.uid = u32(in);
	p->k.euid = u32(in);
	p->k.gid = u32(in);
	p->k.loginuid = u32(in);
	p->k.sessionid = u32(in);
	p->k.netns = u32(in);
	p->k.cgroup_id = u32(in);
	p->k.tty_major = byte(in);
	p->k.tty_minor = byte(in);
	p->k.start_ns = u32(in);
	text(in, p->k.comm, sizeof(p->k.comm));
	text(in, p->k.tty, sizeof(p->k.tty));
	text(in, p->entity_id, sizeof(p->entity_id));
	text(in, p->parent_entity_id, sizeof(p->parent_entity_id));
	text(in, p->session_id, sizeof(p->session_id));
	text(in, exe, sizeof(exe));
	text(in, cwd, sizeof(cwd));
	p->exe = byte(in) & 1 ? exe : NULL;
	p->cwd = byte(in) & 1 ? cwd : NULL;
	p->args = argbuf;
	p->args_len = argv_bytes(in, argbuf);
	p->flags = (byte(in) & 0x1f) | (byte(in) & 1 ? HW_PROC_EXEC : 0) |
		   (byte(in) & 1 ? HW_PROC_EXITED : 0);
	p->stdio_known = byte(in) & 1;
	for (int i = 0; i < 3; i++)
		p->stdio[i] = byte(in) % 12;
	p->exit_ns = u32(in);
	p->exit_code = u32(in);
	p->exe_uid = u32(in);
	p->exe_mode = u32(in);
}

static void build_addr(struct in *in, struct hw_sock_addr *a)
{
	memset(a, 0, sizeof(*a));
	for (int i = 0; i < 16; i++) {
		a->saddr[i] = byte(in);
		a->daddr[i] = byte(in);
	}
	a->sport = (__u16)u32(in);
	a->dport = (__u16)u32(in);
	a->family = byte(in) & 1 ? AF_INET6 : AF_INET;
	a->protocol = byte(in) & 1 ? 17 : 6;
}

static const char *const proc_actions[] = {"exec", "fork", "exit", "existing_process"};
static const char *const net_actions[] = {
    "connection_attempted", "connection_accepted", "disconnect",      "listen", "udp_flow",
    "existing_connection",  "existing_listener",   "connection_open",
};
static const char *const session_actions[] = {"user_login", "user_logout", "existing_session"};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	doc = calloc(1, sizeof(*doc));
	return doc ? 0 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in in = {data, size};
	struct hw_host h;
	struct hw_process p;
	struct hw_json j;

	memset(&h, 0, sizeof(h));
	text(&in, h.name, sizeof(h.name));
	text(&in, h.id, sizeof(h.id));
	text(&in, h.boot_id, sizeof(h.boot_id));
	h.ns_per_tick = 10000000;
	h.boot_to_real_ns = (__s64)u32(&in) * 1000000000LL;
	hw_json__init(&j);
	while (in.n) {
		uint8_t what = byte(&in);

		hw_json__reset(&j);
		switch (what % 6) {
		case 0: {
			struct hw_proc_event e = {
			    .action = proc_actions[byte(&in) % 4], .ts_ns = u32(&in), .p = &p};
			struct hw_sock_addr sa;

			build_proc(&in, &p);
			build_addr(&in, &sa);
			e.stdio_sock = byte(&in) & 1 ? &sa : NULL;
			e.stdio_conn_id = byte(&in) & 1 ? p.parent_entity_id : NULL;
			e.stdio_direction = byte(&in) % 3;
			text(&in, uname1, sizeof(uname1));
			text(&in, uname2, sizeof(uname2));
			e.user_name = byte(&in) & 1 ? uname1 : NULL;
			e.euser_name = byte(&in) & 1 ? uname2 : NULL;
			hw_ecs__proc_event(&j, &h, &e);
			judge(&j, &p, 0);
			break;
		}
		case 1: {
			struct hw_sock_addr a;
			struct hw_net_view v = {
			    .action = net_actions[byte(&in) % 8], .ts_ns = u32(&in), .addr = &a};
			int with_proc = byte(&in) & 1;

			build_addr(&in, &a);
			build_proc(&in, &p);
			text(&in, exe, sizeof(exe));
			text(&in, uname1, sizeof(uname1));
			v.conn_id = byte(&in) & 1 ? uname1 : NULL;
			v.p = with_proc ? &p : NULL;
			v.owner_pid = u32(&in);
			v.owner_entity_id = byte(&in) & 1 ? p.entity_id : NULL;
			v.owner_exe = byte(&in) & 1 ? exe : NULL;
			v.session_id = byte(&in) & 1 ? p.session_id : NULL;
			v.user_name = byte(&in) & 1 ? uname2 : NULL;
			v.start_ns = u32(&in);
			v.bytes_sent = u32(&in);
			v.bytes_received = u32(&in);
			v.have_bytes = byte(&in) & 1;
			v.error = (__s32)(byte(&in) & 1 ? u32(&in) : byte(&in) % 140);
			v.netns = u32(&in);
			v.direction = byte(&in) % 3;
			v.closed_by = byte(&in) % 3;
			hw_ecs__net_event(&j, &h, &v);
			judge(&j, v.p, 0);
			break;
		}
		case 2: {
			struct hw_session s;
			struct hw_session_bytes b = {u32(&in), u32(&in), byte(&in) % 3};
			struct hw_session_view v = {
			    .action = session_actions[byte(&in) % 3], .ts_ns = u32(&in), .s = &s};

			memset(&s, 0, sizeof(s));
			text(&in, s.id, sizeof(s.id));
			build_addr(&in, &s.addr);
			text(&in, s.service, sizeof(s.service));
			text(&in, s.user, sizeof(s.user));
			text(&in, s.auth_method, sizeof(s.auth_method));
			s.start_ns = u32(&in);
			s.login_ns = u32(&in);
			s.uid = u32(&in);
			s.audit_sid = u32(&in);
			s.auth_failures = u32(&in);
			s.state = byte(&in) % 6;
			s.verified = byte(&in) & 1;
			s.unverified = byte(&in) & 1 ? "the service is not root" : NULL;
			text(&in, uname1, sizeof(uname1));
			v.outcome = byte(&in) & 1 ? uname1 : NULL;
			v.reason = byte(&in) & 1 ? uname2 : NULL;
			build_proc(&in, &p);
			v.p = byte(&in) & 1 ? &p : NULL;
			v.bytes = byte(&in) & 1 ? &b : NULL;
			hw_ecs__session_event(&j, &h, &v);
			judge(&j, NULL, 0);
			break;
		}
		case 3: {
			struct hw_agent_counters c;
			struct hw_agent_event e = {.action = byte(&in) & 1 ? "agent-started"
									   : "agent-stopped",
						   .ts_ns = u32(&in),
						   .pid = u32(&in)};

			memset(&c, 0xff, sizeof(c));
			text(&in, uname1, sizeof(uname1));
			text(&in, exe, sizeof(exe));
			e.version = uname1;
			e.netns = byte(&in) & 1 ? exe : NULL;
			e.snapshot_procs = u32(&in);
			e.counters = byte(&in) & 1 ? &c : NULL;
			if (byte(&in) & 1) { /* output-resumed */
				e.output = uname1;
				e.output_lost = u32(&in);
				e.output_error = byte(&in) & 1 ? exe : NULL;
			}
			hw_ecs__agent_event(&j, &h, &e);
			judge(&j, NULL, 0);
			break;
		}
		case 4: {
			struct hw_alert a;
			static char strs[12][HW_PATH_MAX];

			memset(&a, 0, sizeof(a));
			for (int i = 0; i < 12; i++)
				text(&in, strs[i], sizeof(strs[i]));
			a.ts = (unsigned long long)u32(&in) * 1000000000ULL;
			a.rule_id = strs[0];
			a.rule_name = strs[1];
			a.severity = byte(&in);
			a.severity_name = strs[2];
			text(&in, a.message, sizeof(a.message));
			a.ntechniques = byte(&in) % (HW_ALERT_TECHNIQUES + 1);
			for (int i = 0; i < a.ntechniques; i++)
				a.techniques[i] = strs[3 + i % 9];
			text(&in, a.id, sizeof(a.id));
			a.host_id = strs[3];
			a.host_name = strs[4];
			a.session_id = strs[5];
			a.user = strs[6];
			a.service = strs[7];
			a.source_ip = strs[8];
			a.source_port = u32(&in);
			a.destination_ip = strs[9];
			a.destination_port = u32(&in);
			a.entity_id = strs[10];
			a.executable = strs[11];
			a.pid = u32(&in);
			a.connection_id = strs[5];
			a.nchain = byte(&in) % (HW_ALERT_CHAIN + 1);
			for (int i = 0; i < a.nchain; i++)
				a.chain[i] = a.chain_ids[i] = strs[i];
			a.nrelated = byte(&in) % 5;
			for (int i = 0; i < a.nrelated; i++)
				a.related_ids[i] = strs[i + 4];
			a.have_age = a.have_bytes = byte(&in) & 1;
			a.age_ns = u32(&in);
			a.count = u32(&in);
			a.nhosts = byte(&in) % 17;
			for (int i = 0; i < a.nhosts; i++)
				a.hosts[i] = strs[i % 12];
			hw_ecs__alert(&j, &a);
			judge(&j, NULL, 1);
			break;
		}
		default:
			hw_ecs__tick(&j, (unsigned long long)u32(&in) * 1000000000ULL, h.name,
				     h.id);
			judge(&j, NULL, 0);
			break;
		}
	}
	hw_json__free(&j);
	return 0;
}
