/* The agent_socket_used fact: from its view (live agent) and from its ECS line (replay, the
 * collector), the same either way (HW_FACT_CHECK=1 and tests/unit/test_fact_unix.c check it). */
#ifndef HW_DETECT_FACT_UNIX_H
#define HW_DETECT_FACT_UNIX_H

#include "detect/fact.h"
#include "output/ecs_unix.h"

void hw_fact__unix_event(struct hw_fact *f, const struct hw_host *h, const struct hw_unix_view *v);
/* The hopwatch.agent_socket members and user.id of an agent_socket_used line
 * (hw_fact__from_json read the rest). */
void hw_fact__unix_from_json(struct hw_fact *f, const struct hw_jdoc *d);

#endif
