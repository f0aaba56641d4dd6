/* Network-facing processes (BPF side only): the netprocs map, its hint, and marking a process.
 *
 * A process that made or accepted a TCP connection is marked by net.bpf.c, in the programs
 * that already run at that moment (handle_sock_state at SYN_SENT, the accept exits): a second
 * program on the same hook would cost its trampoline and call on every firing. Its children
 * inherit the mark at fork (process.bpf.c's handle_fork, hw_netproc_inherit), and the file
 * programs report what such a process writes (file.bpf.c). The maps are defined once, in
 * maps.bpf.c.
 */
#ifndef HW_NETPROC_BPF_H
#define HW_NETPROC_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "maps.bpf.h"

/* Hints in front of a hash map, indexed by the low bits of the key (array lookups are inlined
 * by the verifier, hash lookups are calls): 0 means the key is surely not in the map; 1, look.
 * netproc_hint: tgid, set before netprocs; inode_hint (file.bpf.c): inode number, set before
 * watch_inodes. Never cleared: a stale 1 costs the lookup it saves. */
#define HW_HINTS 16384
struct hw_hint_map {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, HW_HINTS);
	__type(key, __u32);
	__type(value, __u8);
};

static __always_inline int hw_hint(void *map, __u64 key)
{
	__u32 i = key & (HW_HINTS - 1);
	__u8 *h = bpf_map_lookup_elem(map, &i);

	return h && *h;
}

static __always_inline void hw_hint_set(void *map, __u64 key)
{
	__u32 i = key & (HW_HINTS - 1);
	__u8 *h = bpf_map_lookup_elem(map, &i);

	if (h)
		*h = 1;
}

/* netprocs: network-facing processes, tgid -> start time (a reused pid does not inherit).
 * Written at connect and accept (net.bpf.c) and fork (process.bpf.c), read by the file
 * programs. */
struct hw_netprocs_map {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u64);
};
extern struct hw_netprocs_map netprocs SEC(".maps");
extern struct hw_hint_map netproc_hint SEC(".maps");

/* The current process descends from a network-facing one (netprocs, same start time). */
static __always_inline int hw_netproc(struct task_struct *task)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u64 *start;

	if (!hw_hint(&netproc_hint, tgid))
		return 0;
	start = bpf_map_lookup_elem(&netprocs, &tgid);
	return start && *start == BPF_CORE_READ(task, group_leader, start_boottime);
}

/* Marks the process tgid (started at start) network-facing. A process already marked (a
 * service accepting, a client connecting again) costs a lookup, not an update of the LRU map:
 * the lookup keeps its entry recent as the update would. */
static __always_inline void hw_netproc_set(__u32 tgid, __u64 start)
{
	__u64 *have;

	if (hw_hint(&netproc_hint, tgid)) {
		have = bpf_map_lookup_elem(&netprocs, &tgid);
		if (have && *have == start)
			return;
	}
	hw_hint_set(&netproc_hint, tgid);
	if (bpf_map_update_elem(&netprocs, &tgid, &start, BPF_ANY))
		hw_stat_inc(HW_STAT_ERR_MAP);
}

/* Marks the current process (task: the current task) network-facing; never the agent. */
static __always_inline void hw_netproc_mark(struct task_struct *task)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	if (tgid != hw_agent_tgid)
		hw_netproc_set(tgid, BPF_CORE_READ(task, group_leader, start_boottime));
}

/* A new process (child, forked by parent: the current task) of a network-facing one is
 * network-facing, whatever the filters of the fork event (the agent's own children included, as
 * at connect). A parent whose hint is clear costs one array load. */
static __always_inline void hw_netproc_inherit(struct task_struct *parent,
					       struct task_struct *child)
{
	__u32 ptgid = bpf_get_current_pid_tgid() >> 32;
	__u64 *start;

	if (!hw_hint(&netproc_hint, ptgid))
		return;
	start = bpf_map_lookup_elem(&netprocs, &ptgid);
	if (!start || *start != BPF_CORE_READ(parent, group_leader, start_boottime))
		return;
	hw_netproc_set(BPF_CORE_READ(child, tgid), BPF_CORE_READ(child, start_boottime));
}

#endif
