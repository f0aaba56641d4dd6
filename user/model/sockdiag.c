/* Socket snapshot through NETLINK_SOCK_DIAG (inet_diag), socket owners from /proc, and the
 * direction of a connection found in a snapshot. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>

#include "hopwatch/events.h"
#include "lib/addr.h"
#include "model/sockdiag.h"

/* At least 32 KiB: the kernel sizes a dump's messages up to the largest receive buffer it has
 * seen, capped at 32 KiB (netlink_recvmsg()); more leaves room for page-sized skbs. */
#define SD_BUF_LEN (64 * 1024)

/* TCP states as in the kernel's include/net/tcp_states.h */
#define SD_TCP_TIME_WAIT 6
#define SD_TCP_CLOSE	 7
/* every TCP state but time-wait and close; syn-recv includes request sockets (new-syn-recv),
 * which inet_diag adds itself */
#define SD_TCP_STATES (~((1u << SD_TCP_TIME_WAIT) | (1u << SD_TCP_CLOSE)))
/* UDP uses established (connected) and close (bound or not): take them all */
#define SD_UDP_STATES (~0u)

struct sd_dump {
	hw_sockdiag_cb cb;
	void *ctx;
	int count;
	int stop;
};

static int is_any6(const __u8 *a)
{
	static const __u8 any[16];

	return !memcmp(a, any, sizeof(any));
}

/* An IPv6 socket talking IPv4 (a v4-mapped peer, or bound to a v4-mapped address and not
 * connected) is reported as the IPv4 socket it is on the wire. */
static void unmap_v4(struct hw_diag_sock *s)
{
	int src, dst;

	if (s->family != AF_INET6)
		return;
	src = hw_addr__v4_mapped(s->saddr);
	dst = hw_addr__v4_mapped(s->daddr);
	if (!src && !dst)
		return;
	if ((src && !dst && !is_any6(s->daddr)) || (dst && !src && !is_any6(s->saddr)))
		return;
	memmove(s->saddr, s->saddr + 12, 4);
	memset(s->saddr + 4, 0, 12);
	memmove(s->daddr, s->daddr + 12, 4);
	memset(s->daddr + 4, 0, 12);
	s->family = AF_INET;
}

/* Reads the two counters from an INET_DIAG_INFO payload; a kernel older than 4.1 has a
 * shorter struct tcp_info without them. */
static void tcp_info_bytes(struct hw_diag_sock *s, const void *info, size_t len)
{
	size_t acked = offsetof(struct tcp_info, tcpi_bytes_acked);
	size_t received = offsetof(struct tcp_info, tcpi_bytes_received);

	if (len >= acked + sizeof(__u64))
		memcpy(&s->bytes_sent, (const char *)info + acked, sizeof(__u64));
	if (len >= received + sizeof(__u64))
		memcpy(&s->bytes_received, (const char *)info + received, sizeof(__u64));
}

static void parse_sock(const struct nlmsghdr *nh, __u8 protocol, struct sd_dump *d)
{
	const struct inet_diag_msg *m = NLMSG_DATA(nh);
	int len = (int)nh->nlmsg_len - NLMSG_LENGTH(sizeof(*m));
	const struct rtattr *a;
	struct hw_diag_sock s;

	if (len < 0 || (m->idiag_family != AF_INET && m->idiag_family != AF_INET6))
		return;
	memset(&s, 0, sizeof(s));
	s.cookie = m->id.idiag_cookie[0] | (__u64)m->id.idiag_cookie[1] << 32;
	s.family = m->idiag_family;
	s.protocol = protocol;
	s.state = m->idiag_state;
	s.uid = m->idiag_uid;
	s.inode = m->idiag_inode;
	s.sport = ntohs(m->id.idiag_sport);
	s.dport = ntohs(m->id.idiag_dport);
	memcpy(s.saddr, m->id.idiag_src, m->idiag_family == AF_INET ? 4 : 16);
	memcpy(s.daddr, m->id.idiag_dst, m->idiag_family == AF_INET ? 4 : 16);
	unmap_v4(&s);

	/* RTA_OK() checks each attribute's length against what is left of the message */
	a = (const struct rtattr *)((const char *)m + NLMSG_ALIGN(sizeof(*m)));
	for (; RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == INET_DIAG_INFO && protocol == IPPROTO_TCP)
			tcp_info_bytes(&s, RTA_DATA(a), RTA_PAYLOAD(a));
	}

	d->count++;
	if (d->cb(&s, d->ctx))
		d->stop = 1;
}

/* Handles one datagram of the reply to request seq: > 0 when the dump is over, 0 when more
 * follows, or a negative errno. */
static int parse_reply(const void *buf, int len, __u32 seq, __u8 protocol, struct sd_dump *d)
{
	const struct nlmsghdr *nh = buf;

	for (; NLMSG_OK(nh, len); nh = NLMSG_NEXT(nh, len)) {
		if (nh->nlmsg_seq != seq)
			continue; /* not ours: a stale reply */
		if (nh->nlmsg_type == NLMSG_DONE) {
			int err = 0;

			/* a dump ends with the int its callback returned */
			if (nh->nlmsg_len >= NLMSG_LENGTH(sizeof(int)))
				memcpy(&err, NLMSG_DATA(nh), sizeof(int));
			return err < 0 ? err : 1;
		}
		if (nh->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = NLMSG_DATA(nh);

			if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
				return -EBADMSG;
			return e->error < 0 ? e->error : 1; /* 0: an ack, ends the request */
		}
		if (nh->nlmsg_type == SOCK_DIAG_BY_FAMILY) {
			parse_sock(nh, protocol, d);
			if (d->stop)
				return 1;
		}
	}
	return 0;
}

/* One SOCK_DIAG_BY_FAMILY dump of family and protocol on the netlink socket fd. */
static int dump_one(int fd, void *buf, __u32 seq, __u8 family, __u8 protocol, __u32 states,
		    struct sd_dump *d)
{
	struct {
		struct nlmsghdr nh;
		struct inet_diag_req_v2 r;
	} req;
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	int err = 0; /* stays 0 through a `continue` to the loop's test */

	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = sizeof(req);
	req.nh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.nh.nlmsg_seq = seq;
	req.r.sdiag_family = family;
	req.r.sdiag_protocol = protocol;
	req.r.idiag_states = states;
	if (protocol == IPPROTO_TCP)
		req.r.idiag_ext = 1 << (INET_DIAG_INFO - 1);

	while (sendto(fd, &req, sizeof(req), 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	do {
		struct sockaddr_nl from;
		struct iovec iov = {.iov_base = buf, .iov_len = SD_BUF_LEN};
		struct msghdr msg = {
		    .msg_name = &from,
		    .msg_namelen = sizeof(from),
		    .msg_iov = &iov,
		    .msg_iovlen = 1,
		};
		ssize_t n = recvmsg(fd, &msg, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -ENODATA;
		if (msg.msg_flags & MSG_TRUNC)
			return -EMSGSIZE;
		if (msg.msg_namelen != sizeof(from) || from.nl_pid != 0)
			continue; /* not from the kernel */
		err = parse_reply(buf, (int)n, seq, protocol, d);
	} while (err == 0);
	return err < 0 ? err : 0;
}

/* A netlink socket of the calling thread's network namespace. */
static int diag_socket(void)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);

	return fd < 0 ? -errno : fd;
}

static int open_own_netns(void)
{
	char path[64];
	int fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);

	if (fd >= 0)
		return fd;
	/* before Linux 3.17 */
	snprintf(path, sizeof(path), "/proc/self/task/%ld/ns/net", (long)syscall(SYS_gettid));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* fn() (an fd or -errno) run inside the namespace netns_fd: sockets and /proc/sys/net files
 * keep the namespace they were opened in, so the thread enters it only for the open. */
static int open_in_netns(int netns_fd, int (*fn)(void))
{
	struct stat own, target;
	int orig, fd, err;

	orig = open_own_netns();
	if (orig < 0)
		return orig;
	if (fstat(orig, &own) || fstat(netns_fd, &target)) {
		err = -errno;
		goto close_orig;
	}
	if (own.st_dev == target.st_dev && own.st_ino == target.st_ino) {
		/* already there: no setns, which would need CAP_SYS_ADMIN */
		err = fn();
		goto close_orig;
	}
	if (setns(netns_fd, CLONE_NEWNET)) {
		err = -errno;
		goto close_orig;
	}
	fd = fn();
	if (setns(orig, CLONE_NEWNET)) {
		/* cannot happen short of a kernel bug: the thread stays in the other namespace */
		err = -errno;
		if (fd >= 0)
			close(fd);
		goto close_orig;
	}
	err = fd;
close_orig:
	close(orig);
	return err;
}

static int diag_socket_in(int netns_fd)
{
	return open_in_netns(netns_fd, diag_socket);
}

int hw_sockdiag__socket(int netns_fd)
{
	return netns_fd >= 0 ? diag_socket_in(netns_fd) : diag_socket();
}

int hw_sockdiag__dump_socket(int diag_fd, hw_sockdiag_cb cb, void *ctx)
{
	static const struct {
		__u8 family, protocol;
		__u32 states;
	} dumps[] = {
	    {AF_INET, IPPROTO_TCP, SD_TCP_STATES},
	    {AF_INET6, IPPROTO_TCP, SD_TCP_STATES},
	    {AF_INET, IPPROTO_UDP, SD_UDP_STATES},
	    {AF_INET6, IPPROTO_UDP, SD_UDP_STATES},
	};
	struct sd_dump d = {.cb = cb, .ctx = ctx};
	int err = 0;
	void *buf;

	buf = malloc(SD_BUF_LEN);
	if (!buf)
		return -ENOMEM;
	for (size_t i = 0; i < sizeof(dumps) / sizeof(dumps[0]) && !d.stop; i++) {
		err = dump_one(diag_fd, buf, (__u32)i + 1, dumps[i].family, dumps[i].protocol,
			       dumps[i].states, &d);
		/* no udp_diag module (CONFIG_INET_UDP_DIAG off): TCP only */
		if (err == -ENOENT && dumps[i].protocol == IPPROTO_UDP)
			err = 0;
		if (err)
			break;
	}
	free(buf);
	return err ? err : d.count;
}

int hw_sockdiag__dump(int netns_fd, hw_sockdiag_cb cb, void *ctx)
{
	int fd = hw_sockdiag__socket(netns_fd), ret;

	if (fd < 0)
		return fd;
	ret = hw_sockdiag__dump_socket(fd, cb, ctx);
	close(fd);
	return ret;
}

static int open_port_range(void)
{
	int fd = open("/proc/sys/net/ipv4/ip_local_port_range", O_RDONLY | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

int hw_sockdiag__port_range(int netns_fd, struct hw_port_range *r)
{
	char buf[64];
	unsigned int lo, hi;
	ssize_t n;
	int fd;

	r->lo = r->hi = 0;
	fd = netns_fd >= 0 ? open_in_netns(netns_fd, open_port_range) : open_port_range();
	if (fd < 0)
		return fd;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	if (sscanf(buf, "%u %u", &lo, &hi) != 2 || !lo || lo > hi || hi > 65535)
		return -EINVAL;
	r->lo = (__u16)lo;
	r->hi = (__u16)hi;
	return 0;
}

static int ephemeral(const struct hw_port_range *r, __u16 port)
{
	return port >= r->lo && port <= r->hi;
}

__u8 hw_sockdiag__direction(int listening, __u16 sport, __u16 dport, const struct hw_port_range *r)
{
	if (listening)
		return HW_DIR_INGRESS;
	/* the listener is gone (a one-shot bind shell): a service port on this end and a port the
	 * peer's kernel picked on the other end is an accepted connection */
	if (r && r->lo && !ephemeral(r, sport) && ephemeral(r, dport))
		return HW_DIR_INGRESS;
	return HW_DIR_EGRESS;
}

/* "socket:[12345]" -> 12345 */
static int socket_inode(const char *link, __u32 *inode)
{
	unsigned long long v;
	char *end;

	if (strncmp(link, "socket:[", 8) || link[8] < '0' || link[8] > '9')
		return 0;
	errno = 0;
	v = strtoull(link + 8, &end, 10);
	if (errno || end[0] != ']' || end[1])
		return 0;
	/* the truncation inet_diag applies too: idiag_inode is 32 bits */
	*inode = (__u32)v;
	return 1;
}

/* Reports the socket fds of one process; a process that has gone is skipped. */
static int process_sockets(int proc_fd, const char *pid_name, __u32 pid, hw_sockdiag_owner_cb cb,
			   void *ctx)
{
	char path[32], link[64];
	struct dirent *de;
	int fd, count = 0;
	DIR *dir;

	snprintf(path, sizeof(path), "%s/fd", pid_name);
	fd = openat(proc_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return 0; /* gone, a zombie, or not ours to read */
	dir = fdopendir(fd);
	if (!dir) {
		close(fd);
		return 0;
	}
	while ((de = readdir(dir))) {
		ssize_t n;
		__u32 inode;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		n = readlinkat(dirfd(dir), de->d_name, link, sizeof(link) - 1);
		if (n <= 0)
			continue; /* closed meanwhile */
		link[n] = 0;
		if (!socket_inode(link, &inode))
			continue;
		cb(inode, pid, ctx);
		count++;
	}
	closedir(dir);
	return count;
}

int hw_sockdiag__owners(const char *proc_root, hw_sockdiag_owner_cb cb, void *ctx)
{
	struct dirent *de;
	int proc_fd, count = 0;
	DIR *dir;

	proc_fd = open(proc_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (proc_fd < 0)
		return -errno;
	dir = fdopendir(proc_fd);
	if (!dir) {
		int err = -errno;

		close(proc_fd);
		return err;
	}
	while ((de = readdir(dir))) {
		unsigned long pid;
		char *end;

		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		errno = 0;
		pid = strtoul(de->d_name, &end, 10);
		if (errno || *end || pid > UINT32_MAX)
			continue;
		count += process_sockets(proc_fd, de->d_name, (__u32)pid, cb, ctx);
	}
	closedir(dir);
	return count;
}
