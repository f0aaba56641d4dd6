/* `hopwatch sessions` on a live host without FILE: a one-shot snapshot, the one the agent takes
 * at start (model/snapshot.c for /proc, model/sockdiag.c for the kernel's sockets), without
 * loading BPF. A service process (detect.remote_services, a trusted executable) holding an
 * accepted TCP connection is the handler of a session; its start is the session's true start;
 * the audit sessionid pam_loginuid set, and lineage from the handler, give its processes. The
 * result is fed to the sessions model as the agent's existing_process, existing_session and
 * existing_connection facts (detect/fact_view.h), so the two modes count alike; the idle time
 * is the terminal's (the access time of /dev/pts/N, as w(1) shows it). */
#include <errno.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "detect/fact_view.h"
#include "ir/sessions_cmd.h"
#include "model/conn_table.h"
#include "model/proc_table.h"
#include "model/sessions.h"
#include "model/snapshot.h"
#include "model/sockdiag.h"
#include "model/users.h"

#define TCP_LISTEN 10

struct live {
	const struct hw_config *cfg;
	struct hw_ir *ir;
	struct hw_host host;
	struct hw_proc_table *procs;
	struct hw_users *users;
	struct hw_sessions *sess;
	struct hw_process **pv;
	size_t np, pcap;
	struct hw_diag_sock *sv;
	__u32 *owner; /* per socket: its owner's pid, 0 unknown */
	size_t *by_inode;
	size_t ns, scap;
	struct hw_fact f;
	__u64 now; /* CLOCK_BOOTTIME */
};

static void on_proc(struct hw_process *p, void *ctx)
{
	struct live *l = ctx;

	if (l->np == l->pcap) {
		size_t c = l->pcap ? l->pcap * 2 : 256;
		struct hw_process **v = realloc(l->pv, c * sizeof(*v));

		if (!v)
			return;
		l->pv = v;
		l->pcap = c;
	}
	l->pv[l->np++] = p;
}

static int on_sock(const struct hw_diag_sock *s, void *ctx)
{
	struct live *l = ctx;

	if (s->protocol != IPPROTO_TCP)
		return 0;
	if (l->ns == l->scap) {
		size_t c = l->scap ? l->scap * 2 : 256;
		struct hw_diag_sock *v = realloc(l->sv, c * sizeof(*v));

		if (!v)
			return 1;
		l->sv = v;
		l->scap = c;
	}
	l->sv[l->ns++] = *s;
	return 0;
}

static struct live *sort_l;

static int by_inode(const void *a, const void *b)
{
	__u32 x = sort_l->sv[*(const size_t *)a].inode, y = sort_l->sv[*(const size_t *)b].inode;

	return x < y ? -1 : x > y;
}

static void on_owner(__u32 inode, __u32 pid, void *ctx)
{
	struct live *l = ctx;
	size_t lo = 0, hi = l->ns;

	while (lo < hi && inode) {
		size_t mid = (lo + hi) / 2;
		__u32 v = l->sv[l->by_inode[mid]].inode;

		if (v == inode) {
			if (!l->owner[l->by_inode[mid]])
				l->owner[l->by_inode[mid]] = pid;
			return;
		}
		if (v < inode)
			lo = mid + 1;
		else
			hi = mid;
	}
}

static int listening(const struct live *l, __u16 port)
{
	for (size_t i = 0; i < l->ns; i++)
		if (l->sv[i].state == TCP_LISTEN && l->sv[i].sport == port)
			return 1;
	return 0;
}

static const char *user_name(void *ctx, __u32 uid)
{
	return hw_users__name(ctx, uid);
}

/* A service process holding an accepted connection: the handler of a session, paired by the
 * same code as the agent's start-up snapshot (model/sessions.c). */
static void find_session(struct live *l, size_t i, __u8 dir)
{
	struct hw_process *p = l->owner[i] ? hw_proc_table__live(l->procs, l->owner[i]) : NULL;
	struct hw_sock_addr addr;

	if (dir != HW_DIR_INGRESS || !p)
		return;
	hw_diag_sock__addr(&addr, &l->sv[i]);
	hw_sessions__snapshot(l->sess, l->sv[i].cookie, &addr, p,
			      hw_proc_table__get(l->procs, p->k.ppid, p->k.parent_start_ns));
}

/* Every process of a session: its audit sessionid, else the nearest ancestor's session. */
static void mark(struct live *l, struct hw_process *p)
{
	struct hw_process *q = p;
	struct hw_session *x;

	if (!p->session_id[0] && p->k.sessionid != (__u32)-1) {
		x = hw_sessions__by_audit(l->sess, p->k.sessionid);
		if (x)
			memcpy(p->session_id, x->id, sizeof(p->session_id));
	}
	for (int depth = 0; !p->session_id[0] && q && q->k.ppid && depth < 64; depth++) {
		q = hw_proc_table__get(l->procs, q->k.ppid, q->k.parent_start_ns);
		if (q && q->session_id[0])
			memcpy(p->session_id, q->session_id, sizeof(p->session_id));
	}
}

static void feed(struct live *l, const struct hw_process *p)
{
	struct hw_ir_extra x = {
	    .proc_start = p ? hw_host__wall_ns(&l->host, p->k.start_ns) : 0,
	};

	hw_ir__feed(l->ir, &l->f, &x);
}

static void feed_session(struct hw_session *x, void *ctx)
{
	struct live *l = ctx;
	const struct hw_process *p =
	    hw_proc_table__get(l->procs, x->handler_pid, x->handler_start_ns);
	struct hw_session_view v = {.action = "existing_session", .ts_ns = l->now, .s = x, .p = p};

	if (x->state != HW_SESS_ACTIVE)
		return; /* still authenticating: no login yet */
	hw_fact__session_event(&l->f, &l->host, &v);
	hw_ir__feed(l->ir, &l->f, NULL);
}

static void feed_socket(struct live *l, size_t i, __u8 dir)
{
	const struct hw_diag_sock *d = &l->sv[i];
	const struct hw_process *p =
	    l->owner[i] ? hw_proc_table__live(l->procs, l->owner[i]) : NULL;
	struct hw_sock_addr a;
	char id[HW_ENTITY_ID_LEN];
	__u64 syn = dir == HW_DIR_EGRESS; /* an active open's SYN counts one in bytes_acked */
	struct hw_net_view v = {
	    .action = d->state == TCP_LISTEN ? "existing_listener" : "existing_connection",
	    .ts_ns = l->now,
	    .addr = &a,
	    .p = p,
	    .owner_pid = l->owner[i],
	    .user_name = p ? hw_users__name(l->users, p->k.uid) : NULL,
	    .euser_name = p ? hw_users__name(l->users, p->k.euid) : NULL,
	    .direction = dir,
	};

	hw_diag_sock__addr(&a, d);
	if (d->state != TCP_LISTEN) {
		hw_host__conn_id(&l->host, d->cookie, id);
		v.conn_id = id;
		v.have_bytes = 1;
		v.bytes_sent = d->bytes_sent >= syn ? d->bytes_sent - syn : 0;
		v.bytes_received = d->bytes_received;
	}
	hw_fact__net_event(&l->f, &l->host, &v);
	feed(l, NULL);
}

void hw_ir__tty_idle(struct hw_ir *ir, unsigned long long wall, const struct hw_ir_tty *t,
		     size_t nt)
{
	size_t n = 0;
	struct hw_ir_session **v = hw_ir__sessions(ir, wall, &n);

	for (size_t i = 0; i < n; i++) {
		unsigned long long best = 0;

		for (size_t k = 0; k < nt; k++) {
			char path[64];
			struct stat st;
			unsigned long long at;

			if (!t[k].tty[0] || strcmp(t[k].session_id, v[i]->id) ||
			    strstr(t[k].tty, "..") || strlen(t[k].tty) > 32)
				continue;
			snprintf(path, sizeof(path), "/dev/%s", t[k].tty);
			if (stat(path, &st))
				continue;
			at = (unsigned long long)st.st_atim.tv_sec * 1000000000ull +
			     (unsigned long long)st.st_atim.tv_nsec;
			if (at > best)
				best = at;
		}
		v[i]->have_idle = 1;
		v[i]->idle_unknown = !best;
		v[i]->idle_ns = best && wall > best ? wall - best : 0;
	}
}

/* The idle time of each open session: its terminals' last input (their access time). */
static void set_idle(struct live *l, unsigned long long wall)
{
	struct hw_ir_tty *t = calloc(l->np + 1, sizeof(*t));

	if (!t)
		return;
	for (size_t k = 0; k < l->np; k++) {
		t[k].session_id = l->pv[k]->session_id;
		t[k].tty = l->pv[k]->k.tty;
	}
	hw_ir__tty_idle(l->ir, wall, t, l->np);
	free(t);
}

static int open_netns(const char *path, int *fd, __u32 *ino, char *err, size_t errlen)
{
	struct stat st;

	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0) {
		snprintf(err, errlen, "--netns '%s': %s", path, strerror(errno));
		return -1;
	}
	if (ioctl(*fd, NS_GET_NSTYPE) != CLONE_NEWNET || fstat(*fd, &st)) {
		snprintf(err, errlen, "--netns '%s': not a network namespace", path);
		close(*fd);
		*fd = -1;
		return -1;
	}
	*ino = (__u32)st.st_ino;
	return 0;
}

static void live_free(struct live *l)
{
	hw_sessions__free(l->sess);
	hw_proc_table__free(l->procs);
	hw_users__free(l->users);
	free(l->pv);
	free(l->sv);
	free(l->owner);
	free(l->by_inode);
}

int hw_ir__live(struct hw_ir *ir, const struct hw_config *cfg, const char *netns_path,
		unsigned long long *now_ns, char *err, size_t errlen)
{
	struct live l = {.cfg = cfg, .ir = ir};
	struct hw_sessions_opts sopts = {0};
	struct hw_port_range range = {0};
	struct timespec ts;
	unsigned long long wall;
	__u32 netns = 0;
	__u8 *dir = NULL;
	int fd = -1, n, ret = 1;

	if (geteuid() != 0) {
		snprintf(err, errlen,
			 "sessions of the live host need root (other users' /proc "
			 "entries and sockets); give FILE to read a recording");
		return 1;
	}
	if (netns_path && open_netns(netns_path, &fd, &netns, err, errlen))
		return 2;
	if (hw_host__init(&l.host, cfg->host_name)) {
		snprintf(err, errlen, "cannot read the boot id: %s", strerror(errno));
		goto out;
	}
	l.users = hw_users__new(NULL);
	l.procs = hw_proc_table__new(&l.host, 4096, 30ull * 1000000000ull);
	sopts.services = &cfg->remote_services;
	sopts.user_name = user_name;
	sopts.user_ctx = l.users;
	sopts.max_ended = 16;
	l.sess = l.users ? hw_sessions__new(&l.host, &sopts) : NULL;
	if (!l.users || !l.procs || !l.sess) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	n = hw_snapshot__procs(l.procs, "/proc", netns, (__u32)getpid(), on_proc, &l);
	if (n < 0) {
		snprintf(err, errlen, "cannot read /proc: %s", strerror(-n));
		goto out;
	}
	n = hw_sockdiag__dump(fd, on_sock, &l);
	if (n < 0) {
		snprintf(err, errlen, "cannot read the sockets (sock_diag): %s", strerror(-n));
		goto out;
	}
	l.owner = calloc(l.ns + 1, sizeof(*l.owner));
	l.by_inode = calloc(l.ns + 1, sizeof(*l.by_inode));
	dir = calloc(l.ns + 1, 1);
	if (!l.owner || !l.by_inode || !dir) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < l.ns; i++)
		l.by_inode[i] = i;
	sort_l = &l;
	qsort(l.by_inode, l.ns, sizeof(*l.by_inode), by_inode);
	hw_sockdiag__owners("/proc", on_owner, &l);
	hw_sockdiag__port_range(fd, &range);
	clock_gettime(CLOCK_BOOTTIME, &ts);
	l.now = (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
	wall = hw_host__wall_ns(&l.host, l.now);
	for (size_t i = 0; i < l.ns; i++) {
		int lis;

		if (l.sv[i].state == TCP_LISTEN)
			continue;
		lis = listening(&l, l.sv[i].sport);
		dir[i] =
		    hw_sockdiag__direction(lis, l.sv[i].sport, l.sv[i].dport, lis ? NULL : &range);
		find_session(&l, i, dir[i]);
	}
	for (size_t i = 0; i < l.np; i++)
		mark(&l, l.pv[i]);
	/* the agent's order: the processes, the sessions, then the sockets (whose facts carry
	 * the bytes of each session's own connection) */
	for (size_t i = 0; i < l.np; i++) {
		struct hw_proc_event e = {
		    .action = "existing_process",
		    .ts_ns = l.now,
		    .p = l.pv[i],
		    .user_name = hw_users__name(l.users, l.pv[i]->k.uid),
		    .euser_name = hw_users__name(l.users, l.pv[i]->k.euid),
		};

		hw_fact__proc_event(&l.f, &l.host, &e);
		feed(&l, l.pv[i]);
	}
	hw_sessions__each(l.sess, feed_session, &l);
	for (size_t i = 0; i < l.ns; i++)
		feed_socket(&l, i, dir[i]);
	hw_fact__tick(&l.f, wall, l.host.name, l.host.id);
	hw_ir__feed(ir, &l.f, NULL);
	set_idle(&l, wall);
	*now_ns = wall;
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	free(dir);
	live_free(&l);
	return ret;
}
