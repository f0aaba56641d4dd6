/* hopwatch collect's NATS side (see collect_int.h): the stream and the durable consumers (one,
 * or one per partition and the second stage's: collect_part.c), the fetch loop: a round asks
 * each consumer once and feeds what it got; then its alerts and second-stage lines are
 * published and acknowledged by the server, the output flushed, and only then the round's
 * messages acknowledged. A collector that dies before the ack leaves them to be delivered
 * again (to itself after a restart, or to another instance). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nats/nats.h>

#include "cli.h"
#include "collect/collect_int.h"
#include "lib/clock.h"
#include "stream/batch.h"
#include "stream/nats_opts.h"
#include "stream/url.h"

#define BATCH		1024 /* messages per fetch */
#define FETCH_MS	500  /* a fetch waits this long for messages: the stop latency */
#define RETRY_MS	1000 /* between attempts to set up the consumer */
#define CHECK_MS	5000 /* while idle, whether the consumer still exists */
#define MAX_ACK_PENDING 20000
#define DUPLICATES_NS	(120ULL * 1000000000ULL) /* as the agent creates the stream */
#define NS_PER_MS	1000000ULL
#define NAK_DELAY_NS	1000000000LL /* a message whose lines could not go on: again after 1s */

/* --- NATS --------------------------------------------------------------------------------- */

static void set_error(struct collector *c, const char *what, natsStatus st, jsErrCode jerr)
{
	const char *last = nats_GetLastError(NULL);
	char raw[sizeof(c->last_error)];

	if (jerr)
		snprintf(raw, sizeof(raw), "%s: %s (JetStream error %d)", what,
			 last && last[0] ? last : natsStatus_GetText(st), (int)jerr);
	else
		snprintf(raw, sizeof(raw), "%s: %s", what,
			 last && last[0] ? last : natsStatus_GetText(st));
	hw_url__redact(raw, c->last_error, sizeof(c->last_error)); /* libnats may quote a URL */
}

/* The stream (created as the agents create it when missing). Returns 0, or -1 with
 * c->last_error. */
static int setup_stream(struct collector *c)
{
	const struct hw_config *cfg = c->cfg;
	jsStreamInfo *si = NULL;
	jsStreamConfig sc;
	jsErrCode jerr = 0;
	natsStatus st;
	char subj[300];
	const char *subjects[1] = {subj};

	st = js_GetStreamInfo(&si, c->js, cfg->nats_stream, NULL, &jerr);
	if (st == NATS_OK && si && si->Config &&
	    (unsigned long long)si->Config->Duplicates > c->seen.window_ns)
		c->seen.window_ns =
		    (unsigned long long)si->Config->Duplicates; /* as long as the server */
	if (st == NATS_NOT_FOUND) {
		snprintf(subj, sizeof(subj), "%s.>", cfg->nats_subject);
		jsStreamConfig_Init(&sc);
		sc.Name = cfg->nats_stream;
		sc.Subjects = subjects;
		sc.SubjectsLen = 1;
		sc.Storage = js_FileStorage;
		sc.Duplicates = (int64_t)DUPLICATES_NS;
		jerr = 0;
		st = js_AddStream(&si, c->js, &sc, NULL, &jerr);
		if (st != NATS_OK && jerr == JSStreamNameExistErr)
			st = NATS_OK; /* an agent made it meanwhile */
	}
	jsStreamInfo_Destroy(si);
	if (st != NATS_OK) {
		set_error(c, "stream", st, jerr);
		return -1;
	}
	return 0;
}

/* One durable consumer (created when missing) and a pull subscription bound to it. Returns
 * 0, -1 with c->last_error (tried again), -2 (a durable of that name is another's). */
static int setup_consumer(struct collector *c, struct hw_consumer *k)
{
	const struct hw_config *cfg = c->cfg;
	jsConsumerInfo *ci = NULL;
	jsConsumerConfig cc;
	jsSubOptions so;
	jsErrCode jerr = 0;
	natsStatus st;

	st = js_GetConsumerInfo(&ci, c->js, cfg->nats_stream, k->durable, NULL, &jerr);
	if (st == NATS_NOT_FOUND) {
		jsConsumerConfig_Init(&cc);
		cc.Durable = k->durable;
		cc.Description = "hopwatch collect";
		cc.DeliverPolicy = js_DeliverAll;
		cc.AckPolicy = js_AckExplicit;
		cc.AckWait = (int64_t)cfg->collect_ack_wait_ns;
		cc.MaxAckPending = MAX_ACK_PENDING;
		cc.FilterSubject = k->filter;
		jerr = 0;
		st = js_AddConsumer(&ci, c->js, cfg->nats_stream, &cc, NULL, &jerr);
		if (st != NATS_OK && jerr == JSConsumerNameExistErr) {
			jerr = 0; /* another collector made it meanwhile */
			st = js_GetConsumerInfo(&ci, c->js, cfg->nats_stream, k->durable, NULL,
						&jerr);
		}
	}
	if (st != NATS_OK) {
		jsConsumerInfo_Destroy(ci);
		set_error(c, "durable consumer", st, jerr);
		return -1;
	}
	if (!ci->Config || !ci->Config->FilterSubject ||
	    strcmp(ci->Config->FilterSubject, k->filter) || ci->Config->DeliverSubject) {
		snprintf(c->last_error, sizeof(c->last_error),
			 "consumer '%s' of stream '%s' exists and is not a pull consumer of '%s' "
			 "(delete it or set collect.durable)",
			 k->durable, cfg->nats_stream, k->filter);
		jsConsumerInfo_Destroy(ci);
		return -2;
	}
	if (c->partitions[0] && ci->Config->AckPolicy != js_AckExplicit) {
		/* each message is acknowledged by itself: one held back (its lines could not go
		 * on to the second stage), or lost with a dropped connection, is delivered
		 * again; with ack policy 'all' the next acknowledgement would take it too */
		snprintf(
		    c->last_error, sizeof(c->last_error),
		    "consumer '%s' of stream '%s' exists and does not acknowledge messages one "
		    "by one (ack policy 'explicit'; delete it or set collect.durable)",
		    k->durable, cfg->nats_stream);
		jsConsumerInfo_Destroy(ci);
		return -2;
	}
	if (k->fleet == c->sfleet && !c->rebuilt) {
		/* the second stage's stitcher, as it was: what it had acknowledged, read again */
		c->rebuilt = 1;
		hw_collect__stitch_rebuild(c, k, ci->AckFloor.Stream);
	}
	jsConsumerInfo_Destroy(ci);
	jsSubOptions_Init(&so);
	so.Stream = cfg->nats_stream;
	so.Consumer = k->durable; /* bound: never deleted by the library */
	jerr = 0;
	st = js_PullSubscribe(&k->sub, c->js, k->filter, k->durable, NULL, &so, &jerr);
	if (st != NATS_OK) {
		k->sub = NULL;
		set_error(c, "pull subscription", st, jerr);
		return -1;
	}
	return 0;
}

/* The stream and every consumer not subscribed yet: 0 when all are, else as setup_consumer. */
static int setup(struct collector *c)
{
	if (setup_stream(c))
		return -1;
	for (int i = 0; i < c->ncons; i++) {
		int r = c->cons[i].sub ? 0 : setup_consumer(c, &c->cons[i]);

		if (r)
			return r;
	}
	return 0;
}

static int all_subscribed(const struct collector *c)
{
	for (int i = 0; i < c->ncons; i++)
		if (!c->cons[i].sub)
			return 0;
	return 1;
}

static int nats_connect(struct collector *c)
{
	natsOptions *o = NULL;
	natsStatus st = hw_nats__options(c->cfg, "hopwatch collect", &o);

	if (st == NATS_OK) {
		st = natsConnection_Connect(&c->nc, o);
		if (st == NATS_NOT_YET_CONNECTED)
			st = NATS_OK;
	}
	if (st == NATS_OK) {
		jsOptions jo;

		jsOptions_Init(&jo);
		jo.PublishAsync.ErrHandler = hw_collect__async_error;
		jo.PublishAsync.ErrHandlerClosure = c;
		jo.PublishAsync.MaxPending = 4096;
		st = natsConnection_JetStream(&c->js, c->nc, &jo);
	}
	natsOptions_Destroy(o);
	if (st != NATS_OK) {
		set_error(c, "output.nats_url", st, 0);
		return -1;
	}
	return 0;
}

/* A durable consumer was deleted (not: the server cannot be asked now). */
static int consumer_gone(struct collector *c, const struct hw_consumer *k)
{
	jsConsumerInfo *ci = NULL;
	jsErrCode jerr = 0;
	natsStatus st;

	if (natsConnection_Status(c->nc) != NATS_CONN_STATUS_CONNECTED)
		return 0;
	st = js_GetConsumerInfo(&ci, c->js, c->cfg->nats_stream, k->durable, NULL, &jerr);
	jsConsumerInfo_Destroy(ci);
	return st == NATS_NOT_FOUND;
}

void hw_collect__retire(struct collector *c, natsSubscription *sub, int unsub)
{
	if (!sub)
		return;
	if (unsub)
		natsSubscription_Unsubscribe(sub);
	if (c->nretired < (int)(sizeof(c->retired) / sizeof(c->retired[0])))
		c->retired[c->nretired++] = sub;
	else
		natsSubscription_Destroy(sub); /* many retired: the old way */
}

void hw_collect__free_subs(struct collector *c)
{
	for (int i = 0; i < c->nretired; i++)
		natsSubscription_Destroy(c->retired[i]);
	c->nretired = 0;
}

/* A message's header, NULL when absent */
static const char *header(natsMsg *m, const char *name)
{
	const char *v = NULL;

	return natsMsgHeader_Get(m, name, &v) == NATS_OK ? v : NULL;
}

/* One message: a batch of lines (stream/batch.h), or one line as agents before batching sent.
 * A batch that fails its checks is refused whole, said once and counted; a bad line in a good
 * batch only costs that line. */
void hw_collect__handle_msg(struct collector *c, struct hw_fleet *fleet, natsMsg *m)
{
	const char *subject = natsMsg_GetSubject(m), *line;
	const char *count = header(m, HW_BATCH_H_COUNT), *sources;
	char why[300], where[400];
	size_t len;
	int r;

	if (!subject)
		subject = "";
	if (fleet == c->sfleet && (sources = header(m, HW_STITCH_H_SOURCES))) {
		hw_collect__stitch_group(c, fleet, m, sources);
		return;
	}
	r = hw_batch__open(&c->batch, count, header(m, HW_BATCH_H_ENCODING), natsMsg_GetData(m),
			   (size_t)natsMsg_GetDataLength(m), why, sizeof(why));
	if (count)
		c->batches++;
	if (r) {
		for (char *p = why; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = '?';
		c->bad_batches++;
		hw_fleet__refuse(fleet);
		snprintf(where, sizeof(where), "batch on '%.200s'", subject);
		hw_collect__report_malformed(c, where, why);
		return;
	}
	while (hw_batch__next(&c->batch, &line, &len)) {
		r = hw_fleet__feed(fleet, subject, line, len, why, sizeof(why));
		if (r == -EINVAL) {
			snprintf(where, sizeof(where), "message on '%.200s'", subject);
			hw_collect__report_malformed(c, where, why);
		} else if (r) {
			fprintf(stderr, "hopwatch: %s, ignoring\n", why);
		}
	}
}

/* The fetched batches of a round, fed and not yet settled. */
static struct held {
	natsMsgList list;
	signed char fwd[BATCH]; /* as hw_collect__forward_end */
} held[HW_CONSUMERS_MAX];
static int nheld, held_msgs;

/* One fetched batch fed, its lines for the second stage grouped; settled later. */
static void feed_batch(struct collector *c, struct hw_consumer *k, natsMsgList *list)
{
	struct held *h = &held[nheld++];

	h->list = *list;
	held_msgs += list->Count;
	for (int i = 0; i < list->Count; i++) {
		hw_collect__forward_begin(c, list->Msgs[i]);
		hw_collect__handle_msg(c, k->fleet, list->Msgs[i]);
		h->fwd[i] = (signed char)hw_collect__forward_end(c);
	}
}

/* The batches fed since the last settle: their lines for the second stage published, the
 * alerts and those acknowledged by the server, the output flushed, then each message
 * acknowledged (one whose lines could not go on to the second stage is not: it comes again).
 * Once per round of fetches rather than per fetch: the waits are round trips. */
static void settle(struct collector *c)
{
	int failed;

	if (!nheld)
		return;
	failed = hw_collect__forward_flush(c);
	failed |= hw_collect__publish_wait(c);
	if (hw_sink__flush(c->out))
		c->lost_output++;
	for (int j = 0; j < nheld; j++) {
		natsMsgList *list = &held[j].list;

		for (int i = 0; i < list->Count; i++) {
			if (held[j].fwd[i] < 0 || (failed && held[j].fwd[i] > 0)) {
				natsMsg_NakWithDelay(list->Msgs[i], NAK_DELAY_NS, NULL);
				continue;
			}
			if (natsMsg_Ack(list->Msgs[i], NULL) == NATS_OK)
				c->acked++;
			else
				c->ack_errors++;
		}
		natsMsgList_Destroy(list);
	}
	nheld = held_msgs = 0;
	c->fwd.failed = 0;
}

static void tick(struct collector *c)
{
	unsigned long long now = hw_collect__wall_ns();

	hw_fleet__tick(c->fleet, now);
	if (c->sfleet)
		hw_fleet__tick(c->sfleet, now);
}

/* Messages a fetch takes: the second stage's groups are up to HW_STITCH_GROUP_BYTES each, so
 * it takes fewer at a time (the memory of a fetch stays near a partition's) */
static int fetch_batch(const struct collector *c, const struct hw_consumer *k)
{
	return k->fleet == c->sfleet ? HW_STITCH_FETCH : BATCH;
}

/* Messages of consumer k, at most timeout_ms waited for (0: none), fed. Returns how many, or
 * -1 on an error other than none there. The caller settles them. */
static int fetch(struct collector *c, struct hw_consumer *k, int timeout_ms)
{
	natsMsgList list = {0};
	jsFetchRequest req;
	jsErrCode jerr = 0;
	natsStatus st;
	int n = 0;

	if (timeout_ms) {
		st = natsSubscription_Fetch(&list, k->sub, fetch_batch(c, k), timeout_ms, &jerr);
	} else {
		jsFetchRequest_Init(&req);
		req.Batch = fetch_batch(c, k);
		/* and no Expires: nats-server 2.9 holds a no-wait request that has one until it
		 * expires when the consumer has nothing, and each idle partition cost FETCH_MS */
		req.NoWait = true;
		st = natsSubscription_FetchRequest(&list, k->sub, &req);
	}
	if (st == NATS_OK && list.Count > 0) {
		/* the collector's clock: event times are bounded by it */
		tick(c);
		n = list.Count;
		feed_batch(c, k, &list); /* held until settle() */
	} else {
		natsMsgList_Destroy(&list);
	}
	if (st != NATS_OK && st != NATS_TIMEOUT && st != NATS_NOT_FOUND) {
		c->fetch_errors++;
		return -1;
	}
	return n;
}

/* One round: with one consumer a fetch that waits up to FETCH_MS; with several, each asked
 * without waiting, and when none had anything, the next one waited for a while. */
static int fetch_round(struct collector *c)
{
	int got = 0, err = 0, timeout;

	if (c->ncons == 1) {
		got = fetch(c, &c->cons[0], FETCH_MS);
		settle(c);
		return got < 0 ? -1 : got;
	}
	for (int i = 0; i < c->ncons; i++) {
		int n = fetch(c, &c->cons[i], 0);

		err |= n < 0;
		got += n > 0 ? n : 0;
		if (held_msgs >= BATCH)
			settle(c); /* what is held stays about a fetch's worth */
	}
	settle(c);
	if (got)
		return got;
	timeout = FETCH_MS / c->ncons > 50 ? FETCH_MS / c->ncons : 50;
	got = fetch(c, &c->cons[c->next_cons], timeout);
	settle(c);
	c->next_cons = (c->next_cons + 1) % c->ncons;
	return got < 0 || err ? -1 : got;
}

int hw_collect__run_nats(struct collector *c, unsigned long long deadline)
{
	unsigned long long next_setup = 0, now, next_check = 0;
	int reported_error = 0, ret = 0;
	char url[1024];

	if (nats_connect(c)) {
		fprintf(stderr, "hopwatch: %s\n", c->last_error);
		return HW_EXIT_REFUSED;
	}
	while (!hw_collect__stopping() && (!deadline || hw_clock__mono_ns() < deadline)) {
		int got;

		hw_collect__signals(c);
		now = hw_clock__mono_ns();
		if (!all_subscribed(c)) {
			int r = -1;

			if (now >= next_setup) {
				if (natsConnection_Status(c->nc) == NATS_CONN_STATUS_CONNECTED)
					r = setup(c);
				else
					snprintf(
					    c->last_error, sizeof(c->last_error),
					    "cannot connect to '%s'",
					    hw_url__redact(c->cfg->nats_url, url, sizeof(url)));
				next_setup = now + RETRY_MS * NS_PER_MS;
			}
			if (r == -2) {
				fprintf(stderr, "hopwatch: %s\n", c->last_error);
				ret = HW_EXIT_REFUSED;
				break;
			}
			if (r) {
				if (!reported_error && now >= next_setup - RETRY_MS * NS_PER_MS) {
					fprintf(stderr, "hopwatch: %s; retrying\n", c->last_error);
					reported_error = 1;
				}
				nats_Sleep(100);
				continue;
			}
			if (reported_error)
				fprintf(stderr, "hopwatch: consuming '%s' of stream '%s' now\n",
					c->filter, c->cfg->nats_stream);
			reported_error = 0;
			if (!c->subscribed_once) {
				hw_collect__state_line(c, "collector-started", 0);
				if (hw_sink__flush(c->out))
					c->lost_output++;
			}
			c->subscribed_once = 1;
		}
		got = fetch_round(c);
		if (got > 0)
			continue;
		if (got < 0)
			nats_Sleep(100);
		/* a deleted consumer only makes fetches time out: look now and then */
		now = hw_clock__mono_ns();
		if (now >= next_check) {
			int gone = 0;

			next_check = now + CHECK_MS * NS_PER_MS;
			for (int i = 0; i < c->ncons; i++) {
				if (!consumer_gone(c, &c->cons[i]))
					continue;
				fprintf(stderr,
					"hopwatch: consumer '%s' of stream '%s' is gone; making it "
					"again\n",
					c->cons[i].durable, c->cfg->nats_stream);
				hw_collect__retire(c, c->cons[i].sub, 0);
				c->cons[i].sub = NULL;
				gone = 1;
			}
			if (gone) {
				next_setup = 0;
				continue;
			}
		}
		/* no events: the collector's clock goes on, so an alert waiting for a login fires
		 * and silent hosts are forgotten */
		tick(c);
		hw_collect__publish_wait(c);
		if (hw_sink__flush(c->out))
			c->lost_output++;
	}
	if (!c->subscribed_once && !ret) {
		fprintf(stderr, "hopwatch: never consumed from NATS: %s\n", c->last_error);
		ret = HW_EXIT_REFUSED;
	}
	hw_fleet__flush(c->fleet);
	if (c->sfleet)
		hw_fleet__flush(c->sfleet);
	hw_collect__publish_wait(c);
	if (c->subscribed_once)
		hw_collect__state_line(c, "collector-stopped", 1);
	if (hw_sink__flush(c->out))
		c->lost_output++;
	hw_collect__summary(c);
	if (c->nc && natsConnection_Status(c->nc) == NATS_CONN_STATUS_CONNECTED)
		natsConnection_FlushTimeout(c->nc, 1000); /* the last acks */
	if (c->nc)
		natsConnection_Close(c->nc); /* its reader stopped: no message for a sub freed */
	for (int i = 0; i < c->ncons; i++) {
		if (c->cons[i].sub) /* bound to the durable: it stays */
			natsSubscription_Destroy(c->cons[i].sub);
		c->cons[i].sub = NULL;
	}
	hw_collect__free_subs(c);
	jsCtx_Destroy(c->js);
	c->js = NULL;
	hw_batch__free(&c->batch);
	if (c->nc)
		natsConnection_Destroy(c->nc);
	if (!ret && c->lost_output)
		ret = HW_EXIT_REFUSED;
	return ret;
}
