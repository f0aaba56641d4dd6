/* The second stage's line (user/collect/stitch_line.c): what the stitcher reads of a fact, sent
 * by partitioned instances in place of the agents' lines, read back into the same fact; and
 * the lines a hostile or broken sender could make, refused in one line naming the field. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "collect/stitch.h"
#include "collect/stitch_line.h"
#include "test.h"

/* the fields the line carries equal, everything else of b zero */
static int same(const struct hw_fact *a, const struct hw_fact *b)
{
	struct hw_fact p;

	memset(&p, 0, sizeof(p));
	p.kind = a->kind;
	p.ts = a->ts;
	memcpy(p.host_id, a->host_id, sizeof(p.host_id));
	memcpy(p.host_name, a->host_name, sizeof(p.host_name));
	p.pid = a->pid;
	memcpy(p.entity_id, a->entity_id, sizeof(p.entity_id));
	memcpy(p.executable, a->executable, sizeof(p.executable));
	memcpy(p.name, a->name, sizeof(p.name));
	memcpy(p.user, a->user, sizeof(p.user));
	memcpy(p.session_id, a->session_id, sizeof(p.session_id));
	memcpy(p.src.ip, a->src.ip, sizeof(p.src.ip));
	p.src.port = a->src.port;
	memcpy(p.dst.ip, a->dst.ip, sizeof(p.dst.ip));
	p.dst.port = a->dst.port;
	memcpy(p.conn_id, a->conn_id, sizeof(p.conn_id));
	p.conn_start = a->conn_start;
	p.egress = a->egress;
	p.udp = a->udp;
	p.failure = a->failure;
	memcpy(p.service, a->service, sizeof(p.service));
	p.session_start = a->session_start;
	memcpy(p.sock_session, a->sock_session, sizeof(p.sock_session));
	return !memcmp(&p, b, sizeof(p));
}

/* size - 1 bytes of a pattern holding every byte the line escapes, and UTF-8 */
static void fill(char *dst, size_t size, unsigned int seed)
{
	static const char pat[] = "a\tb\\c\nd\re\xc3\xa9 ~{}\"#";
	size_t i = 0;

	for (; i + 1 < size; i++)
		dst[i] = pat[(i + seed) % (sizeof(pat) - 1)];
	dst[i] = 0;
}

static struct hw_fact full(enum hw_fact_kind kind)
{
	struct hw_fact f;

	memset(&f, 0, sizeof(f));
	f.kind = kind;
	f.ts = ~0ULL;
	fill(f.host_id, sizeof(f.host_id), 1);
	fill(f.host_name, sizeof(f.host_name), 2);
	f.pid = 0xffffffffu;
	fill(f.entity_id, sizeof(f.entity_id), 3);
	fill(f.executable, sizeof(f.executable), 4);
	fill(f.name, sizeof(f.name), 5);
	fill(f.user, sizeof(f.user), 6);
	fill(f.session_id, sizeof(f.session_id), 7);
	fill(f.src.ip, sizeof(f.src.ip), 8);
	f.src.port = 65535;
	fill(f.dst.ip, sizeof(f.dst.ip), 9);
	f.dst.port = 1;
	fill(f.conn_id, sizeof(f.conn_id), 10);
	f.conn_start = 18446744073709551614ULL;
	f.egress = f.udp = f.failure = 1;
	fill(f.service, sizeof(f.service), 11);
	f.session_start = 1;
	fill(f.sock_session, sizeof(f.sock_session), 12);
	return f;
}

TEST(stitch_line_round_trip_longest_and_plain)
{
	struct hw_fact f = full(HW_F_CONN_CLOSED), g;
	char line[HW_STITCH_LINE_MAX + 1], err[300];
	size_t n = hw_stitch_line__write(line, &f);

	/* every string at its longest, every byte of it escaped or not: it fits, and reads back */
	CHECK(n > 1100 && n < HW_STITCH_LINE_MAX);
	CHECK_EQ(strlen(line), n);
	CHECK(!memchr(line, '\n', n) && !memchr(line, '\r', n) && line[n - 1] != '\t');
	CHECK_EQ(hw_stitch_line__read(&g, line, n, err, sizeof(err)), 0);
	CHECK(same(&f, &g));
	/* fields it does not carry stay zero: the stitcher does not read them */
	f.ppid = 7;
	f.exe_ino = 9;
	f.src.bytes = 100;
	f.src.have_bytes = 1;
	snprintf(f.args[0], sizeof(f.args[0]), "x");
	CHECK_EQ(hw_stitch_line__write(line, &f), n);
	CHECK_EQ(hw_stitch_line__read(&g, line, n, err, sizeof(err)), 0);
	CHECK(same(&f, &g));
	CHECK_EQ(g.ppid, 0);
	CHECK_EQ(g.src.bytes, 0);
	/* every byte escaped: the longest line there is still fits */
	for (char *c = (char *)&f; c < (char *)(&f + 1); c++)
		if (*c && *c != 1)
			*c = '\\';
	f.kind = HW_F_CONN_CLOSED;
	f.ts = f.conn_start = ~0ULL;
	n = hw_stitch_line__write(line, &f);
	CHECK(n > 2056 && n < HW_STITCH_LINE_MAX);
	CHECK_EQ(hw_stitch_line__read(&g, line, n, err, sizeof(err)), 0);
	CHECK(same(&f, &g));
	/* a plain one, no flags */
	memset(&f, 0, sizeof(f));
	f.kind = HW_F_LOGIN;
	f.ts = 1795773601000000000ULL;
	snprintf(f.host_name, sizeof(f.host_name), "b");
	snprintf(f.user, sizeof(f.user), "alice");
	n = hw_stitch_line__write(line, &f);
	CHECK_STREQ(line,
		    "~1\tuser_login\t1795773601000000000\t\tb\t0\t\t\t\talice\t\t\t0\t\t0\t\t0"
		    "\t\t0\t\t-");
	CHECK_EQ(hw_stitch_line__read(&g, line, n, err, sizeof(err)), 0);
	CHECK(same(&f, &g));
}

/* Every fact the stitcher takes has a line: its kinds are the line's (no kind falls back to the
 * whole ECS line unnoticed). */
TEST(stitch_line_every_kind_the_stitcher_takes)
{
	struct hw_config cfg;
	struct hw_stitch *s;
	char line[HW_STITCH_LINE_MAX + 1], err[300];
	int wanted = 0;

	if (!CHECK_EQ(hw_config__init(&cfg), 0))
		return;
	s = hw_stitch__new(&cfg, NULL, NULL);
	if (!CHECK(s))
		return;
	for (int k = 0; k <= HW_F_CONN_CLOSED; k++) {
		for (int v = 0; v < 16; v++) {
			struct hw_fact f, g;
			size_t n;

			memset(&f, 0, sizeof(f));
			f.kind = (enum hw_fact_kind)k;
			f.ts = 1;
			snprintf(f.host_id, sizeof(f.host_id), "id");
			f.egress = v & 1;
			f.udp = !!(v & 2);
			f.failure = !!(v & 4);
			if (v & 8)
				snprintf(f.session_id, sizeof(f.session_id), "s");
			f.dst.port = 22;
			if (!hw_stitch__wants(s, &f))
				continue;
			wanted++;
			n = hw_stitch_line__write(line, &f);
			if (!CHECK(n > 0) ||
			    !CHECK_EQ(hw_stitch_line__read(&g, line, n, err, sizeof(err)), 0) ||
			    !CHECK(same(&f, &g)))
				printf("    kind %d variant %d: %s\n", k, v, line);
		}
	}
	CHECK(wanted > 40);
	hw_stitch__free(s);
	hw_config__free(&cfg);
}

TEST(stitch_line_refuses_what_it_did_not_write)
{
	static const struct {
		const char *line, *err;
	} bad[] = {
	    {"", "field 1 (mark) is not '~1'"},
	    {"~2\tlisten", "field 1 (mark) is not '~1'"},
	    {"~1", "field 2 (action) missing"},
	    {"~1\tnot_an_action\t1",
	     "field 2 (action) is not the action a kind of event is written with"},
	    {"~1\texisting_listener\t1",
	     "field 2 (action) is not the action a kind of event is written with"},
	    {"~1\tlisten\t", "field 3 (ts) is not a number"},
	    {"~1\tlisten\t01", "field 3 (ts) is not a number"},
	    {"~1\tlisten\t-1", "field 3 (ts) is not a number"},
	    {"~1\tlisten\t18446744073709551616", "field 3 (ts) is too large"},
	    {"~1\tlisten\t1\tid\\x", "field 4 (host.id) has a bad escape"},
	    {"~1\tlisten\t1\tid\\", "field 4 (host.id) has a bad escape"},
	    {"~1\tlisten\t1\tid\tname\t4294967296", "field 6 (pid) is too large"},
	    {"~1\tlisten\t1\tid\tname\t1\te\tx\tn\tu\ts\t1.2.3.4\t65536",
	     "field 13 (source.port) is too large"},
	    {"~1\tlisten\t1\tid\tname\t1\te\tx\tn\tu\ts\t1.2.3.4\t1\t\t0\t\t0\t\t0\t\tq",
	     "field 21 (flags) is not a set of e, u, f or '-'"},
	    {"~1\tlisten\t1\tid\tname\t1\te\tx\tn\tu\ts\t1.2.3.4\t1\t\t0\t\t0\t\t0\t\tee",
	     "field 21 (flags) is not a set of e, u, f or '-'"},
	    {"~1\tlisten\t1\tid\tname\t1\te\tx\tn\tu\ts\t1.2.3.4\t1\t\t0\t\t0\t\t0\t\t",
	     "field 21 (flags) is empty"},
	    {"~1\tlisten\t1\tid\tname\t1\te\tx\tn\tu\ts\t1.2.3.4\t1\t\t0\t\t0\t\t0\t",
	     "field 21 (flags) missing"},
	    {"~1\tlisten\t1\tid\tname\t1\te\tx\tn\tu\ts\t1.2.3.4\t1\t\t0\t\t0\t\t0\t\t-\t",
	     "field 22 (?) is one too many"},
	};
	char err[300], host[200], line[400];
	struct hw_fact f;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		if (!CHECK_EQ(hw_stitch_line__read(&f, bad[i].line, strlen(bad[i].line), err,
						   sizeof(err)),
			      -EINVAL) ||
		    !CHECK(strstr(err, bad[i].err) != NULL))
			printf("    line %zu: '%s' -> '%s'\n", i, bad[i].line, err);
	}
	/* a string longer than its field */
	memset(host, 'h', sizeof(host) - 1);
	host[sizeof(host) - 1] = 0;
	snprintf(line, sizeof(line), "~1\tlisten\t1\t%s\tname", host);
	CHECK_EQ(hw_stitch_line__read(&f, line, strlen(line), err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "field 4 (host.id) is too long") != NULL);
	/* a NUL inside */
	CHECK_EQ(hw_stitch_line__read(&f, "~1\tlisten\t1\ti\0d", 15, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "field 4 (host.id) has a control byte") != NULL);
}
