/* hopwatch run: wires the loader, the model, the handlers and emit.c together (agent_int.h
 * says which file does what), dispatches the ring buffer's records to their handlers and runs
 * the poll loop: ticks, output rounds, the streaming sinks' pumps, the periodic reports. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <linux/nsfs.h>
#include <sched.h>

#include "agent/agent.h"
#include "agent/agent_int.h"
#include "caps.h"
#include "seccomp.h"
#include "decode.h"
#include "lib/heap.h"
#include "loader.h"
#include "model/host.h"
#include "model/proc_table.h"
#include "model/snapshot.h"
#include "model/users.h"
#include "output/ocsf.h"
#include "output/sink.h"

#define HW_TICK_NS 1000000000ULL /* the engine's clock: timed rules fire within a second */

static volatile sig_atomic_t stop_requested, reopen_requested;

static void on_stop(int sig)
{
	stop_requested = 1;
}

static void on_hup(int sig)
{
	reopen_requested = 1;
}

static void agent_event(struct hw_agent *a, const char *action, __u64 snapshot_procs,
			__u64 snapshot_socks, __u64 snapshot_sessions,
			const struct hw_agent_counters *c, const struct hw_loader *l)
{
	struct hw_agent_event e = {
	    .action = action,
	    .ts_ns = hw_agent__now(),
	    .version = HW_VERSION,
	    .pid = (__u32)getpid(),
	    .netns = a->netns_path,
	    .snapshot_procs = snapshot_procs,
	    .snapshot_socks = snapshot_socks,
	    .snapshot_sessions = snapshot_sessions,
	    .counters = c,
	    .degraded = l ? l->degraded : NULL,
	    .ndegraded = l ? l->ndegraded : 0,
	};

	hw_emit__agent(a, &e);
}

/* Ring-buffer callback: the record lives only during this call. */
static int on_record(void *ctx, void *data, size_t size)
{
	struct hw_agent *a = ctx;

	switch (hw_decode_check(data, size)) {
	case HW_EV_EXEC:
		hw_agent__exec_record(a, data);
		break;
	case HW_EV_FORK:
		hw_agent__fork_record(a, data);
		break;
	case HW_EV_EXIT:
		hw_agent__exit_record(a, data);
		break;
	case HW_EV_CONNECT:
	case HW_EV_ACCEPT:
	case HW_EV_CLOSE:
	case HW_EV_LISTEN:
	case HW_EV_UDP:
		hw_agent__net_record(a, data);
		break;
	case HW_EV_PAM:
		hw_agent__pam_record(a, data);
		break;
	case HW_EV_RAW_SOCKET:
		hw_agent__raw_record(a, data);
		break;
	case HW_EV_FILE:
		hw_agent__file_record(a, data);
		break;
	case HW_EV_UNIX_CONNECT:
		hw_agent__unix_record(a, data);
		break;
	default:
		a->counters.decode_errors++;
	}
	return 0;
}

/* The snapshot is taken before agent-started and reported after it. */
struct snap_list {
	struct hw_process **v;
	size_t n, cap;
};

static void on_snapshot(struct hw_process *p, void *ctx)
{
	struct snap_list *l = ctx;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		struct hw_process **v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return; /* in the table, not reported */
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = p;
}

/* Opens the network namespace at path (kept open for sock_diag), checked to be one. */
static int netns_open(const char *path, int *fd_out, __u32 *ino, char *err, size_t errlen)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC), type;

	if (fd < 0) {
		snprintf(err, errlen, "--netns '%s': %s", path, strerror(errno));
		return -1;
	}
	type = ioctl(fd, NS_GET_NSTYPE);
	if (type != CLONE_NEWNET || fstat(fd, &st)) {
		snprintf(err, errlen, "--netns '%s': not a network namespace", path);
		close(fd);
		return -1;
	}
	*fd_out = fd;
	*ino = (__u32)st.st_ino;
	return 0;
}

static void install_signals(void)
{
	struct sigaction sa = {0};

	sa.sa_handler = on_stop;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = on_hup;
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

static void collect_stats(struct hw_agent *a, struct hw_loader *l)
{
	__u64 s[HW_STAT_MAX];

	if (hw_loader__stats(l, s))
		return;
	a->counters.drops = s[HW_STAT_DROP_RINGBUF];
	a->counters.errors = s[HW_STAT_ERR_SCRATCH] + s[HW_STAT_ERR_MAP];
	a->counters.read_errors = s[HW_STAT_ERR_READ];
	a->counters.conn_misses = s[HW_STAT_CONN_MISS];
}

static void pump_streams(struct hw_agent *a, __u64 now)
{
	struct hw_alert al;

	if (hw_agent__pump_streams(a, now, &al))
		hw_emit__alert(a, &al);
}

/* What the poll loop waits on: the ring buffer's readiness (libbpf's epoll set, itself pollable)
 * and the control socket, so a round asks accept4() only when a client is waiting (a refused
 * accept4 makes and frees a socket and a file: ~30 us each under a hypervisor, a tenth of an
 * exec storm's agent CPU when asked every round). Returns the epoll descriptor or -errno. */
enum { WAIT_RING, WAIT_CONTROL };

static int wait_set(struct hw_agent *a, struct hw_loader *l)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = WAIT_RING};
	int ep = epoll_create1(EPOLL_CLOEXEC), err;

	if (ep < 0)
		return -errno;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, ring_buffer__epoll_fd(l->rb), &ev))
		goto fail;
	ev.data.u32 = WAIT_CONTROL;
	if (a->control_fd >= 0 && epoll_ctl(ep, EPOLL_CTL_ADD, a->control_fd, &ev))
		goto fail;
	return ep;
fail:
	err = -errno;
	close(ep);
	return err;
}

static int poll_loop(struct hw_agent *a, struct hw_loader *l, const struct hw_run_opts *o)
{
	int ep = wait_set(a, l), ret = 0;
	__u64 deadline = o->duration_ns ? hw_agent__now() + o->duration_ns : 0;
	__u64 next_report = hw_agent__now() + a->cfg->conn_report_interval_ns;
	__u64 next_tick = hw_agent__now() + HW_TICK_NS;
	__u64 next_sweep = hw_agent__now() + HW_AGENT_SOCK_SWEEP_NS, last_sweep = 0;
	int timeout_ms = (int)(a->cfg->poll_interval_ns / 1000000ULL);

	if (ep < 0)
		return ep;
	if (timeout_ms < 1)
		timeout_ms = 1;
	while (!stop_requested) {
		struct epoll_event ev[2];
		__u64 now;
		/* a streaming sink with a backlog is pumped more often than the ring is idle-polled
		 */
		int n = epoll_wait(ep, ev, 2, hw_agent__streams_behind(a) ? 2 : timeout_ms);

		if (n < 0 && errno != EINTR) {
			ret = -errno;
			break;
		}
		for (int i = 0; i < n; i++)
			if (ev[i].data.u32 == WAIT_CONTROL)
				a->control_waiting = 1;
		/* what the ring holds, woken or not (records queued with BPF_RB_NO_WAKEUP) */
		ring_buffer__consume(l->rb);
		now = hw_agent__now();
		hw_sessions__settle(a->sessions, now, 0);
		if (now >= next_tick) {
			hw_emit__tick(a, now);
			next_tick = now + HW_TICK_NS;
		}
		if (hw_agent__output_round(a))
			break; /* standard output was closed: 'hopwatch run | head' */
		pump_streams(a, now);
		hw_agent__control_round(a);
		hw_proc_table__expire(a->procs, now);
		if (now >= next_sweep || (now >= last_sweep + HW_AGENT_SOCK_SWEEP_FULL_NS &&
					  hw_agent__unix_sweep_due(l))) {
			hw_agent__unix_sweep(a, l);
			last_sweep = now;
			next_sweep = now + HW_AGENT_SOCK_SWEEP_NS;
		}
		if (now >= next_report) {
			hw_agent__report_conns(a); /* a failed pass is tried again next time */
			next_report = now + a->cfg->conn_report_interval_ns;
		}
		if (reopen_requested) {
			reopen_requested = 0;
			hw_agent__output_reopen(a);
		}
		if (deadline && now >= deadline)
			break;
	}
	close(ep);
	return ret;
}

int hw_agent_run(const struct hw_run_opts *o, char *err, size_t errlen)
{
	const struct hw_config *cfg = o->cfg;
	struct hw_loader_opts lo = {
	    .agent_tgid = (__u32)getpid(),
	    .args_max = cfg->args_max,
	    .ringbuf_size = cfg->ringbuf_size,
	    .conn_table_max = cfg->conn_table_max,
	    .wakeup_bytes = cfg->ringbuf_size / 8,
	};
	struct hw_loader l = {0};
	struct hw_agent a = {
	    .cfg = cfg, .netns_path = cfg->netns, .netns_fd = -1, .control_fd = -1};
	struct hw_sock_snapshot *socks = NULL;
	const char *out_path = o->output ? o->output : cfg->file;
	struct snap_list snap = {0};
	char why[256];
	int ret = 1, n, nsocks;
	size_t nsess;

	hw_loader__set_verbose(o->verbose);
	hw_agent__raise_nofile();
	if (cfg->netns && netns_open(cfg->netns, &a.netns_fd, &lo.netns, err, errlen))
		return 2;
	a.netns_ino = lo.netns;
	if (hw_host__init(&a.host, cfg->host_name)) {
		snprintf(err, errlen, "cannot read the boot id: %s", strerror(errno));
		return 1;
	}
	if (hw_agent__check_start(&a, err, errlen))
		goto out;
	if (hw_agent__open_outputs(&a, out_path, o->record, err, errlen)) {
		ret = 2;
		goto out;
	}
	/* the spools of the streaming sinks: a bad spool_dir is a bad setting, found first; one
	 * another agent holds is a refusal (1) */
	n = hw_agent__open_spools(&a, err, errlen);
	if (n) {
		ret = n;
		goto out;
	}
	a.text = cfg->format == HW_FORMAT_TEXT ||
		 (cfg->format == HW_FORMAT_AUTO && !out_path && isatty(STDOUT_FILENO));
	if (cfg->format == HW_FORMAT_OCSF && !(a.ocsf = hw_ocsf__new())) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	a.users = hw_users__new(NULL);
	a.procs = hw_proc_table__new(&a.host, cfg->proc_table_max, cfg->proc_exited_ttl_ns);
	a.conns = hw_conn_table__new(&a.host, cfg->conn_table_max);
	a.sessions = hw_agent__sessions_new(&a);
	a.engine = hw_engine__new(cfg, hw_emit__on_alert, &a);
	if (!a.users || !a.procs || !a.conns || !a.sessions || !a.engine) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	/* the tables fill for a while (exited processes kept): the heap's growth is made resident
	 * a growth at a time, not faulted in a page at a time (lib/heap.h) */
	hw_heap__populate(1);
	install_signals();
	if (hw_loader__preflight(&l) || hw_loader__open(&l, &lo) || hw_loader__load(&l) ||
	    hw_agent__file_setup(&a, &l) || hw_loader__attach(&l) ||
	    hw_loader__ring(&l, on_record, &a)) {
		snprintf(err, errlen, "%s", l.err);
		goto out;
	}
	hw_agent__file_attached(&a);
	if (l.warn[0])
		fprintf(stderr, "hopwatch: %s, ignoring\n", l.warn);
	/* attached first, then the snapshot: nothing falls between the two */
	n = hw_snapshot__procs(a.procs, "/proc", lo.netns, lo.agent_tgid, on_snapshot, &snap);
	if (n < 0) {
		snprintf(err, errlen, "cannot read /proc: %s", strerror(-n));
		goto out;
	}
	nsocks = hw_agent__snapshot_socks(&a, &socks);
	if (nsocks < 0) {
		snprintf(err, errlen, "cannot read the sockets (sock_diag): %s", strerror(-nsocks));
		goto out;
	}
	nsess = hw_agent__snapshot_sessions(&a);
	if (hw_agent__unix_snapshot(&a, &l) < 0)
		fprintf(stderr, "hopwatch: cannot read the agent sockets of running sshd sessions, "
				"ignoring\n");
	/* the control socket is made while the agent may still write /run */
	if (hw_agent__control_open(&a, why, sizeof(why)))
		fprintf(stderr, "hopwatch: control socket: %s, ignoring\n", why);
	/* everything is loaded and attached, /proc read, and a sock_diag socket opened in every
	 * network namespace: the running agent needs no capability. After the drop, then, the
	 * allow-list of what it still does. Both before the streams: libnats starts threads, and
	 * capabilities belong to threads (the filter is synchronised to all of them anyway). */
	if (hw_caps__drop(0, why, sizeof(why)))
		fprintf(stderr, "hopwatch: dropping capabilities: %s, ignoring\n", why);
	if (cfg->seccomp && hw_seccomp__install(why, sizeof(why)))
		fprintf(stderr, "hopwatch: %s, ignoring\n", why);
	if (hw_agent__open_streams(&a, err, errlen)) {
		ret = 2;
		goto out;
	}
	agent_event(&a, "agent-started", (__u64)n, (__u64)nsocks, (__u64)nsess, NULL, &l);
	hw_emit__tick(&a, hw_agent__now()); /* the recording's clock starts with the agent */
	for (size_t i = 0; i < snap.n; i++)
		hw_agent__existing_proc(&a, snap.v[i]);
	free(snap.v);
	snap.v = NULL;
	hw_agent__existing_socks(&a, socks);
	hw_agent__free_socks(socks);
	socks = NULL;
	hw_agent__existing_sessions(&a);
	hw_emit__tick(&a, hw_agent__now()); /* timed rules on what the snapshot found fire now */
	hw_sink__flush(a.sink);
	n = poll_loop(&a, &l, o);
	if (n) {
		snprintf(err, errlen, "reading the ring buffer failed: %s", strerror(-n));
		goto out;
	}
	ring_buffer__consume(l.rb); /* drain */
	hw_sessions__settle(a.sessions, 0, 1);
	collect_stats(&a, &l);
	a.counters.engine_full = hw_engine__table_full(a.engine);
	pump_streams(&a, hw_agent__now());
	if (!a.output_closed && !hw_agent__output_round(&a)) {
		struct hw_agent_counters c = a.counters;

		c.lost_output += hw_agent__lost_writes(&a);
		agent_event(&a, "agent-stopped", 0, 0, 0, &c, NULL);
	}
	ret = hw_agent__output_finish(&a, err, errlen);
	if (hw_agent__check_finish(&a, why, sizeof(why)) && !ret) {
		snprintf(err, errlen, "%s", why);
		ret = 1;
	}
out:
	hw_agent__close_streams(&a); /* delivers what it can, the rest waits in the spool */
	hw_agent__close_diag(&a);
	hw_agent__control_close(&a);
	free(snap.v);
	hw_agent__free_socks(socks);
	if (a.netns_fd >= 0)
		close(a.netns_fd);
	hw_loader__close(&l);
	hw_proc_table__free(a.procs);
	hw_conn_table__free(a.conns);
	hw_sessions__free(a.sessions);
	hw_users__free(a.users);
	hw_sink__free(a.sink);
	hw_sink__free(a.record);
	hw_ocsf__free(a.ocsf);
	hw_engine__free(a.engine);
	hw_agent__file_free(&a);
	if (a.check) /* a run that failed before the end */
		hw_agent__check_finish(&a, why, sizeof(why));
	hw_emit__free(&a);
	return ret;
}
