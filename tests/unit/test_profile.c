/* The fleet profile's choices (user/agent/profile.c): what the sinks on it get of each kind of
 * network and process event. A TCP connection: its close as connection_closed; its opening only
 * when failed, on an admin port or owned by a process in a remote session; loopback (both
 * ends) counted in the summary, refused loopback attempts too, never shipped one by one; an
 * outbound connection to another address never summarised. */
#include <arpa/inet.h>
#include <string.h>

#include "agent/agent_int.h"
#include "test.h"

static struct hw_config cfg;

static void agent(struct hw_agent *a)
{
	memset(a, 0, sizeof(*a));
	hw_config__free(&cfg);
	hw_config__init(&cfg);
	a->cfg = &cfg;
}

static struct hw_sock_addr addr4(const char *s, __u16 sport, const char *d, __u16 dport)
{
	struct hw_sock_addr x = {
	    .family = AF_INET, .protocol = IPPROTO_TCP, .sport = sport, .dport = dport};

	inet_pton(AF_INET, s, x.saddr);
	inet_pton(AF_INET, d, x.daddr);
	return x;
}

static int decide(struct hw_agent *a, const char *action, const struct hw_sock_addr *x,
		  struct hw_process *p, __u8 dir, __s32 error, struct hw_net_view *out)
{
	struct hw_net_view v = {.action = action,
				.ts_ns = 1000,
				.addr = x,
				.p = p,
				.direction = dir,
				.error = error,
				.have_bytes = 1};

	return hw_profile__net(a, &v, out);
}

TEST(profile_fleet_network_choices)
{
	struct hw_agent a;
	struct hw_process p, in_session;
	struct hw_net_view out;
	struct hw_sock_addr web = addr4("198.18.0.2", 8080, "198.18.0.1", 40000);
	struct hw_sock_addr out_web = addr4("198.18.0.2", 40000, "198.18.0.9", 443);
	struct hw_sock_addr out_ssh = addr4("198.18.0.2", 40001, "198.18.0.3", 22);
	struct hw_sock_addr lo = addr4("127.0.0.1", 40002, "127.0.0.1", 6379);
	struct hw_sock_addr own = addr4("198.18.0.2", 40003, "198.18.0.2", 6379);

	agent(&a);
	memset(&p, 0, sizeof(p));
	memcpy(p.entity_id, "P", 2);
	in_session = p;
	memcpy(in_session.session_id, "S", 2);

	/* a web server's connection: nothing at accept, connection_closed at the close */
	CHECK_EQ(decide(&a, "connection_accepted", &web, &p, HW_DIR_INGRESS, 0, &out),
		 HW_PROFILE_NONE);
	if (CHECK_EQ(decide(&a, "disconnect", &web, &p, HW_DIR_INGRESS, 0, &out),
		     HW_PROFILE_SHIP)) {
		CHECK_STREQ(out.action, "connection_closed");
		CHECK(out.slim);
	}
	/* outbound: only at close, unless admin port, session or failure */
	CHECK_EQ(decide(&a, "connection_attempted", &out_web, &p, HW_DIR_EGRESS, 0, &out),
		 HW_PROFILE_NONE);
	CHECK_EQ(decide(&a, "connection_attempted", &out_ssh, &p, HW_DIR_EGRESS, 0, &out),
		 HW_PROFILE_SHIP);
	CHECK_EQ(decide(&a, "connection_attempted", &out_web, &in_session, HW_DIR_EGRESS, 0, &out),
		 HW_PROFILE_SHIP);
	CHECK_EQ(
	    decide(&a, "connection_attempted", &out_web, &p, HW_DIR_EGRESS, ECONNREFUSED, &out),
	    HW_PROFILE_SHIP);
	CHECK_STREQ(out.action, "connection_attempted");
	/* the host's own address is not loopback: shipped */
	CHECK_EQ(decide(&a, "disconnect", &own, &p, HW_DIR_EGRESS, 0, &out), HW_PROFILE_SHIP);
	CHECK_EQ(hw_loopsum__count(&a.fleet.loopsum), 0);
	/* loopback: counted, never shipped; the summary is due once its interval is over */
	CHECK_EQ(decide(&a, "connection_attempted", &lo, &p, HW_DIR_EGRESS, 0, &out),
		 HW_PROFILE_NONE);
	CHECK_EQ(decide(&a, "connection_attempted", &lo, &p, HW_DIR_EGRESS, ECONNREFUSED, &out),
		 HW_PROFILE_NONE);
	CHECK_EQ(decide(&a, "disconnect", &lo, &p, HW_DIR_EGRESS, 0, &out), HW_PROFILE_NONE);
	CHECK_EQ(hw_loopsum__count(&a.fleet.loopsum), 1);
	CHECK_EQ(a.fleet.loopsum.head->count, 1);
	CHECK_EQ(a.fleet.loopsum.head->failed, 1);
	CHECK(!hw_profile__summary_due(&a, 1000 + cfg.fleet_summary_interval_ns - 1, 0));
	CHECK(hw_profile__summary_due(&a, 1000 + cfg.fleet_summary_interval_ns, 0));
	CHECK(!hw_profile__summary_due(&a, 1000 + 2 * cfg.fleet_summary_interval_ns, 1));
	/* the rest: slim */
	CHECK_EQ(decide(&a, "connection_open", &web, &p, HW_DIR_INGRESS, 0, &out), HW_PROFILE_SHIP);
	CHECK(out.slim);
	hw_profile__free(&a);
	hw_config__free(&cfg);
}

TEST(profile_fleet_process_choices)
{
	struct hw_agent a;
	struct hw_process p;
	struct hw_proc_event out, v = {.action = "exec", .p = &p};

	agent(&a);
	memset(&p, 0, sizeof(p));
	CHECK_EQ(hw_profile__proc(&a, &v, &out), HW_PROFILE_SAME);
	v.action = "existing_process";
	CHECK_EQ(hw_profile__proc(&a, &v, &out), HW_PROFILE_SAME);
	v.action = "fork";
	CHECK_EQ(hw_profile__proc(&a, &v, &out), HW_PROFILE_SHIP);
	CHECK(out.slim);
	v.action = "exit";
	CHECK_EQ(hw_profile__proc(&a, &v, &out), HW_PROFILE_SHIP);
	hw_config__free(&cfg);
}
