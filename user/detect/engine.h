/* The detection engine: rules over a model of processes, connections and sessions that it
 * builds from event facts (fact.h). It is fed events and clock ticks only — never the kernel
 * or the clock — so the live agent, `hopwatch replay` and the collector get the same alerts
 * from the same stream (docs/rules.md). */
#ifndef HW_DETECT_ENGINE_H
#define HW_DETECT_ENGINE_H

#include <stddef.h>

#include "config.h"
#include "detect/fact.h"
#include "lib/attack.h"

#define HW_ALERT_CHAIN	    8 /* processes named in an alert's chain, the alert's process last */
#define HW_ALERT_TECHNIQUES 4

struct hw_alert {
	unsigned long long ts; /* ns since the epoch: the event or tick that raised it */
	const char *rule_id, *rule_name;
	int severity;		   /* event.severity: HW_SEV_* (lib/attack.h) */
	const char *severity_name; /* "low", "medium", "high", "critical" */
	char message[640];
	const char *techniques[HW_ALERT_TECHNIQUES];
	int ntechniques;
	char id[24]; /* event.id: a hash of host, rule and the entity it fired for */
	const char *host_id, *host_name;

	/* what explains it; empty strings and zero values are left out of the output */
	const char *session_id, *user, *service;
	const char *source_ip;
	unsigned int source_port;
	const char *destination_ip;
	unsigned int destination_port;
	const char *entity_id, *executable;
	unsigned int pid;
	const char *connection_id;
	const char *chain[HW_ALERT_CHAIN];     /* process names, the oldest ancestor first */
	const char *chain_ids[HW_ALERT_CHAIN]; /* their entity ids */
	int nchain;
	const char *related_ids[4]; /* other entities: the service process, the relay's peer */
	int nrelated;
	unsigned long long age_ns, idle_ns; /* long-session, long-connection */
	unsigned long long bytes_in, bytes_out;
	int have_age, have_bytes;
	unsigned int count;    /* admin-fanout: hosts; brute-force: failures */
	const char *hosts[16]; /* admin-fanout: the hosts reached */
	int nhosts;
};

typedef void (*hw_alert_fn)(const struct hw_alert *a, void *ctx);

/* event.severity (HW_SEV_*, lib/attack.h) and its name. */
void hw_alert__severity(struct hw_alert *a, int sev);
/* Adds a technique id (NULL: none) unless the alert already has it or has no room left. */
void hw_alert__technique(struct hw_alert *a, const char *id);

struct hw_engine;

/* cfg must outlive the engine. fn is called for every alert, during feed. */
struct hw_engine *hw_engine__new(const struct hw_config *cfg, hw_alert_fn fn, void *ctx);
void hw_engine__free(struct hw_engine *e);

/* The caller feeds e only facts of one host: each with the same host.id and host.name, or
 * none (replay's and the collector's engines, which are made per host and check it). Their
 * first ones are then kept without being copied again at every fact. */
void hw_engine__one_host(struct hw_engine *e);

/* One event or tick. */
void hw_engine__feed(struct hw_engine *e, const struct hw_fact *f);

/* Parses one JSON line and feeds it. Returns 0, or -EINVAL when the line is malformed (err
 * says why; nothing was fed), -ENOMEM. */
int hw_engine__feed_line(struct hw_engine *e, const char *line, size_t len, char *err,
			 size_t errlen);

/* The kind of the last line fed with hw_engine__feed_line (HW_F_*). */
enum hw_fact_kind hw_engine__last_kind(const struct hw_engine *e);

unsigned long long hw_engine__alerts(const struct hw_engine *e);
/* Entities the engine could not follow: a table was at its bound (rules may miss them). */
unsigned long long hw_engine__table_full(const struct hw_engine *e);

/* Bytes the engine holds, about: its record, its tables' records and buckets (the collector's
 * budgets). */
size_t hw_engine__memory(const struct hw_engine *e);
/* Entries a tick looks at now (open sessions and connections; processes while some found by
 * the snapshot wait to be judged): what a tick costs. */
size_t hw_engine__tick_work(const struct hw_engine *e);

#endif
