/* The OCSF translator (user/output/ocsf.c): what has no OCSF form, what it refuses, a kind of
 * line it has no class for (Base Event, nothing lost), and the mapping of outcomes. Every
 * class on real lines: tests/e2e/test_ocsf_lines.py and tests/cli/test_ocsf.py. */
#include <errno.h>
#include <string.h>

#include "output/ocsf.h"
#include "stream/syslog_fmt.h"
#include "test.h"

#define HEAD "{\"@timestamp\":\"2026-11-27T10:00:00.123456789Z\",\"event\":{"
#define HOST "\"host\":{\"name\":\"b\",\"id\":\"abc\"}"

static int tr(struct hw_ocsf *o, const char *line, const char **out)
{
	size_t len = 0;

	*out = NULL;
	return hw_ocsf__translate(o, line, strlen(line), out, &len);
}

TEST(ocsf_refuses_and_skips)
{
	struct hw_ocsf *o = hw_ocsf__new();
	const char *out;

	if (!CHECK(o))
		return;
	/* a tick is the recording's clock: no OCSF form */
	CHECK_EQ(tr(o,
		    HEAD
		    "\"kind\":\"state\",\"action\":\"tick\",\"dataset\":\"hopwatch.agent\"}," HOST
		    "}\n",
		    &out),
		 0);
	CHECK_EQ(tr(o, "not json", &out), -EINVAL);
	CHECK_EQ(tr(o, "[1,2]", &out), -EINVAL);
	/* no event.action, no @timestamp: not a hopwatch line */
	CHECK_EQ(tr(o, HEAD "\"kind\":\"event\",\"dataset\":\"hopwatch.process\"}," HOST "}", &out),
		 -EINVAL);
	CHECK_EQ(tr(o,
		    "{\"event\":{\"kind\":\"event\",\"action\":\"exec\",\"dataset\":"
		    "\"hopwatch.process\"}}",
		    &out),
		 -EINVAL);
	/* NULL passes an ECS line through unchanged */
	out = "x\n";
	{
		size_t len = 2;

		CHECK_EQ(hw_ocsf__line(NULL, &out, &len), 1);
		CHECK(len == 2 && !strcmp(out, "x\n"));
	}
	hw_ocsf__free(o);
}

TEST(ocsf_unknown_kind_is_a_base_event_with_everything)
{
	struct hw_ocsf *o = hw_ocsf__new();
	const char *out;

	if (!CHECK(o))
		return;
	CHECK_EQ(tr(o,
		    HEAD "\"kind\":\"event\",\"action\":\"file_written\",\"dataset\":"
			 "\"hopwatch.file\"}," HOST
			 ",\"file\":{\"path\":\"/etc/x\"},\"tags\":[\"a\",\"b\"]}",
		    &out),
		 1);
	CHECK(out &&
	      strstr(out, "\"class_uid\":0,\"class_name\":\"Base Event\",\"category_uid\":0"));
	CHECK(out && strstr(out, "\"activity_id\":99,\"activity_name\":\"file_written\","
				 "\"type_uid\":99,"));
	CHECK(out && strstr(out, "\"time\":1795773600123,\"time_dt\":"
				 "\"2026-11-27T10:00:00.123456789Z\""));
	CHECK(out && strstr(out, "\"file.path\":\"/etc/x\",\"tags\":[\"a\",\"b\"]}"));
	CHECK(out && out[strlen(out) - 1] == '\n' && !strchr(out, '\n')[1]);
	/* a raw socket made is no network traffic: a Base Event too, even when socket() failed */
	CHECK_EQ(tr(o,
		    HEAD "\"kind\":\"event\",\"action\":\"raw_socket_opened\",\"dataset\":"
			 "\"hopwatch.network\",\"outcome\":\"failure\"}," HOST
			 ",\"error\":{\"code\":"
			 "\"EPERM\"},\"hopwatch\":{\"socket\":{\"family\":\"packet\"}}}",
		    &out),
		 1);
	CHECK(out && strstr(out, "\"class_uid\":0,\"class_name\":\"Base Event\""));
	CHECK(out && strstr(out, "\"hopwatch.socket.family\":\"packet\""));
	hw_ocsf__free(o);
}

TEST(ocsf_outcomes)
{
	struct hw_ocsf *o = hw_ocsf__new();
	const char *out;

	if (!CHECK(o))
		return;
	/* a connect refused is Refuse, another failure Fail, with the errno as status_code */
	CHECK_EQ(
	    tr(o,
	       HEAD
	       "\"kind\":\"event\",\"action\":\"connection_attempted\",\"dataset\":"
	       "\"hopwatch.network\",\"outcome\":\"failure\"}," HOST ",\"source\":{\"ip\":"
	       "\"198.18.0.2\",\"port\":4000},\"destination\":{\"ip\":\"198.18.0.3\",\"port\":9},"
	       "\"error\":{\"code\":\"ECONNREFUSED\",\"message\":\"Connection refused\"}}",
	       &out),
	    1);
	CHECK(out && strstr(out, "\"activity_id\":5,\"activity_name\":\"Refuse\""));
	CHECK(out && strstr(out, "\"status_id\":2,\"status\":\"Failure\",\"status_code\":"
				 "\"ECONNREFUSED\",\"status_detail\":\"Connection refused\""));
	CHECK_EQ(tr(o,
		    HEAD "\"kind\":\"event\",\"action\":\"connection_attempted\",\"dataset\":"
			 "\"hopwatch.network\",\"outcome\":\"failure\"}," HOST
			 ",\"destination\":{\"ip\":"
			 "\"198.18.0.3\",\"port\":9},\"error\":{\"code\":\"ETIMEDOUT\"}}",
		    &out),
		 1);
	CHECK(out && strstr(out, "\"activity_id\":4,\"activity_name\":\"Fail\""));
	/* a login without a user name: the user is "unknown", the status Failure */
	CHECK_EQ(tr(o,
		    HEAD "\"kind\":\"event\",\"action\":\"user_login\",\"dataset\":"
			 "\"hopwatch.session\",\"outcome\":\"failure\",\"reason\":\"closed before "
			 "login\"}," HOST "}",
		    &out),
		 1);
	CHECK(out && strstr(out, "\"user\":{\"name\":\"unknown\"}"));
	CHECK(out && strstr(out, "\"status_id\":2,\"status\":\"Failure\",\"status_detail\":"
				 "\"closed before login\""));
	/* alert severities 47, 73, 99: Medium, High, Critical */
	CHECK_EQ(tr(o,
		    HEAD "\"kind\":\"alert\",\"action\":\"x\",\"dataset\":\"hopwatch.alert\","
			 "\"severity\":99,\"id\":\"f\"}," HOST
			 ",\"rule\":{\"id\":\"x\",\"name\":\"X\"},"
			 "\"threat\":{\"technique\":{\"id\":[\"T9999.001\"]}}}",
		    &out),
		 1);
	CHECK(out && strstr(out, "\"severity_id\":5,\"severity\":\"Critical\""));
	/* a technique the table does not know keeps its ids, without names */
	CHECK(out && strstr(out, "\"attacks\":[{\"technique\":{\"uid\":\"T9999\"},"
				 "\"sub_technique\":{\"uid\":\"T9999.001\"}}]"));
	hw_ocsf__free(o);
}

/* The syslog sink's header of an OCSF line (user/stream/syslog_fmt.c): its time from time_dt,
 * PRI crit (26) for a Critical finding, warning (28) for a High one, info (30) for an event. */
TEST(ocsf_syslog_header)
{
	struct hw_ocsf *o = hw_ocsf__new();
	const char *out;
	char frame[4096];
	size_t n;

	if (!CHECK(o))
		return;
	CHECK_EQ(tr(o,
		    HEAD "\"kind\":\"alert\",\"action\":\"x\",\"dataset\":\"hopwatch.alert\","
			 "\"severity\":99,\"id\":\"f\"}," HOST
			 ",\"rule\":{\"id\":\"x\",\"name\":\"X\"}}",
		    &out),
		 1);
	n = hw_syslog__format('a', out, strlen(out) - 1, "b", 7, frame, sizeof(frame));
	CHECK(n < sizeof(frame));
	CHECK(strstr(frame, " <26>1 2026-11-27T10:00:00.123456Z b hopwatch 7 alert - "
			    "{\"class_uid\":2004,"));
	CHECK_EQ(tr(o,
		    HEAD "\"kind\":\"alert\",\"action\":\"x\",\"dataset\":\"hopwatch.alert\","
			 "\"severity\":73,\"id\":\"f\"}," HOST
			 ",\"rule\":{\"id\":\"x\",\"name\":\"X\"}}",
		    &out),
		 1);
	hw_syslog__format('a', out, strlen(out) - 1, "b", 7, frame, sizeof(frame));
	CHECK(strstr(frame, " <28>1 2026-11-27T10:00:00.123456Z b hopwatch 7 alert - "));
	/* an event: info, its time from time_dt */
	CHECK_EQ(tr(o,
		    HEAD "\"kind\":\"event\",\"action\":\"exec\",\"dataset\":"
			 "\"hopwatch.process\"}," HOST ",\"process\":{\"pid\":9}}",
		    &out),
		 1);
	hw_syslog__format('e', out, strlen(out) - 1, "b", 7, frame, sizeof(frame));
	CHECK(strstr(frame, " <30>1 2026-11-27T10:00:00.123456Z b hopwatch 7 event - "));
	hw_ocsf__free(o);
}

/* cmd_line holds every argument, however long the command line (it was once cut at 8 KiB). */
TEST(ocsf_cmd_line_whole)
{
	struct hw_ocsf *o = hw_ocsf__new();
	static char line[64 << 10], want[32 << 10];
	size_t n, w = 0;
	const char *out;

	if (!CHECK(o))
		return;
	n = (size_t)snprintf(line, sizeof(line),
			     HEAD "\"kind\":\"event\",\"action\":\"exec\","
				  "\"dataset\":\"hopwatch.process\"}," HOST
				  ",\"process\":{\"pid\":9,"
				  "\"args\":[");
	for (int i = 0; i < 700; i++) {
		n += (size_t)snprintf(line + n, sizeof(line) - n, "%s\"arg%04d-0123456789\"",
				      i ? "," : "", i);
		w += (size_t)snprintf(want + w, sizeof(want) - w, "%sarg%04d-0123456789",
				      i ? " " : "", i);
	}
	snprintf(line + n, sizeof(line) - n, "]}}");
	CHECK_EQ(tr(o, line, &out), 1);
	CHECK(w > 8192 && out && strstr(out, want));
	hw_ocsf__free(o);
}

/* Found by fuzz_ocsf: a line whose @timestamp is not a time has no OCSF form (time is
 * required; it was written without one), and a list whose elements are interrupted by an
 * object's members is written in unmapped once, its elements together (it was written twice:
 * a duplicate key). */
TEST(ocsf_fuzz_findings)
{
	struct hw_ocsf *o = hw_ocsf__new();
	const char *out;

	if (!CHECK(o))
		return;
	CHECK_EQ(tr(o,
		    "{\"@timestamp\":\"202=-11-27T11:01:40Z\",\"event\":{\"kind\":\"event\","
		    "\"action\":\"exit\",\"dataset\":\"hopwatch.process\"}}",
		    &out),
		 -EINVAL);
	CHECK_EQ(tr(o,
		    HEAD "\"kind\":\"event\",\"action\":\"exit\",\"dataset\":"
			 "\"hopwatch.process\"}," HOST ",\"hopwatch\":{\"m\":[1,{\"n\":2},3]}}",
		    &out),
		 1);
	CHECK(out && strstr(out, "\"unmapped\":{\"hopwatch.m\":[1,3],\"hopwatch.m.n\":2}}"));
	hw_ocsf__free(o);
}

/* Found by fuzz_ocsf: two member names that differ only in bytes that are not UTF-8 were one
 * unmapped member written twice (the writer puts U+FFFD for each such byte). Such a byte is
 * now the text \xHH in the name, and a backslash is doubled, so that a name that spells \xff
 * itself stays apart. Names that are UTF-8 are as they were. */
TEST(ocsf_unmapped_names_not_utf8_stay_apart)
{
	struct hw_ocsf *o = hw_ocsf__new();
	const char *out;

	if (!CHECK(o))
		return;
	CHECK_EQ(tr(o,
		    HEAD "\"kind\":\"event\",\"action\":\"exit\",\"dataset\":"
			 "\"hopwatch.process\"}," HOST ",\"hopwatch\":{\"a\xfe\":1,\"a\xff\":2,"
			 "\"a\\\\xff\":3,\"\xc3\xa9t\xc3\xa9\":4}}",
		    &out),
		 1);
	CHECK(out && strstr(out, "\"unmapped\":{\"hopwatch.a\\\\xfe\":1,\"hopwatch.a\\\\xff\":2,"
				 "\"hopwatch.a\\\\\\\\xff\":3,\"hopwatch.\xc3\xa9t\xc3\xa9\":4}"));
	hw_ocsf__free(o);
}
