/* The sockets that exist when the agent starts (and at each periodic resync), read from the
 * kernel through NETLINK_SOCK_DIAG, and their owning processes, read from /proc/PID/fd. The
 * cookie of each socket is the one bpf_get_socket_cookie() gives, so the kernel events of a
 * connection opened before the agent started join its snapshot entry. */
#ifndef HW_SOCKDIAG_H
#define HW_SOCKDIAG_H

#include <string.h>
#include <linux/types.h>

#include "hopwatch/events.h"

struct hw_diag_sock {
	__u64 cookie;		   /* idiag_cookie[0] | (u64)idiag_cookie[1] << 32 */
	__u64 bytes_sent;	   /* tcp_info tcpi_bytes_acked (TCP only; 0 if not available);
				    * the kernel counts the SYN of the connecting side and an
				    * acked FIN in it: one or two more than the data */
	__u64 bytes_received;	   /* tcp_info tcpi_bytes_received */
	__u8 saddr[16], daddr[16]; /* network order; IPv4 in the first 4 bytes; a v4-mapped
				    * IPv6 address converted to IPv4 (family then AF_INET) */
	__u32 inode;		   /* idiag_inode (0 for sockets without one, e.g. SYN-RECV) */
	__u32 uid;
	__u16 sport, dport; /* host order */
	__u16 family;	    /* AF_INET / AF_INET6 */
	__u8 protocol;	    /* IPPROTO_TCP / IPPROTO_UDP */
	__u8 state;	    /* TCP state number as in the kernel (1 ESTABLISHED ... 10 LISTEN) */
};

/* Non-zero stops the dump. */
typedef int (*hw_sockdiag_cb)(const struct hw_diag_sock *s, void *ctx);

/* Dumps the TCP sockets (states: established, syn-sent, syn-recv, fin-wait*, close-wait,
 * last-ack, closing, listen; not time-wait) of both families, and UDP sockets, of the network
 * namespace that netns_fd refers to (-1: the caller's own namespace). When netns_fd >= 0 the
 * netlink socket is created inside that namespace (setns there and back on the calling thread,
 * restoring the original even on error; skipped when netns_fd is the caller's own namespace).
 * A kernel without UDP sock_diag (CONFIG_INET_UDP_DIAG off) gives the TCP sockets only.
 * Returns the number of sockets reported (the one whose callback stopped the dump included)
 * or a negative errno. */
int hw_sockdiag__dump(int netns_fd, hw_sockdiag_cb cb, void *ctx);

/* The two halves of hw_sockdiag__dump(), for a caller that gives up CAP_SYS_ADMIN after
 * start-up: a NETLINK_SOCK_DIAG socket stays in the namespace it was created in, so one
 * socket per namespace opened while the caller may still setns() there serves every later
 * dump. hw_sockdiag__socket() returns the socket (close-on-exec) or a negative errno; it
 * holds a reference on the namespace for as long as it is open. */
int hw_sockdiag__socket(int netns_fd);
/* Dumps on a socket from hw_sockdiag__socket(), as hw_sockdiag__dump() does. Needs no
 * privilege: the kernel answers inet_diag dumps to anyone, with owner uid and inode. */
int hw_sockdiag__dump_socket(int diag_fd, hw_sockdiag_cb cb, void *ctx);

/* net.ipv4.ip_local_port_range (IPv6 too): the ports the kernel picks for a connect; 0-0 when
 * unknown. */
struct hw_port_range {
	__u16 lo, hi;
};

/* Reads the ephemeral port range of the network namespace netns_fd (-1: the caller's own;
 * setns there and back as hw_sockdiag__dump does). 0, or a negative errno with r 0-0. */
int hw_sockdiag__port_range(int netns_fd, struct hw_port_range *r);

/* The direction (HW_DIR_INGRESS or HW_DIR_EGRESS) of an established TCP socket found in a
 * snapshot, whose start no event showed: ingress when a listener of its namespace has its
 * local port (listening), else ingress when its local port sport is outside the ephemeral
 * range r and the remote port dport inside it (the peer connected from a port its kernel
 * picked, to a service port here, whose listener is gone: a one-shot `nc -l`), else egress.
 * The peer's range is taken to be this namespace's (both are 32768-60999 by default); r NULL
 * or 0-0: the listener alone decides. */
__u8 hw_sockdiag__direction(int listening, __u16 sport, __u16 dport, const struct hw_port_range *r);

typedef void (*hw_sockdiag_owner_cb)(__u32 inode, __u32 pid, void *ctx);

/* Owners of socket inodes: walks proc_root/PID/fd/ * (readlink "socket:[INODE]") for every
 * process and calls cb(inode, pid, ctx) for each socket fd found. Processes and fds that
 * vanish meanwhile (or that the caller may not read) are skipped. A socket shared by several
 * processes gives one call per process (and one per fd). Returns the number of calls or a
 * negative errno when proc_root cannot be read. */
int hw_sockdiag__owners(const char *proc_root, hw_sockdiag_owner_cb cb, void *ctx);

/* The socket's two ends as the records carry them (hopwatch/events.h). */
static inline void hw_diag_sock__addr(struct hw_sock_addr *a, const struct hw_diag_sock *s)
{
	memset(a, 0, sizeof(*a));
	memcpy(a->saddr, s->saddr, 16);
	memcpy(a->daddr, s->daddr, 16);
	a->sport = s->sport;
	a->dport = s->dport;
	a->family = s->family;
	a->protocol = s->protocol;
}

#endif
