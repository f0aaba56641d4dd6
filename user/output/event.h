/* What the encoders are given: a view of one event over the model, built by the agent. */
#ifndef HW_OUTPUT_EVENT_H
#define HW_OUTPUT_EVENT_H

#include <linux/types.h>

#include "model/host.h"
#include "model/proc_table.h"

/* exec, fork, exit, existing_process (the start-up snapshot) */
struct hw_proc_event {
	const char *action;
	__u64 ts_ns; /* CLOCK_BOOTTIME */
	const struct hw_process *p;
	const char *user_name;  /* of p->k.uid, NULL when it has none */
	const char *euser_name; /* of p->k.euid */
};

/* Counters the agent reports when it stops. */
struct hw_agent_counters {
	__u64 events;        /* events written */
	__u64 alerts;        /* alerts written */
	__u64 drops;         /* records the kernel could not queue (ring buffer full) */
	__u64 errors;        /* kernel-side failures that lost a record */
	__u64 read_errors;   /* kernel reads that failed; the record was sent, flagged */
	__u64 decode_errors; /* malformed records rejected by the agent */
	__u64 lost_output;   /* events the agent could not encode or write */
};

/* agent-started, agent-stopped */
struct hw_agent_event {
	const char *action;
	__u64 ts_ns; /* CLOCK_BOOTTIME */
	const char *version;
	__u32 pid;
	const char *netns;     /* --netns path, NULL when unscoped */
	__u64 snapshot_procs;  /* agent-started: processes found by the snapshot */
	const struct hw_agent_counters *counters; /* agent-stopped */
};

#endif
