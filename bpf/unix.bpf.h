/* Agent sockets, the part net.bpf.c's connect programs run (BPF side only): the maps, the call
 * kept from a unix connect's entry to its exit, and the report of a connect to an agent socket.
 *
 * A connect() fires one program per tracepoint, net.bpf.c's handle_connect_enter and
 * handle_connect_exit, which do the network side and then this one: a second program on the
 * same hook would cost its dispatch and call on every connect of the machine. The bind side,
 * and what an agent socket is, are in unix.bpf.c; the maps are defined once, in maps.bpf.c.
 */
#ifndef HW_UNIX_BPF_H
#define HW_UNIX_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "maps.bpf.h"
#include "task.bpf.h"

#define HW_AF_UNIX 1

/* The socket file of an agent socket. */
struct hw_agent_sock_key {
	__u64 ino;
	__u32 dev;
	__u32 pad;
};

struct hw_agent_sock {
	__u64 owner_start_ns;
	__u64 addr; /* the socket's struct unix_address (shared by its accepted ends), 0 unknown:
		     * an inode number reused after the socket's end is not taken for it */
	__u32 owner_pid;
	__u32 owner_uid;
	__u32 owner_sessionid;
	__u32 pad;
};

/* agent_socks: the sockets sshd bound, by inode. Written by handle_unix_bind_exit and by the
 * agent (sockets older than it), read at a connect's exit (hw_unix_connect_exit). The agent
 * deletes the entries whose owner has exited (user/agent/unix.c, every HW_AGENT_SOCK_SWEEP_NS,
 * and within a second of a bind that found the map full: hw_unix_full; the addr
 * check and the agent's owner check keep a reused inode from matching meanwhile). Not LRU: a
 * flood of sessions, or years of them, never pushes a live session's socket out; a bind that
 * finds the map full is counted (HW_STAT_ERR_MAP) and the sockets already in it stay. */
struct hw_agent_socks_map {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct hw_agent_sock_key);
	__type(value, struct hw_agent_sock);
};
extern struct hw_agent_socks_map agent_socks SEC(".maps");

struct hw_unix_call {
	__u64 uaddr; /* the caller's sockaddr */
	__u32 fd;
	__u32 addrlen;
};

/* unix_calls: a unix bind() by sshd or a unix connect() in flight, per thread, from its
 * sys_enter to its sys_exit. Written and deleted by the bind and connect programs only (every
 * sys_enter has its sys_exit: a plain hash, cheaper to update than an LRU one). */
struct hw_unix_calls_map {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, struct hw_unix_call);
};
extern struct hw_unix_calls_map unix_calls SEC(".maps");

/* Set once agent_socks has an entry (at a bind, or by the agent for older sessions): until
 * then a connect costs one load at its entry and one at its exit. Never cleared (entries are
 * not counted out), so a connect that entered unarmed has no call kept at its exit. */
extern __u32 hw_unix_armed;

/* Set when a bind found agent_socks full: the agent sweeps it at once (at most once a second)
 * instead of at its next 10 s round, and clears this. */
extern __u32 hw_unix_full;

/* Keeps the current thread's bind() or connect() (ctx: its sys_enter) when its address is a
 * unix one; the caller has checked the process is wanted (hw_wanted). */
static __always_inline void hw_unix_keep(struct trace_event_raw_sys_enter *ctx)
{
	struct hw_unix_call c = {
	    .fd = (__u32)ctx->args[0],
	    .uaddr = ctx->args[1],
	    .addrlen = (__u32)ctx->args[2],
	};
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u16 family = 0;

	if (c.addrlen < sizeof(family) ||
	    bpf_probe_read_user(&family, sizeof(family), (void *)c.uaddr) || family != HW_AF_UNIX)
		return;
	if (bpf_map_update_elem(&unix_calls, &tid, &c, BPF_ANY))
		hw_stat_inc(HW_STAT_ERR_MAP);
}

/* The struct sock behind fd in the current task, NULL when fd is not a socket (as net.bpf.c's
 * hw_fd_sock). */
static __always_inline struct sock *hw_unix_fd_sock(struct task_struct *task, __u32 fd)
{
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fds = BPF_CORE_READ(fdt, fd);
	struct file *f = NULL;
	struct socket *sock;

	if (fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	if (!f || (BPF_CORE_READ(f, f_inode, i_mode) & HW_S_IFMT) != HW_S_IFSOCK)
		return NULL;
	sock = BPF_CORE_READ(f, private_data);
	return BPF_CORE_READ(sock, sk);
}

/* The socket file a unix socket is bound to (the listener's, for an accepted end). */
static __always_inline int hw_unix_key(struct hw_agent_sock_key *k, struct sock *sk)
{
	struct unix_sock *u = (struct unix_sock *)sk;
	struct inode *inode = BPF_CORE_READ(u, path.dentry, d_inode);

	if (!inode)
		return -1; /* abstract or unbound */
	k->ino = BPF_CORE_READ(inode, i_ino);
	k->dev = BPF_CORE_READ(inode, i_sb, s_dev);
	k->pad = 0;
	return 0;
}

/* The unix side of a connect's exit (ctx, in the current task): a connect kept at its entry
 * that reached a socket sshd bound is reported with the caller and the binder. */
static __always_inline void hw_unix_connect_exit(struct trace_event_raw_sys_exit *ctx,
						 struct task_struct *task)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct hw_unix_call *c = bpf_map_lookup_elem(&unix_calls, &tid);
	struct hw_agent_sock_key k;
	struct hw_agent_sock *v;
	struct hw_unix_event *e;
	struct unix_sock *peer;
	struct unix_address *addr;
	struct sock *sk;

	if (!c)
		return;
	if (ctx->ret != 0)
		goto out;
	sk = hw_unix_fd_sock(task, c->fd);
	if (!sk)
		goto out;
	peer = (struct unix_sock *)BPF_CORE_READ((struct unix_sock *)sk, peer);
	if (!peer || hw_unix_key(&k, (struct sock *)peer))
		goto out;
	v = bpf_map_lookup_elem(&agent_socks, &k);
	if (!v)
		goto out;
	addr = BPF_CORE_READ(peer, addr);
	if (v->addr && v->addr != (__u64)addr)
		goto out; /* the inode of a socket that is gone, reused */
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		hw_stat_inc(HW_STAT_DROP_RINGBUF);
		goto out;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->hdr.ts_ns = bpf_ktime_get_boot_ns();
	e->hdr.type = HW_EV_UNIX_CONNECT;
	e->hdr.size = sizeof(*e);
	hw_fill_proc(&e->proc, task);
	e->ino = k.ino;
	e->dev = k.dev;
	e->owner_start_ns = v->owner_start_ns;
	e->owner_pid = v->owner_pid;
	e->owner_uid = v->owner_uid;
	e->owner_sessionid = v->owner_sessionid;
	/* sun_path after the 2-byte family; NUL-terminated by the memset and the short read */
	bpf_probe_read_kernel_str(e->path, sizeof(e->path) - 1, &addr->name[0].sun_path);
	/* the name as the caller wrote it: a fixed-size read that stops at its NUL (a name that
	 * fills sun_path without one takes what follows it in the caller's memory, cut at the
	 * buffer; a variable bound here is one the compiler moves out of the verifier's sight) */
	if (c->addrlen > 2)
		bpf_probe_read_user_str(e->user_path, sizeof(e->user_path) - 1,
					(char *)c->uaddr + 2);
	bpf_ringbuf_submit(e, hw_rb_flags());
	hw_stat_inc(HW_STAT_EVENTS);
out:
	bpf_map_delete_elem(&unix_calls, &tid);
}

#endif
