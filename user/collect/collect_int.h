/* hopwatch collect's state, shared by collect.c (options, the NATS consumer loop, --replay)
 * and collect_out.c (the output: alerts, state lines, the summary). Nothing else includes
 * this. */
#ifndef HW_COLLECT_COLLECT_INT_H
#define HW_COLLECT_COLLECT_INT_H

#include <nats/nats.h>

#include "collect/fleet.h"
#include "config.h"
#include "output/json.h"
#include "output/sink.h"
#include "output/ocsf.h"
#include "output/text.h"

struct collector {
	const struct hw_config *cfg;
	int text;
	struct hw_sink *out;
	struct hw_fleet *fleet;
	struct hw_json j, pj; /* the output's encoder, the published alert's */
	struct hw_ocsf *ocsf; /* -o ocsf: the output's lines translated, else NULL */
	struct hw_text t;
	char host_name[256];
	const char *source; /* "nats" or "replay" */

	/* NATS */
	natsConnection *nc;
	jsCtx *js;
	natsSubscription *sub;
	char filter[300];
	int core_publish; /* collect.subject is in no stream: plain NATS publish */
	int subscribed_once;
	char last_error[300];

	unsigned long long acked, ack_errors, fetch_errors, published, publish_errors;
	unsigned long long lost_output;
	unsigned long long reported; /* malformed messages described */
};

unsigned long long hw_collect__wall_ns(void);

/* every alert of the fleet: to the output, and published to collect.subject */
void hw_collect__alert(const struct hw_alert *a, void *ctx);
/* collector-started / collector-stopped: a state event, the counters on the last (final) */
void hw_collect__state_line(struct collector *c, const char *action, int final);
/* the counters on standard error, at the end */
void hw_collect__summary(struct collector *c);
/* the first REPORT_MAX malformed messages said on standard error, then only counted */
void hw_collect__report_malformed(struct collector *c, const char *where, const char *why);
/* counts a line that could not be written */
void hw_collect__write(struct collector *c, const char *buf, size_t len, int error);

#endif
