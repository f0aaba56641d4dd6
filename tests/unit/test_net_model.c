/* Connection table, TCP data-byte accounting and the ECS/text encoding of network events. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent_int.h"
#include "output/ecs.h"
#include "output/text.h"
#include "fixtures.h"
#include "test.h"

static struct hw_host host(void)
{
	struct hw_host h = hw_test__host(); /* booted at 2026-11-27T16:00:00Z */

	h.key[0] = 11;
	h.key[1] = 22;
	return h;
}

TEST(conn_table_add_get_remove_bounded)
{
	struct hw_host h = host();
	struct hw_conn_table *t = hw_conn_table__new(&h, 3000);
	struct hw_conn *c;
	char id[HW_ENTITY_ID_LEN];

	if (!CHECK(t))
		return;
	for (__u64 k = 1; k <= 3000; k++)
		CHECK(hw_conn_table__add(t, k * 7919));
	CHECK_EQ(hw_conn_table__count(t), 3000);
	CHECK(hw_conn_table__add(t, 5) == NULL); /* full */
	c = hw_conn_table__get(t, 7919 * 42);
	if (CHECK(c)) {
		CHECK_EQ(c->cookie, 7919 * 42);
		hw_host__conn_id(&h, 7919 * 42, id);
		CHECK_STREQ(c->id, id);
	}
	CHECK(hw_conn_table__add(t, 7919 * 42) == c); /* the same entry again */
	hw_conn_table__remove(t, 7919 * 42);
	CHECK(hw_conn_table__get(t, 7919 * 42) == NULL);
	CHECK_EQ(hw_conn_table__count(t), 2999);
	hw_conn_table__remove(t, 123456789); /* absent: nothing happens */
	CHECK_EQ(hw_conn_table__count(t), 2999);
	hw_conn_table__free(t);
}

TEST(conn_table_sweep_drops_unseen)
{
	struct hw_host h = host();
	struct hw_conn_table *t = hw_conn_table__new(&h, 100);
	struct hw_conn *a, *b;

	if (!CHECK(t))
		return;
	a = hw_conn_table__add(t, 1);
	b = hw_conn_table__add(t, 2);
	CHECK_EQ(hw_conn_table__sweep(t), 0); /* new entries count as seen once */
	a->seen = 1;
	CHECK_EQ(hw_conn_table__sweep(t), 1);
	CHECK(hw_conn_table__get(t, 1) == a);
	CHECK(hw_conn_table__get(t, 2) == NULL);
	(void)b;
	hw_conn_table__free(t);
}

TEST(conn_ids_distinct_per_cookie_and_host)
{
	struct hw_host h = host(), h2 = host();
	char a[HW_ENTITY_ID_LEN], b[HW_ENTITY_ID_LEN], c[HW_ENTITY_ID_LEN];

	h2.key[0] = 99;
	hw_host__conn_id(&h, 1, a);
	hw_host__conn_id(&h, 2, b);
	hw_host__conn_id(&h2, 1, c);
	CHECK_EQ(strlen(a), 22);
	CHECK(strcmp(a, b) != 0);
	CHECK(strcmp(a, c) != 0);
}

TEST(tcp_data_bytes_strip_syn_and_fin)
{
	struct hw_net_event e;
	__u64 s, r;

	memset(&e, 0, sizeof(e));
	/* the connecting side closed first: SYN + its FIN acked, the peer's FIN received */
	e.bytes_sent = 1002;
	e.bytes_received = 301;
	e.oldstate = 5; /* FIN_WAIT2 */
	e.fin_received = 1;
	hw_tcp_data_bytes(&e, HW_DIR_EGRESS, &s, &r);
	CHECK_EQ(s, 1000);
	CHECK_EQ(r, 300);
	/* the accepting side, closed after the peer: LAST_ACK */
	e.bytes_sent = 301;
	e.bytes_received = 1001;
	e.oldstate = 9;
	hw_tcp_data_bytes(&e, HW_DIR_INGRESS, &s, &r);
	CHECK_EQ(s, 300);
	CHECK_EQ(r, 1000);
	/* a reset: no FIN either way; never below zero */
	e.bytes_sent = 0;
	e.bytes_received = 0;
	e.oldstate = 1;
	e.fin_received = 1;
	hw_tcp_data_bytes(&e, HW_DIR_EGRESS, &s, &r);
	CHECK_EQ(s, 0);
	CHECK_EQ(r, 0);
}

static const char *find(const char *hay, const char *needle)
{
	const char *p = strstr(hay, needle);

	if (!p)
		printf("    missing %s in %s\n", needle, hay);
	return p;
}

TEST(ecs_network_fields)
{
	struct hw_host h = host();
	struct hw_json j;
	struct hw_sock_addr a;
	struct hw_net_view v;
	const char *out;

	memset(&a, 0, sizeof(a));
	a.family = AF_INET;
	a.protocol = 6;
	inet_pton(AF_INET, "198.18.0.1", a.saddr);
	inet_pton(AF_INET, "198.18.0.2", a.daddr);
	a.sport = 40000;
	a.dport = 22;
	memset(&v, 0, sizeof(v));
	v.action = "disconnect";
	v.ts_ns = 3000000000ULL;
	v.start_ns = 1000000000ULL;
	v.addr = &a;
	v.conn_id = "CONNID";
	v.owner_pid = 77;
	v.have_bytes = 1;
	v.bytes_sent = 10;
	v.bytes_received = 20;
	v.netns = 4026531840U;
	v.direction = HW_DIR_EGRESS;
	v.closed_by = HW_CLOSED_REMOTE;
	hw_json__init(&j);
	hw_ecs__net_event(&j, &h, &v);
	out = hw_json__cstr(&j);
	CHECK_EQ(j.error, 0);
	CHECK(find(out, "\"@timestamp\":\"2026-11-27T16:00:03.000000000Z\""));
	CHECK(find(out, "\"kind\":\"event\",\"category\":[\"network\"],\"type\":[\"end\"],"
			"\"action\":\"disconnect\""));
	CHECK(find(out, "\"duration\":2000000000"));
	CHECK(find(out, "\"source\":{\"ip\":\"198.18.0.1\",\"port\":40000,\"bytes\":10}"));
	CHECK(find(out, "\"destination\":{\"ip\":\"198.18.0.2\",\"port\":22,\"bytes\":20}"));
	CHECK(find(out, "\"network\":{\"transport\":\"tcp\",\"type\":\"ipv4\","
			"\"direction\":\"egress\",\"bytes\":30}"));
	CHECK(find(out, "\"process\":{\"pid\":77}"));
	CHECK(find(out, "\"connection\":{\"id\":\"CONNID\",\"start\":\"2026-11-27T16:00:01."
			"000000000Z\",\"closed_by\":\"remote\"}"));
	CHECK(find(out, "\"netns\":4026531840"));
	CHECK(out[j.len - 1] == '\n');

	/* an accepted IPv6 connection: the peer is the source */
	hw_json__reset(&j);
	a.family = AF_INET6;
	memset(a.saddr, 0, 16);
	memset(a.daddr, 0, 16);
	inet_pton(AF_INET6, "2001:db8::1", a.saddr);
	inet_pton(AF_INET6, "2001:db8::2", a.daddr);
	v.action = "connection_accepted";
	v.direction = HW_DIR_INGRESS;
	v.have_bytes = 0;
	v.closed_by = 0;
	hw_ecs__net_event(&j, &h, &v);
	out = hw_json__cstr(&j);
	CHECK(find(out, "\"type\":[\"start\"]"));
	CHECK(find(out, "\"source\":{\"ip\":\"2001:db8::2\",\"port\":22}"));
	CHECK(find(out, "\"destination\":{\"ip\":\"2001:db8::1\",\"port\":40000}"));
	CHECK(find(out, "\"type\":\"ipv6\",\"direction\":\"ingress\""));
	CHECK(!strstr(out, "duration"));

	/* a failed attempt */
	hw_json__reset(&j);
	v.action = "connection_attempted";
	v.direction = HW_DIR_EGRESS;
	v.error = 111;
	hw_ecs__net_event(&j, &h, &v);
	out = hw_json__cstr(&j);
	CHECK(find(out, "\"outcome\":\"failure\""));
	CHECK(
	    find(out, "\"error\":{\"code\":\"ECONNREFUSED\",\"message\":\"Connection refused\"}"));

	/* a listener and a UDP flow */
	hw_json__reset(&j);
	v.action = "listen";
	v.error = 0;
	v.conn_id = NULL;
	hw_ecs__net_event(&j, &h, &v);
	out = hw_json__cstr(&j);
	CHECK(find(out, "\"type\":[\"info\"],\"action\":\"listen\""));
	CHECK(find(out, "\"source\":{\"ip\":\"2001:db8::1\",\"port\":40000}"));
	CHECK(!strstr(out, "destination"));
	CHECK(!strstr(out, "direction"));
	hw_json__reset(&j);
	a.protocol = 17;
	v.action = "udp_flow";
	hw_ecs__net_event(&j, &h, &v);
	CHECK(find(hw_json__cstr(&j), "\"transport\":\"udp\""));
	hw_json__free(&j);
}

TEST(text_network_line)
{
	struct hw_host h = host();
	struct hw_text t = {0};
	struct hw_sock_addr a;
	struct hw_net_view v;

	memset(&a, 0, sizeof(a));
	a.family = AF_INET;
	a.protocol = 6;
	inet_pton(AF_INET, "198.18.0.1", a.saddr);
	inet_pton(AF_INET, "198.18.0.2", a.daddr);
	a.sport = 40000;
	a.dport = 22;
	memset(&v, 0, sizeof(v));
	v.action = "disconnect";
	v.ts_ns = 3000000000ULL;
	v.start_ns = 1500000000ULL;
	v.addr = &a;
	v.owner_pid = 77;
	v.have_bytes = 1;
	v.bytes_sent = 10;
	v.bytes_received = 20;
	v.direction = HW_DIR_EGRESS;
	v.closed_by = HW_CLOSED_LOCAL;
	hw_text__net_event(&t, &h, &v);
	CHECK_STREQ(t.buf, "2026-11-27T16:00:03.000 disconnect pid=77 tcp 198.18.0.1:40000 -> "
			   "198.18.0.2:22 sent=10 recv=20 age=1.500s closed_by=local\n");
	hw_text__free(&t);
}

/* A name nobody vouched for (comm, set by the process itself) is a word on a text line:
 * a newline in it cannot start a forged line. */
TEST(text_exe_unknown_comm_is_escaped)
{
	struct hw_text t = {0};
	struct hw_process p;

	memset(&p, 0, sizeof(p));
	memcpy(p.k.comm, "a\n2026 ALERT x", 14);
	hw_text__exe(&t, &p);
	CHECK_STREQ(t.buf, "[\"a\\x0a2026 ALERT x\"]");
	hw_text__free(&t);
	t = (struct hw_text){0};
	p.exe = "/usr/bin/with space";
	hw_text__exe(&t, &p);
	CHECK_STREQ(t.buf, "\"/usr/bin/with space\"");
	hw_text__free(&t);
}
