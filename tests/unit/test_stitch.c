/* The collector's stitcher (user/collect/stitch.c): hops from the halves of connections seen on
 * two hosts, chains from the sessions hops leave, in every arrival order. Facts are built by
 * hand, as fact.c reads them from the agents' lines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect/stitch.h"
#include "test.h"

#define SEC 1000000000ULL
#define T0  (1795860000ULL * SEC) /* 2026-11-27T10:00:00Z */

#define A_IP "198.18.0.1"
#define B_IP "198.18.0.2"
#define C_IP "198.18.0.3"
#define D_IP "198.18.0.4"

/* --- what the alerts said ----------------------------------------------------------------- */

#define MAX_SEEN 16

struct seen {
	int n;
	char rule[MAX_SEEN][32], host[MAX_SEEN][64], session[MAX_SEEN][64], user[MAX_SEEN][64];
	char message[MAX_SEEN][640], id[MAX_SEEN][24], hosts[MAX_SEEN][256];
	char related[MAX_SEEN][256], techniques[MAX_SEEN][64];
	unsigned int count[MAX_SEEN];
	int severity[MAX_SEEN];
};

static void join(char *out, size_t len, const char *const *v, int n)
{
	size_t off = 0;

	out[0] = 0;
	for (int i = 0; i < n && off < len; i++)
		off += (size_t)snprintf(out + off, len - off, "%s%s", i ? "," : "", v[i]);
}

static void on_alert(const struct hw_alert *a, void *ctx)
{
	struct seen *s = ctx;
	int i = s->n++;

	if (i >= MAX_SEEN)
		return;
	snprintf(s->rule[i], sizeof(s->rule[i]), "%s", a->rule_id);
	snprintf(s->host[i], sizeof(s->host[i]), "%s", a->host_name);
	snprintf(s->session[i], sizeof(s->session[i]), "%s", a->session_id ? a->session_id : "");
	snprintf(s->user[i], sizeof(s->user[i]), "%s", a->user ? a->user : "");
	snprintf(s->message[i], sizeof(s->message[i]), "%s", a->message);
	snprintf(s->id[i], sizeof(s->id[i]), "%s", a->id);
	join(s->hosts[i], sizeof(s->hosts[i]), a->hosts, a->nhosts);
	join(s->related[i], sizeof(s->related[i]), a->related_ids, a->nrelated);
	join(s->techniques[i], sizeof(s->techniques[i]), a->techniques, a->ntechniques);
	s->count[i] = a->count;
	s->severity[i] = a->severity;
}

/* --- facts -------------------------------------------------------------------------------- */

static void host(struct hw_fact *f, const char *name, unsigned long long ts)
{
	memset(f, 0, sizeof(*f));
	f->ts = ts;
	snprintf(f->host_name, sizeof(f->host_name), "%s", name);
	snprintf(f->host_id, sizeof(f->host_id), "id-of-%s", name);
}

static void ep(struct hw_fact_ep *e, const char *ip, unsigned int port)
{
	snprintf(e->ip, sizeof(e->ip), "%s", ip);
	e->port = port;
}

/* connection_attempted, success, egress, by exe (in session, or none when "") */
static void connect_(struct hw_stitch *s, const char *name, double t, const char *src,
		     unsigned int sport, const char *dst, unsigned int dport, const char *session,
		     const char *exe, const char *user)
{
	struct hw_fact f;

	host(&f, name, T0 + (unsigned long long)(t * SEC));
	f.kind = HW_F_CONNECT;
	f.egress = 1;
	ep(&f.src, src, sport);
	ep(&f.dst, dst, dport);
	f.conn_start = f.ts;
	f.pid = 4242;
	snprintf(f.entity_id, sizeof(f.entity_id), "proc-%s-%u", name, sport);
	snprintf(f.executable, sizeof(f.executable), "%s", exe);
	snprintf(f.user, sizeof(f.user), "%s", user);
	snprintf(f.session_id, sizeof(f.session_id), "%s", session);
	snprintf(f.conn_id, sizeof(f.conn_id), "conn-%s-%u", name, sport);
	hw_stitch__feed(s, &f);
}

/* connection_accepted by sshd: client -> server */
static void accept_(struct hw_stitch *s, const char *name, double t, const char *client,
		    unsigned int cport, const char *server, unsigned int port)
{
	struct hw_fact f;

	host(&f, name, T0 + (unsigned long long)(t * SEC));
	f.kind = HW_F_ACCEPT;
	ep(&f.src, client, cport);
	ep(&f.dst, server, port);
	f.conn_start = f.ts;
	f.pid = 800;
	snprintf(f.entity_id, sizeof(f.entity_id), "sshd-of-%s", name);
	snprintf(f.executable, sizeof(f.executable), "/usr/sbin/sshd");
	snprintf(f.conn_id, sizeof(f.conn_id), "in-%s-%u", name, cport);
	hw_stitch__feed(s, &f);
}

/* user_login success; the session started (was accepted) at `start` */
static void login(struct hw_stitch *s, const char *name, double start, double t, const char *client,
		  unsigned int cport, const char *server, const char *session, const char *user)
{
	struct hw_fact f;

	host(&f, name, T0 + (unsigned long long)(t * SEC));
	f.kind = HW_F_LOGIN;
	ep(&f.src, client, cport);
	ep(&f.dst, server, 22);
	f.session_start = T0 + (unsigned long long)(start * SEC);
	f.pid = 900;
	snprintf(f.entity_id, sizeof(f.entity_id), "handler-%s", session);
	snprintf(f.executable, sizeof(f.executable), "/usr/sbin/sshd");
	snprintf(f.user, sizeof(f.user), "%s", user);
	snprintf(f.service, sizeof(f.service), "sshd");
	snprintf(f.session_id, sizeof(f.session_id), "%s", session);
	hw_stitch__feed(s, &f);
}

static void logout(struct hw_stitch *s, const char *name, double t, const char *session)
{
	struct hw_fact f;

	host(&f, name, T0 + (unsigned long long)(t * SEC));
	f.kind = HW_F_LOGOUT;
	snprintf(f.session_id, sizeof(f.session_id), "%s", session);
	hw_stitch__feed(s, &f);
}

/* --- the A -> B -> C scenario, as four steps fed in any order ----------------------------- */

/* 0: b's session from A (no agent on A); 1: ssh from that session on b to c; 2: c's sshd
 * accepts; 3: the login on c */
static void step(struct hw_stitch *s, int i)
{
	switch (i) {
	case 0:
		accept_(s, "b", 2.0, A_IP, 50022, B_IP, 22);
		login(s, "b", 2.0, 2.4, A_IP, 50022, B_IP, "sess-b", "alice");
		break;
	case 1:
		connect_(s, "b", 5.0, B_IP, 41000, C_IP, 22, "sess-b", "/usr/bin/ssh", "alice");
		break;
	case 2:
		accept_(s, "c", 5.0, B_IP, 41000, C_IP, 22);
		break;
	case 3:
		login(s, "c", 5.0, 5.3, B_IP, 41000, C_IP, "sess-c", "alice");
		break;
	}
}

static struct hw_config cfg;

static struct hw_stitch *stitcher(struct seen *seen)
{
	memset(seen, 0, sizeof(*seen));
	hw_config__free(&cfg);
	if (hw_config__init(&cfg))
		return NULL;
	return hw_stitch__new(&cfg, on_alert, seen);
}

static const char *const abc_message =
    "alice hopped 198.18.0.1 → b (alice, sshd session, 10:00:02) → c (alice via "
    "/usr/bin/ssh, 10:00:05)";

static bool check_abc(const struct seen *seen, int i)
{
	return CHECK_STREQ(seen->rule[i], "hop-chain") && CHECK_STREQ(seen->host[i], "c") &&
	       CHECK_STREQ(seen->message[i], abc_message) &&
	       CHECK_STREQ(seen->hosts[i], A_IP ",b,c") && CHECK_EQ(seen->count[i], 2) &&
	       CHECK_STREQ(seen->session[i], "sess-c") && CHECK_STREQ(seen->user[i], "alice") &&
	       CHECK_STREQ(seen->related[i], "sess-b,sess-c") &&
	       CHECK_STREQ(seen->techniques[i], "T1021,T1021.004") &&
	       CHECK_EQ(seen->severity[i], 73) && CHECK_EQ(strlen(seen->id[i]), 16);
}

TEST(stitch_two_hops_in_order)
{
	struct seen seen;
	struct hw_stitch *s = stitcher(&seen);
	struct hw_stitch_stats st;

	if (!CHECK(s))
		return;
	for (int i = 0; i < 4; i++)
		step(s, i);
	if (CHECK_EQ(seen.n, 1))
		check_abc(&seen, 0);
	hw_stitch__stats(s, &st);
	CHECK_EQ(st.hops, 1); /* B -> C; A -> B has no outbound half */
	CHECK_EQ(st.alerts, 1);
	hw_stitch__free(s);
}

/* Every order of the four steps that keeps each host's own order (an agent publishes in order:
 * b's login before b's connection, c's accept before c's login), hosts interleaved, either half
 * first: one alert, the same. */
TEST(stitch_every_arrival_order)
{
	int perm[4] = {0, 1, 2, 3}, pos[4], orders = 0;
	char first_id[24] = "";

	for (int p = 0; p < 24; p++) {
		struct seen seen;
		struct hw_stitch *s = stitcher(&seen);
		int k = p, used[4] = {0};

		if (!CHECK(s))
			return;
		/* the p-th permutation (factorial number system) */
		for (int i = 0; i < 4; i++) {
			int f = i == 0 ? 6 : i == 1 ? 2 : 1, idx = i == 3 ? 0 : k / f, j = 0;

			if (i < 3)
				k %= f;
			for (;; j++)
				if (!used[j] && idx-- == 0)
					break;
			used[j] = 1;
			perm[i] = j;
		}
		for (int i = 0; i < 4; i++)
			pos[perm[i]] = i;
		if (pos[1] < pos[0] || pos[3] < pos[2]) {
			hw_stitch__free(s);
			continue; /* a host's own order reversed */
		}
		orders++;
		for (int i = 0; i < 4; i++)
			step(s, perm[i]);
		hw_stitch__flush(s);
		if (!CHECK_EQ(seen.n, 1) || !check_abc(&seen, 0)) {
			printf("    order %d %d %d %d\n", perm[0], perm[1], perm[2], perm[3]);
			hw_stitch__free(s);
			return;
		}
		if (!first_id[0])
			snprintf(first_id, sizeof(first_id), "%s", seen.id[0]);
		CHECK_STREQ(seen.id[0], first_id);
		hw_stitch__free(s);
	}
	CHECK_EQ(orders, 6);
}

TEST(stitch_watched_origin_is_named)
{
	struct seen seen;
	struct hw_stitch *s = stitcher(&seen);

	if (!CHECK(s))
		return;
	/* a has an agent: its ssh client (outside any session) made the first hop */
	connect_(s, "a", 1.9, A_IP, 50022, B_IP, 22, "", "/usr/bin/ssh", "root");
	for (int i = 0; i < 4; i++)
		step(s, i);
	if (CHECK_EQ(seen.n, 1)) {
		CHECK_STREQ(seen.hosts[0], "a,b,c");
		CHECK_STREQ(seen.message[0],
			    "alice hopped a → b (alice via /usr/bin/ssh, 10:00:01) "
			    "→ c (alice via /usr/bin/ssh, 10:00:05)");
		CHECK_EQ(seen.count[0], 2);
	}
	hw_stitch__free(s);
}

TEST(stitch_chain_of_three)
{
	struct seen seen;
	struct hw_stitch *s = stitcher(&seen);

	if (!CHECK(s))
		return;
	/* the hop C -> D comes first, then A -> B -> C: the chain ending at D is found whole */
	connect_(s, "c", 8.0, C_IP, 42000, D_IP, 22, "sess-c", "/usr/bin/ssh", "alice");
	accept_(s, "d", 8.0, C_IP, 42000, D_IP, 22);
	login(s, "d", 8.0, 8.2, C_IP, 42000, D_IP, "sess-d", "alice");
	CHECK_EQ(seen.n, 0); /* one hop so far: c's session is not known yet */
	for (int i = 0; i < 4; i++)
		step(s, i);
	if (CHECK_EQ(seen.n, 2)) {
		/* the session on c makes both chains at once: its own end, then D's */
		int c = !strcmp(seen.host[0], "c") ? 0 : 1, d = 1 - c;

		check_abc(&seen, c);
		CHECK_STREQ(seen.host[d], "d");
		CHECK_EQ(seen.count[d], 3);
		CHECK_STREQ(seen.hosts[d], A_IP ",b,c,d");
		CHECK_STREQ(seen.related[d], "sess-b,sess-c,sess-d");
		CHECK(strstr(seen.message[d], "→ d (alice via /usr/bin/ssh, 10:00:08)") != NULL);
		CHECK(strcmp(seen.id[c], seen.id[d]));
	}
	hw_stitch__free(s);
}

TEST(stitch_no_chain_outside_the_session)
{
	struct seen seen;
	struct hw_stitch *s = stitcher(&seen);

	if (!CHECK(s))
		return;
	step(s, 0);
	/* b connects to c from outside the session (a cron job, a service) */
	connect_(s, "b", 5.0, B_IP, 41000, C_IP, 22, "", "/usr/bin/rsync", "root");
	step(s, 2);
	step(s, 3);
	/* and from another session on b than the one that came from A */
	connect_(s, "b", 6.0, B_IP, 41001, C_IP, 22, "sess-other", "/usr/bin/ssh", "bob");
	accept_(s, "c", 6.0, B_IP, 41001, C_IP, 22);
	login(s, "c", 6.0, 6.3, B_IP, 41001, C_IP, "sess-c2", "bob");
	hw_stitch__flush(s);
	CHECK_EQ(seen.n, 0);
	hw_stitch__free(s);
}

TEST(stitch_once_per_chain_end_and_again_when_it_grows)
{
	struct seen seen;
	struct hw_stitch *s = stitcher(&seen);

	if (!CHECK(s))
		return;
	for (int r = 0; r < 3; r++) /* every event twice or three times */
		for (int i = 0; i < 4; i++)
			step(s, i);
	hw_stitch__flush(s);
	if (!CHECK_EQ(seen.n, 1))
		goto out;
	/* a's events come late: a was entered from Z, and its ssh ran in that session */
	accept_(s, "a", 1.0, "203.0.113.9", 60000, A_IP, 22);
	login(s, "a", 1.0, 1.2, "203.0.113.9", 60000, A_IP, "sess-a", "mallory");
	connect_(s, "a", 1.9, A_IP, 50022, B_IP, 22, "sess-a", "/usr/bin/ssh", "mallory");
	if (CHECK_EQ(seen.n, 3)) {
		/* the chain ending at b is two hops now (Z -> a -> b), the one at c three */
		int b = !strcmp(seen.host[1], "b") ? 1 : 2, c = 3 - b;

		CHECK_STREQ(seen.hosts[b], "203.0.113.9,a,b");
		CHECK_EQ(seen.count[c], 3);
		CHECK_STREQ(seen.hosts[c], "203.0.113.9,a,b,c");
		CHECK(!strncmp(seen.message[c],
			       "mallory hopped 203.0.113.9 → a (mallory, sshd "
			       "session, 10:00:01) → b (alice via /usr/bin/ssh, "
			       "10:00:01) → c (alice via /usr/bin/ssh, 10:00:05)",
			       200));
		CHECK(strcmp(seen.id[0], seen.id[c]));
	}
	/* the same again changes nothing */
	for (int i = 0; i < 4; i++)
		step(s, i);
	CHECK_EQ(seen.n, 3);
out:
	hw_stitch__free(s);
}

TEST(stitch_jump_host_sessions_start_afresh)
{
	struct seen seen;
	struct hw_stitch *s = stitcher(&seen);
	char err[256];

	if (!CHECK(s) ||
	    !CHECK_EQ(hw_config__set(&cfg, "detect.allow_sources=" A_IP "/32", err, sizeof(err)),
		      0))
		goto out;
	for (int i = 0; i < 4; i++)
		step(s, i);
	hw_stitch__flush(s);
	CHECK_EQ(seen.n, 0); /* b's session came from the jump host: its hop to c is expected */
	/* but c's session came from b, which is not a jump host: c -> d chains b -> c -> d */
	connect_(s, "c", 8.0, C_IP, 42000, D_IP, 22, "sess-c", "/usr/bin/ssh", "alice");
	accept_(s, "d", 8.0, C_IP, 42000, D_IP, 22);
	login(s, "d", 8.0, 8.2, C_IP, 42000, D_IP, "sess-d", "alice");
	if (CHECK_EQ(seen.n, 1))
		CHECK_STREQ(seen.hosts[0], "b,c,d");
out:
	hw_stitch__free(s);
}

TEST(stitch_accepted_last_hop_waits_for_its_login)
{
	struct seen seen;
	struct hw_stitch *s = stitcher(&seen);
	struct hw_fact f;

	if (!CHECK(s))
		return;
	step(s, 0);
	step(s, 1);
	step(s, 2); /* c accepted; no login (yet) */
	CHECK_EQ(seen.n, 0);
	/* nothing more from c for a minute: the alert goes without the user on c */
	hw_stitch__tick(s, T0 + 64 * SEC);
	CHECK_EQ(seen.n, 0);
	hw_stitch__tick(s, T0 + 66 * SEC);
	if (CHECK_EQ(seen.n, 1)) {
		CHECK_EQ(seen.count[0], 2);
		CHECK_STREQ(seen.message[0], "alice hopped 198.18.0.1 → b (alice, sshd session, "
					     "10:00:02) → c (alice via /usr/bin/ssh, 10:00:05)");
		CHECK_STREQ(seen.session[0], "");
	}
	/* the login comes after all: the same chain, not again */
	step(s, 3);
	CHECK_EQ(seen.n, 1);

	/* a connection closed before any login: the alert at the close */
	connect_(s, "b", 100.0, B_IP, 41500, C_IP, 22, "sess-b", "/usr/bin/ssh", "alice");
	accept_(s, "c", 100.0, B_IP, 41500, C_IP, 22);
	CHECK_EQ(seen.n, 1);
	host(&f, "c", T0 + 101 * SEC);
	f.kind = HW_F_DISCONNECT;
	ep(&f.src, B_IP, 41500);
	ep(&f.dst, C_IP, 22);
	hw_stitch__feed(s, &f);
	if (CHECK_EQ(seen.n, 2))
		CHECK(strstr(seen.message[1], "→ c (alice via /usr/bin/ssh, 10:01:40)") != NULL);
	hw_stitch__free(s);
}

TEST(stitch_hop_must_leave_an_open_session)
{
	struct seen seen;
	struct hw_stitch *s = stitcher(&seen);

	if (!CHECK(s))
		return;
	step(s, 0);
	logout(s, "b", 3.0, "sess-b");
	/* a connection with that session's id long after it ended: not from it */
	connect_(s, "b", 400.0, B_IP, 41000, C_IP, 22, "sess-b", "/usr/bin/ssh", "alice");
	accept_(s, "c", 400.0, B_IP, 41000, C_IP, 22);
	login(s, "c", 400.0, 400.3, B_IP, 41000, C_IP, "sess-c", "alice");
	hw_stitch__flush(s);
	CHECK_EQ(seen.n, 0);
	hw_stitch__free(s);
}

TEST(stitch_halves_far_apart_in_time_are_not_a_hop)
{
	struct seen seen;
	struct hw_stitch *s = stitcher(&seen);

	if (!CHECK(s))
		return;
	step(s, 0);
	step(s, 1);
	/* the same 4-tuple on c, ten minutes later: another connection (port reuse) */
	accept_(s, "c", 605.0, B_IP, 41000, C_IP, 22);
	login(s, "c", 605.0, 605.3, B_IP, 41000, C_IP, "sess-c", "alice");
	hw_stitch__flush(s);
	CHECK_EQ(seen.n, 0);
	hw_stitch__free(s);
}

TEST(stitch_ipv4_mapped_addresses_match)
{
	struct seen seen;
	struct hw_stitch *s = stitcher(&seen);

	if (!CHECK(s))
		return;
	step(s, 0);
	step(s, 1);
	/* c's sshd listens on :: and sees the IPv4 client in its mapped form */
	accept_(s, "c", 5.0, "::ffff:" B_IP, 41000, "::ffff:" C_IP, 22);
	login(s, "c", 5.0, 5.3, "::ffff:" B_IP, 41000, "::ffff:" C_IP, "sess-c", "alice");
	if (CHECK_EQ(seen.n, 1))
		CHECK_STREQ(seen.hosts[0], A_IP ",b,c");
	hw_stitch__free(s);
}

TEST(stitch_memory_is_bounded)
{
	struct seen seen;
	struct hw_stitch *s = stitcher(&seen);
	struct hw_stitch_stats st;
	char ip[32];

	if (!CHECK(s))
		return;
	/* outbound halves that never meet their other half */
	for (int i = 0; i < 1000; i++) {
		snprintf(ip, sizeof(ip), "10.1.%d.%d", i / 250, i % 250 + 1);
		connect_(s, "b", 1.0 + i * 0.001, B_IP, 30000 + (unsigned int)i, ip, 22, "",
			 "/usr/bin/ssh", "root");
	}
	step(s, 0);
	hw_stitch__stats(s, &st);
	CHECK_EQ(st.outbound, 1000);
	CHECK_EQ(st.inbound, 1);
	/* ten minutes on (by the clock of the facts) they are gone; the open session stays */
	hw_stitch__tick(s, T0 + 700 * SEC);
	hw_stitch__stats(s, &st);
	CHECK_EQ(st.outbound, 0);
	CHECK_EQ(st.inbound, 1);
	CHECK_EQ(st.expired, 1000);
	/* an ended session goes half an hour after it ended, by its host's clock */
	logout(s, "b", 710.0, "sess-b");
	login(s, "b", 2600.0, 2600.0, "203.0.113.7", 1234, B_IP, "sess-late", "carol");
	hw_stitch__tick(s, T0 + 2700 * SEC);
	hw_stitch__stats(s, &st);
	CHECK_EQ(st.inbound, 1); /* the new one */
	/* one host holds at most HW_STITCH_HOST_HALVES (b has its session already) */
	for (unsigned int i = 0; i < HW_STITCH_HOST_HALVES + 4; i++) {
		snprintf(ip, sizeof(ip), "10.%u.%u.%u", 2 + i / 65025, i / 255 % 255, i % 255 + 1);
		connect_(s, "b", 2700.0, B_IP, 20000 + i % 40000, ip, 22, "", "/usr/bin/ssh", "r");
	}
	hw_stitch__stats(s, &st);
	CHECK_EQ(st.outbound, HW_STITCH_HOST_HALVES - 1);
	CHECK_EQ(st.host_full, 5);
	CHECK_EQ(st.table_full, 0);
	/* the tables stop at their bound */
	for (unsigned int i = 0; i < HW_STITCH_TABLE_MAX + 10; i++) {
		char name[16];

		snprintf(name, sizeof(name), "h%u", i / HW_STITCH_HOST_HALVES);
		snprintf(ip, sizeof(ip), "10.%u.%u.%u", 2 + i / 65025, i / 255 % 255, i % 255 + 1);
		connect_(s, name, 2700.0, B_IP, 20000 + i % 40000, ip, 22, "", "/usr/bin/ssh", "r");
	}
	hw_stitch__stats(s, &st);
	CHECK_EQ(st.outbound, HW_STITCH_TABLE_MAX);
	CHECK_EQ(st.table_full, HW_STITCH_HOST_HALVES + 10 - 1);
	CHECK_EQ(seen.n, 0);
	hw_stitch__free(s);
}

TEST(stitch_ignores_loopback_and_failures)
{
	struct seen seen;
	struct hw_stitch *s = stitcher(&seen);
	struct hw_stitch_stats st;
	struct hw_fact f;

	if (!CHECK(s))
		return;
	step(s, 0);
	connect_(s, "b", 5.0, "127.0.0.1", 41000, "127.0.0.1", 22, "sess-b", "/usr/bin/ssh", "a");
	connect_(s, "b", 5.0, B_IP, 41001, B_IP, 22, "sess-b", "/usr/bin/ssh", "a");
	host(&f, "b", T0 + 6 * SEC);
	f.kind = HW_F_CONNECT;
	f.egress = f.failure = 1;
	ep(&f.src, B_IP, 41002);
	ep(&f.dst, C_IP, 22);
	snprintf(f.session_id, sizeof(f.session_id), "sess-b");
	hw_stitch__feed(s, &f);
	hw_stitch__stats(s, &st);
	CHECK_EQ(st.outbound, 0);
	hw_stitch__free(s);
}

TEST(stitch_forgets_hosts_gone_quiet)
{
	struct seen seen;
	struct hw_stitch *s = stitcher(&seen);
	struct hw_stitch_stats st;
	char name[16];

	if (!CHECK(s))
		return;
	hw_stitch__tick(s, T0);
	/* hosts that came and went (ephemeral machines): one half each, never matched */
	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "vm%d", i);
		accept_(s, name, 1.0, A_IP, 50000 + (unsigned int)i, B_IP, 22);
	}
	step(s, 0);				/* b: a session that stays open */
	hw_stitch__tick(s, T0 + 11 * 60 * SEC); /* the accepts waited 10 minutes: gone */
	hw_stitch__stats(s, &st);
	CHECK_EQ(st.inbound, 1);
	CHECK_EQ(st.forgotten, 0);
	hw_stitch__tick(s, T0 + 45 * 60 * SEC); /* and their hosts, 30 minutes after */
	hw_stitch__stats(s, &st);
	CHECK_EQ(st.forgotten, 100);
	CHECK_EQ(st.inbound, 1); /* b keeps its session, and its address */
	step(s, 1);
	step(s, 2);
	step(s, 3);
	CHECK_EQ(seen.n, 1);
	hw_stitch__free(s);
}

/* The fleet profile (docs/streaming.md "Profiles"): a connection the agent ships only at its
 * close (connection_closed, HW_F_CONN_CLOSED) is its opening at hopwatch.connection.start and
 * its close. b's ssh to c known only from its close, after c's login: the same chain, at the
 * connection's start time; c's connection_closed of the accepted end changes nothing. */
static void closed_(struct hw_stitch *s, const char *name, double start, double t, int egress,
		    const char *src, unsigned int sport, const char *dst, unsigned int dport,
		    const char *session, const char *exe)
{
	struct hw_fact f;

	host(&f, name, T0 + (unsigned long long)(t * SEC));
	f.kind = HW_F_CONN_CLOSED;
	f.egress = egress;
	ep(&f.src, src, sport);
	ep(&f.dst, dst, dport);
	f.src.have_bytes = f.dst.have_bytes = 1;
	f.conn_start = T0 + (unsigned long long)(start * SEC);
	f.pid = 4242;
	snprintf(f.entity_id, sizeof(f.entity_id), "proc-%s-%u", name, sport);
	snprintf(f.executable, sizeof(f.executable), "%s", exe);
	snprintf(f.session_id, sizeof(f.session_id), "%s", session);
	snprintf(f.conn_id, sizeof(f.conn_id), "conn-%s-%u", name, sport);
	hw_stitch__feed(s, &f);
}

TEST(stitch_a_hop_known_only_at_its_close)
{
	struct seen seen;
	struct hw_stitch *s = stitcher(&seen);

	if (!CHECK(s))
		return;
	step(s, 0);
	step(s, 2);
	step(s, 3);
	CHECK_EQ(seen.n, 0);
	closed_(s, "b", 5.0, 9.0, 1, B_IP, 41000, C_IP, 22, "sess-b", "/usr/bin/ssh");
	closed_(s, "c", 5.0, 9.0, 0, B_IP, 41000, C_IP, 22, "", "/usr/sbin/sshd");
	hw_stitch__flush(s);
	if (CHECK_EQ(seen.n, 1))
		CHECK_STREQ(seen.message[0], abc_message);
	hw_stitch__free(s);
}

/* Its opening shipped too (in a session: the fleet profile ships it live), then its close:
 * one hop, one alert. */
TEST(stitch_a_hop_opened_then_closed_once)
{
	struct seen seen;
	struct hw_stitch *s = stitcher(&seen);
	struct hw_stitch_stats st;

	if (!CHECK(s))
		return;
	for (int i = 0; i < 4; i++)
		step(s, i);
	closed_(s, "b", 5.0, 9.0, 1, B_IP, 41000, C_IP, 22, "sess-b", "/usr/bin/ssh");
	closed_(s, "c", 5.0, 9.0, 0, B_IP, 41000, C_IP, 22, "", "/usr/sbin/sshd");
	hw_stitch__flush(s);
	hw_stitch__stats(s, &st);
	CHECK_EQ(st.hops, 1);
	if (CHECK_EQ(seen.n, 1))
		check_abc(&seen, 0);
	hw_stitch__free(s);
}
