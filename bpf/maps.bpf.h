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
/* 1 when tracing programs may call bpf_get_socket_cookie (5.12+): the loader probes it; on
 * older kernels the branch that calls it is dead code the verifier never walks */
extern const volatile __u8 hw_cookie_helper;

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

/* conns: the TCP connections the kernel side follows between their state changes, keyed
 * by struct sock address. Written by handle_sock_state (connect, established, close) and the
 * accept exits (owner); read at close. LRU: a connection evicted under pressure is counted
 * (HW_STAT_CONN_MISS) when its close or accept finds nothing. Size: agent.conn_table_max. */
struct hw_conn_state {
	__u64 start_ns;	      /* SYN sent (egress) or established (ingress) */
	__u64 owner_start_ns; /* owner process: pid + start time */
	__u32 owner_pid;
	__u8 direction;
	__u8 closed_by;
	__u8 pad[2];
	__u64 cookie; /* the connection's key for the agent, set when it is established */
};

struct hw_conns_map {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct hw_conn_state);
};
extern struct hw_conns_map conns SEC(".maps");

/* connecting: a connect() in flight, per thread, from sys_enter_connect to sys_exit_connect,
 * so a connect that fails before any state change (no route) is still reported once. */
struct hw_connecting {
	__u64 uaddr; /* user pointer to the sockaddr */
	__u32 fd;
	__u32 addrlen;
	__u8 reached; /* a SYN was sent: the state path reports the outcome */
	__u8 pad[7];
};

struct hw_connecting_map {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, struct hw_connecting);
};
extern struct hw_connecting_map connecting SEC(".maps");

/* udp_flows: destinations each process already sent UDP to, so a flow is reported once (and
 * again after hw_udp_reemit_ns), not per packet. Written and read by the send handlers. */
struct hw_udp_key {
	__u8 daddr[16];
	__u32 tgid;
	__u16 dport;
	__u16 family;
};

struct hw_udp_flows_map {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct hw_udp_key);
	__type(value, __u64);
};
extern struct hw_udp_flows_map udp_flows SEC(".maps");

/* udp_sending: a UDP send syscall in flight, per thread, from its sys_enter to its sys_exit.
 * The route lookups of the send (fib tracepoints) read the destinations from kernel memory
 * while it is there; the exit reads them from user memory only for what no lookup showed.
 * Written by the send entries, read by the fib handlers and the send exits (net.bpf.c). */
#define HW_UDP_SENDTO	1
#define HW_UDP_SENDMSG	2
#define HW_UDP_SENDMMSG 3

struct hw_udp_send {
	__u64 sk;   /* struct sock of the fd */
	__u64 uarg; /* user pointer: sockaddr (sendto), msghdr (sendmsg), mmsghdr[] (sendmmsg) */
	__u32 len;  /* sendto: addrlen; sendmmsg: vlen */
	__u32 seen; /* route lookups of this send that gave a destination */
	__u8 kind;  /* HW_UDP_* */
	__u8 pad[7];
};

struct hw_udp_sending_map {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, struct hw_udp_send);
};
extern struct hw_udp_sending_map udp_sending SEC(".maps");
extern const volatile __u64 hw_udp_reemit_ns;

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
