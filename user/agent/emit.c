/* The one place the agent's events leave it: a view built by a handler (output/event.h) is
 * encoded as ECS JSON (the form the recording and the streaming sinks read) and written, or its
 * text line when the format is text; the JSON goes to the --record file and the streaming
 * sinks' spools (stream.c); its fact (detect/fact_view.h) goes to the detection engine, whose
 * alerts come back here (hw_emit__on_alert) and are written after the event. A sink on the
 * fleet profile gets what profile.c makes of a process or network event instead (built first,
 * so that its line precedes the alerts of the event in that stream too). Under
 * HW_FACT_CHECK=1 every fact is also compared with its line (check.c). Nothing here calls a
 * handler back: data flows record -> handler -> view -> emit -> encoders, sinks, engine. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent_int.h"
#include "detect/fact_raw.h"
#include "detect/fact_unix.h"
#include "output/alert.h"
#include "detect/fact_file.h"
#include "output/ecs.h"
#include "output/ecs_conn.h"
#include "output/ecs_file.h"
#include "output/text_file.h"
#include "output/ocsf.h"

/* A line the sink could not write is counted by the sink (output.c reports it). */
static void write_line(struct hw_agent *a, const char *buf, size_t len, int error)
{
	/* -o ocsf: the ECS line translated (NULL: as it is); 0 has no OCSF form */
	int r = error ? -EINVAL : hw_ocsf__line(a->ocsf, &buf, &len);

	if (r < 0) {
		a->counters.lost_output++;
		return;
	}
	if (r)
		hw_sink__write(a->sink, buf, len);
	a->counters.events++;
}

/* A line of the fleet profile (a->fleet.json) to the sinks on it. */
static void stream_fleet(struct hw_json *j, void *ctx)
{
	struct hw_agent *a = ctx;

	if (j->error || !j->len) {
		a->counters.lost_output++;
		return;
	}
	hw_agent__stream_line(a, 'e', j->buf, j->len, a->streams.fleet);
	a->fleet.lines++;
}

/* What the fleet sinks get of a process event (profile.c decides); returns the sinks its full
 * line goes to. */
static unsigned int fleet_proc(struct hw_agent *a, const struct hw_proc_event *v)
{
	struct hw_proc_event s;
	int r;

	if (!a->streams.fleet || a->capture.on) /* an answer of the control socket: no sink */
		return HW_SINKS_ALL;
	r = hw_profile__proc(a, v, &s);
	if (r == HW_PROFILE_SAME)
		return HW_SINKS_ALL;
	if (r == HW_PROFILE_SHIP) {
		hw_json__reset(&a->fleet.json);
		hw_ecs__proc_event(&a->fleet.json, &a->host, &s);
		stream_fleet(&a->fleet.json, a);
	}
	return ~a->streams.fleet;
}

static unsigned int fleet_net(struct hw_agent *a, const struct hw_net_view *v)
{
	struct hw_net_view s;
	int r;

	if (!a->streams.fleet || a->capture.on)
		return HW_SINKS_ALL;
	r = hw_profile__net(a, v, &s);
	if (r == HW_PROFILE_SAME)
		return HW_SINKS_ALL;
	if (r == HW_PROFILE_SHIP) {
		hw_json__reset(&a->fleet.json);
		hw_ecs__net_event(&a->fleet.json, &a->host, &s);
		stream_fleet(&a->fleet.json, a);
	}
	return ~a->streams.fleet;
}

/* The fleet profile's loopback summary, when due (profile.c), or at the end. */
static void fleet_summary(struct hw_agent *a, __u64 boot_ns, int end)
{
	if (a->streams.fleet && hw_profile__summary_due(a, boot_ns, end))
		hw_loopsum__flush(&a->fleet.loopsum, &a->host, boot_ns, &a->fleet.json,
				  stream_fleet, a);
}

/* A line of the control socket's answer (capture mode: nothing is written or fed). */
static void capture(struct hw_agent *a, const char *buf, size_t len)
{
	struct hw_agent_capture *c = &a->capture;

	if (c->failed)
		return;
	if (c->len + len > c->cap) {
		size_t cap = c->cap ? c->cap : 65536;
		char *b;

		while (cap < c->len + len)
			cap *= 2;
		b = realloc(c->buf, cap);
		if (!b) {
			c->failed = 1;
			return;
		}
		c->buf = b;
		c->cap = cap;
	}
	memcpy(c->buf + c->len, buf, len);
	c->len += len;
}

void hw_emit__capture_begin(struct hw_agent *a)
{
	a->capture.on = 1;
	a->capture.len = 0;
	a->capture.failed = 0;
}

void hw_emit__capture_alerts(struct hw_agent *a)
{
	struct hw_agent_capture *c = &a->capture;
	unsigned int first = (c->alert_next + HW_CONTROL_ALERTS - c->nalerts) % HW_CONTROL_ALERTS;

	for (unsigned int i = 0; i < c->nalerts; i++) {
		unsigned int k = (first + i) % HW_CONTROL_ALERTS;

		capture(a, c->alerts[k], c->alert_len[k]);
	}
}

void hw_emit__capture_end(struct hw_agent *a)
{
	struct hw_agent_capture *c = &a->capture;

	c->on = 0;
	if (c->cap > (1u << 20)) { /* a large answer's memory is not kept */
		free(c->buf);
		c->buf = NULL;
		c->cap = 0;
	}
	c->len = 0;
}

/* The alert in a->ajson, kept for the control socket's answer (the last HW_CONTROL_ALERTS). */
static void keep_alert(struct hw_agent *a)
{
	struct hw_agent_capture *c = &a->capture;
	char *line = malloc(a->ajson.len);

	if (!line)
		return;
	memcpy(line, a->ajson.buf, a->ajson.len);
	free(c->alerts[c->alert_next]);
	c->alerts[c->alert_next] = line;
	c->alert_len[c->alert_next] = a->ajson.len;
	c->alert_next = (c->alert_next + 1) % HW_CONTROL_ALERTS;
	if (c->nalerts < HW_CONTROL_ALERTS)
		c->nalerts++;
}

/* The event in a->json (a->tline when the format is text) and a->fact: written, recorded,
 * streamed (to the sinks of mask), checked, fed. */
static void emit_event(struct hw_agent *a, unsigned int mask)
{
	if (a->capture.on) {
		if (!a->json.error && a->json.len)
			capture(a, a->json.buf, a->json.len);
		return;
	}
	if (a->text)
		write_line(a, a->tline.buf, a->tline.len, a->tline.error);
	else
		write_line(a, a->json.buf, a->json.len, a->json.error);
	if (a->json.error || !a->json.len)
		return; /* not written: not seen by replay either */
	if (a->record)
		hw_sink__write(a->record, a->json.buf, a->json.len);
	hw_agent__stream_line(a, 'e', a->json.buf, a->json.len, mask);
	if (a->check)
		hw_agent__check_fact(a, a->json.buf, a->json.len, &a->fact);
	/* the engine gets the fact, not the line: the same (fact_view.h), without the parse */
	hw_engine__feed(a->engine, &a->fact);
}

void hw_emit__proc(struct hw_agent *a, const struct hw_proc_event *v)
{
	hw_json__reset(&a->json);
	hw_ecs__proc_event(&a->json, &a->host, v);
	if (a->text) {
		hw_text__reset(&a->tline);
		hw_text__proc_event(&a->tline, &a->host, v);
	}
	hw_fact__proc_event(&a->fact, &a->host, v);
	emit_event(a, fleet_proc(a, v));
}

void hw_emit__file(struct hw_agent *a, const struct hw_file_view *v)
{
	hw_json__reset(&a->json);
	hw_ecs__file_event(&a->json, &a->host, v);
	if (a->text) {
		hw_text__reset(&a->tline);
		hw_text__file_event(&a->tline, &a->host, v);
	}
	hw_fact__file_event(&a->fact, &a->host, v);
	emit_event(a, HW_SINKS_ALL);
}

void hw_emit__net(struct hw_agent *a, const struct hw_net_view *v)
{
	hw_json__reset(&a->json);
	hw_ecs__net_event(&a->json, &a->host, v);
	if (a->text) {
		hw_text__reset(&a->tline);
		hw_text__net_event(&a->tline, &a->host, v);
	}
	hw_fact__net_event(&a->fact, &a->host, v);
	emit_event(a, fleet_net(a, v));
}

void hw_emit__session(struct hw_agent *a, const struct hw_session_view *v)
{
	hw_json__reset(&a->json);
	hw_ecs__session_event(&a->json, &a->host, v);
	if (a->text) {
		hw_text__reset(&a->tline);
		hw_text__session_event(&a->tline, &a->host, v);
	}
	hw_fact__session_event(&a->fact, &a->host, v);
	emit_event(a, HW_SINKS_ALL);
}

void hw_emit__raw(struct hw_agent *a, const struct hw_raw_view *v)
{
	hw_json__reset(&a->json);
	hw_ecs__raw_event(&a->json, &a->host, v);
	if (a->text) {
		hw_text__reset(&a->tline);
		hw_text__raw_event(&a->tline, &a->host, v);
	}
	hw_fact__raw_event(&a->fact, &a->host, v);
	emit_event(a, HW_SINKS_ALL);
}

void hw_emit__unix(struct hw_agent *a, const struct hw_unix_view *v)
{
	hw_json__reset(&a->json);
	hw_ecs__unix_event(&a->json, &a->host, v);
	if (a->text) {
		hw_text__reset(&a->tline);
		hw_text__unix_event(&a->tline, &a->host, v);
	}
	hw_fact__unix_event(&a->fact, &a->host, v);
	emit_event(a, HW_SINKS_ALL);
}

void hw_emit__agent(struct hw_agent *a, const struct hw_agent_event *v)
{
	if (v->counters) /* agent-stopped: the summary so far first */
		fleet_summary(a, v->ts_ns, 1);
	hw_json__reset(&a->json);
	hw_ecs__agent_event(&a->json, &a->host, v);
	if (a->text) {
		hw_text__reset(&a->tline);
		hw_text__agent_event(&a->tline, &a->host, v);
	}
	hw_fact__agent_event(&a->fact, &a->host, v);
	emit_event(a, HW_SINKS_ALL);
}

void hw_emit__alert(struct hw_agent *a, const struct hw_alert *al)
{
	int err;

	if (!a->text || a->streams.n || a->control_fd >= 0) {
		hw_json__reset(&a->ajson);
		hw_ecs__alert(&a->ajson, al);
	}
	if (a->text) {
		hw_text__alert(&a->atext, al);
		err = a->atext.error;
		if (!err)
			hw_sink__write(a->sink, a->atext.buf, a->atext.len);
	} else {
		const char *buf = a->ajson.buf;
		size_t len = a->ajson.len;

		err = a->ajson.error;
		if (!err && hw_ocsf__line(a->ocsf, &buf, &len) < 0) /* -o ocsf */
			err = -EINVAL;
		if (!err)
			hw_sink__write(a->sink, buf, len);
	}
	if (err)
		a->counters.lost_output++;
	else
		a->counters.alerts++;
	if (!a->ajson.error && (!a->text || a->streams.n || a->control_fd >= 0)) {
		hw_agent__stream_line(a, 'a', a->ajson.buf, a->ajson.len, HW_SINKS_ALL);
		if (a->control_fd >= 0)
			keep_alert(a);
	}
}

void hw_emit__on_alert(const struct hw_alert *al, void *ctx)
{
	hw_emit__alert(ctx, al);
}

void hw_emit__tick(struct hw_agent *a, __u64 boot_ns)
{
	__u64 wall = hw_host__wall_ns(&a->host, boot_ns);

	fleet_summary(a, boot_ns, 0);
	hw_json__reset(&a->ajson);
	hw_ecs__tick(&a->ajson, wall, a->host.name, a->host.id);
	if (a->ajson.error)
		return;
	if (a->record)
		hw_sink__write(a->record, a->ajson.buf, a->ajson.len);
	hw_fact__tick(&a->fact, wall, a->host.name, a->host.id);
	if (a->check)
		hw_agent__check_fact(a, a->ajson.buf, a->ajson.len, &a->fact);
	hw_engine__feed(a->engine, &a->fact);
}

void hw_emit__free(struct hw_agent *a)
{
	hw_json__free(&a->json);
	hw_text__free(&a->tline);
	hw_json__free(&a->ajson);
	hw_text__free(&a->atext);
	hw_json__free(&a->fleet.json);
	hw_profile__free(a);
	free(a->capture.buf);
	for (unsigned int i = 0; i < HW_CONTROL_ALERTS; i++)
		free(a->capture.alerts[i]);
	memset(&a->capture, 0, sizeof(a->capture));
}
