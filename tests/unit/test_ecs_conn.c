/* The fleet profile's records (output/ecs_conn.c, the slim forms of output/ecs.c): the
 * loopback summary counts per (process, port, direction, netns), stays within its bound under
 * a flood of keys (one overflow line), and tells loopback from everything else; the
 * connection_closed line carries both ends, both times, bytes each way and who closed, and
 * reads back as the fact the engine and the stitcher take (HW_F_CONN_CLOSED); the slim
 * process carries the identity only. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "detect/fact.h"
#include "detect/jsonread.h"
#include "output/ecs.h"
#include "output/ecs_conn.h"
#include "output/ocsf.h"
#include "fixtures.h"
#include "test.h"

static void proc(struct hw_process *p, const char *entity, __u32 pid)
{
	static char args[] = "curl\0-s\0http://x\0";

	memset(p, 0, sizeof(*p));
	p->k.pid = p->k.tid = pid;
	p->k.ppid = 1;
	p->k.loginuid = p->k.sessionid = (__u32)-1;
	memcpy(p->k.comm, "curl", 5);
	snprintf(p->entity_id, sizeof(p->entity_id), "%s", entity);
	memcpy(p->parent_entity_id, "E0", 3);
	p->exe = "/usr/bin/curl";
	p->cwd = "/home/u";
	p->args = args;
	p->args_len = sizeof(args) - 1;
	p->flags = HW_PROC_EXEC;
}

static struct hw_sock_addr addr4(const char *s, __u16 sport, const char *d, __u16 dport)
{
	struct hw_sock_addr a = {
	    .family = AF_INET, .protocol = IPPROTO_TCP, .sport = sport, .dport = dport};

	inet_pton(AF_INET, s, a.saddr);
	inet_pton(AF_INET, d, a.daddr);
	return a;
}

TEST(loopback_pair_only_both_ends_loopback)
{
	struct hw_sock_addr a = addr4("127.0.0.1", 1, "127.0.0.53", 2);
	struct hw_sock_addr b = addr4("198.18.0.2", 1, "127.0.0.1", 2);
	struct hw_sock_addr c = addr4("198.18.0.2", 1, "198.18.0.2", 2);
	struct hw_sock_addr d = addr4("198.18.0.2", 1, "198.18.0.1", 2);
	struct hw_sock_addr e = {.family = AF_INET6, .protocol = IPPROTO_TCP};

	CHECK(hw_addr__loopback_pair(&a));
	CHECK(!hw_addr__loopback_pair(&b));
	CHECK(!hw_addr__loopback_pair(&c)); /* the host's own address: not summarised */
	CHECK(!hw_addr__loopback_pair(&d));
	inet_pton(AF_INET6, "::1", e.saddr);
	inet_pton(AF_INET6, "::1", e.daddr);
	CHECK(hw_addr__loopback_pair(&e));
	inet_pton(AF_INET6, "::ffff:127.0.0.1", e.daddr);
	CHECK(hw_addr__loopback_pair(&e));
	inet_pton(AF_INET6, "2001:db8::1", e.daddr);
	CHECK(!hw_addr__loopback_pair(&e));
}

struct lines {
	int n;
	char buf[8][2048];
};

static void keep(struct hw_json *j, void *ctx)
{
	struct lines *l = ctx;

	if (l->n < 8 && j->len < sizeof(l->buf[0]) && !j->error) {
		memcpy(l->buf[l->n], j->buf, j->len);
		l->buf[l->n][j->len] = 0;
	}
	l->n++;
}

TEST(loopback_summary_counts_per_key)
{
	struct hw_host h = hw_test__host();
	struct hw_process p, q;
	struct hw_sock_addr cl = addr4("127.0.0.1", 50000, "127.0.0.1", 6379);
	struct hw_sock_addr sv = addr4("127.0.0.1", 6379, "127.0.0.1", 50000);
	struct hw_loopsum s = {0};
	struct hw_json j;
	struct lines out = {0};
	struct hw_jdoc *d = calloc(1, sizeof(*d));
	unsigned long long v = 0;

	proc(&p, "CLIENT", 10);
	proc(&q, "SERVER", 11);
	hw_json__init(&j);
	for (int i = 0; i < 1000; i++) {
		struct hw_net_view c = {.action = "disconnect",
					.ts_ns = 1000 + i,
					.addr = &cl,
					.p = &p,
					.direction = HW_DIR_EGRESS,
					.netns = 7,
					.bytes_sent = 3,
					.bytes_received = 5};
		struct hw_net_view s2 = c;

		s2.addr = &sv;
		s2.p = &q;
		s2.direction = HW_DIR_INGRESS;
		s2.bytes_sent = 5;
		s2.bytes_received = 3;
		cl.sport = sv.dport = (__u16)(50000 + i); /* every connection its own client port */
		hw_loopsum__add(&s, &c);
		hw_loopsum__add(&s, &s2);
	}
	CHECK_EQ(hw_loopsum__count(&s), 2);
	CHECK_EQ(hw_loopsum__flush(&s, &h, 5000, &j, keep, &out), 2);
	CHECK_EQ(hw_loopsum__count(&s), 0);
	if (!CHECK_EQ(out.n, 2) || !CHECK(hw_jdoc__parse(d, out.buf[0], strlen(out.buf[0])) == 0))
		goto out;
	CHECK_STREQ(hw_jdoc__str(d, "event.action"), "loopback_summary");
	CHECK_STREQ(hw_jdoc__str(d, "process.entity_id"), "CLIENT");
	CHECK_STREQ(hw_jdoc__str(d, "process.executable"), "/usr/bin/curl");
	CHECK_STREQ(hw_jdoc__str(d, "network.direction"), "egress");
	CHECK(!hw_jdoc__u64(d, "destination.port", &v) && v == 6379);
	CHECK(!hw_jdoc__u64(d, "hopwatch.summary.connections", &v) && v == 1000);
	CHECK(!hw_jdoc__u64(d, "hopwatch.summary.bytes_sent", &v) && v == 3000);
	CHECK(!hw_jdoc__u64(d, "hopwatch.summary.bytes_received", &v) && v == 5000);
	CHECK(!hw_jdoc__get(d, "process.args")); /* the identity only */
	CHECK_STREQ(hw_jdoc__str(d, "event.start"), "2026-11-27T16:00:00.000001000Z");
	CHECK_STREQ(hw_jdoc__str(d, "event.end"), "2026-11-27T16:00:00.000001999Z");
	if (!CHECK(hw_jdoc__parse(d, out.buf[1], strlen(out.buf[1])) == 0))
		goto out;
	CHECK_STREQ(hw_jdoc__str(d, "process.entity_id"), "SERVER");
	CHECK_STREQ(hw_jdoc__str(d, "network.direction"), "ingress");
	CHECK(!hw_jdoc__u64(d, "destination.port", &v) && v == 6379);
	/* the rules do not take it: nothing for the engine to judge */
	{
		struct hw_fact f;
		char err[128];

		CHECK(hw_fact__from_json(&f, d, err, sizeof(err)) == 0);
		CHECK_EQ(f.kind, HW_F_OTHER);
	}
	/* in OCSF: Network Activity, Traffic, the count of connections */
	{
		struct hw_ocsf *o = hw_ocsf__new();
		const char *l = NULL;
		size_t ll = 0;

		if (CHECK(o != NULL) &&
		    CHECK(hw_ocsf__translate(o, out.buf[0], strlen(out.buf[0]), &l, &ll) > 0)) {
			char *t = strndup(l, ll);

			CHECK(strstr(t, "\"activity_id\":6,") != NULL);
			CHECK(strstr(t, "\"count\":1000") != NULL);
			free(t);
		}
		hw_ocsf__free(o);
	}
out:
	hw_loopsum__free(&s);
	hw_json__free(&j);
	hw_jdoc__free(d);
	free(d);
}

TEST(loopback_summary_bounded_under_a_flood_of_keys)
{
	struct hw_host h = hw_test__host();
	struct hw_process p;
	struct hw_sock_addr a = addr4("127.0.0.1", 50000, "127.0.0.1", 1);
	struct hw_loopsum s = {.max = 4};
	struct hw_json j;
	struct lines out = {0};
	struct hw_jdoc *d = calloc(1, sizeof(*d));
	unsigned long long v = 0;

	proc(&p, "FLOOD", 10);
	hw_json__init(&j);
	/* 100 ports: 4 keys fit, the other 96 ports' connections go to the overflow line */
	for (int i = 0; i < 100; i++) {
		struct hw_net_view c = {.action = "disconnect",
					.ts_ns = 1000,
					.addr = &a,
					.p = &p,
					.direction = HW_DIR_EGRESS};

		a.dport = (__u16)(1000 + i);
		hw_loopsum__add(&s, &c);
		hw_loopsum__add(&s, &c);
	}
	CHECK_EQ(hw_loopsum__count(&s), 5);
	CHECK_EQ(hw_loopsum__flush(&s, &h, 5000, &j, keep, &out), 5);
	if (!CHECK_EQ(out.n, 5) || !CHECK(hw_jdoc__parse(d, out.buf[4], strlen(out.buf[4])) == 0))
		goto out;
	CHECK(!hw_jdoc__u64(d, "hopwatch.summary.connections", &v) && v == 192);
	CHECK(hw_jdoc__get(d, "hopwatch.summary.overflow") != NULL);
	CHECK(!hw_jdoc__get(d, "process.entity_id"));
	/* the next interval starts empty */
	out.n = 0;
	CHECK_EQ(hw_loopsum__flush(&s, &h, 6000, &j, keep, &out), 0);
out:
	hw_loopsum__free(&s);
	hw_json__free(&j);
	hw_jdoc__free(d);
	free(d);
}

TEST(connection_closed_reads_back_as_the_fact)
{
	struct hw_host h = hw_test__host();
	struct hw_process p;
	struct hw_sock_addr a = addr4("198.18.0.2", 41000, "198.18.0.3", 22);
	struct hw_net_view v = {.action = "connection_closed",
				.ts_ns = 5000000000ULL,
				.addr = &a,
				.conn_id = "CONN1",
				.p = &p,
				.start_ns = 2000000000ULL,
				.bytes_sent = 100,
				.bytes_received = 2000,
				.have_bytes = 1,
				.netns = 9,
				.direction = HW_DIR_EGRESS,
				.closed_by = HW_CLOSED_REMOTE,
				.slim = 1};
	struct hw_json j;
	struct hw_jdoc *d = calloc(1, sizeof(*d));
	struct hw_fact f;
	char err[128];
	unsigned long long n = 0;

	proc(&p, "OWNER", 77);
	memcpy(p.session_id, "S1", 3);
	hw_json__init(&j);
	hw_ecs__net_event(&j, &h, &v);
	if (!CHECK_EQ(j.error, 0) || !CHECK(hw_jdoc__parse(d, j.buf, j.len) == 0))
		goto out;
	CHECK(j.len < 800);
	CHECK_STREQ(hw_jdoc__str(d, "event.type"), "end");
	CHECK(!hw_jdoc__u64(d, "event.duration", &n) && n == 3000000000ULL);
	CHECK_STREQ(hw_jdoc__str(d, "hopwatch.connection.closed_by"), "remote");
	CHECK(!hw_jdoc__get(d, "process.args"));
	CHECK(!hw_jdoc__get(d, "process.working_directory"));
	CHECK(!hw_jdoc__get(d, "user.id"));
	if (!CHECK(hw_fact__from_json(&f, d, err, sizeof(err)) == 0))
		goto out;
	CHECK_EQ(f.kind, HW_F_CONN_CLOSED);
	CHECK(f.egress);
	CHECK_STREQ(f.src.ip, "198.18.0.2");
	CHECK_EQ(f.src.port, 41000);
	CHECK_EQ(f.src.bytes, 100);
	CHECK_STREQ(f.dst.ip, "198.18.0.3");
	CHECK_EQ(f.dst.port, 22);
	CHECK_EQ(f.dst.bytes, 2000);
	CHECK_EQ(f.conn_start, 1795795202000000000ULL);
	CHECK_EQ(f.ts, 1795795205000000000ULL);
	CHECK_STREQ(f.conn_id, "CONN1");
	CHECK_STREQ(f.entity_id, "OWNER");
	CHECK_STREQ(f.executable, "/usr/bin/curl");
	CHECK_STREQ(f.session_id, "S1");
	/* -o ocsf and the OCSF sinks: Network Activity, Close, with its traffic */
	{
		struct hw_ocsf *o = hw_ocsf__new();
		const char *l = NULL;
		size_t ll = 0;

		if (CHECK(o != NULL) && CHECK(hw_ocsf__translate(o, j.buf, j.len, &l, &ll) > 0)) {
			char *t = strndup(l, ll);

			CHECK(strstr(t, "\"class_uid\":4001") != NULL);
			CHECK(strstr(t, "\"activity_id\":2,") != NULL);
			CHECK(strstr(t, "\"traffic\":{\"bytes_out\":100,\"bytes_in\":2000") !=
			      NULL);
			free(t);
		}
		hw_ocsf__free(o);
	}
out:
	hw_json__free(&j);
	hw_jdoc__free(d);
	free(d);
}

TEST(slim_fork_and_exit)
{
	struct hw_host h = hw_test__host();
	struct hw_process p;
	struct hw_proc_event e = {.action = "fork", .ts_ns = 1000, .p = &p, .slim = 1};
	struct hw_json j;
	struct hw_jdoc *d = calloc(1, sizeof(*d));
	struct hw_fact f;
	char err[128];

	proc(&p, "CHILD", 99);
	p.exe_mode = 0755;
	hw_json__init(&j);
	hw_ecs__proc_event(&j, &h, &e);
	if (!CHECK(hw_jdoc__parse(d, j.buf, j.len) == 0) ||
	    !CHECK(hw_fact__from_json(&f, d, err, sizeof(err)) == 0))
		goto out;
	CHECK_EQ(f.kind, HW_F_FORK);
	CHECK_STREQ(f.entity_id, "CHILD");
	CHECK_STREQ(f.parent_entity_id, "E0");
	CHECK(!hw_jdoc__get(d, "process.args"));
	CHECK(!hw_jdoc__get(d, "process.working_directory"));
	CHECK(hw_jdoc__get(d, "hopwatch.exe.trusted") != NULL);
	p.flags |= HW_PROC_EXITED;
	p.exit_code = 9; /* SIGKILL */
	p.exit_ns = 2000;
	e.action = "exit";
	hw_json__reset(&j);
	hw_ecs__proc_event(&j, &h, &e);
	if (!CHECK(hw_jdoc__parse(d, j.buf, j.len) == 0) ||
	    !CHECK(hw_fact__from_json(&f, d, err, sizeof(err)) == 0))
		goto out;
	CHECK_EQ(f.kind, HW_F_EXIT);
	CHECK_STREQ(f.entity_id, "CHILD");
	CHECK(j.len < 500);
	{
		const struct hw_jleaf *l = hw_jdoc__get(d, "process.exit_code");

		CHECK(l && !strcmp(l->val, "137"));
	}
out:
	hw_json__free(&j);
	hw_jdoc__free(d);
	free(d);
}
