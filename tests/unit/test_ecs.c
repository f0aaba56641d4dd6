/* The ECS encoder against its own reader: a process with more arguments than the reader takes
 * values (issue 11, finding 1) gives lines the reader and the engine's fact parser accept, with
 * process.args cut, process.args_count the whole count and hopwatch.truncated saying so; every
 * line carries ecs.version; alerts are event.type info. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "detect/fact.h"
#include "detect/jsonread.h"
#include "output/alert.h"
#include "output/ecs.h"
#include "fixtures.h"
#include "test.h"

/* argv "bash -i -s a a a ..." with n "a" (as `bash -i -s $(printf 'a %.0s' $(seq n))`). */
static char *many_args(unsigned int n, __u32 *len)
{
	size_t cap = 16 + 2 * (size_t)n, off;
	char *s = malloc(cap);

	memcpy(s, "bash\0-i\0-s\0", 11);
	off = 11;
	for (unsigned int i = 0; i < n; i++) {
		s[off++] = 'a';
		s[off++] = 0;
	}
	*len = (__u32)off;
	return s;
}

static void proc(struct hw_process *p, char *args, __u32 len)
{
	memset(p, 0, sizeof(*p));
	p->k.pid = 4242;
	p->k.tid = 4242;
	p->k.ppid = 1;
	p->k.uid = p->k.euid = p->k.gid = 65534;
	p->k.loginuid = p->k.sessionid = (__u32)-1;
	memcpy(p->k.comm, "bash", 5);
	memcpy(p->entity_id, "E1", 3);
	memcpy(p->parent_entity_id, "E0", 3);
	p->exe = "/usr/bin/bash";
	p->cwd = "/tmp";
	p->args = args;
	p->args_len = len;
	p->flags = HW_PROC_EXEC;
	p->stdio_known = 1;
	p->stdio[0] = p->stdio[1] = p->stdio[2] = HW_STDIO_TCP;
}

static size_t count_path(const struct hw_jdoc *d, const char *path)
{
	size_t n = 0;

	for (size_t i = 0; i < d->n; i++)
		n += !strcmp(d->leaves[i].path, path);
	return n;
}

static int has_value(const struct hw_jdoc *d, const char *path, const char *val)
{
	for (size_t i = 0; i < d->n; i++)
		if (!strcmp(d->leaves[i].path, path) && !strcmp(d->leaves[i].val, val))
			return 1;
	return 0;
}

TEST(ecs_exec_with_1100_args_is_read_back)
{
	struct hw_host h = hw_test__host();
	struct hw_jdoc *d = calloc(1, sizeof(*d));
	struct hw_fact f;
	struct hw_process p;
	struct hw_json j;
	__u32 len;
	char *args = many_args(1100, &len), err[160];
	unsigned long long count = 0;
	struct hw_proc_event e = {.action = "exec", .ts_ns = 1000, .user_name = "nobody"};

	proc(&p, args, len);
	e.p = &p;
	hw_json__init(&j);
	hw_ecs__proc_event(&j, &h, &e);
	if (!CHECK_EQ(j.error, 0))
		goto out;
	if (!CHECK(hw_jdoc__parse(d, j.buf, j.len) == 0)) {
		printf("    reader: %s\n", d->err);
		goto out;
	}
	CHECK(d->n <= HW_JREAD_MAX_LEAVES);
	CHECK_EQ(count_path(d, "process.args"), HW_ECS_ARGS_MAX);
	CHECK(!hw_jdoc__u64(d, "process.args_count", &count));
	CHECK_EQ(count, 1103);
	CHECK(has_value(d, "hopwatch.truncated", "process.args"));
	CHECK_STREQ(hw_jdoc__str(d, "ecs.version"), HW_ECS_VERSION);
	/* the engine's facts: the reverse-shell rule needs the name, argv[0..2] and stdio */
	if (!CHECK(hw_fact__from_json(&f, d, err, sizeof(err)) == 0))
		goto out;
	CHECK_EQ(f.kind, HW_F_EXEC);
	CHECK_STREQ(f.args[1], "-i");
	CHECK_EQ(f.stdio[0], HW_IO_TCP);

	/* the network events repeat the process: the same bound */
	{
		struct hw_sock_addr a = {
		    .family = AF_INET, .protocol = 6, .sport = 40000, .dport = 4444};
		struct hw_net_view v = {.action = "connection_attempted",
					.ts_ns = 2000,
					.addr = &a,
					.conn_id = "C1",
					.p = &p,
					.direction = HW_DIR_EGRESS,
					.netns = 1};

		inet_pton(AF_INET, "127.0.0.1", a.saddr);
		inet_pton(AF_INET, "127.0.0.1", a.daddr);
		hw_json__reset(&j);
		hw_ecs__net_event(&j, &h, &v);
		CHECK_EQ(j.error, 0);
		if (CHECK(hw_jdoc__parse(d, j.buf, j.len) == 0)) {
			CHECK_EQ(count_path(d, "process.args"), HW_ECS_ARGS_MAX);
			CHECK(has_value(d, "hopwatch.truncated", "process.args"));
			CHECK(hw_fact__from_json(&f, d, err, sizeof(err)) == 0);
			CHECK_EQ(f.kind, HW_F_CONNECT);
		}
	}

	/* a short argv is whole and not flagged */
	free(args);
	args = many_args(3, &len);
	proc(&p, args, len);
	hw_json__reset(&j);
	hw_ecs__proc_event(&j, &h, &e);
	if (CHECK(hw_jdoc__parse(d, j.buf, j.len) == 0)) {
		CHECK_EQ(count_path(d, "process.args"), 6);
		CHECK(!hw_jdoc__get(d, "hopwatch.truncated"));
	}
out:
	hw_json__free(&j);
	hw_jdoc__free(d);
	free(d);
	free(args);
}

/* The worst argv the kernel side can give (HW_ARGS_MAX bytes): all empty arguments (the most
 * values), all control bytes (the longest escapes). */
TEST(ecs_worst_argv_fits_the_reader)
{
	struct hw_host h = hw_test__host();
	struct hw_jdoc *d = calloc(1, sizeof(*d));
	struct hw_process p;
	struct hw_json j;
	char *args = malloc(HW_ARGS_MAX);
	struct hw_proc_event e = {.action = "exec", .ts_ns = 1000};
	unsigned long long count = 0;

	e.p = &p;
	hw_json__init(&j);
	for (int shape = 0; shape < 2; shape++) {
		memset(args, shape ? 0x01 : 0, HW_ARGS_MAX);
		proc(&p, args, HW_ARGS_MAX);
		p.flags |= HW_EXEC_ARGS_TRUNCATED;
		hw_json__reset(&j);
		hw_ecs__proc_event(&j, &h, &e);
		if (!CHECK_EQ(j.error, 0))
			continue;
		CHECK(j.values <= HW_JREAD_MAX_LEAVES);
		if (!CHECK(hw_jdoc__parse(d, j.buf, j.len) == 0)) {
			printf("    reader: %s\n", d->err);
			continue;
		}
		CHECK(!hw_jdoc__u64(d, "process.args_count", &count));
		CHECK_EQ(count, shape ? 1 : HW_ARGS_MAX);
		CHECK(has_value(d, "hopwatch.truncated", "process.args"));
	}
	hw_json__free(&j);
	hw_jdoc__free(d);
	free(d);
	free(args);
}

TEST(json_values_counted_and_rewind)
{
	struct hw_json j;
	struct hw_json_mark m;

	hw_json__init(&j);
	hw_json__begin_object(&j, NULL);
	hw_json__string(&j, "a", "x");
	hw_json__begin_array(&j, "b");
	hw_json__u64(&j, NULL, 1);
	hw_json__bool(&j, NULL, 1);
	hw_json__null(&j, NULL);
	hw_json__end_array(&j);
	hw_json__begin_object(&j, "empty");
	hw_json__end_object(&j);
	hw_json__end_object(&j);
	hw_json__end_line(&j);
	CHECK_EQ(j.values, 4);
	m = hw_json__mark(&j);
	hw_json__begin_object(&j, NULL);
	hw_json__string(&j, "dropped", "y");
	hw_json__end_object(&j);
	hw_json__end_line(&j);
	hw_json__rewind(&j, m);
	CHECK_EQ(j.values, 4);
	CHECK_STREQ(hw_json__cstr(&j), "{\"a\":\"x\",\"b\":[1,true,null],\"empty\":{}}\n");
	hw_json__begin_object(&j, NULL);
	hw_json__end_object(&j);
	hw_json__end_line(&j);
	CHECK_EQ(j.error, 0);
	CHECK_STREQ(hw_json__cstr(&j), "{\"a\":\"x\",\"b\":[1,true,null],\"empty\":{}}\n{}\n");
	hw_json__set_error(&j, -E2BIG);
	CHECK_EQ(j.error, -E2BIG);
	CHECK_EQ(j.len, 0);
	hw_json__free(&j);
}

TEST(ecs_version_on_every_line_and_alert_type)
{
	struct hw_host h = hw_test__host();
	struct hw_json j;
	struct hw_alert a;
	struct hw_agent_event ae = {.action = "agent-started", .version = "x", .pid = 1};

	memset(&a, 0, sizeof(a));
	a.ts = 1795795200000000000ULL;
	a.rule_id = "reverse-shell";
	a.rule_name = "Reverse shell";
	a.severity = 99;
	a.severity_name = "critical";
	a.host_id = "mid";
	a.host_name = "h1";
	hw_json__init(&j);
	hw_ecs__alert(&j, &a);
	CHECK(strstr(hw_json__cstr(&j), "\"ecs\":{\"version\":\"" HW_ECS_VERSION "\"}"));
	CHECK(strstr(hw_json__cstr(&j),
		     "\"category\":[\"intrusion_detection\"],\"type\":[\"info\"]"));
	hw_json__reset(&j);
	hw_ecs__tick(&j, 1795795200000000000ULL, "h1", "mid");
	CHECK(strstr(hw_json__cstr(&j), "\"ecs\":{\"version\":\"" HW_ECS_VERSION "\"}"));
	hw_json__reset(&j);
	hw_ecs__agent_event(&j, &h, &ae);
	CHECK(strstr(hw_json__cstr(&j), "\"ecs\":{\"version\":\"" HW_ECS_VERSION "\"}"));
	hw_json__free(&j);
}

/* ECS timestamps (model/host.c hw_format_time, computed without gmtime) against gmtime_r for
 * leap days, century years, the first and last second of days and the 64-bit end, called in
 * an order that switches between seconds as an event's time and its process's start do. */
TEST(ecs_time_matches_gmtime)
{
	static const unsigned long long fixed[] = {0,
						   59,
						   86399,
						   86400,
						   951782400 /* 2000-02-29 */,
						   951868799,
						   4107542400 /* 2100-03-01 */,
						   4107456000,
						   1795795200,
						   18446744073ULL /* 2554-07-21 */};
	unsigned long long x = 88172645463325252ULL;

	for (int i = 0; i < 200000; i++) {
		unsigned long long sec, ns;
		char got[HW_TIME_LEN], want[64];
		struct tm tm;
		time_t t;

		if (i < (int)(sizeof(fixed) / sizeof(fixed[0]))) {
			sec = fixed[i];
		} else if (i % 3 == 2) {
			sec = 1795795200 + (unsigned long long)i / 3; /* back and forth */
		} else {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			sec = x % 18446744073ULL;
		}
		ns = sec * 1000000000ULL + (unsigned long long)i * 7919 % 1000000000ULL;
		t = (time_t)sec;
		gmtime_r(&t, &tm);
		snprintf(want, sizeof(want), "%04d-%02d-%02dT%02d:%02d:%02d.%09lluZ",
			 (tm.tm_year + 1900) % 10000, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
			 tm.tm_min, tm.tm_sec, ns % 1000000000ULL);
		hw_format_time(ns, got);
		if (!CHECK_STREQ(got, want))
			return;
	}
}

/* A network event's process members are kept encoded while the process stays the same
 * (ecs.c process_kept): each change of what they are made of shows in the next line. */
static const char *net_line(struct hw_json *j, const struct hw_host *h, struct hw_net_view *v)
{
	hw_json__reset(j);
	hw_ecs__net_event(j, h, v);
	return j->error ? "" : hw_json__cstr(j);
}

TEST(ecs_net_process_kept_follows_changes)
{
	struct hw_host h = hw_test__host();
	struct hw_process p;
	struct hw_sock_addr a;
	struct hw_net_view v;
	struct hw_json j;
	static const char argv[] = "nc\0-e\0/bin/sh";
	static const char argv2[] = "nc\0-l\0/bin/sh";

	memset(&p, 0, sizeof(p));
	p.k.pid = p.k.tid = 700;
	p.k.ppid = 1;
	p.k.uid = p.k.euid = p.k.gid = 1000;
	p.k.loginuid = p.k.sessionid = (__u32)-1;
	memcpy(p.k.comm, "nc", 3);
	memcpy(p.entity_id, "AAAAAAAAAAAAAAAAAAAAA1", 23);
	memcpy(p.parent_entity_id, "AAAAAAAAAAAAAAAAAAAAA0", 23);
	p.exe = "/usr/bin/nc";
	p.cwd = "/tmp";
	p.args = (char *)argv;
	p.args_len = sizeof(argv);
	p.flags = HW_PROC_EXEC;
	memset(&a, 0, sizeof(a));
	a.family = AF_INET;
	a.protocol = IPPROTO_TCP;
	a.saddr[0] = a.daddr[0] = 127;
	a.saddr[3] = a.daddr[3] = 1;
	a.sport = 40000;
	a.dport = 4444;
	memset(&v, 0, sizeof(v));
	v.action = "connection_attempted";
	v.ts_ns = 9000000000ULL;
	v.addr = &a;
	v.p = &p;
	v.user_name = v.euser_name = "alice";
	hw_json__init(&j);

	CHECK(strstr(net_line(&j, &h, &v), "\"working_directory\":\"/tmp\"") != NULL);
	CHECK(strstr(net_line(&j, &h, &v), "\"working_directory\":\"/tmp\"") != NULL);
	p.cwd = "/srv";
	CHECK(strstr(net_line(&j, &h, &v), "\"working_directory\":\"/srv\"") != NULL);
	p.args = (char *)argv2;
	CHECK(strstr(net_line(&j, &h, &v), "[\"nc\",\"-l\",\"/bin/sh\"]") != NULL);
	p.k.gid = 5;
	CHECK(strstr(net_line(&j, &h, &v), "\"group\":{\"id\":\"5\"}") != NULL);
	v.euser_name = "root";
	p.k.euid = 0;
	CHECK(strstr(net_line(&j, &h, &v), "\"effective\":{\"id\":\"0\",\"name\":\"root\"}") !=
	      NULL);
	memcpy(p.k.tty, "pts/1", 6);
	p.k.tty_major = 136;
	p.k.tty_minor = 1;
	CHECK(strstr(net_line(&j, &h, &v), "\"char_device\":{\"major\":136,\"minor\":1}") != NULL);
	p.k.start_ns = 1000000000ULL;
	CHECK(strstr(net_line(&j, &h, &v), "\"start\":\"2026-11-27T16:00:01.000000000Z\"") != NULL);
	p.flags |= HW_PROC_EXITED;
	p.exit_code = 9; /* SIGKILL */
	CHECK(strstr(net_line(&j, &h, &v), "\"exit_code\":137") != NULL);
	p.exe = NULL;
	CHECK(strstr(net_line(&j, &h, &v), "\"name\":\"nc\",\"args\"") != NULL);
	/* the same content behind another pointer reads the same */
	{
		struct hw_process q = p;
		char *line1 = strdup(net_line(&j, &h, &v));

		v.p = &q;
		CHECK_STREQ(net_line(&j, &h, &v), line1);
		free(line1);
	}
	hw_json__free(&j);
}

/* The head and host of a line are kept encoded (ecs_head.c), told apart by content: a host
 * changed in place and an action rewritten in the same buffer show in the next line, more
 * kinds of head than are kept at once (some sharing a slot) are each written right, and a
 * kept head counts the same values as a new one. */
TEST(ecs_head_kept_follows_content)
{
	struct hw_host h = hw_test__host();
	struct hw_json j;
	char action[32];
	struct hw_agent_event ae = {.action = action, .version = "x", .pid = 1};
	size_t values[2];

	hw_json__init(&j);
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < 40; i++) {
			char want[256];

			snprintf(action, sizeof(action), "act-%d", i);
			hw_json__reset(&j);
			hw_ecs__agent_event(&j, &h, &ae);
			snprintf(
			    want, sizeof(want),
			    "{\"@timestamp\":\"2026-11-27T16:00:00.000000000Z\",\"ecs\":"
			    "{\"version\":\"" HW_ECS_VERSION "\"},\"event\":{\"kind\":\"state\","
			    "\"category\":[\"host\"],\"type\":[\"info\"],\"action\":\"act-%d\","
			    "\"dataset\":\"hopwatch.agent\",\"module\":\"hopwatch\"},\"host\":{"
			    "\"name\":\"h1\",\"id\":\"mid\",\"boot\":{\"id\":\"bid\"}},",
			    i);
			if (!CHECK(!strncmp(hw_json__cstr(&j), want, strlen(want))))
				fprintf(stderr, "got  %s\nwant %s\n", hw_json__cstr(&j), want);
		}
		values[round] = j.values;
	}
	CHECK(values[0] == values[1]);
	/* the host changed in place, the same pointer */
	snprintf(h.name, sizeof(h.name), "h2");
	snprintf(h.boot_id, sizeof(h.boot_id), "bid2");
	hw_json__reset(&j);
	hw_ecs__agent_event(&j, &h, &ae);
	CHECK(strstr(hw_json__cstr(&j), "\"host\":{\"name\":\"h2\",\"id\":\"mid\",\"boot\":{\"id\":"
					"\"bid2\"}}") != NULL);
	/* a host name that needs escaping is written escaped, kept or not */
	snprintf(h.name, sizeof(h.name), "a\"b");
	for (int i = 0; i < 2; i++) {
		hw_json__reset(&j);
		hw_ecs__agent_event(&j, &h, &ae);
		CHECK(strstr(hw_json__cstr(&j), "\"name\":\"a\\\"b\"") != NULL);
	}
	hw_json__free(&j);
}

/* "user" and "group" are kept encoded for a few users (ecs_head.c), told apart by ids and
 * names: a name rewritten in the same buffer, a name that goes away, ids that change alone, and
 * more users than are kept, each written as they are. */
TEST(ecs_user_kept_follows_content)
{
	static const struct {
		__u32 uid, euid, gid;
		const char *name, *ename, *want;
	} cases[] = {
	    {0, 0, 0, "root", "root",
	     "\"user\":{\"id\":\"0\",\"name\":\"root\",\"effective\":{\"id\":\"0\",\"name\":"
	     "\"root\"}},"
	     "\"group\":{\"id\":\"0\"}"},
	    {0, 0, 0, "toor", "root",
	     "\"user\":{\"id\":\"0\",\"name\":\"toor\",\"effective\":{\"id\":\"0\",\"name\":"
	     "\"root\"}},"
	     "\"group\":{\"id\":\"0\"}"},
	    {0, 0, 0, NULL, "root",
	     "\"user\":{\"id\":\"0\",\"effective\":{\"id\":\"0\",\"name\":\"root\"}},\"group\":{"
	     "\"id\":"
	     "\"0\"}"},
	    {1000, 0, 0, NULL, "root",
	     "\"user\":{\"id\":\"1000\",\"effective\":{\"id\":\"0\",\"name\":\"root\"}},\"group\":{"
	     "\"id\":\"0\"}"},
	    {1000, 0, 5, NULL, "root",
	     "\"user\":{\"id\":\"1000\",\"effective\":{\"id\":\"0\",\"name\":\"root\"}},\"group\":{"
	     "\"id\":\"5\"}"},
	    {65534, 65534, 65534, "nobody", NULL,
	     "\"user\":{\"id\":\"65534\",\"name\":\"nobody\",\"effective\":{\"id\":\"65534\"}},"
	     "\"group\":{\"id\":\"65534\"}"},
	    {7, 7, 7, "a\"b", "a\"b",
	     "\"user\":{\"id\":\"7\",\"name\":\"a\\\"b\",\"effective\":{\"id\":\"7\",\"name\":"
	     "\"a\\\"b\"}},\"group\":{\"id\":\"7\"}"},
	};
	struct hw_host h = hw_test__host();
	struct hw_process p;
	struct hw_json j;
	struct hw_proc_event e = {.action = "exec", .ts_ns = 1000};
	char name[16], ename[16];

	proc(&p, NULL, 0);
	e.p = &p;
	hw_json__init(&j);
	for (int round = 0; round < 3; round++)
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			/* the names always in the same two buffers */
			snprintf(name, sizeof(name), "%s", cases[i].name ? cases[i].name : "");
			snprintf(ename, sizeof(ename), "%s", cases[i].ename ? cases[i].ename : "");
			e.user_name = cases[i].name ? name : NULL;
			e.euser_name = cases[i].ename ? ename : NULL;
			p.k.uid = cases[i].uid;
			p.k.euid = cases[i].euid;
			p.k.gid = cases[i].gid;
			hw_json__reset(&j);
			hw_ecs__proc_event(&j, &h, &e);
			if (!CHECK(strstr(hw_json__cstr(&j), cases[i].want) != NULL))
				printf("    round %d case %zu: %s\n", round, i, hw_json__cstr(&j));
		}
	hw_json__free(&j);
}
