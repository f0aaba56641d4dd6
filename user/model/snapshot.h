/* The start-up snapshot: every process that exists when the agent starts, read from /proc,
 * entered in the process table with the same entity ids the kernel events give, so a shell
 * that has been running for a month has its lineage, user and arguments from the first
 * second. */
#ifndef HW_SNAPSHOT_H
#define HW_SNAPSHOT_H

#include <linux/types.h>

#include "model/proc_table.h"

typedef void (*hw_snapshot_cb)(struct hw_process *p, void *ctx);

/* Walks proc_root (normally "/proc"), skipping kernel threads, the process skip_pid (the
 * agent) and, when netns is not 0, processes of other network namespaces. Each process is
 * upserted into t and passed to cb. Returns the number of processes, or a negative errno when
 * proc_root cannot be read. Processes that vanish during the walk are skipped. */
int hw_snapshot__procs(struct hw_proc_table *t, const char *proc_root, __u32 netns, __u32 skip_pid,
		       hw_snapshot_cb cb, void *ctx);

/* Reads one process (exported for tests). out->start_ns is in ns, from /proc ticks. */
int hw_snapshot__read_proc(const char *proc_root, __u32 pid, __u64 ns_per_tick, struct hw_proc *out,
			   char **exe, char **cwd, char **args, __u32 *args_len, int *kthread);

/* What fds 0-2 of pid refer to now (HW_STDIO_*), from /proc/PID/fd and /proc/PID/net. */
void hw_snapshot__stdio(const char *proc_root, __u32 pid, __u8 out[3]);

#endif
