/* The raw_socket_opened event (docs/events.md, "Raw sockets"): its view and its ECS line. The
 * encoder is ecs_raw.c, the text line text_raw.c, the engine's fact detect/fact_raw.c. */
#ifndef HW_OUTPUT_ECS_RAW_H
#define HW_OUTPUT_ECS_RAW_H

#include <linux/types.h>

#include "model/host.h"
#include "model/proc_table.h"
#include "output/json.h"
#include "output/text.h"

#define HW_RAW_ACTION "raw_socket_opened"

/* A socket() call that asked for a packet socket or a raw one (struct hw_raw_socket_event). */
struct hw_raw_view {
	const char *action; /* HW_RAW_ACTION */
	__u64 ts_ns;	    /* CLOCK_BOOTTIME */
	const struct hw_process *p;
	const char *user_name, *euser_name; /* of p's uid and euid, NULL when they have none */
	__u32 family, type, protocol;	    /* as asked (type with its flags) */
	__s32 ret;			    /* the descriptor, or -errno */
};

void hw_ecs__raw_event(struct hw_json *j, const struct hw_host *h, const struct hw_raw_view *v);
void hw_text__raw_event(struct hw_text *t, const struct hw_host *h, const struct hw_raw_view *v);

/* hopwatch.socket.protocol as written: AF_PACKET's ethertype in host order, else as asked. */
static inline __u32 hw_raw_protocol(__u32 family, __u32 protocol)
{
	return family == 17 /* AF_PACKET */ ? ((protocol & 0xff) << 8) | ((protocol >> 8) & 0xff)
					    : protocol;
}

#endif
