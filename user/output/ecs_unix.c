/* ECS JSON and the text line of agent_socket_used (ecs_unix.h, docs/events.md "Agent
 * sockets"): the header, the caller as process events write it (hw_ecs__process_part) and
 * hopwatch.agent_socket: the socket file, the sshd that bound it and its session. */
#include <stdio.h>
#include <string.h>

#include "output/ecs.h"
#include "output/ecs_int.h"
#include "output/ecs_unix.h"

static void socket_members(struct hw_json *j, const void *ctx)
{
	const struct hw_unix_view *v = ctx;
	char buf[32];

	hw_json__begin_object(j, "agent_socket");
	hw_json__string(j, "path", v->path);
	hw_json__string(j, "connected_path", v->user_path);
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v->ino);
	hw_json__string(j, "inode", buf);
	snprintf(buf, sizeof(buf), "%u:%u", v->dev >> 20, v->dev & 0xfffff);
	hw_json__string(j, "device", buf);
	hw_json__begin_object(j, "owner");
	hw_json__u64(j, "pid", v->owner->k.pid);
	hw_json__string(j, "entity_id", v->owner->entity_id);
	hw_json__begin_object(j, "user");
	snprintf(buf, sizeof(buf), "%u", v->owner_uid);
	hw_json__string(j, "id", buf);
	if (v->owner_user)
		hw_json__string(j, "name", v->owner_user);
	hw_json__end_object(j);
	hw_json__end_object(j);
	if (v->session[0]) {
		hw_json__begin_object(j, "session");
		hw_json__string(j, "id", v->session);
		hw_json__end_object(j);
	}
	hw_json__end_object(j);
}

void hw_ecs__unix_event(struct hw_json *j, const struct hw_host *h, const struct hw_unix_view *v)
{
	hw_ecs__head(j, h, v->ts_ns, "event", "network", "access", v->action, "hopwatch.network");
	hw_json__string(j, "outcome", "success");
	hw_ecs__head_end(j, h);
	hw_ecs__process_part(j, h, v->p, v->user_name, v->euser_name, socket_members, v);
	hw_json__end_object(j);
	hw_json__end_line(j);
}

/* "TIME agent_socket_used pid=N ppid=N user=NAME session=ID|- owner=PID/USER PATH EXE" */
void hw_text__unix_event(struct hw_text *t, const struct hw_host *h, const struct hw_unix_view *v)
{
	const struct hw_process *p = v->p;
	char ts[HW_TIME_LEN], buf[96];
	int n;

	hw_format_time(hw_host__wall_ns(h, v->ts_ns), ts);
	ts[23] = 0; /* milliseconds are enough on a terminal */
	n = snprintf(buf, sizeof(buf), "%s %s pid=%u ppid=%u user=", ts, v->action, p->k.pid,
		     p->k.ppid);
	hw_text__raw(t, buf, (size_t)n);
	if (v->user_name)
		hw_text__word(t, v->user_name, strlen(v->user_name));
	else
		hw_text__raw(t, buf, (size_t)snprintf(buf, sizeof(buf), "%u", p->k.uid));
	hw_text__raw(t, " session=", 9);
	if (v->session[0])
		hw_text__word(t, v->session, strlen(v->session));
	else
		hw_text__raw(t, "-", 1);
	hw_text__raw(t, buf, (size_t)snprintf(buf, sizeof(buf), " owner=%u/", v->owner->k.pid));
	if (v->owner_user)
		hw_text__word(t, v->owner_user, strlen(v->owner_user));
	else
		hw_text__raw(t, buf, (size_t)snprintf(buf, sizeof(buf), "%u", v->owner_uid));
	hw_text__raw(t, " ", 1);
	hw_text__word(t, v->path, strlen(v->path));
	hw_text__raw(t, " ", 1);
	hw_text__exe(t, p);
	hw_text__raw(t, "\n", 1);
}
