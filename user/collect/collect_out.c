/* hopwatch collect's output (see collect_int.h): alerts to the output and to collect.subject,
 * the state lines, the summary on standard error. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "collect/collect_int.h"
#include "model/host.h"
#include "output/alert.h"

#define PUBLISH_MS 2000 /* an alert's publish waits this long for its ack */
#define REPORT_MAX 20	/* malformed messages described on stderr; then only counted */

void hw_collect__write(struct collector *c, const char *buf, size_t len, int error)
{
	/* -o ocsf: every line (alerts, state lines) translated from its ECS form */
	if (!error && len && hw_ocsf__line(c->ocsf, &buf, &len) <= 0)
		error = 1;
	if (error || !len || hw_sink__write(c->out, buf, len))
		c->lost_output++;
}

static void publish_alert(struct collector *c, const struct hw_alert *a)
{
	jsPubOptions po;
	jsPubAck *pa = NULL;
	jsErrCode jerr = 0;
	natsMsg *m = NULL;
	natsStatus st;

	if (natsConnection_Status(c->nc) != NATS_CONN_STATUS_CONNECTED) {
		/* no waiting for acks that cannot come: the output has the alert */
		c->publish_errors++;
		return;
	}
	hw_json__reset(&c->pj);
	hw_ecs__alert(&c->pj, a);
	if (c->pj.error || c->pj.len < 2) {
		c->publish_errors++;
		return;
	}
	st = natsMsg_Create(&m, c->cfg->collect_subject, NULL, c->pj.buf, (int)c->pj.len - 1);
	if (st == NATS_OK && !c->core_publish && c->js_checked) {
		/* acknowledged before the batch that raised it (hw_collect__publish_wait) */
		jsPubOptions_Init(&po);
		po.MsgId = a->id;
		st = js_PublishMsgAsync(c->js, &m, &po);
	} else if (st == NATS_OK && !c->core_publish) {
		jsPubOptions_Init(&po);
		po.MsgId =
		    a->id; /* a redelivered batch raises the same alert: the server drops it */
		po.MaxWait = PUBLISH_MS;
		st = js_PublishMsg(&pa, c->js, m, &po, &jerr);
		c->js_checked = st == NATS_OK;
		if (st == NATS_NO_RESPONDERS) {
			fprintf(
			    stderr,
			    "hopwatch: collect.subject '%s' is in no JetStream stream: alerts are "
			    "published without persistence\n",
			    c->cfg->collect_subject);
			c->core_publish = 1;
		}
	}
	if (st == NATS_OK || c->core_publish) {
		if (c->core_publish) {
			st = natsMsgHeader_Set(m, "Nats-Msg-Id", a->id);
			if (st == NATS_OK)
				st = natsConnection_PublishMsg(c->nc, m);
		}
	}
	if (st == NATS_OK) {
		c->published++;
	} else {
		if (!c->publish_errors)
			fprintf(stderr, "hopwatch: cannot publish an alert to '%s': %s, ignoring\n",
				c->cfg->collect_subject, natsStatus_GetText(st));
		c->publish_errors++;
	}
	jsPubAck_Destroy(pa);
	natsMsg_Destroy(m);
}

void hw_collect__alert(const struct hw_alert *a, void *ctx)
{
	struct collector *c = ctx;

	if (c->text) {
		hw_text__alert(&c->t, a);
		hw_collect__write(c, c->t.buf, c->t.len, c->t.error);
	} else {
		hw_json__reset(&c->j);
		hw_ecs__alert(&c->j, a);
		hw_collect__write(c, c->j.buf, c->j.len, c->j.error);
	}
	if (c->js)
		publish_alert(c, a);
}

void hw_collect__state_line(struct collector *c, const char *action, int final)
{
	/* clang-format off */
	static const char *const names[] = {
		"messages", "events", "hosts", "alerts", "hop_chains", "hops", "malformed",
		"skipped", "failed", "acked", "ack_errors", "fetch_errors", "published",
		"publish_errors", "lost_output", "stitch_expired", "stitch_table_full",
		"identity_refused", "hosts_full", "idle_hosts", "evictions", "memory_evictions",
		"alerts_dropped", "clamped", "ticks", "memory", "stitch_host_full",
		"stitch_refused", "stitch_hosts_forgotten", "batches", "batches_refused",
		"forwarded", "forward_errors", "stitch_replayed", "stitch_muted", "stitch_repeats",
	};
	/* clang-format on */
	struct hw_fleet_stats fs;
	struct hw_stitch_stats ss;
	char ts[HW_TIME_LEN];

	hw_collect__stats(c, &fs, &ss);
	/* clang-format off */
	const unsigned long long v[] = {
		fs.messages, fs.events, fs.hosts, fs.alerts, ss.alerts, ss.hops, fs.malformed,
		fs.skipped, fs.failed, c->acked, c->ack_errors, c->fetch_errors, c->published,
		c->publish_errors, c->lost_output, ss.expired, ss.table_full,
		fs.identity, fs.hosts_full, fs.idle, fs.evictions, fs.memory_evictions,
		fs.alerts_dropped, fs.clamped, fs.ticks, fs.memory, ss.host_full, ss.refused,
		ss.forgotten, c->batches, c->bad_batches, c->forwarded, c->forward_errors,
		c->rebuilt_lines, fs.muted, c->stitch_repeats,
	};
	/* clang-format on */
	_Static_assert(sizeof(names) / sizeof(names[0]) == sizeof(v) / sizeof(v[0]),
		       "a name per counter");
	size_t n = final ? sizeof(v) / sizeof(v[0]) : 0;

	hw_format_time(hw_collect__wall_ns(), ts);
	if (c->text) {
		char line[2048];
		int off;

		ts[23] = 0;
		off = snprintf(line, sizeof(line), "%s %s hopwatch %s pid=%d host=%s source=%s", ts,
			       action, HW_VERSION, (int)getpid(), c->host_name, c->source);
		for (size_t i = 0; i < n && off > 0 && (size_t)off < sizeof(line); i++)
			off += snprintf(line + off, sizeof(line) - (size_t)off, " %s=%llu",
					names[i], v[i]);
		if (off > 0 && (size_t)off < sizeof(line) - 1) {
			line[off++] = '\n';
			hw_text__reset(&c->t);
			hw_text__raw(&c->t, line, (size_t)off);
			hw_collect__write(c, c->t.buf, c->t.len, c->t.error);
		}
		return;
	}
	hw_json__reset(&c->j);
	hw_json__begin_object(&c->j, NULL);
	hw_json__string(&c->j, "@timestamp", ts);
	hw_json__begin_object(&c->j, "event");
	hw_json__string(&c->j, "kind", "state");
	hw_json__begin_array(&c->j, "category");
	hw_json__string(&c->j, NULL, "host");
	hw_json__end_array(&c->j);
	hw_json__begin_array(&c->j, "type");
	hw_json__string(&c->j, NULL, "info");
	hw_json__end_array(&c->j);
	hw_json__string(&c->j, "action", action);
	hw_json__string(&c->j, "dataset", "hopwatch.collector");
	hw_json__string(&c->j, "module", "hopwatch");
	hw_json__end_object(&c->j);
	hw_json__begin_object(&c->j, "host");
	hw_json__string(&c->j, "name", c->host_name);
	hw_json__end_object(&c->j);
	hw_json__begin_object(&c->j, "agent");
	hw_json__string(&c->j, "type", "hopwatch");
	hw_json__string(&c->j, "version", HW_VERSION);
	hw_json__end_object(&c->j);
	hw_json__begin_object(&c->j, "hopwatch");
	hw_json__begin_object(&c->j, "collector");
	hw_json__u64(&c->j, "pid", (unsigned long long)getpid());
	hw_json__string(&c->j, "source", c->source);
	if (c->js) {
		hw_json__string(&c->j, "stream", c->cfg->nats_stream);
		hw_json__string(&c->j, "durable", c->cfg->collect_durable);
		hw_json__string(&c->j, "subject", c->filter);
		if (c->partitions[0]) {
			hw_json__string(&c->j, "partitions", c->partitions);
			hw_json__u64(&c->j, "stitch_stage", c->sfleet != NULL);
		}
	}
	for (size_t i = 0; i < n; i++)
		hw_json__u64(&c->j, names[i], v[i]);
	hw_json__end_object(&c->j);
	hw_json__end_object(&c->j);
	hw_json__end_object(&c->j);
	hw_json__end_line(&c->j);
	hw_collect__write(c, c->j.buf, c->j.len, c->j.error);
}

void hw_collect__stats(struct collector *c, struct hw_fleet_stats *fs, struct hw_stitch_stats *ss)
{
	struct hw_fleet_stats sfs;

	hw_fleet__stats(c->fleet, fs, ss);
	if (!c->sfleet)
		return;
	/* the second stage: its stitcher is the fleet's; its lines are counted where they came
	 * in first (messages, events), its alerts and memory are added */
	hw_fleet__stats(c->sfleet, &sfs, ss);
	fs->alerts += sfs.alerts;
	fs->alerts_dropped += sfs.alerts_dropped;
	fs->malformed += sfs.malformed;
	fs->identity += sfs.identity;
	fs->clamped += sfs.clamped;
	fs->memory += sfs.memory;
	fs->muted += sfs.muted;
}

void hw_collect__summary(struct collector *c)
{
	struct hw_fleet_stats fs;
	struct hw_stitch_stats ss;

	hw_collect__stats(c, &fs, &ss);
	fprintf(stderr,
		"hopwatch: collected %llu messages: %llu events from %llu hosts, %llu alerts "
		"(%llu hop chains), %llu malformed, %llu skipped",
		fs.messages, fs.events, fs.hosts, fs.alerts, ss.alerts, fs.malformed, fs.skipped);
	if (!strcmp(c->source, "nats"))
		fprintf(stderr,
			"; %llu batches (%llu refused), %llu acknowledged, %llu alerts published "
			"(%llu failed)",
			c->batches, c->bad_batches, c->acked, c->published, c->publish_errors);
	if (c->lost_output)
		fprintf(stderr, "; %llu lines could not be written", c->lost_output);
	if (fs.identity || fs.hosts_full || ss.refused)
		fprintf(stderr,
			"; refused: %llu lines not of their host's pinned identity, %llu of "
			"hosts beyond the maximum, %llu claims on other hosts' addresses",
			fs.identity, fs.hosts_full, ss.refused);
	if (fs.evictions || fs.memory_evictions || fs.idle || fs.alerts_dropped || fs.clamped)
		fprintf(stderr,
			"; limits: %llu engines started afresh over collect.host_memory_max, "
			"%llu over collect.memory_max, %llu idle hosts forgotten, %llu alerts over "
			"collect.host_alerts dropped, %llu event times bounded",
			fs.evictions, fs.memory_evictions, fs.idle, fs.alerts_dropped, fs.clamped);
	fputc('\n', stderr);
}

void hw_collect__report_malformed(struct collector *c, const char *where, const char *why)
{
	if (++c->reported <= REPORT_MAX)
		fprintf(stderr, "hopwatch: %s: malformed event: %s\n", where, why);
	else if (c->reported == REPORT_MAX + 1)
		fprintf(stderr, "hopwatch: more malformed messages; only the count is reported\n");
}
