/* TCP lifecycle and UDP flows, each attributed to a process.
 *
 * The TCP state machine (sock/inet_sock_set_state) gives connect outcomes, inbound
 * establishment, who closed first, and the close with bytes each way; the conns map carries
 * a connection from one state change to the next, so only connect, accept, listen and close
 * reach the agent (DESIGN.md: aggregate in the kernel). On one machine the inbound
 * ESTABLISHED transition can run in the client's context, so the owner of an inbound
 * connection is the task whose accept() returns it (syscalls/sys_exit_accept*).
 *
 * The same programs mark the process that connects or accepts network-facing for the file
 * programs (netproc.bpf.h), before and whatever their own filters (namespace, protocol):
 * one program per hook, not one per concern (each tp_btf program costs its trampoline and
 * call on every state change, ~10 a connection). For the same reason the connect programs
 * also do the agent-socket side of a connect (unix.bpf.h, for unix.bpf.c).
 *
 * The agent keys a connection by its socket cookie, the id sock_diag reports too. Kernels
 * before 5.12 do not let tracing programs call bpf_get_socket_cookie, and the cookie is
 * assigned lazily, so there an established connection that has none yet is keyed by an id
 * made of the socket's address and its start time, with the top bit set: real cookies are
 * counters and never reach it (the agent matches such connections to sock_diag by address).
 */
#include "maps.bpf.h"
#include "task.bpf.h"
#include "netproc.bpf.h"
#include "unix.bpf.h"
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>

#define EINPROGRESS 115
#define S_IFMT	    00170000
#define S_IFSOCK    0140000

#define SOCK_DONE 1 /* enum sock_flags: set by tcp_fin() when the peer's FIN arrives */

static __always_inline void hw_close_counts(struct hw_net_event *e, const struct sock *sk,
					    int oldstate)
{
	const struct tcp_sock *tp = (const struct tcp_sock *)sk;

	e->bytes_sent = BPF_CORE_READ(tp, bytes_acked);
	e->bytes_received = BPF_CORE_READ(tp, bytes_received);
	e->oldstate = (__u8)oldstate;
	e->fin_received = !!(BPF_CORE_READ(sk, __sk_common.skc_flags) & (1UL << SOCK_DONE));
}

static __always_inline __u32 hw_sock_netns(const struct sock *sk)
{
	return BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
}

/* An inet TCP or UDP socket of the scoped namespace; family: the socket's. */
static __always_inline int hw_inet_wanted(const struct sock *sk, __u16 family, __u8 protocol)
{
	if (family != AF_INET && family != AF_INET6)
		return 0;
	if (BPF_CORE_READ(sk, sk_protocol) != protocol)
		return 0;
	return !hw_netns_filter || hw_sock_netns(sk) == hw_netns_filter;
}

static __always_inline int hw_sock_wanted(const struct sock *sk, __u8 protocol)
{
	return hw_inet_wanted(sk, BPF_CORE_READ(sk, __sk_common.skc_family), protocol);
}

static __always_inline struct task_struct *hw_current(void)
{
	return (struct task_struct *)bpf_get_current_task();
}

/* Reserves and fills what every network event has. proc: the current task's, when
 * with_proc. Returns NULL (counted) when the ring buffer is full. */
static __always_inline struct hw_net_event *hw_net_reserve(__u32 type, const struct sock *sk,
							   int with_proc)
{
	struct hw_net_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		hw_stat_inc(HW_STAT_DROP_RINGBUF);
		return NULL;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->hdr.ts_ns = bpf_ktime_get_boot_ns();
	e->hdr.type = type;
	e->hdr.size = sizeof(*e);
	hw_fill_addr(&e->addr, sk);
	e->netns = hw_sock_netns(sk);
	e->cookie = BPF_CORE_READ(sk, __sk_common.skc_cookie.counter);
	if (with_proc) {
		hw_fill_proc(&e->proc, hw_current());
		e->has_proc = 1;
	}
	return e;
}

static __always_inline void hw_net_submit(struct hw_net_event *e)
{
	bpf_ringbuf_submit(e, hw_rb_flags());
	hw_stat_inc(HW_STAT_EVENTS);
}

/* The key of an established connection: its cookie, given now where the kernel lets us;
 * else the cookie it already has; else an id from its address and start (see the top). */
static __always_inline __u64 hw_conn_key(const struct sock *sk, __u64 start_ns)
{
	__u64 k, addr = (__u64)sk;

	if (hw_cookie_helper)
		return bpf_get_socket_cookie((void *)sk);
	k = BPF_CORE_READ(sk, __sk_common.skc_cookie.counter);
	if (k)
		return k;
	/* the verifier does no arithmetic on pointers: the address, read as a number */
	bpf_probe_read_kernel(&k, sizeof(k), &addr);
	k ^= start_ns * 0x9E3779B97F4A7C15ULL;
	k ^= k >> 29;
	k *= 0xBF58476D1CE4E5B9ULL;
	k ^= k >> 32;
	return k | HW_COOKIE_SYNTHETIC;
}

/* An event for a connection the conns map knows: its owner, start and key. */
static __always_inline void hw_net_from_state(struct hw_net_event *e,
					      const struct hw_conn_state *st)
{
	if (st->cookie)
		e->cookie = st->cookie;
	e->start_ns = st->start_ns;
	e->direction = st->direction;
	e->closed_by = st->closed_by;
	e->proc.pid = st->owner_pid;
	e->proc.start_ns = st->owner_start_ns;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(handle_sock_state, const struct sock *sk, const int oldstate, const int newstate)
{
	struct hw_conn_state *st, fresh = {};
	struct hw_net_event *e;
	__u64 key = (__u64)sk, owner_start = 0, pid_tgid = 0;

	if (newstate == TCP_SYN_SENT) {
		/* connect() runs this in the connecting task: network-facing from now on, whatever
		 * the socket (its namespace); the agent's own connects are not followed at all */
		pid_tgid = bpf_get_current_pid_tgid();
		if (pid_tgid >> 32 == hw_agent_tgid)
			return 0;
		owner_start = BPF_CORE_READ(hw_current(), group_leader, start_boottime);
		hw_netproc_set(pid_tgid >> 32, owner_start);
	}
	if (!hw_sock_wanted(sk, IPPROTO_TCP))
		return 0;
	switch (newstate) {
	case TCP_SYN_SENT: {
		__u32 tid = (__u32)pid_tgid;
		struct hw_connecting *c;

		fresh.start_ns = bpf_ktime_get_boot_ns();
		fresh.owner_pid = pid_tgid >> 32;
		fresh.owner_start_ns = owner_start;
		fresh.direction = HW_DIR_EGRESS;
		if (bpf_map_update_elem(&conns, &key, &fresh, BPF_ANY))
			hw_stat_inc(HW_STAT_ERR_MAP);
		c = bpf_map_lookup_elem(&connecting, &tid);
		if (c)
			c->reached = 1;
		return 0;
	}
	case TCP_LISTEN:
		if (!hw_wanted(hw_current()))
			return 0;
		e = hw_net_reserve(HW_EV_LISTEN, sk, 1);
		if (e)
			hw_net_submit(e);
		return 0;
	case TCP_ESTABLISHED:
		/* the key the agent follows the connection by, fixed now (hw_conn_key) */
		if (oldstate == TCP_SYN_RECV) {
			fresh.start_ns = bpf_ktime_get_boot_ns();
			fresh.direction = HW_DIR_INGRESS;
			fresh.cookie = hw_conn_key(sk, fresh.start_ns);
			if (bpf_map_update_elem(&conns, &key, &fresh, BPF_ANY))
				hw_stat_inc(HW_STAT_ERR_MAP);
			return 0;
		}
		if (oldstate != TCP_SYN_SENT)
			return 0;
		st = bpf_map_lookup_elem(&conns, &key);
		if (!st) {
			if (hw_cookie_helper) /* its close then still has the cookie */
				bpf_get_socket_cookie((void *)sk);
			hw_stat_inc(HW_STAT_CONN_MISS);
			return 0;
		}
		st->cookie = hw_conn_key(sk, st->start_ns);
		e = hw_net_reserve(HW_EV_CONNECT, sk, 0);
		if (!e)
			return 0;
		hw_net_from_state(e, st);
		hw_net_submit(e);
		return 0;
	case TCP_FIN_WAIT1:
	case TCP_CLOSE_WAIT:
		if (oldstate != TCP_ESTABLISHED)
			return 0;
		st = bpf_map_lookup_elem(&conns, &key);
		if (st && !st->closed_by)
			st->closed_by =
			    newstate == TCP_FIN_WAIT1 ? HW_CLOSED_LOCAL : HW_CLOSED_REMOTE;
		return 0;
	case TCP_CLOSE:
		break;
	default:
		return 0;
	}

	/* TCP_CLOSE */
	if (oldstate == TCP_LISTEN || oldstate == TCP_SYN_RECV || oldstate == TCP_CLOSE)
		goto forget;
	st = bpf_map_lookup_elem(&conns, &key);
	if (!st && oldstate == TCP_SYN_SENT)
		return 0;
	if (!st) {
		/* established before the agent started (or evicted): the agent knows it from
		 * its snapshot, so report the close with what the socket itself says */
		hw_stat_inc(HW_STAT_CONN_MISS);
		e = hw_net_reserve(HW_EV_CLOSE, sk, 0);
		if (e) {
			hw_close_counts(e, sk, oldstate);
			hw_net_submit(e);
		}
		return 0;
	}
	if (oldstate == TCP_SYN_SENT) {
		/* refused, timed out, unreachable: the attempt failed */
		e = hw_net_reserve(HW_EV_CONNECT, sk, 0);
		if (e) {
			hw_net_from_state(e, st);
			e->error = BPF_CORE_READ(sk, sk_err);
			if (!e->error)
				e->error =
				    111; /* ECONNREFUSED: a reset clears sk_err on some paths */
			hw_net_submit(e);
		}
		goto forget;
	}
	e = hw_net_reserve(HW_EV_CLOSE, sk, 0);
	if (e) {
		hw_net_from_state(e, st);
		hw_close_counts(e, sk, oldstate);
		hw_net_submit(e);
	}
forget:
	bpf_map_delete_elem(&conns, &key);
	return 0;
}

/* The struct sock behind fd in the current task, NULL when fd is not a socket. */
static __always_inline struct sock *hw_fd_sock(struct task_struct *task, long fd)
{
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fds = BPF_CORE_READ(fdt, fd);
	struct file *f = NULL;
	struct socket *sock;
	umode_t mode;

	if (fd < 0 || fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	if (!f)
		return NULL;
	mode = BPF_CORE_READ(f, f_inode, i_mode);
	if ((mode & S_IFMT) != S_IFSOCK)
		return NULL;
	sock = BPF_CORE_READ(f, private_data);
	return BPF_CORE_READ(sock, sk);
}

static __always_inline int hw_on_accept(long fd)
{
	struct task_struct *task = hw_current();
	struct hw_conn_state *st;
	struct hw_net_event *e;
	struct sock *sk;
	__u16 family;
	__u64 key;

	if (fd < 0 || BPF_CORE_READ(task, tgid) == hw_agent_tgid)
		return 0;
	sk = hw_fd_sock(task, fd);
	if (!sk)
		return 0;
	family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (family != AF_INET && family != AF_INET6)
		return 0;
	/* network-facing from now on, whatever the socket's namespace or protocol: marked with
	 * the identity the event has read, else read for the mark */
	if (!hw_inet_wanted(sk, family, IPPROTO_TCP)) {
		hw_netproc_mark(task);
		return 0;
	}
	key = (__u64)sk;
	e = hw_net_reserve(HW_EV_ACCEPT, sk, 1);
	if (!e) {
		hw_netproc_mark(task);
		return 0;
	}
	hw_netproc_set(e->proc.pid, e->proc.start_ns);
	e->direction = HW_DIR_INGRESS;
	st = bpf_map_lookup_elem(&conns, &key);
	if (st) {
		st->owner_pid = e->proc.pid;
		st->owner_start_ns = e->proc.start_ns;
		e->start_ns = st->start_ns;
		if (st->cookie)
			e->cookie = st->cookie;
	} else {
		hw_stat_inc(HW_STAT_CONN_MISS); /* established before the agent, or evicted */
	}
	hw_net_submit(e);
	return 0;
}

SEC("tp/syscalls/sys_exit_accept4")
int handle_accept4_exit(struct trace_event_raw_sys_exit *ctx)
{
	return hw_on_accept(ctx->ret);
}

SEC("tp/syscalls/sys_exit_accept")
int handle_accept_exit(struct trace_event_raw_sys_exit *ctx)
{
	return hw_on_accept(ctx->ret);
}

/* hw_read_sockaddr() results */
#define HW_SA_OK    0
#define HW_SA_OTHER 1  /* not an AF_INET/AF_INET6 address, or too short */
#define HW_SA_FAULT -1 /* could not be read */

/* Reads a user sockaddr into a's destination: HW_SA_*. */
static __always_inline int hw_read_sockaddr(struct hw_sock_addr *a, __u64 uaddr, __u32 len)
{
	struct sockaddr_in6 sa = {};

	if (!uaddr || len < sizeof(struct sockaddr_in))
		return HW_SA_OTHER;
	if (bpf_probe_read_user(&sa, len < sizeof(sa) ? sizeof(struct sockaddr_in) : sizeof(sa),
				(void *)uaddr))
		return HW_SA_FAULT;
	a->family = sa.sin6_family;
	a->dport = bpf_ntohs(sa.sin6_port);
	if (sa.sin6_family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&sa;

		__builtin_memcpy(a->daddr, &in->sin_addr, 4);
		return HW_SA_OK;
	}
	if (sa.sin6_family == AF_INET6 && len >= sizeof(sa)) {
		__builtin_memcpy(a->daddr, &sa.sin6_addr, 16);
		if (hw_v4_mapped(a->daddr)) {
			__builtin_memcpy(a->daddr, a->daddr + 12, 4);
			__builtin_memset(a->daddr + 4, 0, 12);
			a->family = AF_INET;
		}
		return HW_SA_OK;
	}
	return HW_SA_OTHER;
}

/* One UDP event per (process, destination), again after hw_udp_reemit_ns: the socket (its
 * address, a number) and the destination's address (the two halves of daddr) and family <<
 * 16 | port. A global function, so the verifier checks it once per program, not once per call
 * (the sendmmsg fallback calls it 16 times); its arguments are numbers, as 5.10 requires. The
 * caller checked the socket and the task. */
__noinline int hw_udp_report_addr(__u64 skp, __u64 daddr_lo, __u64 daddr_hi, __u32 family_port)
{
	struct sock *sk = (struct sock *)skp;
	struct hw_udp_key k = {};
	struct hw_net_event *e;
	__u64 now = bpf_ktime_get_boot_ns(), *last;

	if (!sk || !(family_port & 0xffff))
		return 0;
	__builtin_memcpy(k.daddr, &daddr_lo, 8);
	__builtin_memcpy(k.daddr + 8, &daddr_hi, 8);
	k.tgid = bpf_get_current_pid_tgid() >> 32;
	k.dport = (__u16)family_port;
	k.family = (__u16)(family_port >> 16);
	last = bpf_map_lookup_elem(&udp_flows, &k);
	if (last && now - *last < hw_udp_reemit_ns)
		return 0;
	if (bpf_map_update_elem(&udp_flows, &k, &now, BPF_ANY))
		hw_stat_inc(HW_STAT_ERR_MAP); /* reported anyway, maybe again next packet */
	e = hw_net_reserve(HW_EV_UDP, sk, 1);
	if (!e)
		return 0;
	__builtin_memcpy(e->addr.daddr, k.daddr, 16);
	e->addr.dport = k.dport;
	if (k.family != e->addr.family) {
		/* a v4 destination from a dual-stack socket: no v4 source to show */
		__builtin_memset(e->addr.saddr, 0, 16);
		e->addr.family = k.family;
	}
	e->direction = HW_DIR_EGRESS;
	hw_net_submit(e);
	return 0;
}

static __always_inline void hw_udp_report(struct sock *sk, const struct hw_sock_addr *dst)
{
	__u64 lo, hi;

	__builtin_memcpy(&lo, dst->daddr, 8);
	__builtin_memcpy(&hi, dst->daddr + 8, 8);
	hw_udp_report_addr((__u64)sk, lo, hi, (__u32)dst->family << 16 | dst->dport);
}

/* A destination read from user memory at the exit of the send: reported, or counted
 * (HW_STAT_ERR_READ) when it could not be read. */
static __always_inline void hw_udp_from_user(struct sock *sk, __u64 uaddr, __u32 len)
{
	struct hw_sock_addr a = {};
	int r = hw_read_sockaddr(&a, uaddr, len);

	if (r == HW_SA_FAULT)
		hw_stat_inc(HW_STAT_ERR_READ);
	else if (r == HW_SA_OK)
		hw_udp_report(sk, &a);
}

/* A connect's entry, for both of its concerns (one program on the hook): the network side
 * keeps the call (connecting); the agent-socket side keeps it too when it is a unix one and an
 * agent socket is known (unix.bpf.h). Both follow the same processes (hw_wanted). */
SEC("tp/syscalls/sys_enter_connect")
int handle_connect_enter(struct trace_event_raw_sys_enter *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct hw_connecting c = {
	    .fd = (__u32)ctx->args[0],
	    .uaddr = ctx->args[1],
	    .addrlen = (__u32)ctx->args[2],
	};

	if (!hw_wanted(hw_current()))
		return 0;
	if (bpf_map_update_elem(&connecting, &tid, &c, BPF_ANY))
		hw_stat_inc(HW_STAT_ERR_MAP);
	if (hw_unix_armed) /* else no session has forwarded an agent since the agent started */
		hw_unix_keep(ctx);
	return 0;
}

/* A connect's exit, for both of its concerns (one program on the hook): a connect that
 * failed, reported by the network side; a connect to an agent socket (unix.bpf.h). */
SEC("tp/syscalls/sys_exit_connect")
int handle_connect_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct hw_connecting *c = bpf_map_lookup_elem(&connecting, &tid);
	struct task_struct *task = hw_current();
	struct hw_net_event *e;
	struct sock *sk;
	long ret = ctx->ret;

	if (!c)
		goto unix;
	sk = hw_fd_sock(task, c->fd);
	if (!sk)
		goto out;
	if (BPF_CORE_READ(sk, sk_protocol) == IPPROTO_UDP) {
		struct hw_sock_addr a;

		/* connected: the kernel's copy of the peer, in the socket */
		if (ret == 0 && hw_sock_wanted(sk, IPPROTO_UDP)) {
			hw_fill_addr(&a, sk);
			hw_udp_report(sk, &a);
		}
		goto out;
	}
	/* a TCP connect that failed before any SYN: no state change reports it */
	if (ret == 0 || ret == -EINPROGRESS || c->reached || !hw_sock_wanted(sk, IPPROTO_TCP))
		goto out;
	e = hw_net_reserve(HW_EV_CONNECT, sk, 1);
	if (!e)
		goto out;
	hw_read_sockaddr(&e->addr, c->uaddr, c->addrlen);
	e->direction = HW_DIR_EGRESS;
	e->error = (__s32)-ret;
	e->start_ns = e->hdr.ts_ns;
	hw_net_submit(e);
out:
	bpf_map_delete_elem(&connecting, &tid);
unix:
	if (hw_unix_armed) /* unarmed at the entry too: nothing kept */
		hw_unix_connect_exit(ctx, task);
	return 0;
}

/* UDP destinations.
 *
 * A destination read from user memory at sys_enter is missed when its page is not mapped yet
 * (probe reads do not fault it in), and can be rewritten by another thread once the kernel has
 * copied it. So the send entries only note "this thread sends on this UDP socket"
 * (udp_sending), and the destination is taken from the kernel's own copy: the route lookup of
 * each datagram (fib:fib_table_lookup, fib6:fib6_table_lookup, 4.15+) runs in the sender,
 * inside the syscall, with the destination and source port in kernel memory; one per datagram,
 * so every message of a sendmmsg is seen whatever its length. A lookup counts for the send
 * when it is an output lookup (iif loopback) of a UDP flow from the socket's own port (an ICMP
 * error computed in a softirq of the same thread is not). A send without a lookup (broadcast
 * or link-local multicast with an output interface set, a route the socket cached) falls
 * back, at sys_exit, to user memory: the kernel has just read it, so its page is mapped; what
 * still cannot be read, and sendmmsg messages past HW_MMSG_MAX, are counted in
 * HW_STAT_ERR_READ (read_errors in agent-stopped). Only that fallback can be misled by a
 * thread rewriting the address after the kernel's copy. The device-level tracepoints
 * (net:net_dev_queue) were not used: a datagram waiting for ARP leaves from a softirq, out of
 * the sender's context, and a send that fails before a device is never seen there. */
#define HW_MMSG_MAX	 16 /* sendmmsg messages the user-memory fallback reads */
#define LOOPBACK_IFINDEX 1  /* flowi iif of every output route lookup */
#define EFAULT		 14

static __always_inline void hw_stat_add(__u32 idx, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &idx);

	if (v)
		*v += n;
}

static __always_inline int hw_udp_send_enter(long fd, __u64 uarg, __u32 len, __u8 kind)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct task_struct *task = hw_current();
	struct hw_udp_send s = {.uarg = uarg, .len = len, .kind = kind};
	struct sock *sk;

	if (!hw_wanted(task))
		return 0;
	sk = hw_fd_sock(task, fd);
	if (!sk || !hw_sock_wanted(sk, IPPROTO_UDP))
		return 0;
	s.sk = (__u64)sk;
	if (bpf_map_update_elem(&udp_sending, &tid, &s, BPF_ANY))
		hw_stat_inc(HW_STAT_ERR_MAP);
	return 0;
}

/* An output route lookup of a UDP flow in the current thread: reported when the thread is in
 * a UDP send and the flow leaves from that socket's port. The handlers read the tp_btf
 * arguments directly (CO-RE relocated loads, no helper call): most lookups (TCP, input
 * routes) leave after two loads. */
static __always_inline void hw_udp_route(__u16 sport_be, const struct hw_sock_addr *dst)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct hw_udp_send *s;
	struct sock *sk;

	s = bpf_map_lookup_elem(&udp_sending, &tid);
	if (!s)
		return;
	sk = (struct sock *)s->sk;
	if (sport_be != BPF_CORE_READ((struct inet_sock *)sk, inet_sport))
		return;
	s->seen++;
	hw_udp_report(sk, dst);
}

SEC("tp_btf/fib_table_lookup")
int BPF_PROG(handle_fib_lookup, __u32 tb_id, const struct flowi4 *flp)
{
	struct hw_sock_addr dst = {.family = AF_INET};

	if (flp->__fl_common.flowic_proto != IPPROTO_UDP ||
	    flp->__fl_common.flowic_iif != LOOPBACK_IFINDEX)
		return 0;
	__builtin_memcpy(dst.daddr, &flp->daddr, 4);
	dst.dport = bpf_ntohs(flp->uli.ports.dport);
	hw_udp_route(flp->uli.ports.sport, &dst);
	return 0;
}

SEC("tp_btf/fib6_table_lookup")
int BPF_PROG(handle_fib6_lookup, const struct net *net, const struct fib6_result *res,
	     struct fib6_table *table, const struct flowi6 *flp)
{
	struct hw_sock_addr dst = {.family = AF_INET6};

	if (flp->__fl_common.flowic_proto != IPPROTO_UDP ||
	    flp->__fl_common.flowic_iif != LOOPBACK_IFINDEX)
		return 0;
	bpf_probe_read_kernel(dst.daddr, 16, &flp->daddr);
	dst.dport = bpf_ntohs(flp->uli.ports.dport);
	hw_udp_route(flp->uli.ports.sport, &dst);
	return 0;
}

/* The fallback for a send no route lookup showed: its msghdr's destination. */
static __always_inline void hw_udp_from_msghdr(struct sock *sk, __u64 umsg)
{
	struct user_msghdr m;

	if (bpf_probe_read_user(&m, sizeof(m), (void *)umsg)) {
		hw_stat_inc(HW_STAT_ERR_READ);
		return;
	}
	if (m.msg_name) /* else connected: reported at connect */
		hw_udp_from_user(sk, (__u64)m.msg_name, (__u32)m.msg_namelen);
}

/* kind: the HW_UDP_* of the calling exit, a constant, so each exit program holds only its
 * own fallback (the sendmmsg loop alone is most of the verifier's work) */
static __always_inline int hw_udp_send_exit(long ret, __u8 kind)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct hw_udp_send *p = bpf_map_lookup_elem(&udp_sending, &tid);
	struct hw_udp_send s;
	struct sock *sk;
	__u32 n;

	if (!p)
		return 0;
	s = *p;
	bpf_map_delete_elem(&udp_sending, &tid);
	/* -EFAULT: the kernel could not read it either, nothing was sent; another kind: a
	 * marker left by a send whose exit was not seen */
	if (ret == -EFAULT || s.kind != kind)
		return 0;
	sk = (struct sock *)s.sk;
	if (kind == HW_UDP_SENDTO) {
		if (!s.seen)
			hw_udp_from_user(sk, s.uarg, s.len);
		return 0;
	}
	if (kind == HW_UDP_SENDMSG) {
		if (!s.seen)
			hw_udp_from_msghdr(sk, s.uarg);
		return 0;
	}
	/* sendmmsg: ret messages sent; a failure of the first one returns its error */
	n = ret > 0 ? (__u32)ret : 1;
	if (n > s.len)
		n = s.len;
	if (s.seen >= n)
		return 0;
	for (__u32 i = 0; i < HW_MMSG_MAX; i++) {
		if (i >= n)
			return 0;
		hw_udp_from_msghdr(sk, s.uarg + (__u64)i * sizeof(struct mmsghdr));
	}
	hw_stat_add(HW_STAT_ERR_READ, n - HW_MMSG_MAX);
	return 0;
}

SEC("tp/syscalls/sys_enter_sendto")
int handle_sendto_enter(struct trace_event_raw_sys_enter *ctx)
{
	if (!ctx->args[4])
		return 0; /* connected socket: reported at connect */
	return hw_udp_send_enter((long)ctx->args[0], ctx->args[4], (__u32)ctx->args[5],
				 HW_UDP_SENDTO);
}

SEC("tp/syscalls/sys_exit_sendto")
int handle_sendto_exit(struct trace_event_raw_sys_exit *ctx)
{
	return hw_udp_send_exit(ctx->ret, HW_UDP_SENDTO);
}

SEC("tp/syscalls/sys_enter_sendmsg")
int handle_sendmsg_enter(struct trace_event_raw_sys_enter *ctx)
{
	return hw_udp_send_enter((long)ctx->args[0], ctx->args[1], 0, HW_UDP_SENDMSG);
}

SEC("tp/syscalls/sys_exit_sendmsg")
int handle_sendmsg_exit(struct trace_event_raw_sys_exit *ctx)
{
	return hw_udp_send_exit(ctx->ret, HW_UDP_SENDMSG);
}

SEC("tp/syscalls/sys_enter_sendmmsg")
int handle_sendmmsg_enter(struct trace_event_raw_sys_enter *ctx)
{
	return hw_udp_send_enter((long)ctx->args[0], ctx->args[1], (__u32)ctx->args[2],
				 HW_UDP_SENDMMSG);
}

SEC("tp/syscalls/sys_exit_sendmmsg")
int handle_sendmmsg_exit(struct trace_event_raw_sys_exit *ctx)
{
	return hw_udp_send_exit(ctx->ret, HW_UDP_SENDMMSG);
}
