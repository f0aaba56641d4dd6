/* The agent's sock_diag sockets, one NETLINK_SOCK_DIAG socket per watched network namespace:
 * opened at start-up, while the agent may still enter namespaces (the running agent may not),
 * dumped for socks.c's snapshot and periodic report, closed once no live process of the model
 * is in their namespace. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/agent_int.h"
#include "model/sockdiag.h"

#define TCP_STATE_SYN_RECV 3
#define IPPROTO_TCP_NUM	   6

static int collect(const struct hw_diag_sock *s, void *ctx)
{
	struct hw_sock_list *l = ctx;

	if (s->protocol != IPPROTO_TCP_NUM || s->state == TCP_STATE_SYN_RECV)
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		struct hw_diag_sock *v = realloc(l->v, cap * sizeof(*v));
		__u32 *ns;

		if (!v)
			return -ENOMEM;
		l->v = v;
		ns = realloc(l->netns, cap * sizeof(*ns));
		if (!ns)
			return -ENOMEM;
		l->netns = ns;
		l->cap = cap;
	}
	l->netns[l->n] = l->cur_netns;
	l->v[l->n++] = *s;
	return 0;
}

/* The sock_diag socket of one namespace (a->diag.v): opened during start-up, while the agent may
 * still enter the namespace; closed when no live process of the model is in it any more (an
 * open socket keeps its namespace alive: a container's veth would outlive the container). */
struct hw_diag_ns {
	__u32 ino;
	int fd;
	int dumped; /* the last pass read it */
};

void hw_agent__raise_nofile(void)
{
	struct rlimit rl;

	/* the soft limit may be raised up to the hard one without privileges */
	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur >= rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > 65536 ? 65536 : rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
}

/* The descriptors open now: the BPF objects' (a program, its link, its perf event each), the
 * outputs. */
static size_t open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	size_t n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n > 0 ? n - 1 : 0; /* not the directory's own */
}

/* At most half the open files the process may still open (its limit, less what the BPF
 * objects and outputs hold already): the reopened outputs, the spools and the sinks' sockets
 * keep room. */
static size_t diag_max(void)
{
	struct rlimit rl;
	size_t used = open_fds();

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return 256;
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 65536)
		return 32768;
	return rl.rlim_cur > used ? (rl.rlim_cur - used) / 2 : 0;
}

static int diag_add(struct hw_agent *a, __u32 ino, int netns_fd)
{
	int fd;

	if (a->diag.n == a->diag.max)
		return -EMFILE;
	if (a->diag.n == a->diag.cap) {
		size_t cap = a->diag.cap ? a->diag.cap * 2 : 16;
		struct hw_diag_ns *v = realloc(a->diag.v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		a->diag.v = v;
		a->diag.cap = cap;
	}
	fd = hw_sockdiag__socket(netns_fd);
	if (fd < 0)
		return fd;
	a->diag.v[a->diag.n].ino = ino;
	a->diag.v[a->diag.n].fd = fd;
	a->diag.v[a->diag.n].dumped = 0;
	a->diag.n++;
	return 0;
}

/* Opens the sockets of every watched network namespace: the scoped one, or one per distinct
 * namespace that a process is in. Before the capability drop: entering another namespace
 * (setns) needs CAP_SYS_ADMIN, reading /proc/PID/ns/net of another user CAP_SYS_PTRACE. */
static int diag_open(struct hw_agent *a)
{
	struct stat st;
	struct dirent *d;
	DIR *dir;
	int err = 0;

	a->diag.opened = 1;
	a->diag.max = diag_max();
	if (stat("/proc/self/ns/net", &st) == 0)
		a->diag.own_netns_ino = (__u32)st.st_ino;
	if (a->netns_fd >= 0)
		return diag_add(a, a->netns_ino, a->netns_fd);
	dir = opendir("/proc");
	if (!dir)
		return -errno;
	while ((d = readdir(dir))) {
		char path[64];
		size_t i;
		int fd;

		if (d->d_name[0] < '1' || d->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/ns/net", d->d_name);
		if (stat(path, &st))
			continue;
		for (i = 0; i < a->diag.n && a->diag.v[i].ino != (__u32)st.st_ino; i++)
			;
		if (i < a->diag.n)
			continue;
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		err = diag_add(a, (__u32)st.st_ino, fd);
		close(fd);
		if (err == -ENOMEM)
			break;
		err = 0; /* a namespace gone meanwhile is not an error */
	}
	closedir(dir);
	return err;
}

void hw_agent__close_diag(struct hw_agent *a)
{
	for (size_t i = 0; i < a->diag.n; i++)
		close(a->diag.v[i].fd);
	free(a->diag.v);
	a->diag.v = NULL;
	a->diag.n = a->diag.cap = 0;
}

int hw_agent__dump_socks(struct hw_agent *a, struct hw_sock_list *l)
{
	int err;

	if (!a->diag.opened) {
		err = diag_open(a); /* a namespace that could not be entered is skipped there */
		if (err)
			return err;
	}
	for (size_t i = 0; i < a->diag.n; i++) {
		l->cur_netns = a->diag.v[i].ino;
		err = hw_sockdiag__dump_socket(a->diag.v[i].fd, collect, l);
		a->diag.v[i].dumped = err >= 0;
		if (err == -ENOMEM || (err < 0 && a->netns_fd >= 0))
			return err;
	}
	return 0;
}

/* Namespaces live processes are in, for the pruning of a->diag.v after a report. */
struct ns_set {
	__u32 *v;
	size_t n, cap;
	int failed;
};

static void ns_collect(struct hw_process *p, void *ctx)
{
	struct ns_set *s = ctx;
	size_t i;

	if ((p->flags & HW_PROC_EXITED) || !p->k.netns)
		return;
	for (i = 0; i < s->n && s->v[i] != p->k.netns; i++)
		;
	if (i < s->n)
		return;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		__u32 *v = realloc(s->v, cap * sizeof(*v));

		if (!v) {
			s->failed = 1;
			return;
		}
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = p->k.netns;
}

static int diag_has(const struct hw_agent *a, __u32 ino, int dumped)
{
	for (size_t i = 0; i < a->diag.n; i++)
		if (a->diag.v[i].ino == ino)
			return !dumped || a->diag.v[i].dumped;
	return 0;
}

static void keep_unread(struct hw_conn *c, void *ctx)
{
	if (!diag_has(ctx, c->netns, 1))
		c->seen = 1;
}

void hw_agent__keep_unread(struct hw_agent *a)
{
	hw_conn_table__each(a->conns, keep_unread, a);
}

void hw_agent__prune_diag(struct hw_agent *a)
{
	struct ns_set live = {0};
	size_t i, j = 0;

	if (a->netns_fd >= 0)
		return;
	hw_proc_table__each(a->procs, ns_collect, &live);
	if (live.failed) {
		free(live.v);
		return;
	}
	for (i = 0; i < a->diag.n; i++) {
		struct hw_diag_ns *e = &a->diag.v[i];
		size_t k;

		for (k = 0; k < live.n && live.v[k] != e->ino; k++)
			;
		if (k == live.n && e->ino != a->diag.own_netns_ino) {
			close(e->fd);
			continue;
		}
		a->diag.v[j++] = *e;
	}
	a->diag.n = j;
	for (i = 0; i < live.n && !a->diag.warned; i++) {
		if (diag_has(a, live.v[i], 0))
			continue;
		fprintf(stderr,
			"hopwatch: network namespace %u has no sock_diag socket (created after the "
			"start, or more namespaces than %zu): its connections are reported when "
			"they open and close, not by the periodic report\n",
			live.v[i], a->diag.max);
		a->diag.warned = 1;
	}
	free(live.v);
}
