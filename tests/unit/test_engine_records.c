/* The engine's records whose lists grow as they are used (detect/engine_int.h): the hosts a
 * process or session reached on admin ports (admin-fanout) and the destinations a session was
 * alerted for (lateral-movement). They start empty and grow to their bound, so that a
 * collector's thousands of engines do not each hold 14 KB for every process that connected
 * once; what the rules say must not change with it, and hw_engine__memory() counts them. */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "detect/engine.h"
#include "fixtures.h"
#include "lib/str.h"
#include "test.h"

struct got {
	int n, fanout, lateral;
	unsigned int fanout_count;
	int fanout_hosts;
	char fanout_first[64], fanout_last[64];
};

static void on_alert(const struct hw_alert *a, void *ctx)
{
	struct got *g = ctx;

	g->n++;
	if (!strcmp(a->rule_id, "lateral-movement"))
		g->lateral++;
	if (!strcmp(a->rule_id, "admin-fanout")) {
		g->fanout++;
		g->fanout_count = a->count;
		g->fanout_hosts = a->nhosts;
		snprintf(g->fanout_first, sizeof(g->fanout_first), "%s",
			 a->nhosts ? a->hosts[0] : "");
		snprintf(g->fanout_last, sizeof(g->fanout_last), "%s",
			 a->nhosts ? a->hosts[a->nhosts - 1] : "");
	}
}

/* Process "proc-k" (in session sid when given) connects to 198.18.H.L:22. */
static void connect_to(struct hw_engine *e, double sec, const char *sid, int host)
{
	struct hw_fact f;

	hw_test__fact(&f, HW_F_CONNECT, sec);
	snprintf(f.entity_id, sizeof(f.entity_id), "proc-k");
	snprintf(f.executable, sizeof(f.executable), "/usr/bin/ssh");
	snprintf(f.name, sizeof(f.name), "ssh");
	f.pid = 4242;
	if (sid)
		snprintf(f.session_id, sizeof(f.session_id), "%s", sid);
	snprintf(f.src.ip, sizeof(f.src.ip), "198.18.0.1");
	f.src.port = 40000;
	snprintf(f.dst.ip, sizeof(f.dst.ip), "198.18.%d.%d", 1 + host / 250, 1 + host % 250);
	f.dst.port = 22;
	f.egress = 1;
	/* no connection id: the engine keeps no connection record, so what grows is the list */
	hw_engine__feed(e, &f);
}

/* window: detect.fanout_window ("1ms" keeps the fan-out list at one host: 10 ms apart) */
static struct hw_engine *engine(struct hw_config *cfg, struct got *g, const char *window)
{
	struct hw_engine *e;
	char err[256];

	if (!CHECK_EQ(hw_config__init(cfg), 0))
		return NULL;
	if (!CHECK_EQ(hw_config__set(cfg, "detect.internal_nets=198.18.0.0/15", err, sizeof(err)),
		      0) ||
	    !CHECK_EQ(hw_config__set(cfg, "detect.fanout_hosts=5", err, sizeof(err)), 0) ||
	    !CHECK_EQ(hw_config__set(cfg, window, err, sizeof(err)), 0)) {
		hw_config__free(cfg);
		return NULL;
	}
	e = hw_engine__new(cfg, on_alert, g);
	if (!CHECK(e))
		hw_config__free(cfg);
	return e;
}

/* 300 hosts reached by one process within the window: one admin-fanout alert, at the fifth,
 * naming the first five; the record grows with the hosts and stops at 256 of them; a tick
 * after the window frees it. */
TEST(engine_fanout_hosts_grow_to_their_bound)
{
	struct hw_config cfg;
	struct got g = {0};
	struct hw_engine *e = engine(&cfg, &g, "detect.fanout_window=10m");
	size_t m1, m4 = 0, m5 = 0, m256 = 0, m300;
	struct hw_fact t;

	if (!e)
		return;
	connect_to(e, 1, NULL, 0);
	m1 = hw_engine__memory(e);
	for (int h = 1; h < 300; h++) {
		connect_to(e, 1 + h * 0.01, NULL, h);
		if (h == 3)
			m4 = hw_engine__memory(e);
		if (h == 4)
			m5 = hw_engine__memory(e);
		if (h == 255)
			m256 = hw_engine__memory(e);
	}
	m300 = hw_engine__memory(e);
	CHECK_EQ(g.fanout, 1);
	CHECK_EQ(g.fanout_count, 5);
	CHECK_EQ(g.fanout_hosts, 5);
	CHECK_STREQ(g.fanout_first, "198.18.1.1");
	CHECK_STREQ(g.fanout_last, "198.18.1.5");
	/* four hosts fit the first room; the fifth doubles it; 256 is the bound */
	CHECK_EQ(m4, m1);
	CHECK(m5 > m4);
	CHECK(m256 > m5 + 200 * 48);
	CHECK_EQ(m300, m256);
	/* the window passes: the tick forgets the record and its hosts */
	hw_test__fact(&t, HW_F_TICK, 1 + 11 * 60);
	hw_engine__feed(e, &t);
	CHECK(hw_engine__memory(e) + 256 * 48 < m300);
	hw_engine__free(e);
	hw_config__free(&cfg);
}

/* A session reaching 70 admin destinations: one lateral-movement alert for each of the first
 * 64, none after (the same destination again says nothing either); its list grows with them
 * and goes with the session at its logout. */
TEST(engine_session_lateral_grows_to_its_bound)
{
	struct hw_config cfg;
	struct got g = {0};
	struct hw_engine *e = engine(&cfg, &g, "detect.fanout_window=1ms");
	size_t before, m64 = 0, m70;
	struct hw_fact f;

	if (!e)
		return;
	hw_test__fact(&f, HW_F_LOGIN, 0.5);
	snprintf(f.session_id, sizeof(f.session_id), "sess-1");
	snprintf(f.entity_id, sizeof(f.entity_id), "sshd-1");
	snprintf(f.user, sizeof(f.user), "alice");
	snprintf(f.service, sizeof(f.service), "sshd");
	snprintf(f.src.ip, sizeof(f.src.ip), "198.19.0.9");
	f.src.port = 50000;
	snprintf(f.dst.ip, sizeof(f.dst.ip), "198.18.0.1");
	f.dst.port = 22;
	hw_engine__feed(e, &f);
	connect_to(e, 0.9, "sess-1", 0); /* the process is known before the count starts */
	before = hw_engine__memory(e);
	for (int h = 1; h < 70; h++) {
		connect_to(e, 1 + h * 0.01, "sess-1", h);
		if (h == 63)
			m64 = hw_engine__memory(e);
	}
	connect_to(e, 2, "sess-1", 3);
	m70 = hw_engine__memory(e);
	CHECK_EQ(g.lateral, 64);
	CHECK(m64 > before + 60 * 48);
	CHECK_EQ(m70, m64);
	hw_test__fact(&f, HW_F_LOGOUT, 3);
	snprintf(f.session_id, sizeof(f.session_id), "sess-1");
	hw_engine__feed(e, &f);
	CHECK(hw_engine__memory(e) + 64 * 48 < m70);
	hw_engine__free(e);
	hw_config__free(&cfg);
}

/* A process event: kind for entity id (parent, executable when given) at sec. */
static void proc_event(struct hw_engine *e, enum hw_fact_kind kind, double sec, const char *id,
		       const char *parent, const char *exe, unsigned int pid)
{
	struct hw_fact f;

	hw_test__fact(&f, kind, sec);
	snprintf(f.entity_id, sizeof(f.entity_id), "%s", id);
	snprintf(f.parent_entity_id, sizeof(f.parent_entity_id), "%s", parent ? parent : "");
	snprintf(f.executable, sizeof(f.executable), "%s", exe ? exe : "");
	snprintf(f.name, sizeof(f.name), "%s", exe ? hw_str__base_name(exe) : "");
	f.pid = pid;
	hw_engine__feed(e, &f);
}

/* 500 processes of three executables, forked, exec'd and exited: the engine holds one copy of
 * each path, not 256 bytes of path for each process. */
TEST(engine_executables_are_shared)
{
	static const char *const exes[] = {"/usr/bin/curl", "/usr/bin/wget", "/bin/sh"};
	struct hw_config cfg;
	struct got g = {0};
	struct hw_engine *e = engine(&cfg, &g, "detect.fanout_window=10m");
	size_t before, after;

	if (!e)
		return;
	proc_event(e, HW_F_PROC_SNAPSHOT, 1, "cron", NULL, "/usr/sbin/cron", 600);
	before = hw_engine__memory(e);
	for (int i = 0; i < 500; i++) {
		char id[16];
		double t = 2 + i * 0.001;
		unsigned int pid = 1000 + (unsigned int)i;

		snprintf(id, sizeof(id), "p%d", i);
		proc_event(e, HW_F_FORK, t, id, "cron", NULL, pid);
		proc_event(e, HW_F_EXEC, t, id, "cron", exes[i % 3], pid);
		proc_event(e, HW_F_EXIT, t, id, "cron", NULL, pid);
	}
	after = hw_engine__memory(e);
	/* a process record and its share of the table, not 256 bytes of path each */
	CHECK(after - before < 500 * 400);
	CHECK(after - before > 500 * 200);
	hw_engine__free(e);
	hw_config__free(&cfg);
}
