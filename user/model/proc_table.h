/* The process table: every process the agent knows, live or recently exited, keyed by pid and
 * start time (so a reused pid is a new entry), with what lineage and rules need. Exited
 * entries are kept a while (late events, orphans' lineage) in a FIFO bounded in count and age,
 * so memory stays bounded under a fork storm. */
#ifndef HW_PROC_TABLE_H
#define HW_PROC_TABLE_H

#include <stddef.h>
#include <linux/types.h>

#include "hopwatch/events.h"
#include "lib/htab.h"
#include "model/host.h"

/* hw_process.flags, beside the HW_EXEC_* truncation flags of the last exec */
#define HW_PROC_EXITED	 (1u << 16)
#define HW_PROC_SNAPSHOT (1u << 17) /* found by the start-up snapshot */
#define HW_PROC_EXEC	 (1u << 18) /* exe/args come from an exec we saw or from /proc */
#define HW_PROC_DESKTOP	 (1u << 19) /* a session manager's desktop: its exit ends the session */

struct hw_process {
	struct hw_hnode node;		  /* in the table, by pid */
	struct hw_process *eprev, *enext; /* exited FIFO, oldest first */
	struct hw_proc k;		  /* identity and credentials as last reported */
	char entity_id[HW_ENTITY_ID_LEN];
	char parent_entity_id[HW_ENTITY_ID_LEN];
	/* its image, read-only: shared with the children it forked until they exec */
	char *exe;  /* absolute path, or NULL when unknown */
	char *cwd;  /* NULL when unknown */
	char *args; /* argv, NUL-separated, args_len bytes (may end without NUL if truncated) */
	struct hw_proc_image *img; /* the allocation holding them (proc_table.c), NULL none */
	__u32 args_len;
	__u32 flags;
	char session_id[HW_ENTITY_ID_LEN]; /* hopwatch.session.id, "" outside a session */
	__u32 sid_checked; /* the audit sessionid last looked up in the sessions, 0 none */
	__u8 stdio[3];	   /* HW_STDIO_* of fds 0-2 at the last exec (or the snapshot) */
	__u8 stdio_known;  /* stdio was read: from the exec record or /proc */
	__u64 exit_ns;	   /* CLOCK_BOOTTIME of the exit, when HW_PROC_EXITED */
	__u32 exit_code;
	__u32 exe_uid;	/* owner of the executable's inode, (u32)-1 unknown */
	__u32 exe_mode; /* its mode (type and permission bits), 0 unknown */
	__u64 exe_ino;	/* its inode and device (kernel encoding) from the exec record, 0 unknown */
	__u32 exe_dev;
};

struct hw_proc_table;

/* max_exited: exited entries kept at most; ttl_ns: how long after exit. The table keeps a
 * pointer to host (for entity ids): it must outlive the table. */
struct hw_proc_table *hw_proc_table__new(const struct hw_host *host, size_t max_exited,
					 __u64 ttl_ns);
void hw_proc_table__free(struct hw_proc_table *t);

struct hw_process *hw_proc_table__get(struct hw_proc_table *t, __u32 pid, __u64 start_ns);
/* The live (not exited) process with this pid, NULL when none. */
struct hw_process *hw_proc_table__live(struct hw_proc_table *t, __u32 pid);

/* Finds or creates the entry of k's process and updates its identity and credentials from k.
 * Another live entry with the same pid is an older incarnation: it is marked exited. Returns
 * NULL on allocation failure. */
struct hw_process *hw_proc_table__upsert(struct hw_proc_table *t, const struct hw_proc *k);

/* Replaces the image of p (exe, cwd, args); NULL exe/cwd keep nothing. Copies the strings.
 * Returns 0 or -ENOMEM (p then keeps what it had). */
int hw_process__set_image(struct hw_process *p, const char *exe, const char *cwd, const char *args,
			  __u32 args_len, __u32 flags);

/* Records who owns the executable and its mode (kernel facts: the exec record, or a stat of
 * /proc/PID/exe). */
void hw_process__set_exe_owner(struct hw_process *p, __u32 uid, __u32 mode);

/* The executable is a file only root can have placed and changed: owned by root, not writable
 * by group or others, every directory of its path likewise (HW_EXEC_EXE_UNSAFE_DIR clear), still
 * linked, its path whole. Exemptions and service recognition rest on this, never on a name: a
 * copy of bash named sshd in /tmp, or any file an unprivileged user made, is not trusted. */
int hw_process__exe_trusted(const struct hw_process *p);

/* A forked child starts with its parent's image. */
int hw_process__inherit(struct hw_process *child, const struct hw_process *parent);

void hw_proc_table__exit(struct hw_proc_table *t, struct hw_process *p, __u64 ts_ns,
			 __u32 exit_code);

/* Frees exited entries older than the ttl at now_ns (CLOCK_BOOTTIME), and the oldest beyond
 * max_exited. Returns how many were freed. */
size_t hw_proc_table__expire(struct hw_proc_table *t, __u64 now_ns);

size_t hw_proc_table__count(const struct hw_proc_table *t);
/* Calls fn for every process (live and exited); fn may not add or remove. */
void hw_proc_table__each(struct hw_proc_table *t, void (*fn)(struct hw_process *p, void *ctx),
			 void *ctx);
__u64 hw_proc_table__ns_per_tick(const struct hw_proc_table *t);
size_t hw_proc_table__exited(const struct hw_proc_table *t);

#endif
