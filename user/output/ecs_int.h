/* Pieces of ecs.c for the encoders of other event kinds kept in their own files (ecs_raw.c):
 * the process members exactly as process events write them. */
#ifndef HW_OUTPUT_ECS_INT_H
#define HW_OUTPUT_ECS_INT_H

#include "output/event.h"
#include "output/json.h"

/* Writes process, user and group of p as a process event does, then the "hopwatch" object:
 * what describes the process (comm, session, audit, exe, truncated, ...), then whatever more()
 * adds (when not NULL), and closes it. */
void hw_ecs__process_part(struct hw_json *j, const struct hw_host *h, const struct hw_process *p,
			  const char *user_name, const char *euser_name,
			  void (*more)(struct hw_json *j, const void *ctx), const void *ctx);

#endif
