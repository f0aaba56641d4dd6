/* ECS 8.x JSON encoder: one JSON object per event, appended to j as one line, always one the
 * event reader (detect/jsonread.h) accepts: process.args is cut to fit (hopwatch.truncated). */
#ifndef HW_OUTPUT_ECS_H
#define HW_OUTPUT_ECS_H

#include "hopwatch/limits.h"
#include "output/event.h"
#include "output/json.h"

/* ecs.version of every line: the ECS release the lines are checked against (tests/schema/ecs) */
#define HW_ECS_VERSION "8.17.0"

/* process.args written at most: the elements, and their bytes before escaping. The other
 * fields of the largest line are fewer than 100 values, so a line stays well inside the
 * reader's HW_JREAD_MAX_LEAVES (1024) and, escaped (6 bytes a byte at worst), HW_JREAD_MAX_LINE. */
#define HW_ECS_ARGS_MAX	  768
#define HW_ECS_ARGS_BYTES HW_ARGS_MAX

void hw_ecs__proc_event(struct hw_json *j, const struct hw_host *h, const struct hw_proc_event *e);
void hw_ecs__net_event(struct hw_json *j, const struct hw_host *h, const struct hw_net_view *v);
void hw_ecs__session_event(struct hw_json *j, const struct hw_host *h,
			   const struct hw_session_view *v);
void hw_ecs__agent_event(struct hw_json *j, const struct hw_host *h,
			 const struct hw_agent_event *e);

#endif
