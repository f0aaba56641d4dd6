/* OCSF File System Activity (1001) from the ECS lines of file facts (output/ecs_file.c):
 * file_created Create, file_modified Update, file_deleted Delete, file_renamed Rename (file the
 * old name, file_result the new), file_mode_changed Set Security (the mode is the file's
 * security on Linux). The actor is the process that made the change, with its session. What
 * OCSF's file has no attribute for (mode, device, group, the watch and network-facing marks)
 * stays in unmapped under its ECS name. */
#include <string.h>

#include "output/ocsf_int.h"

/* the OCSF file type of ECS file.type (symlink, dir, file; "" unknown) */
static void file_type(struct hw_json *j, const char *type)
{
	int id = !type			    ? 0
		 : !strcmp(type, "file")    ? 1
		 : !strcmp(type, "dir")	    ? 2
		 : !strcmp(type, "symlink") ? 7
					    : 99;
	static const char *const names[] = {
	    [0] = "Unknown", [1] = "Regular File", [2] = "Folder", [7] = "Symbolic Link"};

	hw_json__u64(j, "type_id", (unsigned long long)id);
	hw_json__string(j, "type", id == 99 ? type : names[id]);
}

/* An OCSF file named path ("" none): its name, folder, and, when it is the ECS file, its
 * owner, inode (uid) and type. */
static void file_obj(const struct hw_jdoc *d, struct hw_json *j, const char *key, const char *path,
		     int ecs_file)
{
	const char *slash;

	if (!path || !*path)
		return;
	slash = strrchr(path, '/');
	hw_json__begin_object(j, key);
	hw_json__string(j, "name", slash && slash[1] ? slash + 1 : path);
	hw_json__string(j, "path", path);
	if (slash && slash != path)
		hw_json__string_n(j, "parent_folder", path, (size_t)(slash - path));
	else if (slash)
		hw_json__string(j, "parent_folder", "/");
	if (ecs_file) {
		file_type(j, hw_jdoc__str(d, "file.type"));
		oc_str(d, j, "uid", "file.inode");
		if (oc_has(d, "file.uid")) {
			hw_json__begin_object(j, "owner");
			oc_str(d, j, "uid", "file.uid");
			oc_str(d, j, "name", "file.owner");
			hw_json__end_object(j);
		}
	} else {
		file_type(j, NULL);
	}
	hw_json__end_object(j);
}

static void file_body(const struct hw_jdoc *d, struct hw_json *j)
{
	const char *action = hw_jdoc__str(d, "event.action");
	const char *path = hw_jdoc__str(d, "file.path");
	const char *old = hw_jdoc__str(d, "hopwatch.file.old_path");

	hw_json__begin_object(j, "actor");
	oc_process(d, j, "process", 1);
	oc_user(d, j, "user", 1);
	hw_json__end_object(j);
	if (action && !strcmp(action, "file_renamed") && old) {
		file_obj(d, j, "file", old, 0);
		file_obj(d, j, "file_result", path, 1);
	} else {
		file_obj(d, j, "file", path ? path : "", 1);
	}
}

void hw_ocsf__file(const struct hw_jdoc *d, const char *action, struct oc_head *h)
{
	static const struct {
		const char *action;
		int id;
		const char *name;
	} acts[] = {
	    {"file_created", 1, "Create"},
	    {"file_modified", 3, "Update"},
	    {"file_deleted", 4, "Delete"},
	    {"file_renamed", 5, "Rename"},
	    {"file_mode_changed", 7, "Set Security"},
	};
	static const char *const extra[] = {"file.mode", "file.device", "file.gid", NULL};

	if (!hw_jdoc__str(d, "file.path"))
		return; /* no file: a Base Event */
	for (size_t i = 0; i < sizeof(acts) / sizeof(acts[0]); i++) {
		if (strcmp(action, acts[i].action))
			continue;
		h->class_uid = 1001;
		h->class_name = "File System Activity";
		h->category_name = "System Activity";
		h->activity_id = acts[i].id;
		h->activity_name = acts[i].name;
		h->body = file_body;
		h->unmapped_extra = extra;
		return;
	}
}
