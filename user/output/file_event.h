/* The view of one file fact (bpf/file.bpf.c, user/agent/file.c) the encoders are given. */
#ifndef HW_OUTPUT_FILE_EVENT_H
#define HW_OUTPUT_FILE_EVENT_H

#include <linux/types.h>

#include "model/proc_table.h"

/* file_created, file_modified, file_renamed, file_deleted, file_mode_changed */
struct hw_file_view {
	const char *action;
	__u64 ts_ns;		    /* CLOCK_BOOTTIME */
	const struct hw_process *p; /* the process that made the change */
	const char *user_name;
	const char *path;     /* file.path: the file (rename, link: the new name) */
	const char *old_path; /* rename, link: the old name; NULL otherwise */
	const char *target;   /* symlink: what it points to, as written; NULL otherwise */
	__u64 ino;	      /* 0 when the call named a path (the kernel did not open it) */
	__u32 dev, mode, uid, gid, nlink;
	int have_inode;	    /* ino, dev, uid, gid and nlink are known */
	int watched;	    /* path (or the inode) is in the watch set, exactly */
	int network_facing; /* by a process descending from one with a TCP connection */
	int lexical;	    /* path is as the program wrote it, its links not resolved */
	int hard_link;	    /* the inode of a watched file, under another name */
};

#endif
