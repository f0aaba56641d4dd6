/* The agent's state and the functions its files share; nothing outside user/agent/ includes
 * this. Data flows one way (docs/architecture.md), and tests/cli/test_calls.py checks that no
 * two files call each other both ways:
 *
 *   agent.c   wiring, the poll loop, the ring buffer's records to their handlers
 *   proc.c    process records (exec, fork, exit) and the /proc snapshot -> views
 *   net.c     network records -> connection table -> views
 *   socks.c   sockets the records cannot tell about (snapshot, periodic report) -> views
 *   diag.c    the sock_diag socket of every watched network namespace
 *   login.c   libpam records and the sessions' changes (model/sessions.c pairs them) -> views
 *   raw.c     raw-socket records -> views
 *   unix.c    agent-socket records -> views; the sockets of sessions older than the agent
 *   output.c  the line outputs: opened, flushed, reopened, their losses
 *   emit.c    the only place that encodes, writes, records, streams and feeds the engine
 *   stream.c  the streaming sinks' spools, pumped once per poll round
 *   profile.c the fleet profile: what the sinks on it get of an event (emit.c encodes it)
 *   check.c   HW_FACT_CHECK=1: every fact compared with its line
 */
#ifndef HW_AGENT_INT_H
#define HW_AGENT_INT_H

#include <time.h>

#include "config.h"
#include "lib/clock.h"
#include "detect/engine.h"
#include "detect/fact_view.h"
#include "model/conn_table.h"
#include "model/host.h"
#include "model/proc_table.h"
#include "model/sessions.h"
#include "model/users.h"
#include "output/ecs_conn.h"
#include "output/event.h"
#include "output/json.h"
#include "output/sink.h"
#include "output/text.h"
#include "stream/sink.h"

/* The streaming sinks (stream.c). */
struct hw_agent_streams {
	struct hw_stream *v[2];
	int n;
	struct hw_spool *spools[2]; /* nats, syslog: opened before anything is loaded */
	char run_id[32];	    /* part of every message id: this run */
	unsigned long long seq[2];  /* the other part, per sink */
	unsigned int fleet;	    /* sinks (bit i: v[i]) on the fleet profile */
	char *rec;		    /* a spool record being built */
	size_t rec_cap;
	unsigned long long dropped_reported, overflow_reported_ns;
	unsigned long long lost; /* lines a spool could not take (a disk error) */
	int ocsf[2];		 /* output.nats_format/syslog_format = ocsf: OCSF lines */
	struct hw_ocsf *socsf;	 /* their translator, NULL when none is */
};

/* The fleet profile (profile.c): its line being built and the loopback summary. */
struct hw_agent_fleet {
	struct hw_json json;
	struct hw_loopsum loopsum;
	__u64 next_flush_ns; /* CLOCK_BOOTTIME of the next summary, 0 before the first count */
	__u64 lines;	     /* fleet lines streamed */
};

/* The sock_diag sockets, one per watched network namespace (diag.c). */
struct hw_diag_ns;
struct hw_agent_diag {
	struct hw_diag_ns *v;
	size_t n, cap, max;
	int opened, warned;
	__u32 own_netns_ino;
};

struct hw_watch;

#define HW_CONTROL_ALERTS 256 /* alert lines the control socket's answer carries at most */

struct hw_agent_capture {
	int on; /* emit.c appends each event's JSON to buf instead of writing it */
	char *buf;
	size_t len, cap;
	int failed;			 /* out of memory: the answer is cut */
	char *alerts[HW_CONTROL_ALERTS]; /* the last alert lines, a ring */
	size_t alert_len[HW_CONTROL_ALERTS];
	unsigned int alert_next, nalerts;
};

struct hw_agent {
	const struct hw_config *cfg;
	struct hw_watch *watch; /* file facts' watch set (agent/file.c) */
	struct hw_host host;
	/* the model */
	struct hw_users *users;
	struct hw_proc_table *procs;
	struct hw_conn_table *conns;
	struct hw_sessions *sessions;
	struct hw_engine *engine;
	/* emit.c: the encoders' buffers, the event's fact */
	int text;	      /* text lines rather than ECS JSON */
	struct hw_ocsf *ocsf; /* -o ocsf: the output's lines translated (output/ocsf.h), or NULL */
	struct hw_json json;  /* the event being written: ECS JSON whatever the format */
	struct hw_text tline;
	struct hw_json ajson; /* an alert or tick being written */
	struct hw_text atext;
	struct hw_fact fact; /* the event as the engine's fact (detect/fact_view.h) */
	/* HW_FACT_CHECK=1 in the environment at start (check.c), else NULL */
	struct hw_fact_check *check;
	/* output.c */
	struct hw_sink *sink;
	struct hw_sink *record; /* --record: the events as ECS JSON and the ticks, or NULL */
	int output_closed;	/* standard output's reader went away */
	struct hw_agent_streams streams;
	struct hw_agent_fleet fleet;
	struct hw_agent_diag diag;
	struct hw_agent_counters counters;
	/* control.c: the control socket, -1 none; emit.c captures the dump's lines and keeps
	 * the last alerts for it */
	int control_fd;
	int control_waiting; /* the poll loop saw a client waiting: the next round accepts */
	dev_t control_dev;
	ino_t control_ino;
	struct hw_agent_capture capture;
	const char *netns_path;
	int netns_fd; /* the scoped namespace, -1 when unscoped */
	__u32 netns_ino;
};

/* CLOCK_BOOTTIME, the clock of the kernel's records. */
static inline __u64 hw_agent__now(void)
{
	return hw_clock__boot_ns();
}

/* proc.c: the process records (already checked by hw_decode_check) and the snapshot's
 * processes. */
void hw_agent__exec_record(struct hw_agent *a, const struct hw_exec_event *e);
void hw_agent__fork_record(struct hw_agent *a, const struct hw_fork_event *e);
void hw_agent__exit_record(struct hw_agent *a, const struct hw_exit_event *e);
void hw_agent__existing_proc(struct hw_agent *a, const struct hw_process *p);

/* net.c: a network record (already checked by hw_decode_check). */
void hw_agent__net_record(struct hw_agent *a, const struct hw_net_event *e);
/* raw.c: a raw-socket record (already checked by hw_decode_check). */
void hw_agent__raw_record(struct hw_agent *a, const struct hw_raw_socket_event *e);
/* unix.c: an agent-socket record (already checked by hw_decode_check); after the /proc
 * snapshot and before the capability drop, the agent sockets of the sshd processes found
 * (returns how many, or -errno). */
void hw_agent__unix_record(struct hw_agent *a, const struct hw_unix_event *e);
struct hw_loader;
int hw_agent__unix_snapshot(struct hw_agent *a, struct hw_loader *l);
/* Deletes the kernel's agent_socks entries whose owner has exited; returns how many. Done every
 * HW_AGENT_SOCK_SWEEP_NS, and at most every HW_AGENT_SOCK_SWEEP_FULL_NS while
 * hw_agent__unix_sweep_due() says a bind found the map full (it clears that). */
#define HW_AGENT_SOCK_SWEEP_NS	    (10ULL * 1000000000ULL)
#define HW_AGENT_SOCK_SWEEP_FULL_NS (1000000000ULL)
int hw_agent__unix_sweep(struct hw_agent *a, struct hw_loader *l);
int hw_agent__unix_sweep_due(struct hw_loader *l);
/* The user names of v's owner, when it has one. */
void hw_agent__net_names(struct hw_agent *a, struct hw_net_view *v);
/* Records who owns c (p when known, else pid and start). */
void hw_conn__set_owner(struct hw_agent *a, struct hw_conn *c, const struct hw_process *p,
			__u32 pid, __u64 start_ns);
/* Data bytes from the kernel's sequence-number counts of a close record. */
void hw_tcp_data_bytes(const struct hw_net_event *e, __u8 direction, __u64 *sent, __u64 *recv);

/* socks.c. Reads the sockets that exist now into the connection table; returns how many
 * (listeners included) or a negative errno. *out is emitted by hw_agent__existing_socks()
 * once agent-started is written, then freed. Opens the sock_diag socket of every watched
 * network namespace first, which the later reports use: call it before the capability drop. */
struct hw_sock_snapshot;
int hw_agent__snapshot_socks(struct hw_agent *a, struct hw_sock_snapshot **out);
void hw_agent__existing_socks(struct hw_agent *a, struct hw_sock_snapshot *s);
void hw_agent__free_socks(struct hw_sock_snapshot *s);
/* The periodic connection_open report (agent.conn_report_interval). */
int hw_agent__report_conns(struct hw_agent *a);

/* diag.c: the sock_diag sockets. A dump of every watched namespace's TCP sockets (SYN_RECV
 * left out) into l: the sockets are opened by the first dump (before the capability drop). */
struct hw_sock_list {
	struct hw_diag_sock *v;
	__u32 *netns; /* per socket */
	size_t n, cap;
	__u32 cur_netns;
};
int hw_agent__dump_socks(struct hw_agent *a, struct hw_sock_list *l);
/* The soft limit of open files raised to the hard one (at most 65536), before anything is
 * loaded: every BPF program takes a descriptor or three. */
void hw_agent__raise_nofile(void);
/* After a dump: the sweep is to forget connections sock_diag no longer has only in the
 * namespaces it just read (the others are kept as seen). */
void hw_agent__keep_unread(struct hw_agent *a);
/* Closes the socket of every namespace no live process is in (the agent's own and the scoped
 * one stay), and says once that a namespace is not in the report: created after the start
 * (the agent can no longer enter it), or one more than the open files allowed. */
void hw_agent__prune_diag(struct hw_agent *a);
/* Closes them all. */
void hw_agent__close_diag(struct hw_agent *a);

/* login.c: the session table whose changes become events; libpam records; the sessions that
 * began before the agent (from the process and socket snapshots: marks their processes,
 * returns how many), reported once agent-started is written. */
struct hw_sessions *hw_agent__sessions_new(struct hw_agent *a);
void hw_agent__session_accept(struct hw_agent *a, const struct hw_net_event *e,
			      const struct hw_process *listener);
void hw_agent__pam_record(struct hw_agent *a, const struct hw_pam_event *e);
size_t hw_agent__snapshot_sessions(struct hw_agent *a);
void hw_agent__existing_sessions(struct hw_agent *a);

/* output.c: the line outputs, opened before anything is loaded; each poll round flushes
 * them, reports an output that works again after losing lines (output-resumed) and returns 1
 * when standard output's reader has gone; finish returns the exit status (1 when lines were
 * lost, err saying so). */
int hw_agent__open_outputs(struct hw_agent *a, const char *out_path, const char *record, char *err,
			   size_t errlen);
int hw_agent__output_round(struct hw_agent *a);
void hw_agent__output_reopen(struct hw_agent *a);
unsigned long long hw_agent__lost_writes(const struct hw_agent *a);
int hw_agent__output_finish(struct hw_agent *a, char *err, size_t errlen);

/* control.c: the control socket, opened before the capability drop (a warning when it cannot
 * be: the agent runs without it); the poll loop waits on it with the ring (agent.c), and the
 * round after it saw a client waiting answers up to 4 (accept4 is never asked in vain: a
 * refused one makes and frees a socket and a file); closed (its file removed when still the
 * one it made) at the end. */
int hw_agent__control_open(struct hw_agent *a, char *why, size_t len);
void hw_agent__control_round(struct hw_agent *a);
void hw_agent__control_close(struct hw_agent *a);
/* socks.c: every connection of the table as existing_connection, its bytes read now */
void hw_agent__existing_conns(struct hw_agent *a);

/* emit.c: encodes view as ECS JSON and writes it (its text line when the format is text),
 * records and streams the JSON, feeds its fact to the engine. */
struct hw_alert;
void hw_emit__proc(struct hw_agent *a, const struct hw_proc_event *v);
void hw_emit__net(struct hw_agent *a, const struct hw_net_view *v);
void hw_emit__session(struct hw_agent *a, const struct hw_session_view *v);
struct hw_file_view;
void hw_emit__file(struct hw_agent *a, const struct hw_file_view *v);
void hw_emit__agent(struct hw_agent *a, const struct hw_agent_event *v);
struct hw_raw_view;
void hw_emit__raw(struct hw_agent *a, const struct hw_raw_view *v);
struct hw_unix_view;
void hw_emit__unix(struct hw_agent *a, const struct hw_unix_view *v);
/* An alert (the engine's or the agent's own) to the output and the streaming sinks. */
void hw_emit__alert(struct hw_agent *a, const struct hw_alert *al);
/* The engine's alert callback (ctx: the agent). */
void hw_emit__on_alert(const struct hw_alert *al, void *ctx);
/* The engine's clock: a tick line, recorded, then fed (timed rules fire on ticks). */
void hw_emit__tick(struct hw_agent *a, __u64 boot_ns);
void hw_emit__free(struct hw_agent *a);
/* The control socket's answer (control.c): between begin and end every event's ECS JSON is
 * appended to a->capture.buf instead of going anywhere else (no output, no engine, no
 * stream); capture_alerts appends the alert lines kept. */
void hw_emit__capture_begin(struct hw_agent *a);
void hw_emit__capture_alerts(struct hw_agent *a);
void hw_emit__capture_end(struct hw_agent *a);

/* stream.c: the streaming sinks. Spools opened before anything is loaded (returns 0, or the
 * exit status: 2 a bad spool_dir, 1 a spool another agent holds); the sinks once privileges
 * are dropped (libnats starts threads); every event and alert line spooled for each; pumped
 * every poll round, which returns 1 and fills *al when a full spool dropped lines (the
 * spool-overflow alert to emit). */
int hw_agent__open_spools(struct hw_agent *a, char *err, size_t errlen);
int hw_agent__open_streams(struct hw_agent *a, char *err, size_t errlen);
#define HW_SINKS_ALL 3u
/* line to the sinks of mask (bit i: streams.v[i]); HW_SINKS_ALL every one */
void hw_agent__stream_line(struct hw_agent *a, char kind, const char *line, size_t len,
			   unsigned int mask);
int hw_agent__pump_streams(struct hw_agent *a, __u64 boot_ns, struct hw_alert *al);
void hw_agent__close_streams(struct hw_agent *a);
int hw_agent__streams_behind(const struct hw_agent *a); /* a connected sink has a backlog */

/* profile.c: what the sinks on the fleet profile (streams.fleet) get of an event, decided
 * before emit.c encodes its full line: HW_PROFILE_SAME its full line, HW_PROFILE_NONE nothing,
 * HW_PROFILE_SHIP *out (what emit.c encodes for them). A process event: exec and snapshot as
 * they are, fork and exit slim. A network event: one connection_closed per TCP connection at
 * its close, the opening only of the connections the collector must see live, loopback
 * connections counted into the summary, the rest with the process by its identity only.
 * summary_due says (once) when the summary is to be written: its interval is over at ts_ns,
 * or it is the end. */
enum { HW_PROFILE_NONE, HW_PROFILE_SHIP, HW_PROFILE_SAME };
int hw_profile__proc(struct hw_agent *a, const struct hw_proc_event *v, struct hw_proc_event *out);
int hw_profile__net(struct hw_agent *a, const struct hw_net_view *v, struct hw_net_view *out);
int hw_profile__summary_due(struct hw_agent *a, __u64 ts_ns, int end);
void hw_profile__free(struct hw_agent *a);

/* check.c: the fact check (HW_FACT_CHECK=1): starts it when the environment asks, and at the
 * end says what it found; returns 1 when some fact differed from its line (err says so). */
int hw_agent__check_start(struct hw_agent *a, char *err, size_t errlen);
int hw_agent__check_finish(struct hw_agent *a, char *err, size_t errlen);
/* Compares f with what the line buf[0..len) reads back as. */
void hw_agent__check_fact(struct hw_agent *a, const char *buf, size_t len, const struct hw_fact *f);

/* File facts (agent/file.c): the watch set into the kernel's maps, between load and attach;
 * once attached, its filesystems named to the kernel; a file record from the ring buffer. */
struct hw_loader;
int hw_agent__file_setup(struct hw_agent *a, struct hw_loader *l);
void hw_agent__file_attached(struct hw_agent *a);
void hw_agent__file_record(struct hw_agent *a, const struct hw_file_event *e);
void hw_agent__file_free(struct hw_agent *a);

#endif
