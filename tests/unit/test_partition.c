/* Collectors that scale out: partition lists (user/collect/partition.c), and the fleet's two
 * roles (user/collect/fleet.c): a partition's engines that hand the stitcher's lines on, and
 * the second stage that only stitches, each taking only its own subjects. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect/fleet.h"
#include "collect/partition.h"
#include "test.h"

TEST(partition_lists)
{
	unsigned char set[HW_COLLECT_PARTITIONS_MAX];
	char err[300], *list;
	unsigned int n;

	CHECK_EQ(hw_parse_partition_list("0"), 0);
	CHECK_EQ(hw_parse_partition_list("0, 2-3,63"), 0);
	CHECK_EQ(hw_parse_partition_list("3-1"), -EINVAL);
	CHECK_EQ(hw_parse_partition_list("64"), -EINVAL);
	CHECK_EQ(hw_parse_partition_list("1,,2"), -EINVAL);
	CHECK_EQ(hw_parse_partition_list("a"), -EINVAL);
	CHECK_EQ(hw_parse_partition_list("-1"), -EINVAL);
	CHECK_EQ(hw_parse_partition_list("1-"), -EINVAL);

	CHECK_EQ(hw_partition__set("0,2-3", 4, set, err, sizeof(err)), 3);
	CHECK(set[0] && !set[1] && set[2] && set[3] && !set[4]);
	CHECK_EQ(hw_partition__set("1,1,0-1", 2, set, err, sizeof(err)), 2);
	CHECK_EQ(hw_partition__set("0-4", 4, set, err, sizeof(err)), -EINVAL);
	CHECK_STREQ(err, "partition '0-4' is not below collect.partitions (4)");
	CHECK_EQ(hw_partition__set("", 4, set, err, sizeof(err)), -EINVAL);
	CHECK_EQ(hw_partition__set("0", 0, set, err, sizeof(err)), -EINVAL);
	CHECK_EQ(hw_partition__set("0", 65, set, err, sizeof(err)), -EINVAL);

	CHECK_EQ(hw_partition__option("0,2-3/8", &list, &n, err, sizeof(err)), 0);
	CHECK_STREQ(list, "0,2-3");
	CHECK_EQ(n, 8);
	free(list);
	static const char *const bad[] = {"0",	 "/4",	 "0/",	  "0/0", "0/65",
					  "x/4", "0/4x", "3-1/4", ""};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (!CHECK_EQ(hw_partition__option(bad[i], &list, &n, err, sizeof(err)), -EINVAL))
			printf("    input '%s'\n", bad[i]);
		CHECK(list == NULL);
		CHECK(strstr(err, "--partition: invalid value") != NULL);
	}
}

static struct hw_config cfg;
static int nalerts, nforwarded;
static char forwarded[8192];

static void on_alert(const struct hw_alert *a, void *ctx)
{
	(void)a;
	(void)ctx;
	nalerts++;
}

static void on_forward(const char *line, size_t len, void *ctx)
{
	(void)ctx;
	nforwarded++;
	snprintf(forwarded, sizeof(forwarded), "%.*s", (int)len, line);
}

static const char listen_line[] =
    "{\"@timestamp\":\"2026-11-27T10:00:01.000000000Z\",\"event\":{\"kind\":\"event\","
    "\"category\":[\"network\"],\"type\":[\"start\"],\"action\":\"listen\"},\"host\":{\"name\":"
    "\"web-1\",\"id\":\"id1\"},\"process\":{\"pid\":800,\"entity_id\":\"sshd\"},\"source\":{"
    "\"ip\":\"198.18.0.2\",\"port\":22},\"network\":{\"transport\":\"tcp\"}}";
static const char fork_line[] =
    "{\"@timestamp\":\"2026-11-27T10:00:02.000000000Z\",\"event\":{\"kind\":\"event\","
    "\"action\":\"fork\"},\"host\":{\"name\":\"web-1\",\"id\":\"id1\"},\"process\":{\"pid\":"
    "900,\"entity_id\":\"e900\",\"parent\":{\"pid\":1,\"entity_id\":\"init\"}}}";

static const char stitch_listen[] = "~1\tlisten\t1795773601000000000\tid1\tweb-1\t800\tsshd\t\t\t\t"
				    "\t198.18.0.2\t22\t\t0\t\t0\t\t0\t\t-";

static int feed(struct hw_fleet *f, const char *subject, const char *line)
{
	char err[300];

	return hw_fleet__feed(f, subject, line, strlen(line), err, sizeof(err));
}

TEST(fleet_partition_forwards_the_stitchers_lines)
{
	struct hw_fleet *f;
	struct hw_fleet_stats st;
	struct hw_stitch_stats ss;

	if (!CHECK_EQ(hw_config__init(&cfg), 0))
		return;
	f = hw_fleet__new(&cfg, on_alert, NULL);
	if (!CHECK(f))
		return;
	hw_fleet__forward(f, on_forward, NULL);
	nforwarded = 0;
	/* the server's mapped subject, and the unmapped one */
	CHECK_EQ(feed(f, "hopwatch.web-1.events.3", listen_line), 0);
	CHECK_EQ(nforwarded, 1);
	/* what the stitcher reads of it (collect/stitch_line.h), not the whole line */
	CHECK_STREQ(forwarded, "~1\tlisten\t1795773601000000000\tid1\tweb-1\t800\tsshd\t\t\t\t\t"
			       "198.18.0.2\t22\t\t0\t\t0\t\t0\t\t-");
	CHECK_EQ(feed(f, "hopwatch.web-1.events", fork_line), 0);
	CHECK_EQ(nforwarded, 1); /* a fork is not the stitcher's */
	CHECK_EQ(feed(f, "hopwatch.web-1.events.x", fork_line), -EINVAL);
	CHECK_EQ(feed(f, "hopwatch.web-1.events.", fork_line), -EINVAL);
	CHECK_EQ(feed(f, "hopwatch.collector.stitch.web-1", fork_line), -EINVAL);
	hw_fleet__stats(f, &st, &ss);
	CHECK_EQ(st.events, 2);
	CHECK_EQ(st.hosts, 1);
	CHECK_EQ(ss.hosts, 0); /* its own stitcher took nothing */
	hw_fleet__free(f);
	hw_config__free(&cfg);
}

TEST(fleet_second_stage_only_stitches)
{
	struct hw_fleet *f;
	struct hw_fleet_stats st;
	struct hw_stitch_stats ss;

	if (!CHECK_EQ(hw_config__init(&cfg), 0))
		return;
	f = hw_fleet__new(&cfg, on_alert, NULL);
	if (!CHECK(f))
		return;
	hw_fleet__stitch_only(f);
	CHECK_EQ(feed(f, "hopwatch.collector.stitch.web-1", listen_line), 0);
	CHECK_EQ(feed(f, "hopwatch.web-1.events", listen_line), -EINVAL);
	CHECK_EQ(feed(f, "hopwatch.collector.stitch.web-2", listen_line), -EINVAL);
	CHECK_EQ(feed(f, "hopwatch.collector.stitch.web-1.x", listen_line), -EINVAL);
	/* the stitcher's line of a partitioned instance, as the agents' lines: its host's subject
	 */
	CHECK_EQ(feed(f, "hopwatch.collector.stitch.web-1", stitch_listen), 0);
	CHECK_EQ(feed(f, "hopwatch.collector.stitch.web-2", stitch_listen), -EINVAL);
	CHECK_EQ(feed(f, "hopwatch.collector.stitch.web-1", "~1\tlisten\t1"), -EINVAL);
	hw_fleet__stats(f, &st, &ss);
	CHECK_EQ(st.events, 2);
	CHECK_EQ(st.hosts, 0); /* no engines */
	CHECK_EQ(ss.hosts, 1);
	hw_fleet__free(f);
	hw_config__free(&cfg);
}

/* a connection_attempted of web-1 to 198.18.0.9:PORT, in a session or not */
static int connect_line(char *buf, size_t len, unsigned int port, const char *session)
{
	return snprintf(
	    buf, len,
	    "{\"@timestamp\":\"2026-11-27T10:00:02.000000000Z\",\"event\":{\"kind\":\"event\","
	    "\"category\":[\"network\"],\"type\":[\"start\"],\"action\":\"connection_attempted\","
	    "\"outcome\":\"success\"},\"host\":{\"name\":\"web-1\",\"id\":\"id1\"},\"source\":{"
	    "\"ip\":\"198.18.0.2\",\"port\":30000},\"destination\":{\"ip\":\"198.18.0.9\",\"port\":"
	    "%u},\"network\":{\"transport\":\"tcp\",\"direction\":\"egress\"},\"process\":{\"pid\":"
	    "600,\"entity_id\":\"cron\"},\"hopwatch\":{%s%s%s\"connection\":{\"id\":\"c%u\"}}}",
	    port, session ? "\"session\":{\"id\":\"" : "", session ? session : "",
	    session ? "\"}," : "", port);
}

TEST(fleet_partition_forwards_only_possible_hops)
{
	struct hw_fleet *f;
	char line[2048];

	if (!CHECK_EQ(hw_config__init(&cfg), 0))
		return;
	f = hw_fleet__new(&cfg, on_alert, NULL);
	if (!CHECK(f))
		return;
	hw_fleet__forward(f, on_forward, NULL);
	nforwarded = 0;
	/* a service's connection to a web port cannot be a hop: not forwarded */
	connect_line(line, sizeof(line), 80, NULL);
	CHECK_EQ(feed(f, "hopwatch.web-1.events.0", line), 0);
	CHECK_EQ(nforwarded, 0);
	/* to an admin port, or from a session: forwarded */
	connect_line(line, sizeof(line), 22, NULL);
	CHECK_EQ(feed(f, "hopwatch.web-1.events.0", line), 0);
	CHECK_EQ(nforwarded, 1);
	connect_line(line, sizeof(line), 80, "s1");
	CHECK_EQ(feed(f, "hopwatch.web-1.events.0", line), 0);
	CHECK_EQ(nforwarded, 2);
	CHECK_STREQ(forwarded,
		    "~1\tconnection_attempted\t1795773602000000000\tid1\tweb-1\t600\tcron\t"
		    "\t\t\ts1\t198.18.0.2\t30000\t198.18.0.9\t80\tc80\t0\t\t0\t\te");
	hw_fleet__free(f);
	hw_config__free(&cfg);
}
