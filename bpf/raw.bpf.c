/* Raw packet sockets: a socket() call that asks for an AF_PACKET socket (any type), or for a
 * SOCK_RAW socket of any family but netlink, is reported once at its exit with the caller and
 * the descriptor (or the error). Netlink sockets are SOCK_RAW by convention and carry no
 * packets: every `ip` and systemd unit opens them, so they are left out in the kernel.
 *
 * The entry filters on the three arguments alone (no map, no read) and keeps a matching call
 * in raw_opening by thread; the exit of any other socket() call costs one hash miss. The rule
 * raw-socket-bridge (user/detect/rules_bridge.c) joins these with the connection facts.
 */
#include "maps.bpf.h"
#include "task.bpf.h"

#define HW_AF_NETLINK	  16
#define HW_AF_PACKET	  17
#define HW_SOCK_RAW	  3
#define HW_SOCK_TYPE_MASK 0xf

struct hw_raw_open {
	__u32 family, type, protocol, pad;
};

/* raw_opening: a packet or raw socket() in flight, per thread, from its sys_enter to its
 * sys_exit. Written and deleted here only. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct hw_raw_open);
} raw_opening SEC(".maps");

SEC("tp/syscalls/sys_enter_socket")
int handle_socket_enter(struct trace_event_raw_sys_enter *ctx)
{
	struct hw_raw_open o = {
	    .family = (__u32)ctx->args[0],
	    .type = (__u32)ctx->args[1],
	    .protocol = (__u32)ctx->args[2],
	};
	__u32 tid;

	if (o.family != HW_AF_PACKET &&
	    ((o.type & HW_SOCK_TYPE_MASK) != HW_SOCK_RAW || o.family == HW_AF_NETLINK))
		return 0;
	if (!hw_wanted((struct task_struct *)bpf_get_current_task()))
		return 0;
	tid = (__u32)bpf_get_current_pid_tgid();
	if (bpf_map_update_elem(&raw_opening, &tid, &o, BPF_ANY))
		hw_stat_inc(HW_STAT_ERR_MAP);
	return 0;
}

SEC("tp/syscalls/sys_exit_socket")
int handle_socket_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct hw_raw_open *o = bpf_map_lookup_elem(&raw_opening, &tid);
	struct hw_raw_socket_event *e;

	if (!o)
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		hw_stat_inc(HW_STAT_DROP_RINGBUF);
		bpf_map_delete_elem(&raw_opening, &tid);
		return 0;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->hdr.ts_ns = bpf_ktime_get_boot_ns();
	e->hdr.type = HW_EV_RAW_SOCKET;
	e->hdr.size = sizeof(*e);
	hw_fill_proc(&e->proc, (struct task_struct *)bpf_get_current_task());
	e->ret = (__s32)ctx->ret;
	e->family = o->family;
	e->type = o->type;
	e->protocol = o->protocol;
	bpf_map_delete_elem(&raw_opening, &tid);
	bpf_ringbuf_submit(e, hw_rb_flags());
	hw_stat_inc(HW_STAT_EVENTS);
	return 0;
}
