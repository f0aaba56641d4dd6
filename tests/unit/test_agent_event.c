/* The agent-started event names what the kernel cannot do (hopwatch.degraded), in ECS JSON and
 * in the text line, and says nothing of it when nothing is degraded. */
#include <string.h>

#include "loader.h"
#include "output/ecs.h"
#include "output/json.h"
#include "output/text.h"
#include "test.h"

static struct hw_host host(void)
{
	struct hw_host h;

	memset(&h, 0, sizeof(h));
	snprintf(h.name, sizeof(h.name), "h1");
	snprintf(h.id, sizeof(h.id), "mid");
	snprintf(h.boot_id, sizeof(h.boot_id), "bid");
	return h;
}

TEST(agent_started_lists_degraded_features)
{
	static const char *const degraded[] = {HW_DEGRADED_SOCKET_COOKIE};
	struct hw_host h = host();
	struct hw_agent_event e = {
	    .action = "agent-started",
	    .version = "1",
	    .pid = 7,
	    .snapshot_procs = 2,
	    .degraded = degraded,
	    .ndegraded = 1,
	};
	struct hw_json j;
	struct hw_text t = {0};

	hw_json__init(&j);
	hw_ecs__agent_event(&j, &h, &e);
	CHECK(j.buf && strstr(j.buf, "\"degraded\":[\"socket_cookie\"]"));
	/* beside the agent object: hopwatch.degraded */
	CHECK(j.buf && strstr(j.buf, "\"hopwatch\":{\"agent\":{") &&
	      strstr(j.buf, "}},\"degraded\":[\"socket_cookie\"]}}"));
	hw_text__agent_event(&t, &h, &e);
	CHECK(t.buf && strstr(t.buf, " degraded=socket_cookie\n"));

	e.ndegraded = 0;
	e.degraded = NULL;
	hw_json__reset(&j);
	hw_ecs__agent_event(&j, &h, &e);
	CHECK(j.buf && !strstr(j.buf, "degraded"));
	hw_text__reset(&t);
	hw_text__agent_event(&t, &h, &e);
	CHECK(t.buf && !strstr(t.buf, "degraded"));
	hw_json__free(&j);
	hw_text__free(&t);
}
