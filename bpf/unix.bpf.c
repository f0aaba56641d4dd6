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
 * The connect side runs inside net.bpf.c's connect programs (one program per hook; the part
 * they share with this file is unix.bpf.h). Cost: until the first agent socket is known, a
 * connect costs one load at its entry and one at its exit (hw_unix_armed). Then
 * for the other unix connects (dbus, journald, nscd): the entry reads the address family
 * (two bytes of the caller's memory) and keeps AF_UNIX calls by thread; the exit reads the
 * peer's inode and misses agent_socks. Connects of other families cost the two-byte read.
 * Binds cost a comm comparison unless the caller is named sshd.
 */
#include "unix.bpf.h"

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
	if (hw_wanted((struct task_struct *)bpf_get_current_task()))
		hw_unix_keep(ctx);
	return 0;
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
