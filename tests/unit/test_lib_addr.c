/* lib/addr.h, and the drift it ended: the engine compared addresses as text and did not unmap
 * IPv4-mapped IPv6 (the stitcher did), so one host under two spellings was two hosts to the
 * rules. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "config.h"
#include "detect/engine.h"
#include "fixtures.h"
#include "lib/addr.h"
#include "test.h"

TEST(lib_addr_parse_unmaps_v4_mapped)
{
	struct hw_addr a, b;
	char out[HW_ADDR_TEXT_LEN];

	CHECK_EQ(hw_addr__parse(&a, "198.18.0.2"), 0);
	CHECK_EQ(a.family, AF_INET);
	CHECK_EQ(hw_addr__parse(&b, "::ffff:198.18.0.2"), 0);
	CHECK_EQ(b.family, AF_INET);
	CHECK(hw_addr__eq(&a, &b));
	CHECK_EQ(hw_addr__parse(&b, "::FFFF:c612:2"), 0); /* the same, in hex */
	CHECK(hw_addr__eq(&a, &b));
	CHECK_EQ(hw_addr__format(&b, out, sizeof(out)), 0);
	CHECK_STREQ(out, "198.18.0.2");
	CHECK_EQ(hw_addr__parse(&b, "2001:db8::2"), 0);
	CHECK_EQ(b.family, AF_INET6);
	CHECK(!hw_addr__eq(&a, &b));
	/* IPv4-compatible (::198.18.0.2, deprecated) is not mapped: another address */
	CHECK_EQ(hw_addr__parse(&b, "::198.18.0.2"), 0);
	CHECK_EQ(b.family, AF_INET6);
	CHECK(hw_addr__parse(&b, "198.18.0.256") < 0);
	CHECK(hw_addr__parse(&b, "") < 0);
	CHECK(hw_addr__parse(&b, NULL) < 0);
	CHECK(hw_addr__parse(&b, "example.org") < 0);
}

TEST(lib_addr_canon_one_spelling)
{
	char out[HW_ADDR_TEXT_LEN] = "untouched";

	CHECK_EQ(hw_addr__canon("::ffff:198.18.0.2", out, sizeof(out)), 0);
	CHECK_STREQ(out, "198.18.0.2");
	CHECK_EQ(hw_addr__canon("2001:DB8:0:0:0:0:0:2", out, sizeof(out)), 0);
	CHECK_STREQ(out, "2001:db8::2");
	CHECK_EQ(hw_addr__canon("::ffff:127.0.0.1", out, sizeof(out)), 0);
	CHECK(hw_addr__local(out));
	strcpy(out, "untouched");
	CHECK(hw_addr__canon("not an address", out, sizeof(out)) < 0);
	CHECK_STREQ(out, "untouched");
	CHECK(hw_addr__canon("2001:db8::2", out, 5) < 0); /* no room */
}

TEST(lib_addr_ntop_and_local)
{
	unsigned char v4[16] = {198, 18, 0, 2}, v6[16] = {0x20, 0x01, 0x0d, 0xb8};
	char out[HW_ADDR_TEXT_LEN];

	v6[15] = 2;
	hw_addr__ntop(AF_INET, v4, out, sizeof(out));
	CHECK_STREQ(out, "198.18.0.2");
	hw_addr__ntop(0, v4, out, sizeof(out)); /* anything but AF_INET6 as IPv4 */
	CHECK_STREQ(out, "198.18.0.2");
	hw_addr__ntop(AF_INET6, v6, out, sizeof(out));
	CHECK_STREQ(out, "2001:db8::2");
	hw_addr__ntop(AF_INET6, v6, out, 4);
	CHECK_STREQ(out, "");
	CHECK(hw_addr__v4_mapped((const unsigned char[16]){[10] = 0xff, [11] = 0xff, 1, 2, 3, 4}));
	CHECK(!hw_addr__v4_mapped(v6));
	CHECK(hw_addr__local(""));
	CHECK(hw_addr__local("127.0.0.53"));
	CHECK(hw_addr__local("::1"));
	CHECK(hw_addr__local("0.0.0.0"));
	CHECK(hw_addr__local("::"));
	CHECK(!hw_addr__local("198.18.0.2"));
}

/* --- the engine: the same host under two spellings --------------------------------------- */

struct got {
	int n;
	char rule[8][32], source[8][48], message[8][640];
};

static void on_alert(const struct hw_alert *a, void *ctx)
{
	struct got *g = ctx;

	if (g->n < 8) {
		snprintf(g->rule[g->n], sizeof(g->rule[0]), "%s", a->rule_id);
		snprintf(g->source[g->n], sizeof(g->source[0]), "%s",
			 a->source_ip ? a->source_ip : "");
		snprintf(g->message[g->n], sizeof(g->message[0]), "%s", a->message);
	}
	g->n++;
}

static void failed_login(struct hw_engine *e, double sec, const char *src)
{
	struct hw_fact f;

	hw_test__fact(&f, HW_F_LOGIN, sec);
	f.failure = 1;
	snprintf(f.src.ip, sizeof(f.src.ip), "%s", src);
	f.src.port = 50000;
	snprintf(f.dst.ip, sizeof(f.dst.ip), "198.18.0.1");
	f.dst.port = 22;
	snprintf(f.user, sizeof(f.user), "root");
	snprintf(f.service, sizeof(f.service), "sshd");
	hw_engine__feed(e, &f);
}

/* Five failed logins from one host, three of them seen through a dual-stack socket: one
 * source, one brute-force alert (the engine that kept the spellings apart counted 3 and 2, and
 * said nothing). */
TEST(engine_brute_force_one_host_two_spellings)
{
	struct hw_config cfg;
	struct got g = {0};
	struct hw_engine *e;

	if (!CHECK_EQ(hw_config__init(&cfg), 0))
		return;
	e = hw_engine__new(&cfg, on_alert, &g);
	if (!CHECK(e))
		goto out;
	failed_login(e, 1, "::ffff:198.18.0.2");
	failed_login(e, 2, "198.18.0.2");
	failed_login(e, 3, "::ffff:198.18.0.2");
	failed_login(e, 4, "198.18.0.2");
	failed_login(e, 5, "::ffff:198.18.0.2");
	CHECK_EQ(g.n, 1);
	CHECK_STREQ(g.rule[0], "brute-force");
	CHECK_STREQ(g.source[0], "198.18.0.2");
	CHECK_STREQ(g.message[0], "5 failed logins from 198.18.0.2 within 300s over sshd (users "
				  "tried: root)");
	hw_engine__free(e);
out:
	hw_config__free(&cfg);
}

/* A program that accepted a connection from a host and, within a second, connects back to
 * that same host is not relaying between two hosts (the relay rule's own exemption); the
 * engine that compared ::ffff:198.18.0.2 with 198.18.0.2 as text called it a relay. */
TEST(engine_relay_same_host_two_spellings)
{
	struct hw_config cfg;
	struct got g = {0};
	struct hw_engine *e;
	struct hw_fact f;

	if (!CHECK_EQ(hw_config__init(&cfg), 0))
		return;
	e = hw_engine__new(&cfg, on_alert, &g);
	if (!CHECK(e))
		goto out;
	hw_test__fact(&f, HW_F_EXEC, 1);
	f.pid = 300;
	snprintf(f.entity_id, sizeof(f.entity_id), "proc-300");
	snprintf(f.executable, sizeof(f.executable), "/usr/local/bin/svc");
	snprintf(f.name, sizeof(f.name), "svc");
	hw_engine__feed(e, &f);

	hw_test__fact(&f, HW_F_ACCEPT, 2);
	f.pid = 300;
	snprintf(f.entity_id, sizeof(f.entity_id), "proc-300");
	snprintf(f.conn_id, sizeof(f.conn_id), "conn-in");
	snprintf(f.src.ip, sizeof(f.src.ip), "::ffff:198.18.0.2");
	f.src.port = 50000;
	snprintf(f.dst.ip, sizeof(f.dst.ip), "::ffff:198.18.0.1");
	f.dst.port = 8080;
	hw_engine__feed(e, &f);

	hw_test__fact(&f, HW_F_CONNECT, 2.5);
	f.pid = 300;
	f.egress = 1;
	snprintf(f.entity_id, sizeof(f.entity_id), "proc-300");
	snprintf(f.conn_id, sizeof(f.conn_id), "conn-out");
	snprintf(f.src.ip, sizeof(f.src.ip), "198.18.0.1");
	f.src.port = 41000;
	snprintf(f.dst.ip, sizeof(f.dst.ip), "198.18.0.2");
	f.dst.port = 9000;
	hw_engine__feed(e, &f);
	CHECK_EQ(g.n, 0);

	/* the same connect on to a third host is a relay: the rule still fires */
	hw_test__fact(&f, HW_F_CONNECT, 2.6);
	f.pid = 300;
	f.egress = 1;
	snprintf(f.entity_id, sizeof(f.entity_id), "proc-300");
	snprintf(f.conn_id, sizeof(f.conn_id), "conn-out2");
	snprintf(f.src.ip, sizeof(f.src.ip), "198.18.0.1");
	f.src.port = 41001;
	snprintf(f.dst.ip, sizeof(f.dst.ip), "198.18.0.3");
	f.dst.port = 9000;
	hw_engine__feed(e, &f);
	CHECK_EQ(g.n, 1);
	CHECK_STREQ(g.rule[0], "tunnel");
	CHECK(strstr(g.message[0], "accepted a connection from 198.18.0.2 and then connected on "
				   "to 198.18.0.3:9000"));
	hw_engine__free(e);
out:
	hw_config__free(&cfg);
}

/* hw_addr__canon copies an IPv4 address already written as inet_ntop writes it: for strings
 * of digits and dots near that shape (leading zeros, 256, three or five parts, a part of four
 * digits, an empty part, a trailing dot), the same answer as inet_pton then inet_ntop. */
TEST(lib_addr_canon_v4_as_inet_ntop)
{
	static const char *const fixed[] = {
	    "0.0.0.0",	 "255.255.255.255", "198.18.0.1", "01.2.3.4",	 "1.02.3.4", "1.2.3.004",
	    "256.1.1.1", "1.2.3",	    "1.2.3.4.5",  "1.2.3.4.",	 "1..3.4",   "1234.1.1.1",
	    ".1.2.3",	 "1.2.3.4 ",	    "",		  "10.0.0.255x", "00.0.0.0", "0.0.0.00"};
	unsigned long long x = 88172645463325252ULL;
	char s[32];

	for (int i = 0; i < 20000; i++) {
		char got[64], want[64];
		unsigned char b[4];
		int r, rw = -EINVAL;

		if (i < (int)(sizeof(fixed) / sizeof(fixed[0]))) {
			snprintf(s, sizeof(s), "%s", fixed[i]);
		} else {
			size_t n = 0;
			int len;

			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			len = 1 + (int)(x % 16);
			for (int k = 0; k < len; k++) {
				unsigned int c = (unsigned int)(x >> (4 + 3 * k)) % 13;

				s[n++] = c < 10 ? (char)('0' + c) : c < 12 ? '.' : '2';
			}
			s[n] = 0;
		}
		got[0] = want[0] = 0;
		r = hw_addr__canon(s, got, sizeof(got));
		if (inet_pton(AF_INET, s, b) == 1 && inet_ntop(AF_INET, b, want, sizeof(want)))
			rw = 0;
		else {
			struct hw_addr a;

			/* not IPv4: the IPv6 path decides, as before */
			rw = hw_addr__parse(&a, s) || hw_addr__format(&a, want, sizeof(want))
				 ? -EINVAL
				 : 0;
		}
		if (!CHECK_EQ(r, rw) || (!r && !CHECK_STREQ(got, want))) {
			printf("    '%s'\n", s);
			return;
		}
	}
}
