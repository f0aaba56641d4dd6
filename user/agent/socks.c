/* Sockets the kernel events cannot tell about: those that existed before the agent started
 * (the snapshot: a tunnel opened a month ago is in the model from the first second), and the
 * periodic report of connections still open, with bytes so far and age, so a connection that
 * lasts a week is visible during that week. Both read sock_diag in every watched network
 * namespace (diag.c holds a socket per namespace), and the snapshot names owners through
 * /proc/PID/fd. What they find goes out as views through emit.c. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/agent_int.h"
#include "lib/hash.h"
#include "model/sockdiag.h"

#define TCP_STATE_LISTEN 10

/* inode -> pid of the dumped sockets only, open addressing; the first owner found wins. The
 * table holds their inodes before /proc is walked: the walk sees every process of the host
 * (with --netns, mostly sockets of other namespaces), which must not take the room of the
 * sockets being looked for. */
struct owners {
	__u32 *ino, *pid;
	size_t cap, n;
};

static void owner_want(struct owners *o, __u32 inode)
{
	size_t i;

	if (!inode || !o->cap || o->n * 2 >= o->cap)
		return;
	for (i = (inode * 2654435761u) & (o->cap - 1); o->ino[i]; i = (i + 1) & (o->cap - 1))
		if (o->ino[i] == inode)
			return;
	o->ino[i] = inode;
	o->n++;
}

static void owner_add(__u32 inode, __u32 pid, void *ctx)
{
	struct owners *o = ctx;
	size_t i;

	if (!inode || !o->cap)
		return;
	for (i = (inode * 2654435761u) & (o->cap - 1); o->ino[i]; i = (i + 1) & (o->cap - 1))
		if (o->ino[i] == inode) {
			if (!o->pid[i])
				o->pid[i] = pid;
			return;
		}
}

static __u32 owner_get(const struct owners *o, __u32 inode)
{
	size_t i;

	if (!inode || !o->cap)
		return 0;
	for (i = (inode * 2654435761u) & (o->cap - 1); o->ino[i]; i = (i + 1) & (o->cap - 1))
		if (o->ino[i] == inode)
			return o->pid[i];
	return 0;
}

static int is_listening(const struct hw_sock_list *l, __u32 netns, __u16 port)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].state == TCP_STATE_LISTEN && l->netns[i] == netns &&
		    l->v[i].sport == port)
			return 1;
	return 0;
}

static __u64 data_sent(const struct hw_diag_sock *s, __u8 direction)
{
	/* an active open's SYN counts one in bytes_acked */
	__u64 syn = direction == HW_DIR_EGRESS;

	return s->bytes_sent >= syn ? s->bytes_sent - syn : 0;
}

/* The ephemeral port range of each namespace the snapshot needed one for. */
struct netns_range {
	__u32 netns;
	struct hw_port_range r;
};

struct hw_sock_snapshot {
	struct hw_sock_list l;
	struct owners o;
	struct netns_range *ranges;
	size_t nranges;
};

/* /proc/PID/ns/net of a process in namespace netns: pid if it is there, else the first found. */
static int open_netns_of(__u32 netns, __u32 pid)
{
	char path[64];
	struct stat st;
	struct dirent *d;
	DIR *dir;
	int fd = -1;

	snprintf(path, sizeof(path), "/proc/%u/ns/net", pid);
	if (pid && !stat(path, &st) && (__u32)st.st_ino == netns)
		return open(path, O_RDONLY | O_CLOEXEC);
	dir = opendir("/proc");
	if (!dir)
		return -1;
	while (fd < 0 && (d = readdir(dir))) {
		if (d->d_name[0] < '1' || d->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/ns/net", d->d_name);
		if (!stat(path, &st) && (__u32)st.st_ino == netns)
			fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	closedir(dir);
	return fd;
}

/* The ephemeral port range of namespace netns (0-0: unknown), read once per namespace. At the
 * snapshot, before the capability drop: reading another namespace's sysctl means entering it. */
static const struct hw_port_range *snapshot_range(struct hw_agent *a, struct hw_sock_snapshot *s,
						  __u32 netns, __u32 owner)
{
	struct netns_range *r;
	int fd;

	for (size_t i = 0; i < s->nranges; i++)
		if (s->ranges[i].netns == netns)
			return &s->ranges[i].r;
	r = realloc(s->ranges, (s->nranges + 1) * sizeof(*r));
	if (!r)
		return NULL;
	s->ranges = r;
	r += s->nranges++;
	r->netns = netns;
	r->r.lo = r->r.hi = 0;
	if (a->netns_fd >= 0 && netns == a->netns_ino) {
		hw_sockdiag__port_range(a->netns_fd, &r->r);
	} else {
		fd = open_netns_of(netns, owner);
		if (fd >= 0) {
			hw_sockdiag__port_range(fd, &r->r);
			close(fd);
		}
	}
	return &r->r;
}

int hw_agent__snapshot_socks(struct hw_agent *a, struct hw_sock_snapshot **out)
{
	struct hw_sock_snapshot *s = calloc(1, sizeof(*s));
	int err, count = 0;

	*out = NULL;
	if (!s)
		return -ENOMEM;
	err = hw_agent__dump_socks(a, &s->l);
	if (err) {
		hw_agent__free_socks(s);
		return err;
	}
	s->o.cap = 1;
	while (s->o.cap < s->l.n * 4 + 16)
		s->o.cap <<= 1;
	s->o.ino = calloc(s->o.cap, sizeof(__u32));
	s->o.pid = calloc(s->o.cap, sizeof(__u32));
	if (!s->o.ino || !s->o.pid) {
		hw_agent__free_socks(s);
		return -ENOMEM;
	}
	for (size_t i = 0; i < s->l.n; i++)
		owner_want(&s->o, s->l.v[i].inode);
	hw_sockdiag__owners("/proc", owner_add, &s->o);
	for (size_t i = 0; i < s->l.n; i++) {
		const struct hw_diag_sock *d = &s->l.v[i];
		struct hw_conn *c;

		count++;
		if (d->state == TCP_STATE_LISTEN)
			continue;
		c = hw_conn_table__add(a->conns, d->cookie);
		if (!c) {
			a->counters.conn_table_full++;
			continue;
		}
		hw_diag_sock__addr(&c->addr, d);
		c->netns = s->l.netns[i];
		c->from_snapshot = 1;
		{
			__u32 pid = owner_get(&s->o, d->inode);
			int listening = is_listening(&s->l, c->netns, d->sport);
			const struct hw_port_range *r;

			/* no listener: the port ranges tell (hw_sockdiag__direction) */
			r = listening ? NULL : snapshot_range(a, s, c->netns, pid);
			c->direction = hw_sockdiag__direction(listening, d->sport, d->dport, r);
			hw_conn__set_owner(a, c, pid ? hw_proc_table__live(a->procs, pid) : NULL,
					   pid, 0);
		}
		c->last_report_ns = hw_agent__now();
	}
	*out = s;
	return count;
}

void hw_agent__existing_socks(struct hw_agent *a, struct hw_sock_snapshot *s)
{
	__u64 now = hw_agent__now();

	for (size_t i = 0; s && i < s->l.n; i++) {
		const struct hw_diag_sock *d = &s->l.v[i];
		struct hw_sock_addr addr;
		struct hw_net_view v = {.ts_ns = now, .addr = &addr, .netns = s->l.netns[i]};
		struct hw_conn *c = NULL;

		hw_diag_sock__addr(&addr, d);
		v.owner_pid = owner_get(&s->o, d->inode);
		v.p = v.owner_pid ? hw_proc_table__live(a->procs, v.owner_pid) : NULL;
		if (d->state == TCP_STATE_LISTEN) {
			v.action = "existing_listener";
		} else {
			c = hw_conn_table__get(a->conns, d->cookie);
			v.action = "existing_connection";
			v.direction = c ? c->direction : HW_DIR_EGRESS;
			v.conn_id = c ? c->id : NULL;
			v.have_bytes = 1;
			v.bytes_sent = data_sent(d, v.direction);
			v.bytes_received = d->bytes_received;
		}
		hw_agent__net_names(a, &v);
		hw_emit__net(a, &v);
	}
}

void hw_agent__free_socks(struct hw_sock_snapshot *s)
{
	if (!s)
		return;
	free(s->l.v);
	free(s->l.netns);
	free(s->ranges);
	free(s->o.ino);
	free(s->o.pid);
	free(s);
}

/* c as a view of action at now, with its bytes as last read */
static void conn_event(struct hw_agent *a, struct hw_conn *c, const char *action, __u64 now)
{
	struct hw_net_view v = {.action = action, .ts_ns = now};

	v.addr = &c->addr;
	v.conn_id = c->id;
	v.owner_pid = c->owner_pid;
	v.p = hw_proc_table__get(a->procs, c->owner_pid, c->owner_start_ns);
	v.owner_entity_id = c->owner_entity_id[0] ? c->owner_entity_id : NULL;
	v.owner_exe = c->owner_exe;
	v.start_ns = c->start_ns;
	v.have_bytes = 1;
	v.bytes_sent = c->bytes_sent;
	v.bytes_received = c->bytes_received;
	v.netns = c->netns;
	v.direction = c->direction;
	hw_agent__net_names(a, &v);
	hw_emit__net(a, &v);
}

/* Updates c from its sock_diag entry d; reports it once its interval has passed. */
static void report_one(struct hw_agent *a, struct hw_conn *c, const struct hw_diag_sock *d,
		       __u64 now, __u64 every)
{
	c->seen = 1;
	c->bytes_sent = data_sent(d, c->direction);
	c->bytes_received = d->bytes_received;
	if (now - c->last_report_ns < every)
		return;
	c->last_report_ns = now;
	conn_event(a, c, "connection_open", now);
}

static void existing_conn(struct hw_conn *c, void *ctx)
{
	conn_event(ctx, c, "existing_connection", hw_agent__now());
}

void hw_agent__existing_conns(struct hw_agent *a)
{
	struct hw_sock_list l = {0};

	/* the bytes as of now where sock_diag has the socket (by cookie); the last report's
	 * otherwise */
	if (!hw_agent__dump_socks(a, &l)) {
		for (size_t i = 0; i < l.n; i++) {
			struct hw_conn *c = hw_conn_table__get(a->conns, l.v[i].cookie);

			if (c) {
				c->bytes_sent = data_sent(&l.v[i], c->direction);
				c->bytes_received = l.v[i].bytes_received;
			}
		}
	}
	free(l.v);
	free(l.netns);
	hw_conn_table__each(a->conns, existing_conn, a);
}

/* Connections keyed without a cookie (HW_COOKIE_SYNTHETIC, kernels before 5.12) are found
 * in sock_diag by network namespace and address: an index of the dump, open addressing. */
struct addr_index {
	struct hw_agent *a;
	const struct hw_sock_list *l;
	size_t *slot; /* index into l + 1, 0 empty */
	size_t cap;
	__u64 now, every;
	int err;
};

static __u64 addr_hash(__u32 netns, const __u8 *saddr, const __u8 *daddr, __u16 sport, __u16 dport)
{
	__u64 h = hw_fnv__u64(HW_FNV0, (__u64)netns | (__u64)sport << 32 | (__u64)dport << 48);

	h = hw_fnv__bytes(hw_fnv__bytes(h, saddr, 16), daddr, 16);
	return h ^ h >> 29;
}

static int same_addr(const struct hw_conn *c, const struct hw_diag_sock *d, __u32 netns)
{
	return c->netns == netns && c->addr.family == d->family && c->addr.sport == d->sport &&
	       c->addr.dport == d->dport && !memcmp(c->addr.saddr, d->saddr, 16) &&
	       !memcmp(c->addr.daddr, d->daddr, 16);
}

static void match_one(struct hw_conn *c, void *ctx)
{
	struct addr_index *x = ctx;
	size_t i;

	if (!(c->cookie & HW_COOKIE_SYNTHETIC) || x->err)
		return;
	if (!x->slot) {
		x->cap = 16;
		while (x->cap < x->l->n * 2)
			x->cap <<= 1;
		x->slot = calloc(x->cap, sizeof(*x->slot));
		if (!x->slot) {
			x->err = -ENOMEM;
			return;
		}
		for (size_t k = 0; k < x->l->n; k++) {
			const struct hw_diag_sock *d = &x->l->v[k];

			if (d->state == TCP_STATE_LISTEN)
				continue;
			i = addr_hash(x->l->netns[k], d->saddr, d->daddr, d->sport, d->dport);
			for (i &= x->cap - 1; x->slot[i]; i = (i + 1) & (x->cap - 1))
				;
			x->slot[i] = k + 1;
		}
	}
	i = addr_hash(c->netns, c->addr.saddr, c->addr.daddr, c->addr.sport, c->addr.dport);
	for (i &= x->cap - 1; x->slot[i]; i = (i + 1) & (x->cap - 1)) {
		size_t k = x->slot[i] - 1;

		if (same_addr(c, &x->l->v[k], x->l->netns[k])) {
			report_one(x->a, c, &x->l->v[k], x->now, x->every);
			return;
		}
	}
}

static int match_by_addr(struct hw_agent *a, const struct hw_sock_list *l, __u64 now, __u64 every)
{
	struct addr_index x = {.a = a, .l = l, .now = now, .every = every};

	hw_conn_table__each(a->conns, match_one, &x);
	free(x.slot);
	return x.err;
}

/* The periodic report: bytes so far and age of every connection open longer than the
 * interval since its last report; connections sock_diag no longer has are forgotten. */
int hw_agent__report_conns(struct hw_agent *a)
{
	struct hw_sock_list l = {0};
	__u64 now = hw_agent__now(), every = a->cfg->conn_report_interval_ns;
	int err = hw_agent__dump_socks(a, &l);

	if (err) {
		free(l.v);
		free(l.netns);
		return err;
	}
	for (size_t i = 0; i < l.n; i++) {
		struct hw_conn *c = hw_conn_table__get(a->conns, l.v[i].cookie);

		if (c)
			report_one(a, c, &l.v[i], now, every);
	}
	err = match_by_addr(a, &l, now, every);
	hw_agent__keep_unread(a);
	hw_conn_table__sweep(a->conns);
	hw_agent__prune_diag(a);
	free(l.v);
	free(l.netns);
	return err;
}
