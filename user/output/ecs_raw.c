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
	char t[HW_TIME_LEN];

	hw_json__begin_object(j, NULL);
	hw_format_time(hw_host__wall_ns(h, v->ts_ns), t);
	hw_json__string(j, "@timestamp", t);
	hw_json__begin_object(j, "ecs");
	hw_json__string(j, "version", HW_ECS_VERSION);
	hw_json__end_object(j);
	hw_json__begin_object(j, "event");
	hw_json__string(j, "kind", "event");
	hw_json__begin_array(j, "category");
	hw_json__string(j, NULL, "network");
	hw_json__string(j, NULL, "process");
	hw_json__end_array(j);
	hw_json__begin_array(j, "type");
	hw_json__string(j, NULL, "start");
	hw_json__end_array(j);
	hw_json__string(j, "action", v->action);
	hw_json__string(j, "dataset", "hopwatch.network");
	hw_json__string(j, "module", "hopwatch");
	hw_json__string(j, "outcome", v->ret < 0 ? "failure" : "success");
	hw_json__end_object(j);
	hw_json__begin_object(j, "host");
	hw_json__string(j, "name", h->name);
	hw_json__string(j, "id", h->id);
	hw_json__begin_object(j, "boot");
	hw_json__string(j, "id", h->boot_id);
	hw_json__end_object(j);
	hw_json__end_object(j);
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
