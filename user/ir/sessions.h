/* The responder's view (`hopwatch sessions`): remote sessions rebuilt from event facts — who
 * logged in, from where, since when (the true start, also for sessions the snapshot found),
 * until when, the processes they ran, the connections those made and the hops among them,
 * the bytes of the session's own connection and the alerts about it. Fed from a recording or
 * any hopwatch JSON (sessions_cmd.c) or from a one-shot snapshot of the live host
 * (sessions_live.c), one host or several (the collector's output). Printed by sessions_table.c. */
#ifndef HW_IR_SESSIONS_H
#define HW_IR_SESSIONS_H

#include <stddef.h>
#include <stdio.h>

#include "config.h"
#include "detect/engine.h"
#include "detect/fact.h"

#define HW_IR_MAX_SESSIONS 65536
#define HW_IR_MAX_ITEMS	   65536 /* processes, connections, alerts of one session */

struct hw_ir_proc {
	char eid[HW_FACT_ID_LEN], parent_eid[HW_FACT_ID_LEN];
	unsigned int pid;
	char name[HW_FACT_ARG_LEN];
	char exe[HW_FACT_PATH_LEN];
	char cmd[200];			  /* the first arguments, joined by spaces */
	char first[200];		  /* the command it ran first, when it exec'd again since */
	char first_name[HW_FACT_ARG_LEN]; /* and that program's name */
	unsigned int execs;		  /* images seen: execs, or the snapshot's */
	char user[64];
	unsigned long long start, end; /* process start (or first seen), exit; 0 unknown/running */
};

struct hw_ir_conn {
	char id[HW_FACT_ID_LEN]; /* hopwatch.connection.id, "" for UDP flows */
	char owner_eid[HW_FACT_ID_LEN];
	char src_ip[HW_FACT_IP_LEN], dst_ip[HW_FACT_IP_LEN];
	unsigned int sport, dport;
	unsigned long long ts, end;		/* first seen, closed (0 open) */
	unsigned long long bytes_out, bytes_in; /* sent and received by this host */
	unsigned char egress, udp, failure, hop, have_bytes;
};

struct hw_ir_alert {
	char id[24];
	char rule[40];
	char severity[12]; /* "medium", "high", "critical" */
	int sev;	   /* event.severity */
	unsigned long long ts;
	char eid[HW_FACT_ID_LEN]; /* the process it is about, "" none */
	char message[240];
};

struct hw_ir_session {
	char host_id[80], host_name[256];
	char id[HW_FACT_ID_LEN];
	char user[64], service[32], auth_method[24], ended_by[16];
	char client_ip[HW_FACT_IP_LEN], server_ip[HW_FACT_IP_LEN];
	unsigned int client_port, server_port;
	unsigned long long start, login, end; /* end 0: open */
	unsigned long long last;	      /* its last event (activity) */
	unsigned long long now;		      /* the host's clock at the end of the input */
	unsigned long long bytes_from_client, bytes_to_client;
	unsigned long long idle_ns; /* live: from the terminal's last input, when have_idle */
	unsigned char logged_in, snapshot, verified, end_unknown, have_bytes, have_idle;
	unsigned char idle_unknown; /* live: no terminal to tell */
	unsigned char truncated;    /* more processes, connections or alerts than kept */
	struct hw_ir_proc *procs;
	struct hw_ir_conn *conns;
	struct hw_ir_alert *alerts;
	size_t nprocs, nconns, nalerts, cprocs, cconns, calerts;
};

/* What the fact does not carry: read from the line (sessions_cmd.c) or the view (live). */
struct hw_ir_extra {
	unsigned long long proc_start; /* process.start, 0 unknown */
	const char *auth_method, *ended_by;
};

struct hw_ir;

/* cfg (admin_ports name hops; the [detect] keys drive the rules) must outlive it. */
struct hw_ir *hw_ir__new(const struct hw_config *cfg);
void hw_ir__free(struct hw_ir *ir);

/* One event or tick of any host; runs the detection rules too (per host, as replay does), so
 * a recording (which holds no alerts) gets its alerts. Alert lines of the input (an output
 * file, the collector's hop-chain) are given with hw_ir__alert_line instead. */
void hw_ir__feed(struct hw_ir *ir, const struct hw_fact *f, const struct hw_ir_extra *x);
/* An alert line of the input (d parsed, f its fact: only its time is read); an alert the rules
 * raised again (the same event.id) is counted once. */
void hw_ir__alert_line(struct hw_ir *ir, const struct hw_fact *f, const struct hw_jdoc *d);

/* fn sees every alert the rules raise while feeding (also those about no session), before it
 * is put on its session; the report lists them all (ir/report*.c). */
void hw_ir__on_alert(struct hw_ir *ir, hw_alert_fn fn, void *ctx);

/* Sessions that logged in, sorted by host name then start; valid until the next feed. n is
 * set to their number. Returns NULL only when there are none or memory ran out. Sessions
 * still open at the end get the host's last clock as their "now" (or now_ns when not 0: the
 * live host's clock). */
struct hw_ir_session **hw_ir__sessions(struct hw_ir *ir, unsigned long long now_ns, size_t *n);

/* Entities dropped because a bound was reached (HW_IR_MAX_*). */
unsigned long long hw_ir__dropped(const struct hw_ir *ir);

/* sessions_table.c: the table (one row per session), one session's process tree with each
 * process's connections and alerts, and one JSON object per session (docs/incident-response.md
 * lists its fields). Return 0, or -EIO when out cannot be written. */
int hw_ir__print_table(FILE *out, struct hw_ir_session *const *v, size_t n);
int hw_ir__print_tree(FILE *out, const struct hw_ir_session *x);
int hw_ir__print_json(FILE *out, struct hw_ir_session *const *v, size_t n);

#endif
