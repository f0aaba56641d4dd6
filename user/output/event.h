/* What the encoders are given: a view of one event over the model, built by the agent. */
#ifndef HW_OUTPUT_EVENT_H
#define HW_OUTPUT_EVENT_H

#include <linux/types.h>

#include "model/host.h"
#include "model/proc_table.h"
#include "model/sessions.h"

/* exec, fork, exit, existing_process (the start-up snapshot) */
struct hw_proc_event {
	const char *action;
	__u64 ts_ns; /* CLOCK_BOOTTIME */
	const struct hw_process *p;
	const char *user_name;	/* of p->k.uid, NULL when it has none */
	const char *euser_name; /* of p->k.euid */
	/* exec: the first inet socket on fds 0-2 (NULL none), and its connection when the agent
	 * knows it (NULL otherwise) */
	const struct hw_sock_addr *stdio_sock;
	const char *stdio_conn_id;
	__u8 stdio_direction; /* HW_DIR_* of that connection, 0 unknown */
	/* the fleet profile's fork and exit (agent/profile.c): the process by its identity, its
	 * parent, users and trust only; its exec and snapshot carry the rest */
	int slim;
};

/* connection_attempted, connection_accepted, disconnect, listen, udp_flow (kernel events);
 * existing_connection, existing_listener (the start-up snapshot); connection_open (the
 * periodic report of a connection still open); connection_closed (the fleet profile's one
 * record of a connection, at its close, in place of disconnect: agent/profile.c). */
struct hw_net_view {
	const char *action;
	__u64 ts_ns; /* CLOCK_BOOTTIME */
	const struct hw_sock_addr *addr;
	const char *conn_id;	     /* hopwatch.connection.id, NULL for listen and udp */
	const struct hw_process *p;  /* the owner, NULL when unknown */
	__u32 owner_pid;	     /* when p is NULL (0 unknown) */
	const char *owner_entity_id; /* when p is NULL, NULL unknown */
	const char *owner_exe;	     /* when p is NULL, NULL unknown */
	const char *session_id;	     /* when p is NULL: the session the connection belongs to */
	const char *user_name, *euser_name;
	__u64 start_ns; /* when it began, 0 unknown */
	__u64 bytes_sent, bytes_received;
	int have_bytes;
	__s32 error; /* connection_attempted: 0 success, else errno */
	__u32 netns;
	__u8 direction; /* HW_DIR_* */
	__u8 closed_by; /* HW_CLOSED_* */
	/* the fleet profile (agent/profile.c): process.* is pid, entity_id, name and executable
	 * only (the process's exec and snapshot lines carry the rest) */
	int slim;
};

/* user_login (success or failure), user_logout, existing_session (the snapshot). */
struct hw_session_view {
	const char *action;
	__u64 ts_ns;
	const struct hw_session *s;
	const char *outcome;		      /* "success", "failure", NULL for existing_session */
	const char *reason;		      /* failures: why */
	const struct hw_process *p;	      /* the service's handler process, NULL when unknown */
	const struct hw_session_bytes *bytes; /* user_logout and closed failures */
};

/* Counters the agent reports when it stops. */
struct hw_agent_counters {
	__u64 events;	       /* events written */
	__u64 alerts;	       /* alerts written */
	__u64 drops;	       /* records the kernel could not queue (ring buffer full) */
	__u64 errors;	       /* kernel-side failures that lost a record */
	__u64 read_errors;     /* kernel reads that failed; the record was sent, flagged */
	__u64 decode_errors;   /* malformed records rejected by the agent */
	__u64 lost_output;     /* events the agent could not encode or write */
	__u64 conn_misses;     /* closes/accepts of connections the kernel map had lost */
	__u64 conn_table_full; /* connections not followed: agent.conn_table_max reached */
	__u64 spool_dropped;   /* lines a full spool dropped (output.spool_max) */
	__u64 engine_full;     /* entities the detection engine could not follow (its bounds) */
};

/* agent-started, agent-stopped, output-resumed */
struct hw_agent_event {
	const char *action;
	__u64 ts_ns; /* CLOCK_BOOTTIME */
	const char *version;
	__u32 pid;
	const char *netns;	 /* --netns path, NULL when unscoped */
	__u64 snapshot_procs;	 /* agent-started: processes found by the snapshot */
	__u64 snapshot_socks;	 /* agent-started: sockets found by the snapshot */
	__u64 snapshot_sessions; /* agent-started: remote sessions found by the snapshot */
	const struct hw_agent_counters *counters; /* agent-stopped */
	/* output-resumed: the output (file path or "stdout") that lost lines, how many, and the
	 * error that lost them */
	const char *output;
	__u64 output_lost;
	const char *output_error;
	const char *const *degraded; /* agent-started: what the kernel cannot do (user/loader.h) */
	int ndegraded;
};

#endif
