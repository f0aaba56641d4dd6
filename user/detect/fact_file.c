/* File facts: read back from their ECS line (output/ecs_file.c), and built straight from the
 * view, the same fields both ways (fact_view.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect/fact_fields.h"
#include "detect/fact_file.h"
#include "lib/str.h"
#include "output/json.h"

void hw_fact__file_from_json(struct hw_fact *f, const struct hw_jdoc *d, const char *action)
{
	const struct hw_jleaf *l;
	const char *s;

	hw_str__copy(f->file_action, sizeof(f->file_action), action);
	hw_str__copy(f->file_path, sizeof(f->file_path), hw_fact__str(d, HW_FF_FILE_PATH));
	hw_str__copy(f->file_old, sizeof(f->file_old), hw_fact__str(d, HW_FF_FILE_OLD_PATH));
	s = hw_fact__str(d, HW_FF_FILE_INODE);
	f->file_ino = s ? strtoull(s, NULL, 10) : 0;
	hw_str__copy(f->file_dev, sizeof(f->file_dev), hw_fact__str(d, HW_FF_FILE_DEVICE));
	s = hw_fact__str(d, HW_FF_FILE_MODE);
	f->file_mode = s ? (unsigned int)strtoul(s, NULL, 8) : 0;
	l = hw_fact__leaf(d, HW_FF_FILE_WATCHED);
	f->file_watched = l && l->type == HW_J_TRUE;
	l = hw_fact__leaf(d, HW_FF_FILE_NETWORK_FACING);
	f->file_netfacing = l && l->type == HW_J_TRUE;
}

void hw_fact__exe_inode_from_json(struct hw_fact *f, const struct hw_jdoc *d)
{
	const char *s = hw_fact__str(d, HW_FF_HOPWATCH_EXE_INODE);

	f->exe_ino = s ? strtoull(s, NULL, 10) : 0;
	hw_str__copy(f->exe_dev, sizeof(f->exe_dev), hw_fact__str(d, HW_FF_HOPWATCH_EXE_DEVICE));
}

void hw_fact__exe_inode(struct hw_fact *f, const struct hw_process *p)
{
	char major[21];

	if (!p->exe_ino || !p->exe || !p->exe_mode)
		return;
	f->exe_ino = p->exe_ino;
	hw_str__u64(major, p->exe_dev >> 20);
	hw_str__pair(f->exe_dev, sizeof(f->exe_dev), major, p->exe_dev & 0xfffff);
}

/* A string as the reader gets it back (fact_view.c's put()). */
static void put(char *dst, size_t cap, const char *s)
{
	if (!s) {
		dst[0] = 0;
		return;
	}
	hw_json__read_back(dst, cap, s, strlen(s));
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

void hw_fact__file_event(struct hw_fact *f, const struct hw_host *h, const struct hw_file_view *v)
{
	const struct hw_process *p = v->p;
	const struct hw_proc *k = &p->k;
	char dev[24];

	memset(f, 0, sizeof(*f));
	f->ts = hw_host__wall_ns(h, v->ts_ns);
	f->kind = HW_F_FILE;
	put(f->host_id, sizeof(f->host_id), h->id);
	put(f->host_name, sizeof(f->host_name), h->name);
	f->pid = k->pid;
	put(f->entity_id, sizeof(f->entity_id), p->entity_id);
	put(f->name, sizeof(f->name), p->exe ? base_name(p->exe) : k->comm);
	put(f->executable, sizeof(f->executable), p->exe);
	if (k->ppid) {
		f->ppid = k->ppid;
		put(f->parent_entity_id, sizeof(f->parent_entity_id), p->parent_entity_id);
	}
	if (!f->name[0] && f->executable[0])
		put(f->name, sizeof(f->name), base_name(f->executable));
	put(f->user, sizeof(f->user), v->user_name);
	f->root = k->uid == 0 && k->euid == 0;
	put(f->session_id, sizeof(f->session_id), p->session_id);
	put(f->file_action, sizeof(f->file_action), v->action);
	put(f->file_path, sizeof(f->file_path), v->path);
	put(f->file_old, sizeof(f->file_old), v->old_path);
	if (v->have_inode) {
		f->file_ino = v->ino;
		snprintf(dev, sizeof(dev), "%u:%u", v->dev >> 20, v->dev & 0xfffff);
		put(f->file_dev, sizeof(f->file_dev), dev);
	}
	f->file_mode = v->mode & 07777;
	f->file_watched = !!v->watched;
	f->file_netfacing = !!v->network_facing;
}
