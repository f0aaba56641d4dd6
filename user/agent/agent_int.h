/* The agent's state, shared by the files of the agent (agent.c: process records, the loop;
 * agent_net.c: network records). Nothing outside them includes this. */
#ifndef HW_AGENT_INT_H
#define HW_AGENT_INT_H

#include "config.h"
#include "detect/engine.h"
#include "detect/fact_view.h"
#include "model/conn_table.h"
#include "model/host.h"
#include "model/proc_table.h"
#include "model/sessions.h"
#include "model/users.h"
#include "output/event.h"
#include "output/json.h"
#include "output/sink.h"
#include "output/text.h"
#include "stream/sink.h"

struct hw_agent {
	const struct hw_config *cfg;
	struct hw_host host;
	struct hw_users *users;
	struct hw_proc_table *procs;
	struct hw_conn_table *conns;
	struct hw_sessions *sessions;
	struct hw_sink *sink;
	struct hw_sink *record; /* --record: the events as ECS JSON and the ticks, or NULL */
	struct hw_engine *engine;
	int text; /* text lines rather than ECS JSON */
	struct hw_json json; /* the event being written: ECS JSON whatever the format */
	struct hw_text tline;
	struct hw_json ajson; /* an alert or tick being written */
	struct hw_text atext;
	/* streaming sinks (agent_stream.c) */
	struct hw_stream *streams[2];
	int nstreams;
	struct hw_spool *spools[2]; /* nats, syslog: opened before anything is loaded */
	char run_id[32];		/* part of every message id: this run */
	unsigned long long stream_seq; /* the other part */
	char *rec;			/* a spool record being built */
	size_t rec_cap;
	unsigned long long spool_dropped_reported, overflow_reported_ns;
	unsigned long long spool_lost; /* lines a spool could not take (a disk error) */
	int output_closed;	       /* standard output's reader went away */
	struct hw_agent_counters counters;
	/* the event being written as the engine's fact (detect/fact_view.h): fed without
	 * parsing the line back */
	struct hw_fact fact;
	/* HW_FACT_CHECK=1 in the environment at start: every fact is also read back from its
	 * line and compared; mismatches are said on stderr and make the exit status 1 */
	struct hw_fact_check *check;
	unsigned int closing_sessions; /* sessions in HW_SESS_CLOSING (agent_login.c) */
	const char *netns_path;
	int netns_fd;       /* the scoped namespace, -1 when unscoped */
	__u32 netns_ino;
	/* sock_diag sockets, one per watched network namespace (agent_socks.c) */
	struct hw_diag_ns *diag;
	size_t ndiag, diag_cap, diag_max;
	int diag_opened, diag_warned;
	__u32 own_netns_ino;
	struct hw_watch *watch; /* file facts' watch set (agent/file.c) */
};

struct hw_sock_snapshot;
/* Reads the sockets that exist now into the connection table; returns how many (listeners
 * included) or a negative errno. *out is emitted by hw_agent__emit_socks() once
 * agent-started is written, then freed. Opens the sock_diag socket of every watched network
 * namespace first, which the later reports use: call it before the capability drop. */
int hw_agent__snapshot_socks(struct hw_agent *a, struct hw_sock_snapshot **out);
void hw_agent__emit_socks(struct hw_agent *a, struct hw_sock_snapshot *s);
void hw_agent__free_socks(struct hw_sock_snapshot *s);
/* Closes the sock_diag sockets the snapshot opened (one per network namespace). */
void hw_agent__close_diag(struct hw_agent *a);
/* Sessions (agent_login.c). */
int hw_agent__is_service(const struct hw_agent *a, const struct hw_process *p);
void hw_agent__session_accept(struct hw_agent *a, const struct hw_net_event *e,
			      const struct hw_process *listener);
void hw_agent__session_fork(struct hw_agent *a, struct hw_process *child,
			    const struct hw_process *parent);
/* Marks p with the session its audit sessionid belongs to, if any. */
void hw_agent__session_mark(struct hw_agent *a, struct hw_process *p);
void hw_agent__session_close(struct hw_agent *a, const struct hw_net_event *e,
			     const struct hw_session_bytes *b);
void hw_agent__pam_record(struct hw_agent *a, const struct hw_pam_event *e);
/* Reports the sessions closed before a login whose grace period is over at now_ns (all of
 * them when all is set: the agent stops). */
void hw_agent__settle_sessions(struct hw_agent *a, __u64 now_ns, int all);
void hw_agent__emit_session(struct hw_agent *a, const char *action, __u64 ts_ns,
			    const struct hw_session *x, const char *outcome, const char *reason,
			    const struct hw_process *p, const struct hw_session_bytes *b);
/* Sessions that began before the agent, from the process and socket snapshots; marks their
 * processes. Returns how many. */
size_t hw_agent__snapshot_sessions(struct hw_agent *a);
void hw_agent__emit_sessions(struct hw_agent *a);

/* The periodic connection_open report (agent.conn_report_interval). */
int hw_agent__report_conns(struct hw_agent *a);

__u64 hw_agent__now(void); /* CLOCK_BOOTTIME */
/* Writes one encoded line (error: the encoder failed) and counts it. */
void hw_agent__write(struct hw_agent *a, const char *buf, size_t len, int error);
/* A network record from the ring buffer (already checked by hw_decode_check). */
void hw_agent__net_record(struct hw_agent *a, const struct hw_net_event *e);
/* Records who owns c (p when known, else pid and start). */
void hw_conn__set_owner(struct hw_agent *a, struct hw_conn *c, const struct hw_process *p,
			__u32 pid, __u64 start_ns);
/* Data bytes from the kernel's sequence-number counts of a close record. */
void hw_tcp_data_bytes(const struct hw_net_event *e, __u8 direction, __u64 *sent, __u64 *recv);
/* Streaming sinks (agent_stream.c): opened once privileges are dropped (libnats starts
 * threads); every event and alert line is spooled for each; pumped every poll round. */
/* Returns 0, or the exit status: 2 a bad spool_dir, 1 a spool another agent holds. */
int hw_agent__open_spools(struct hw_agent *a, char *err, size_t errlen);
int hw_agent__open_streams(struct hw_agent *a, char *err, size_t errlen);
void hw_agent__stream_line(struct hw_agent *a, char kind, const char *line, size_t len);
void hw_agent__pump_streams(struct hw_agent *a, __u64 boot_ns);
void hw_agent__close_streams(struct hw_agent *a);
int hw_agent__streams_behind(const struct hw_agent *a); /* a connected sink has a backlog */
/* The line outputs (agent_output.c): opened before anything is loaded; each poll round
 * flushes them, reports an output that works again after losing lines (output-resumed) and
 * returns 1 when standard output's reader has gone; finish returns the exit status (1 when
 * lines were lost, err saying so). */
int hw_agent__open_outputs(struct hw_agent *a, const char *out_path, const char *record,
			   char *err, size_t errlen);
int hw_agent__output_round(struct hw_agent *a);
void hw_agent__output_reopen(struct hw_agent *a);
unsigned long long hw_agent__lost_writes(const struct hw_agent *a);
int hw_agent__output_finish(struct hw_agent *a, char *err, size_t errlen);
/* Writes an output-resumed event (agent.c). */
void hw_agent__emit_output(struct hw_agent *a, const char *output, unsigned long long lost,
			   const char *error);
/* Writes an alert (engine or agent) to every sink and counts it. */
struct hw_alert;
void hw_agent__alert(struct hw_agent *a, const struct hw_alert *al);

/* The event just encoded in a->json and built in a->fact: to the recording and through the
 * detection engine (whose alerts are written after the event). */
void hw_agent__observe(struct hw_agent *a);
/* The fact check (HW_FACT_CHECK=1): starts it when the environment asks, and at the end says
 * what it found; returns 1 when some fact differed from its line (err says so). */
int hw_agent__check_start(struct hw_agent *a, char *err, size_t errlen);
int hw_agent__check_finish(struct hw_agent *a, char *err, size_t errlen);
/* Compares f with what the line buf[0..len) reads back as. */
void hw_agent__check_fact(struct hw_agent *a, const char *buf, size_t len,
			  const struct hw_fact *f);
/* Encodes view (a struct hw_KIND_view/event) as ECS JSON — the form the recording and the
 * streams read — and writes it, or its hw_text__KIND_event line when the format is text; its
 * fact (hw_fact__KIND_event) goes to the engine. */
#define HW_AGENT_EMIT(a, kind, view)                                                               \
	do {                                                                                       \
		hw_json__reset(&(a)->json);                                                        \
		hw_ecs__##kind##_event(&(a)->json, &(a)->host, view);                              \
		if ((a)->text) {                                                                   \
			hw_text__reset(&(a)->tline);                                               \
			hw_text__##kind##_event(&(a)->tline, &(a)->host, view);                    \
			hw_agent__write(a, (a)->tline.buf, (a)->tline.len, (a)->tline.error);      \
		} else {                                                                           \
			hw_agent__write(a, (a)->json.buf, (a)->json.len, (a)->json.error);         \
		}                                                                                  \
		hw_fact__##kind##_event(&(a)->fact, &(a)->host, view);                             \
		hw_agent__observe(a);                                                              \
	} while (0)

/* File facts (agent/file.c): the watch set into the kernel's maps, between load and attach;
 * a file record from the ring buffer. */
struct hw_loader;
struct hw_watch;
int hw_agent__file_setup(struct hw_agent *a, struct hw_loader *l);
void hw_agent__file_record(struct hw_agent *a, const struct hw_file_event *e);
void hw_agent__file_free(struct hw_agent *a);

/* Encodes and writes one network event. */
void hw_agent__emit_net(struct hw_agent *a, struct hw_net_view *v);

#endif
