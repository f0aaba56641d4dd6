/* ECS JSON of file facts: file_created, file_modified, file_renamed, file_deleted,
 * file_mode_changed (docs/events.md). The line's head is every event's (ecs_int.h); the
 * process block here is the short one a file fact needs (who, which session). */
#include <stdio.h>
#include <string.h>

#include "lib/str.h"
#include "output/ecs.h"
#include "output/ecs_file.h"
#include "output/ecs_int.h"

const char *hw_file_event_type(const char *action)
{
	if (!strcmp(action, "file_created"))
		return "creation";
	if (!strcmp(action, "file_deleted"))
		return "deletion";
	return "change";
}

static void file_type(struct hw_json *j, __u32 mode)
{
	switch (mode & 0170000) {
	case 0100000:
		hw_json__string(j, "type", "file");
		break;
	case 0120000:
		hw_json__string(j, "type", "symlink");
		break;
	case 0040000:
		hw_json__string(j, "type", "dir");
		break;
	default:
		break;
	}
}

void hw_ecs__exe_inode(struct hw_json *j, const struct hw_process *p)
{
	/* on every exec line: digits by hand, no snprintf */
	char buf[48], *end = buf + sizeof(buf), *q;

	if (!p->exe_ino)
		return;
	q = hw_json__format_u64(end, (unsigned long long)p->exe_ino);
	hw_json__kplain(j, HW_JK("inode"), q, (size_t)(end - q));
	q = hw_json__format_u64(end, p->exe_dev & 0xfffff);
	*--q = ':';
	q = hw_json__format_u64(q, p->exe_dev >> 20);
	hw_json__kplain(j, HW_JK("device"), q, (size_t)(end - q));
}

void hw_ecs__file_event(struct hw_json *j, const struct hw_host *h, const struct hw_file_view *v)
{
	const struct hw_process *p = v->p;
	const struct hw_proc *k = &p->k;
	char buf[32];
	const char *slash;

	hw_ecs__head(j, h, v->ts_ns, "event", "file", hw_file_event_type(v->action), v->action,
		     "hopwatch.file");
	hw_ecs__head_end(j, h);

	hw_json__begin_object(j, "process");
	hw_json__u64(j, "pid", k->pid);
	hw_json__string(j, "entity_id", p->entity_id);
	hw_json__string(j, "name", p->exe ? hw_str__base_name(p->exe) : k->comm);
	if (p->exe)
		hw_json__string(j, "executable", p->exe);
	if (k->ppid) {
		hw_json__begin_object(j, "parent");
		hw_json__u64(j, "pid", k->ppid);
		hw_json__string(j, "entity_id", p->parent_entity_id);
		hw_json__end_object(j);
	}
	hw_json__end_object(j);
	hw_json__begin_object(j, "user");
	hw_ecs__id(j, HW_JK("id"), k->uid);
	if (v->user_name)
		hw_json__string(j, "name", v->user_name);
	hw_json__begin_object(j, "effective");
	hw_ecs__id(j, HW_JK("id"), k->euid);
	hw_json__end_object(j);
	hw_json__end_object(j);

	hw_json__begin_object(j, "file");
	hw_json__string(j, "path", v->path);
	hw_json__string(j, "name", hw_str__base_name(v->path));
	slash = strrchr(v->path, '/');
	if (slash)
		hw_json__string_n(j, "directory", v->path,
				  slash == v->path ? 1 : (size_t)(slash - v->path));
	if (v->have_inode) {
		snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v->ino);
		hw_json__string(j, "inode", buf);
		snprintf(buf, sizeof(buf), "%u:%u", v->dev >> 20, v->dev & 0xfffff);
		hw_json__string(j, "device", buf);
		hw_ecs__id(j, HW_JK("uid"), v->uid);
		hw_ecs__id(j, HW_JK("gid"), v->gid);
		file_type(j, v->mode);
	}
	if (v->mode) {
		snprintf(buf, sizeof(buf), "%04o", v->mode & 07777);
		hw_json__string(j, "mode", buf);
	}
	if (v->target)
		hw_json__string(j, "target_path", v->target);
	hw_json__end_object(j);

	hw_json__begin_object(j, "hopwatch");
	hw_json__string(j, "comm", k->comm);
	if (p->session_id[0]) {
		hw_json__begin_object(j, "session");
		hw_json__string(j, "id", p->session_id);
		hw_json__end_object(j);
	}
	if (k->loginuid != (__u32)-1 || k->sessionid != (__u32)-1) {
		hw_json__begin_object(j, "audit");
		if (k->loginuid != (__u32)-1)
			hw_json__u64(j, "loginuid", k->loginuid);
		if (k->sessionid != (__u32)-1)
			hw_json__u64(j, "sessionid", k->sessionid);
		hw_json__end_object(j);
	}
	hw_json__begin_object(j, "file");
	hw_json__bool(j, "watched", v->watched);
	hw_json__bool(j, "network_facing", v->network_facing);
	if (v->lexical)
		hw_json__bool(j, "lexical", 1);
	if (v->hard_link)
		hw_json__bool(j, "hard_link", 1);
	if (v->have_inode)
		hw_json__u64(j, "nlink", v->nlink);
	if (v->old_path)
		hw_json__string(j, "old_path", v->old_path);
	hw_json__end_object(j);
	hw_json__end_object(j);
	hw_json__end_object(j);
	hw_json__end_line(j);
}
