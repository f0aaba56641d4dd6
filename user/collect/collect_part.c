/* Collectors that scale out (docs/collector.md, "Scaling out"): the consumers of an instance
 * given partitions, and the second stage's lines.
 *
 * The NATS server maps each host's PREFIX.HOST.events to PREFIX.HOST.events.P (P =
 * {{partition(N,1)}} of the host token), so one host is always in one partition. An instance
 * consumes each partition it takes through its own durable consumer, collect.durable-P, filter
 * PREFIX.*.events.P, and runs the engines of those hosts. The lines the stitcher needs (the
 * connections, listeners and sessions: hw_stitch__wants) are published on to
 * PREFIX.collector.stitch._group, a round of fetches' lines grouped, each message's after a
 * line "#SEQ HOST", before those messages are acknowledged; the instance that takes partition 0
 * also consumes those (collect.durable-stitch) into a stitch-only fleet: every hop of the fleet
 * meets there, whichever instances its two ends' hosts are on. A message judged again comes
 * again, maybe grouped otherwise: the second stage feeds each SEQ once (c->seen). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect/collect_int.h"
#include "stream/batch.h"

#define PUBLISH_MS 5000 /* forwarded messages and alerts wait this long for their acks */

/* collect.durable + suffix, filter PREFIX.tail */
static void consumer(struct collector *c, const char *durable_suffix, const char *tail,
		     struct hw_fleet *fleet)
{
	struct hw_consumer *k = &c->cons[c->ncons++];

	snprintf(k->durable, sizeof(k->durable), "%s%s", c->cfg->collect_durable, durable_suffix);
	snprintf(k->filter, sizeof(k->filter), "%s.%s", c->cfg->nats_subject, tail);
	k->fleet = fleet;
}

int hw_collect__partitions(struct collector *c)
{
	const struct hw_config *cfg = c->cfg;
	unsigned char set[HW_COLLECT_PARTITIONS_MAX];
	char err[300], suffix[16], tail[32];
	int n, off = 0;

	c->ncons = 0;
	if (!cfg->collect_partitions && !cfg->collect_partition) {
		consumer(c, "", "*.events", c->fleet);
		snprintf(c->filter, sizeof(c->filter), "%s", c->cons[0].filter);
		return 0;
	}
	if (!cfg->collect_partitions || !cfg->collect_partition) {
		fprintf(stderr, "hopwatch: %s\n",
			cfg->collect_partitions
			    ? "collect.partitions is set but not collect.partition: say which "
			      "partitions this instance takes (--partition LIST/N)"
			    : "collect.partition is set but not collect.partitions: say how many "
			      "partitions the server's mapping makes (--partition LIST/N)");
		return 2;
	}
	n = hw_partition__set(cfg->collect_partition, cfg->collect_partitions, set, err,
			      sizeof(err));
	if (n < 0) {
		fprintf(stderr, "hopwatch: %s\n", err);
		return 2;
	}
	for (unsigned int k = 0; k < cfg->collect_partitions; k++) {
		if (!set[k])
			continue;
		snprintf(suffix, sizeof(suffix), "-%u", k);
		snprintf(tail, sizeof(tail), "*.events.%u", k);
		consumer(c, suffix, tail, c->fleet);
		off += snprintf(c->partitions + off, sizeof(c->partitions) - (size_t)off, "%s%u",
				off ? "," : "", k);
		if ((size_t)off >= sizeof(c->partitions) - 16)
			break; /* only the description is cut: HW_COLLECT_PARTITIONS_MAX fit */
	}
	snprintf(c->partitions + off, sizeof(c->partitions) - (size_t)off, "/%u",
		 cfg->collect_partitions);
	snprintf(c->filter, sizeof(c->filter), "%s.*.events.{%s}", cfg->nats_subject,
		 c->partitions);
	hw_fleet__forward(c->fleet, hw_collect__forward_line, c);
	if (set[0]) {
		/* the second stage: where every instance's stitcher lines meet */
		c->sfleet = hw_fleet__new(cfg, hw_collect__alert, c);
		if (!c->sfleet) {
			fprintf(stderr, "hopwatch: out of memory\n");
			return 1;
		}
		hw_fleet__stitch_only(c->sfleet);
		hw_seqset__init(&c->seen, HW_STITCH_SEEN_NS); /* or the stream's window */
		consumer(c, "-stitch", HW_FLEET_STITCH_TOKENS ".*", c->sfleet);
	}
	return 0;
}

void hw_collect__stitch_rebuild(struct collector *c, struct hw_consumer *k,
				unsigned long long floor)
{
	natsSubscription *sub = NULL;
	jsSubOptions so;
	jsErrCode jerr = 0;
	natsStatus st;
	unsigned long long since = hw_collect__wall_ns() - HW_STITCH_ENDED_NS, msgs = 0;
	int done = 0;

	if (!floor)
		return;
	jsSubOptions_Init(&so);
	so.Stream = c->cfg->nats_stream;
	so.Config.DeliverPolicy = js_DeliverByStartTime;
	so.Config.OptStartTime = (int64_t)since;
	so.Config.AckPolicy = js_AckNone;
	st = js_PullSubscribe(&sub, c->js, k->filter, NULL, NULL, &so, &jerr);
	if (st != NATS_OK) {
		fprintf(
		    stderr,
		    "hopwatch: the second stage cannot read its last %llu minutes again: %s; hops "
		    "it held before are not followed\n",
		    HW_STITCH_ENDED_NS / 60000000000ULL, natsStatus_GetText(st));
		return;
	}
	hw_fleet__mute(k->fleet, 1);
	while (!done) {
		natsMsgList list = {0};

		st = natsSubscription_Fetch(&list, sub, 1024, 1000, &jerr);
		if (st != NATS_OK || !list.Count)
			done = 1;
		for (int i = 0; i < list.Count && !done; i++) {
			jsMsgMetaData *meta = NULL;

			if (natsMsg_GetMetaData(&meta, list.Msgs[i]) != NATS_OK ||
			    meta->Sequence.Stream > floor) {
				done = 1; /* the durable delivers it */
			} else {
				hw_fleet__tick(k->fleet, hw_collect__wall_ns());
				hw_collect__handle_msg(c, k->fleet, list.Msgs[i]);
				msgs++;
			}
			jsMsgMetaData_Destroy(meta);
		}
		natsMsgList_Destroy(&list);
	}
	hw_fleet__mute(k->fleet, 0);
	hw_collect__retire(c, sub, 1); /* the ephemeral consumer goes */
	c->rebuilt_lines = msgs;
	fprintf(stderr,
		"hopwatch: the second stage read %llu messages of its last %llu minutes again (up "
		"to sequence %llu, acknowledged before): their alerts are not raised again\n",
		msgs, HW_STITCH_ENDED_NS / 60000000000ULL, floor);
}

void hw_collect__async_error(jsCtx *js, jsPubAckErr *pae, void *closure)
{
	struct collector *c = closure;
	const char *subject = pae->Msg ? natsMsg_GetSubject(pae->Msg) : NULL;
	size_t plen = strlen(c->cfg->nats_subject);

	(void)js;
	if (subject && !strncmp(subject, c->cfg->nats_subject, plen) && subject[plen] == '.' &&
	    !strncmp(subject + plen + 1, HW_FLEET_STITCH_TOKENS ".",
		     sizeof(HW_FLEET_STITCH_TOKENS)))
		__atomic_fetch_add(&c->async_forward_errors, 1, __ATOMIC_RELAXED);
	else
		__atomic_fetch_add(&c->async_alert_errors, 1, __ATOMIC_RELAXED);
}

int hw_collect__publish_wait(struct collector *c)
{
	jsPubOptions po;
	natsStatus st = NATS_OK;
	unsigned long alerts, forwards;
	int sent = c->fwd_sent;

	c->fwd_sent = 0;
	if (!c->js)
		return 0;
	jsPubOptions_Init(&po);
	po.MaxWait = PUBLISH_MS;
	st = js_PublishAsyncComplete(c->js, &po);
	alerts = __atomic_exchange_n(&c->async_alert_errors, 0, __ATOMIC_RELAXED);
	forwards = __atomic_exchange_n(&c->async_forward_errors, 0, __ATOMIC_RELAXED);
	if (alerts) {
		if (!c->publish_errors)
			fprintf(stderr, "hopwatch: cannot publish an alert to '%s', ignoring\n",
				c->cfg->collect_subject);
		c->published -= alerts < c->published ? alerts : c->published;
		c->publish_errors += alerts;
	}
	if (st == NATS_OK && !forwards)
		return 0;
	if (!sent && st != NATS_OK) {
		/* only alerts were waited for: they are in the output */
		c->publish_errors++;
		return 0;
	}
	if (!sent)
		return 0;
	if (!c->forward_errors)
		fprintf(stderr,
			"hopwatch: the second stage ('%s.%s.*') did not take lines: %s; the "
			"messages are delivered again\n",
			c->cfg->nats_subject, HW_FLEET_STITCH_TOKENS,
			forwards ? "refused" : natsStatus_GetText(st));
	c->forward_errors += forwards ? forwards : 1;
	return -1;
}
