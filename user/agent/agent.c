/* The agent: ring-buffer records -> process table -> encoder -> sink, and the view's fact ->
 * detection engine. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <linux/nsfs.h>
#include <sched.h>

#include "agent.h"
#include "agent_int.h"
#include "caps.h"
#include "seccomp.h"
#include "decode.h"
#include "loader.h"
#include "model/host.h"
#include "model/proc_table.h"
#include "model/snapshot.h"
#include "model/users.h"
#include "output/alert.h"
#include "output/ecs.h"
#include "output/sink.h"
#include "output/text.h"

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

__u64 hw_agent__now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

/* A line the sink could not write is counted by the sink (agent_output.c). */
void hw_agent__write(struct hw_agent *a, const char *buf, size_t len, int error)
{
	if (error) {
		a->counters.lost_output++;
		return;
	}
	hw_sink__write(a->sink, buf, len);
	a->counters.events++;
}

void hw_agent__alert(struct hw_agent *a, const struct hw_alert *al)
{
	int err;

	if (!a->text || a->nstreams) {
		hw_json__reset(&a->ajson);
		hw_ecs__alert(&a->ajson, al);
	}
	if (a->text) {
		hw_text__alert(&a->atext, al);
		err = a->atext.error;
		if (!err)
			hw_sink__write(a->sink, a->atext.buf, a->atext.len);
	} else {
		err = a->ajson.error;
		if (!err)
			hw_sink__write(a->sink, a->ajson.buf, a->ajson.len);
	}
	if (err)
		a->counters.lost_output++;
	else
		a->counters.alerts++;
	if (!a->ajson.error)
		hw_agent__stream_line(a, 'a', a->ajson.buf, a->ajson.len);
}

static void on_alert(const struct hw_alert *al, void *ctx)
{
	hw_agent__alert(ctx, al);
}

void hw_agent__observe(struct hw_agent *a)
{
	if (a->json.error || !a->json.len)
		return; /* not written: not seen by replay either */
	if (a->record)
		hw_sink__write(a->record, a->json.buf, a->json.len);
	hw_agent__stream_line(a, 'e', a->json.buf, a->json.len);
	if (a->check)
		hw_agent__check_fact(a, a->json.buf, a->json.len, &a->fact);
	/* the engine gets the fact, not the line: the same (fact_view.h), without the parse */
	hw_engine__feed(a->engine, &a->fact);
}

/* The engine's clock: a tick line, recorded, then fed (timed rules fire on ticks). */
static void tick(struct hw_agent *a, __u64 boot_ns)
{
	__u64 wall = hw_host__wall_ns(&a->host, boot_ns);

	hw_json__reset(&a->ajson);
	hw_ecs__tick(&a->ajson, wall, a->host.name, a->host.id);
	if (a->ajson.error)
		return;
	if (a->record)
		hw_sink__write(a->record, a->ajson.buf, a->ajson.len);
	hw_fact__tick(&a->fact, wall, a->host.name, a->host.id);
	if (a->check)
		hw_agent__check_fact(a, a->ajson.buf, a->ajson.len, &a->fact);
	hw_engine__feed(a->engine, &a->fact);
}

static void emit_proc_sock(struct hw_agent *a, const char *action, __u64 ts_ns,
			   const struct hw_process *p, const struct hw_sock_addr *stdio_sock)
{
	struct hw_proc_event e = {
		.action = action,
		.ts_ns = ts_ns,
		.p = p,
		.user_name = hw_users__name(a->users, p->k.uid),
	};

	if (stdio_sock && stdio_sock->family) {
		const struct hw_conn *c = hw_conn_table__find_addr(a->conns, stdio_sock, p->k.netns);

		e.stdio_sock = stdio_sock;
		if (c) {
			e.stdio_conn_id = c->id;
			e.stdio_direction = c->direction;
		}
	}

	e.euser_name = p->k.euid == p->k.uid ? e.user_name : hw_users__name(a->users, p->k.euid);
	HW_AGENT_EMIT(a, proc, &e);
}

static void emit_proc(struct hw_agent *a, const char *action, __u64 ts_ns,
		      const struct hw_process *p)
{
	emit_proc_sock(a, action, ts_ns, p, NULL);
}

static void emit_agent(struct hw_agent *a, const char *action, __u64 snapshot_procs,
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

	HW_AGENT_EMIT(a, agent, &e);
}

void hw_agent__emit_output(struct hw_agent *a, const char *output, unsigned long long lost,
			   const char *error)
{
	struct hw_agent_event e = {
		.action = "output-resumed",
		.ts_ns = hw_agent__now(),
		.version = HW_VERSION,
		.pid = (__u32)getpid(),
		.netns = a->netns_path,
		.output = output,
		.output_lost = lost,
		.output_error = error,
	};

	HW_AGENT_EMIT(a, agent, &e);
}

static void handle_exec(struct hw_agent *a, const struct hw_exec_event *e)
{
	char exe[HW_PATH_MAX + 8], cwd[HW_PATH_MAX + 8];
	struct hw_process *p = hw_proc_table__upsert(a->procs, &e->proc);

	if (!p) {
		a->counters.lost_output++;
		return;
	}
	hw_decode_path(&e->exe, e->flags & HW_EXEC_EXE_TRUNCATED, exe, sizeof(exe));
	hw_decode_path(&e->cwd, e->flags & HW_EXEC_CWD_TRUNCATED, cwd, sizeof(cwd));
	if (hw_process__set_image(p, exe, cwd, e->args, e->args_len, e->flags)) {
		a->counters.lost_output++;
		return;
	}
	hw_process__set_exe_owner(p, e->exe_uid, e->exe_mode);
	p->exe_ino = e->exe_ino; /* the file rules follow files by inode (transfer-exec) */
	p->exe_dev = e->exe_dev;
	memcpy(p->stdio, e->stdio, sizeof(p->stdio));
	p->stdio_known = 1;
	hw_agent__session_mark(a, p);
	emit_proc_sock(a, "exec", e->hdr.ts_ns, p, &e->stdio_sock);
}

static void handle_fork(struct hw_agent *a, const struct hw_fork_event *e)
{
	struct hw_process *child = hw_proc_table__upsert(a->procs, &e->proc), *parent;

	if (!child) {
		a->counters.lost_output++;
		return;
	}
	parent = hw_proc_table__get(a->procs, e->proc.ppid, e->proc.parent_start_ns);
	if (parent)
		hw_process__inherit(child, parent);
	hw_agent__session_fork(a, child, parent);
	hw_agent__session_mark(a, child);
	emit_proc(a, "fork", e->hdr.ts_ns, child);
}

static void handle_exit(struct hw_agent *a, const struct hw_exit_event *e)
{
	struct hw_process *p = hw_proc_table__upsert(a->procs, &e->proc);

	if (!p) {
		a->counters.lost_output++;
		return;
	}
	hw_proc_table__exit(a->procs, p, e->hdr.ts_ns, e->exit_code);
	hw_agent__session_mark(a, p);
	emit_proc(a, "exit", e->hdr.ts_ns, p);
}

/* Ring-buffer callback: the record lives only during this call. */
static int on_record(void *ctx, void *data, size_t size)
{
	struct hw_agent *a = ctx;

	switch (hw_decode_check(data, size)) {
	case HW_EV_EXEC:
		handle_exec(a, data);
		break;
	case HW_EV_FORK:
		handle_fork(a, data);
		break;
	case HW_EV_EXIT:
		handle_exit(a, data);
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
	case HW_EV_FILE:
		hw_agent__file_record(a, data);
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

static int poll_loop(struct hw_agent *a, struct hw_loader *l, const struct hw_run_opts *o)
{
	__u64 deadline = o->duration_ns ? hw_agent__now() + o->duration_ns : 0;
	__u64 next_report = hw_agent__now() + a->cfg->conn_report_interval_ns;
	__u64 next_tick = hw_agent__now() + HW_TICK_NS;
	int timeout_ms = (int)(a->cfg->poll_interval_ns / 1000000ULL);

	if (timeout_ms < 1)
		timeout_ms = 1;
	while (!stop_requested) {
		__u64 now;
		/* a streaming sink with a backlog is pumped more often than the ring is idle-polled */
		int err = ring_buffer__poll(l->rb, hw_agent__streams_behind(a) ? 2 : timeout_ms);

		if (err < 0 && err != -EINTR)
			return err;
		/* records queued without a wakeup (BPF_RB_NO_WAKEUP) */
		ring_buffer__consume(l->rb);
		now = hw_agent__now();
		hw_agent__settle_sessions(a, now, 0);
		if (now >= next_tick) {
			tick(a, now);
			next_tick = now + HW_TICK_NS;
		}
		if (hw_agent__output_round(a))
			break; /* standard output was closed: 'hopwatch run | head' */
		hw_agent__pump_streams(a, now);
		hw_proc_table__expire(a->procs, now);
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
	return 0;
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
	struct hw_agent a = {.cfg = cfg, .netns_path = cfg->netns, .netns_fd = -1};
	struct hw_sock_snapshot *socks = NULL;
	const char *out_path = o->output ? o->output : cfg->file;
	struct snap_list snap = {0};
	char why[256];
	int ret = 1, n, nsocks;
	size_t nsess;

	hw_loader__set_verbose(o->verbose);
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
	a.users = hw_users__new(NULL);
	a.procs = hw_proc_table__new(&a.host, cfg->proc_table_max, cfg->proc_exited_ttl_ns);
	a.conns = hw_conn_table__new(&a.host, cfg->conn_table_max);
	a.sessions = hw_sessions__new(&a.host, 4096);
	a.engine = hw_engine__new(cfg, on_alert, &a);
	if (!a.users || !a.procs || !a.conns || !a.sessions || !a.engine) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	install_signals();
	if (hw_loader__preflight(&l) || hw_loader__open(&l, &lo) || hw_loader__load(&l) ||
	    hw_agent__file_setup(&a, &l) || hw_loader__attach(&l) || hw_loader__ring(&l, on_record, &a)) {
		snprintf(err, errlen, "%s", l.err);
		goto out;
	}
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
	emit_agent(&a, "agent-started", (__u64)n, (__u64)nsocks, (__u64)nsess, NULL, &l);
	tick(&a, hw_agent__now()); /* the recording's clock starts with the agent */
	for (size_t i = 0; i < snap.n; i++)
		emit_proc(&a, "existing_process", hw_agent__now(), snap.v[i]);
	free(snap.v);
	snap.v = NULL;
	hw_agent__emit_socks(&a, socks);
	hw_agent__free_socks(socks);
	socks = NULL;
	hw_agent__emit_sessions(&a);
	tick(&a, hw_agent__now()); /* timed rules on what the snapshot found fire now */
	hw_sink__flush(a.sink);
	n = poll_loop(&a, &l, o);
	if (n) {
		snprintf(err, errlen, "reading the ring buffer failed: %s", strerror(-n));
		goto out;
	}
	ring_buffer__consume(l.rb); /* drain */
	hw_agent__settle_sessions(&a, 0, 1);
	collect_stats(&a, &l);
	a.counters.engine_full = hw_engine__table_full(a.engine);
	hw_agent__pump_streams(&a, hw_agent__now());
	if (!a.output_closed && !hw_agent__output_round(&a)) {
		struct hw_agent_counters c = a.counters;

		c.lost_output += hw_agent__lost_writes(&a);
		emit_agent(&a, "agent-stopped", 0, 0, 0, &c, NULL);
	}
	ret = hw_agent__output_finish(&a, err, errlen);
	if (hw_agent__check_finish(&a, why, sizeof(why)) && !ret) {
		snprintf(err, errlen, "%s", why);
		ret = 1;
	}
out:
	hw_agent__close_streams(&a); /* delivers what it can, the rest waits in the spool */
	hw_agent__close_diag(&a);
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
	hw_engine__free(a.engine);
	hw_agent__file_free(&a);
	if (a.check) /* a run that failed before the end */
		hw_agent__check_finish(&a, why, sizeof(why));
	hw_json__free(&a.json);
	hw_text__free(&a.tline);
	hw_json__free(&a.ajson);
	hw_text__free(&a.atext);
	return ret;
}
