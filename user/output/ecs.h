/* ECS 8.x JSON encoder: one JSON object per event, appended to j as one line. */
#ifndef HW_OUTPUT_ECS_H
#define HW_OUTPUT_ECS_H

#include "output/event.h"
#include "output/json.h"

void hw_ecs__proc_event(struct hw_json *j, const struct hw_host *h, const struct hw_proc_event *e);
void hw_ecs__net_event(struct hw_json *j, const struct hw_host *h, const struct hw_net_view *v);
void hw_ecs__session_event(struct hw_json *j, const struct hw_host *h,
			   const struct hw_session_view *v);
void hw_ecs__agent_event(struct hw_json *j, const struct hw_host *h,
			 const struct hw_agent_event *e);

#endif
