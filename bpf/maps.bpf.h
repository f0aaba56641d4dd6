/* Maps and load-time settings shared by every BPF program of hopwatch.
 *
 * bpftool gen object links every bpf .bpf.c file into one object. Each map and setting is
 * declared extern here and defined once in maps.bpf.c; the static linker resolves the rest.
 */
#ifndef HW_MAPS_BPF_H
#define HW_MAPS_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "hopwatch/events.h"

/* Set by the agent between open and load (user/loader.c). */
extern const volatile __u32 hw_agent_tgid;   /* events of the agent itself are not traced */
extern const volatile __u32 hw_netns_filter; /* network namespace inode, 0 = every namespace */
extern const volatile __u32 hw_args_max;     /* argv bytes per exec, <= HW_ARGS_MAX */
extern const volatile __u64 hw_wakeup_bytes; /* wake the reader once this much is queued */

/* events: every record, in order, to the agent. Written by all programs, read by the agent's
 * ring_buffer poll loop. Size set by the agent (agent.ringbuf_size). */
struct hw_events_map {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20);
};
extern struct hw_events_map events SEC(".maps");

/* stats: per-CPU counters indexed by HW_STAT_*. Written by all programs, summed by the agent
 * for agent-stopped and hopwatch check. */
struct hw_stats_map {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, HW_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
};
extern struct hw_stats_map stats SEC(".maps");

/* scratch: one exec record per CPU, too big for the 512-byte BPF stack. Written and read only
 * by handle_exec while it builds a record. */
struct hw_scratch_map {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct hw_exec_event);
};
extern struct hw_scratch_map scratch SEC(".maps");

static __always_inline void hw_stat_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &idx);

	if (v)
		*v += 1; /* per-CPU value: no atomics needed */
}

/* Batched wakeups: the agent polls on a short timer, so the reader is woken only once the
 * queue passes hw_wakeup_bytes (DESIGN.md: per-record wakeups cost 2.7x on a connect storm). */
static __always_inline __u64 hw_rb_flags(void)
{
	return bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= hw_wakeup_bytes
		       ? BPF_RB_FORCE_WAKEUP
		       : BPF_RB_NO_WAKEUP;
}

#endif
