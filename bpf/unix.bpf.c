/* SSH agent sockets and who connects to them (T1563.001, the rule agent-hijack).
 *
 * An ssh -A session's agent socket (/tmp/ssh-XXXXXXXXXX/agent.PID) is bound by the session's
 * sshd process. Every successful bind() of a unix socket to a path by a root-owned sshd
 * executable puts the socket file's inode into agent_socks; a successful connect() whose peer
 * was bound to one of those inodes is reported with the caller and the binder. The socket is
 * known by its inode, never by a name: a symbolic link, a hard link, /proc/PID/root/... or a
 * renamed caller all reach the same inode. The agent adds the sockets of sessions that began
 * before it (user/agent/unix.c).
 *
 * Cost: until the first agent socket is known, a connect costs one load (hw_unix_armed). Then
 * for the other unix connects (dbus, journald, nscd): the entry reads the address family
 * (two bytes of the caller's memory) and keeps AF_UNIX calls by thread; the exit reads the
 * peer's inode and misses agent_socks. Connects of other families cost the two-byte read.
 * Binds cost a comm comparison unless the caller is named sshd.
 */
#include "maps.bpf.h"
#include "sock.bpf.h"
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
 * agent (sockets older than it), read by handle_unix_connect_exit. The agent deletes the
 * entries whose owner has exited (user/agent/unix.c, every HW_AGENT_SOCK_SWEEP_NS, and within a
 * second of a bind that found the map full: hw_unix_full; the addr
 * check and the agent's owner check keep a reused inode from matching meanwhile). Not LRU: a
 * flood of sessions, or years of them, never pushes a live session's socket out; a bind that
 * finds the map full is counted (HW_STAT_ERR_MAP) and the sockets already in it stay. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct hw_agent_sock_key);
	__type(value, struct hw_agent_sock);
} agent_socks SEC(".maps");

struct hw_unix_call {
	__u64 uaddr; /* the caller's sockaddr */
	__u32 fd;
	__u32 addrlen;
};

/* unix_calls: a unix bind() by sshd or a unix connect() in flight, per thread, from its
 * sys_enter to its sys_exit. Written and deleted here only (every sys_enter has its sys_exit:
 * a plain hash, cheaper to update than an LRU one). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, struct hw_unix_call);
} unix_calls SEC(".maps");

/* Set once agent_socks has an entry (here at a bind, or by the agent for older sessions):
 * until then a connect costs one load. Never cleared (entries are not counted out). */
__u32 hw_unix_armed = 0;

/* Set when a bind found agent_socks full: the agent sweeps it at once (at most once a second)
 * instead of at its next 10 s round, and clears this. */
__u32 hw_unix_full = 0;

static __always_inline int hw_unix_enter(struct trace_event_raw_sys_enter *ctx)
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
		return 0;
	if (!hw_wanted((struct task_struct *)bpf_get_current_task()))
		return 0;
	if (bpf_map_update_elem(&unix_calls, &tid, &c, BPF_ANY))
		hw_stat_inc(HW_STAT_ERR_MAP);
	return 0;
}

/* The struct sock behind fd in the current task, NULL when fd is not a socket (as net.bpf.c's
 * hw_fd_sock, whose file stays net's). */
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

/* A process named sshd (sshd-session since OpenSSH 9.8) running a root-owned executable of
 * that name that only root can change: neither a copy of a program named sshd nor a root-owned
 * interpreter that renamed itself (prctl PR_SET_NAME) is one. */
static __always_inline int hw_is_sshd(struct task_struct *task)
{
	char comm[8] = {}, name[16] = {};
	struct file *exe = BPF_CORE_READ(task, mm, exe_file);
	struct inode *inode;
	umode_t mode;

	bpf_get_current_comm(comm, sizeof(comm));
	if (comm[0] != 's' || comm[1] != 's' || comm[2] != 'h' || comm[3] != 'd' ||
	    (comm[4] && comm[4] != '-'))
		return 0;
	if (!exe)
		return 0;
	inode = BPF_CORE_READ(exe, f_inode);
	mode = BPF_CORE_READ(inode, i_mode);
	if (BPF_CORE_READ(inode, i_uid.val) != 0 || (mode & 0022))
		return 0;
	bpf_probe_read_kernel_str(name, sizeof(name),
				  BPF_CORE_READ(exe, f_path.dentry, d_name.name));
	return name[0] == 's' && name[1] == 's' && name[2] == 'h' && name[3] == 'd' &&
	       (!name[4] || (name[4] == '-' && name[5] == 's' && !name[12]));
}

SEC("tp/syscalls/sys_enter_bind")
int handle_unix_bind_enter(struct trace_event_raw_sys_enter *ctx)
{
	char comm[4];

	/* the cheapest test first: a process not named sshd binds nothing we follow */
	bpf_get_current_comm(comm, sizeof(comm));
	if (comm[0] != 's' || comm[1] != 's' || comm[2] != 'h')
		return 0;
	return hw_unix_enter(ctx);
}

SEC("tp/syscalls/sys_exit_bind")
int handle_unix_bind_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct hw_unix_call *c = bpf_map_lookup_elem(&unix_calls, &tid);
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct hw_agent_sock_key k;
	struct hw_agent_sock v = {};
	struct sock *sk;

	if (!c)
		return 0;
	if (ctx->ret != 0 || !hw_is_sshd(task))
		goto out;
	sk = hw_unix_fd_sock(task, c->fd);
	if (!sk || BPF_CORE_READ(sk, __sk_common.skc_family) != HW_AF_UNIX || hw_unix_key(&k, sk))
		goto out;
	v.owner_start_ns = BPF_CORE_READ(task, group_leader, start_boottime);
	v.addr = (__u64)BPF_CORE_READ((struct unix_sock *)sk, addr);
	v.owner_pid = BPF_CORE_READ(task, tgid);
	v.owner_uid = BPF_CORE_READ(task, real_cred, uid.val);
	v.owner_sessionid =
	    bpf_core_field_exists(task->sessionid) ? BPF_CORE_READ(task, sessionid) : (__u32)-1;
	if (bpf_map_update_elem(&agent_socks, &k, &v, BPF_ANY)) {
		hw_stat_inc(HW_STAT_ERR_MAP);
		hw_unix_full = 1;
	} else {
		hw_unix_armed = 1;
	}
out:
	bpf_map_delete_elem(&unix_calls, &tid);
	return 0;
}

SEC("tp/syscalls/sys_enter_connect")
int handle_unix_connect_enter(struct trace_event_raw_sys_enter *ctx)
{
	if (!hw_unix_armed)
		return 0; /* no session has forwarded an agent since the agent started */
	return hw_unix_enter(ctx);
}

SEC("tp/syscalls/sys_exit_connect")
int handle_unix_connect_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct hw_unix_call *c = bpf_map_lookup_elem(&unix_calls, &tid);
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct hw_agent_sock_key k;
	struct hw_agent_sock *v;
	struct hw_unix_event *e;
	struct unix_sock *peer;
	struct unix_address *addr;
	struct sock *sk;

	if (!c)
		return 0;
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
	return 0;
}
