/* Facts straight from the views the agent encodes (output/event.h): the live agent feeds the
 * engine with these instead of parsing back the ECS line it just wrote. Each function gives
 * exactly the fact hw_fact__from_json() reads from the line hw_ecs__KIND_event() writes for
 * the same view and host (the same fields, strings as the reader gets them back: UTF-8
 * repaired, cut to the fact's sizes; ip text as inet_ntop writes it; process.args as the
 * encoder bounds it), so that the live agent and `replay` of its recording raise the same
 * alerts. tests/unit/test_fact_view.c proves it field by field for every action, and the agent
 * checks it on every event under HW_FACT_CHECK=1 (user/agent/check.c). */
#ifndef HW_DETECT_FACT_VIEW_H
#define HW_DETECT_FACT_VIEW_H

#include <stddef.h>

#include "detect/fact.h"
#include "output/event.h"

void hw_fact__proc_event(struct hw_fact *f, const struct hw_host *h, const struct hw_proc_event *e);
void hw_fact__net_event(struct hw_fact *f, const struct hw_host *h, const struct hw_net_view *v);
void hw_fact__session_event(struct hw_fact *f, const struct hw_host *h,
			    const struct hw_session_view *v);
void hw_fact__agent_event(struct hw_fact *f, const struct hw_host *h,
			  const struct hw_agent_event *e);
/* The tick hw_ecs__tick() writes (wall_ns: ns since the epoch). */
void hw_fact__tick(struct hw_fact *f, unsigned long long wall_ns, const char *host_name,
		   const char *host_id);

/* Compares two facts field by field. Returns how many fields differ (0 equal); the first few
 * are described in out ("process.name: 'a' != 'b'; ..."), truncated to outlen. */
int hw_fact__diff(const struct hw_fact *a, const struct hw_fact *b, char *out, size_t outlen);

#endif
