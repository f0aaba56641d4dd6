/* The collector's input (user/collect/fleet.c): a host is its subject, its identity pinned;
 * budgets, idle hosts, bounded clocks. Lines are built as the agents write them. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "collect/fleet.h"
#include "test.h"

#define SEC 1000000000ULL
#define T0  (1795860000ULL * SEC) /* 2026-11-27T10:00:00Z */

static struct hw_config cfg;
static int nalerts;

static void on_alert(const struct hw_alert *a, void *ctx)
{
	(void)a;
	(void)ctx;
	nalerts++;
}

static struct hw_fleet *fleet(const char *const *sets)
{
	char err[256];

	hw_config__free(&cfg);
	if (hw_config__init(&cfg))
		return NULL;
	for (; sets && *sets; sets++)
		if (!CHECK_EQ(hw_config__set(&cfg, *sets, err, sizeof(err)), 0))
			return NULL;
	nalerts = 0;
	return hw_fleet__new(&cfg, on_alert, NULL);
}

/* a fork of pid under cron on host name/id, at T0 + ns */
static int fork_line(struct hw_fleet *f, const char *subject, const char *name, const char *id,
		     unsigned int pid, unsigned long long ns, char *err, size_t errlen)
{
	char line[1024];
	int n = snprintf(line, sizeof(line),
			 "{\"@timestamp\":\"2026-11-27T10:%02llu:%02llu.%09lluZ\",\"event\":{"
			 "\"kind\":\"event\",\"action\":\"fork\"},\"host\":{\"name\":\"%s\","
			 "\"id\":\"%s\"},\"process\":{\"pid\":%u,\"entity_id\":\"e%u\",\"parent\":"
			 "{\"pid\":1,\"entity_id\":\"cron\"}}}",
			 ns / SEC / 60 % 60, ns / SEC % 60, ns % SEC, name, id, pid, pid);

	return hw_fleet__feed(f, subject, line, (size_t)n, err, errlen);
}

TEST(fleet_pins_a_subjects_identity)
{
	struct hw_fleet *f = fleet(NULL);
	struct hw_fleet_stats st;
	char err[300], id[32];

	if (!CHECK(f))
		return;
	CHECK_EQ(fork_line(f, "hopwatch.x.events", "x", "id-x", 10, 0, err, sizeof(err)), 0);
	for (unsigned int i = 0; i < 20000; i++) {
		snprintf(id, sizeof(id), "forged-%u", i);
		if (!CHECK_EQ(
			fork_line(f, "hopwatch.x.events", "x", id, 11 + i, SEC, err, sizeof(err)),
			-EINVAL))
			break;
	}
	CHECK(strstr(err, "host.id 'forged-19999' of host 'x' is not 'id-x'") != NULL);
	/* another name with the same subject token */
	CHECK_EQ(fork_line(f, "hopwatch.x_y.events", "x_y", "id-xy", 5, 0, err, sizeof(err)), 0);
	CHECK_EQ(fork_line(f, "hopwatch.x_y.events", "x.y", "id-xy", 6, 0, err, sizeof(err)),
		 -EINVAL);
	CHECK(strstr(err, "host.name 'x.y' is not 'x_y'") != NULL);
	/* a file's line: the same host as its subject would be */
	CHECK_EQ(fork_line(f, NULL, "x", "forged", 7, 0, err, sizeof(err)), -EINVAL);
	CHECK_EQ(fork_line(f, NULL, "x", "id-x", 8, 0, err, sizeof(err)), 0);
	hw_fleet__stats(f, &st, NULL);
	CHECK_EQ(st.hosts, 2);
	CHECK_EQ(st.identity, 20002);
	CHECK_EQ(st.malformed, 20002);
	CHECK_EQ(st.events, 3);
	hw_fleet__free(f);
}

TEST(fleet_forgets_idle_hosts)
{
	static const char *const sets[] = {"collect.host_idle=5s", NULL};
	struct hw_fleet *f = fleet(sets);
	struct hw_fleet_stats st;
	char err[300];

	if (!CHECK(f))
		return;
	hw_fleet__tick(f, T0);
	CHECK_EQ(fork_line(f, "hopwatch.x.events", "x", "id-x", 10, 0, err, sizeof(err)), 0);
	hw_fleet__tick(f, T0 + 3 * SEC);
	CHECK_EQ(fork_line(f, "hopwatch.y.events", "y", "id-y", 10, 3 * SEC, err, sizeof(err)), 0);
	hw_fleet__tick(f, T0 + 7 * SEC); /* x silent for 7 s, y for 4 s */
	hw_fleet__stats(f, &st, NULL);
	CHECK_EQ(st.idle, 1);
	CHECK_EQ(fork_line(f, "hopwatch.y.events", "y", "id-other", 11, 7 * SEC, err, sizeof(err)),
		 -EINVAL); /* y still pinned */
	CHECK_EQ(fork_line(f, "hopwatch.x.events", "x", "id-new", 11, 7 * SEC, err, sizeof(err)),
		 0); /* x forgotten: pinned afresh */
	hw_fleet__stats(f, &st, NULL);
	CHECK_EQ(st.hosts, 3);
	hw_fleet__free(f);
}

TEST(fleet_bounds_event_times_by_the_collectors_clock)
{
	struct hw_fleet *f = fleet(NULL);
	struct hw_fleet_stats st;
	char err[300];
	const char far[] =
	    "{\"@timestamp\":\"2100-01-01T00:00:00Z\",\"event\":{\"action\":\"fork\"},"
	    "\"host\":{\"name\":\"x\",\"id\":\"id-x\"},\"process\":{\"pid\":3}}";

	if (!CHECK(f))
		return;
	hw_fleet__bound(f, T0 + 60 * SEC);
	CHECK_EQ(hw_fleet__feed(f, "hopwatch.x.events", far, sizeof(far) - 1, err, sizeof(err)), 0);
	CHECK_EQ(hw_fleet__now(f), T0 + 60 * SEC + HW_STITCH_SKEW_NS);
	CHECK_EQ(fork_line(f, "hopwatch.x.events", "x", "id-x", 4, 10 * SEC, err, sizeof(err)), 0);
	hw_fleet__stats(f, &st, NULL);
	CHECK_EQ(st.clamped, 1);
	hw_fleet__free(f);
}

TEST(fleet_host_memory_budget_starts_an_engine_afresh)
{
	static const char *const sets[] = {"collect.host_memory_max=1M", NULL};
	struct hw_fleet *f = fleet(sets);
	struct hw_fleet_stats st;
	char err[300];

	if (!CHECK(f))
		return;
	/* processes the engine keeps (about 0.3 KiB each, their executables shared): over 1 MiB
	 * after some 3,400 */
	for (unsigned int i = 0; i < 10000; i++)
		fork_line(f, "hopwatch.x.events", "x", "id-x", 100 + i, i * 1000ULL, err,
			  sizeof(err));
	hw_fleet__stats(f, &st, NULL);
	CHECK(st.evictions >= 2 && st.evictions <= 4);
	CHECK(st.memory < 2 * 1024 * 1024);
	CHECK_EQ(st.hosts, 1 + st.evictions);
	CHECK_EQ(st.events, 10000);
	hw_fleet__free(f);
}
