/* A socket's two ends as struct hw_sock_addr (BPF side only): the network programs' events,
 * and the socket a process has on its standard descriptors at exec (task.bpf.h). */
#ifndef HW_SOCK_BPF_H
#define HW_SOCK_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "hopwatch/events.h"

#define AF_INET	    2
#define AF_INET6    10
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17

static __always_inline int hw_v4_mapped(const __u8 *a)
{
	__u64 lo;
	__u32 mid;

	__builtin_memcpy(&lo, a, 8);
	__builtin_memcpy(&mid, a + 8, 4);
	return lo == 0 && mid == bpf_htonl(0x0000ffff);
}

/* A v4-mapped IPv6 pair is reported as IPv4 (the dual-stack form of the same peer). */
static __always_inline void hw_unmap(struct hw_sock_addr *a)
{
	if (a->family != AF_INET6 || !hw_v4_mapped(a->daddr) ||
	    (!hw_v4_mapped(a->saddr) && *(__u64 *)a->saddr != 0))
		return;
	__builtin_memcpy(a->saddr, a->saddr + 12, 4);
	__builtin_memcpy(a->daddr, a->daddr + 12, 4);
	__builtin_memset(a->saddr + 4, 0, 12);
	__builtin_memset(a->daddr + 4, 0, 12);
	a->family = AF_INET;
}

static __always_inline void hw_fill_addr(struct hw_sock_addr *a, const struct sock *sk)
{
	__builtin_memset(a, 0, sizeof(*a));
	a->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	a->protocol = (__u8)BPF_CORE_READ(sk, sk_protocol);
	a->sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	if (!a->sport) /* unhashed at close: inet_sport keeps it */
		a->sport = bpf_ntohs(BPF_CORE_READ((struct inet_sock *)sk, inet_sport));
	a->dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (a->family == AF_INET) {
		bpf_core_read(a->saddr, 4, &sk->__sk_common.skc_rcv_saddr);
		bpf_core_read(a->daddr, 4, &sk->__sk_common.skc_daddr);
	} else {
		bpf_core_read(a->saddr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
		bpf_core_read(a->daddr, 16, &sk->__sk_common.skc_v6_daddr);
		hw_unmap(a);
	}
}

#endif
