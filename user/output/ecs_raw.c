/* ECS JSON of raw_socket_opened (ecs_raw.h, docs/events.md "Raw sockets"): the header, the
 * outcome and error of the socket() call, the caller as process events write it
 * (hw_ecs__process_part) and hopwatch.socket. */
#include <stdio.h>
#include <string.h>

#include "detect/fact_raw.h"
#include "output/ecs.h"
#include "output/ecs_int.h"
#include "output/ecs_raw.h"

static void socket_members(struct hw_json *j, const void *ctx)
{
	const struct hw_raw_view *v = ctx;
	const char *family = hw_raw_family_name(v->family);
	const char *type = hw_raw_type_name(v->type);

	hw_json__begin_object(j, "socket");
	if (family[0])
		hw_json__string(j, "family", family);
	else
		hw_json__u64(j, "family", v->family);
	if (type[0])
		hw_json__string(j, "type", type);
	else
		hw_json__u64(j, "type", v->type & 0xf);
	hw_json__u64(j, "protocol", hw_raw_protocol(v->family, v->protocol));
	if (v->ret >= 0)
		hw_json__u64(j, "fd", (__u64)v->ret);
	hw_json__end_object(j);
}

void hw_ecs__raw_event(struct hw_json *j, const struct hw_host *h, const struct hw_raw_view *v)
{
	static const char *const categories[] = {"network", "process", NULL};

	hw_ecs__head_cats(j, h, v->ts_ns, "event", categories, "start", v->action,
			  "hopwatch.network");
	hw_json__string(j, "outcome", v->ret < 0 ? "failure" : "success");
	hw_ecs__head_end(j, h);
	if (v->ret < 0) {
		const char *name = strerrorname_np(-v->ret);
		char num[16];

		/* error.code is a keyword in ECS: EPERM, EACCES, ... or the number as a string */
		if (!name) {
			snprintf(num, sizeof(num), "%d", -v->ret);
			name = num;
		}
		hw_json__begin_object(j, "error");
		hw_json__string(j, "code", name);
		hw_json__string(j, "message", strerror(-v->ret));
		hw_json__end_object(j);
	}
	hw_ecs__process_part(j, h, v->p, v->user_name, v->euser_name, socket_members, v);
	hw_json__end_object(j);
	hw_json__end_line(j);
}
