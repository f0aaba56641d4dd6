/* hopwatch collect's state, shared by collect.c (options, the NATS consumer loop, --replay)
 * and collect_out.c (the output: alerts, state lines, the summary). Nothing else includes
 * this. */
#ifndef HW_COLLECT_COLLECT_INT_H
#define HW_COLLECT_COLLECT_INT_H

#include <nats/nats.h>

#include "collect/fleet.h"
#include "collect/partition.h"
#include "config.h"
#include "lib/seqset.h"
#include "output/json.h"
#include "output/sink.h"
#include "output/ocsf.h"
#include "output/text.h"
#include "stream/batch.h"

/* One durable pull consumer: the whole fleet's (collect.durable, PREFIX.*.events), a
 * partition's (collect.durable-K, PREFIX.*.events.K) or the second stage's
 * (collect.durable-stitch, PREFIX.collector.stitch.*). */
struct hw_consumer {
	char durable[96];
	char filter[300];
	natsSubscription *sub;
	struct hw_fleet *fleet; /* what its messages feed */
};

/* The second stage's input (collect_group.c, docs/streaming.md): groups of the lines for it of
 * a round of fetches, on PREFIX.collector.stitch._group, each message's lines after a source
 * line "#SEQ HOST" (in parts of at most HW_STITCH_PART_LINES lines and about
 * HW_STITCH_PART_BYTES, the later ones "#SEQ/K HOST"), HW_STITCH_H_SOURCES saying how many
 * source lines; published from HW_STITCH_GROUP_BYTES. The second stage feeds each part once: it
 * keeps those it fed for the stream's duplicates window (at least HW_STITCH_SEEN_NS). Its
 * fetches take HW_STITCH_FETCH messages at a time. */
#define HW_STITCH_H_SOURCES   "Hopwatch-Sources"
#define HW_STITCH_GROUP_TOKEN "_group"
#define HW_STITCH_GROUP_BYTES (384u << 10)
#define HW_STITCH_PART_BYTES  (256u << 10)
#define HW_STITCH_PART_LINES  4096
#define HW_STITCH_SEEN_NS     (120ULL * 1000000000ULL)
#define HW_STITCH_FETCH	      16

#define HW_CONSUMERS_MAX (HW_COLLECT_PARTITIONS_MAX + 1)

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
	struct hw_consumer cons[HW_CONSUMERS_MAX];
	int ncons, next_cons;
	/* subscriptions done with, freed only once the connection is closed: libnats before 3.6
	 * can deliver a message to a subscription another thread is freeing (nats.c #637) */
	natsSubscription *retired[8];
	int nretired;
	char filter[300];	 /* what the state lines say it consumes */
	char partitions[300];	 /* "0,2/4", empty when not partitioned */
	struct hw_fleet *sfleet; /* the second stage (stitch only), on partition 0's instance */
	struct {		 /* lines for the second stage, grouped (collect_group.c) */
		char *buf;
		size_t len, cap;
		unsigned int lines, segs; /* in buf: lines (source lines too), parts */
		unsigned long long fwd;	  /* of those lines, the forwarded ones */
		uint64_t *keys;		  /* each part's (sequence, index): the message id */
		unsigned int keys_cap;
		natsMsg *msg;		      /* the message being fed */
		unsigned long long seq;	      /* its stream sequence (0 until its first line) */
		char host[256];		      /* its host's subject token */
		unsigned int part, open;      /* its part being made (open) or next */
		size_t seg, seg_bytes;	      /* where that part's source line is, its bytes */
		unsigned int seg_lines;	      /* its lines */
		unsigned long long msg_lines; /* the message's lines forwarded */
		int bad;    /* its lines cannot go on (out of memory, no sequence) */
		int failed; /* a group of this round was not published */
	} fwd;
	struct hw_seqset seen; /* the second stage: source messages whose lines it fed */
	unsigned long long stitch_repeats; /* segments of source messages fed before, skipped */
	unsigned long long forwarded, forward_errors;
	int js_checked; /* one alert published and acknowledged: the rest go asynchronously */
	/* asynchronous publishes refused or never acknowledged (libnats's thread adds) */
	unsigned long async_alert_errors, async_forward_errors;
	int fwd_sent; /* a group was published since the last wait */
	int rebuilt;  /* the second stage read again what it had acknowledged */
	unsigned long long rebuilt_lines;
	int core_publish; /* collect.subject is in no stream: plain NATS publish */
	int subscribed_once;
	char last_error[300];
	struct hw_batch_reader batch; /* splits the messages of agents that batch */
	unsigned long long batches, bad_batches;

	unsigned long long acked, ack_errors, fetch_errors, published, publish_errors;
	unsigned long long lost_output;
	unsigned long long reported; /* malformed messages described */
};

unsigned long long hw_collect__wall_ns(void);
/* collect.c: SIGINT/SIGTERM came; SIGHUP's reopen done */
int hw_collect__stopping(void);
void hw_collect__signals(struct collector *c);
/* collect_nats.c: consumes until stopped or deadline (mono ns, 0 none); the exit status */
int hw_collect__run_nats(struct collector *c, unsigned long long deadline);

/* the fleet's counters (with the second stage's, when this instance runs it) */
void hw_collect__stats(struct collector *c, struct hw_fleet_stats *fs, struct hw_stitch_stats *ss);

/* collect_part.c: the consumers of --partition / collect.partition (0, or HW_EXIT_USAGE after one
 * line on stderr); the lines for the second stage, published before the message that held them
 * is acknowledged (0, or -1: not acknowledged, delivered again). */
int hw_collect__partitions(struct collector *c);
/* Each fetched message's lines for the second stage: begin before it is fed, then end: -1 when
 * its lines could not go on (it was not acknowledged: delivered again after a second), 1 when
 * they are in the group being made, 0 when it had none. flush publishes the group (at the end
 * of a round of fetches; end publishes it too when it is full): 0, or -1 (fwd.failed set: every
 * message of the round that had lines is held back). */
void hw_collect__forward_begin(struct collector *c, natsMsg *m);
void hw_collect__forward_line(const char *line, size_t len, void *ctx);
int hw_collect__forward_end(struct collector *c);
int hw_collect__forward_flush(struct collector *c);
/* collect_group.c. The second stage's message m holding a group (its Hopwatch-Sources header is
 * sources): each source message's lines fed to fleet once (c->seen). */
void hw_collect__stitch_group(struct collector *c, struct hw_fleet *fleet, natsMsg *m,
			      const char *sources);
/* after a round's messages: every asynchronous publish acknowledged (alerts, forwards).
 * Returns 0, or -1 when a forward failed: the round's messages that had lines for the second
 * stage are not acknowledged. */
int hw_collect__publish_wait(struct collector *c);
/* The second stage started with a durable that had acknowledged up to stream sequence floor
 * (a restart, a kill): the messages of its last HW_STITCH_ENDED_NS up to floor fed again to
 * its stitcher, alerts not raised (they were), so that hops and sessions it held come back. */
void hw_collect__stitch_rebuild(struct collector *c, struct hw_consumer *k,
				unsigned long long floor);
/* a subscription done with (unsubscribed first when unsub): freed by
 * hw_collect__free_subs once the connection is closed */
void hw_collect__retire(struct collector *c, natsSubscription *sub, int unsub);
void hw_collect__free_subs(struct collector *c);
/* one message (a batch, or a line of an older agent) into fleet */
void hw_collect__handle_msg(struct collector *c, struct hw_fleet *fleet, natsMsg *m);

/* libnats's handler of asynchronous publishes that failed (its own thread) */
void hw_collect__async_error(jsCtx *js, jsPubAckErr *pae, void *closure);

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
