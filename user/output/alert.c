/* Alerts as ECS JSON (docs/rules.md, docs/events.md) and as one text line. */
#include <stdio.h>
#include <string.h>

#include "model/host.h"
#include "output/alert.h"
#include "output/ecs.h"

static void str(struct hw_json *j, const char *key, const char *s)
{
	if (s && s[0])
		hw_json__string(j, key, s);
}

static void endpoint(struct hw_json *j, const char *key, const char *ip, unsigned int port)
{
	if (!ip || !ip[0])
		return;
	hw_json__begin_object(j, key);
	hw_json__string(j, "ip", ip);
	if (port)
		hw_json__u64(j, "port", port);
	hw_json__end_object(j);
}

static void ecs_version(struct hw_json *j)
{
	hw_json__begin_object(j, "ecs");
	hw_json__string(j, "version", HW_ECS_VERSION);
	hw_json__end_object(j);
}

void hw_ecs__alert(struct hw_json *j, const struct hw_alert *a)
{
	char t[HW_TIME_LEN];

	hw_format_time(a->ts, t);
	hw_json__begin_object(j, NULL);
	hw_json__string(j, "@timestamp", t);
	hw_json__string(j, "message", a->message);
	ecs_version(j);
	hw_json__begin_object(j, "event");
	hw_json__string(j, "kind", "alert");
	hw_json__begin_array(j, "category");
	hw_json__string(j, NULL, "intrusion_detection");
	hw_json__end_array(j);
	/* ECS allows allowed, denied or info with intrusion_detection: the agent only reports */
	hw_json__begin_array(j, "type");
	hw_json__string(j, NULL, "info");
	hw_json__end_array(j);
	hw_json__string(j, "action", a->rule_id);
	hw_json__string(j, "id", a->id);
	hw_json__u64(j, "severity", (unsigned long long)a->severity);
	hw_json__string(j, "dataset", "hopwatch.alert");
	hw_json__string(j, "module", "hopwatch");
	hw_json__end_object(j);
	hw_json__begin_object(j, "host");
	hw_json__string(j, "name", a->host_name);
	hw_json__string(j, "id", a->host_id);
	hw_json__end_object(j);
	hw_json__begin_object(j, "rule");
	hw_json__string(j, "id", a->rule_id);
	hw_json__string(j, "name", a->rule_name);
	hw_json__string(j, "ruleset", "hopwatch");
	hw_json__end_object(j);
	hw_json__begin_object(j, "threat");
	hw_json__string(j, "framework", "MITRE ATT&CK");
	hw_json__begin_object(j, "technique");
	hw_json__begin_array(j, "id");
	for (int i = 0; i < a->ntechniques; i++)
		hw_json__string(j, NULL, a->techniques[i]);
	hw_json__end_array(j);
	hw_json__end_object(j);
	hw_json__end_object(j);
	if (a->user && a->user[0]) {
		hw_json__begin_object(j, "user");
		hw_json__string(j, "name", a->user);
		hw_json__end_object(j);
	}
	endpoint(j, "source", a->source_ip, a->source_port);
	endpoint(j, "destination", a->destination_ip, a->destination_port);
	if (a->entity_id && a->entity_id[0]) {
		hw_json__begin_object(j, "process");
		if (a->pid)
			hw_json__u64(j, "pid", a->pid);
		hw_json__string(j, "entity_id", a->entity_id);
		str(j, "executable", a->executable);
		hw_json__end_object(j);
	}
	hw_json__begin_object(j, "hopwatch");
	hw_json__begin_object(j, "alert");
	hw_json__string(j, "severity", a->severity_name);
	if (a->nchain) {
		hw_json__begin_array(j, "process_chain");
		for (int i = 0; i < a->nchain; i++)
			hw_json__string(j, NULL, a->chain[i]);
		hw_json__end_array(j);
		hw_json__begin_array(j, "process_chain_ids");
		for (int i = 0; i < a->nchain; i++)
			hw_json__string(j, NULL, a->chain_ids[i]);
		hw_json__end_array(j);
	}
	if (a->nrelated) {
		hw_json__begin_array(j, "related_ids");
		for (int i = 0; i < a->nrelated; i++)
			hw_json__string(j, NULL, a->related_ids[i]);
		hw_json__end_array(j);
	}
	if (a->have_age) {
		hw_json__u64(j, "age", a->age_ns);
		hw_json__u64(j, "idle", a->idle_ns);
	}
	if (a->have_bytes) {
		hw_json__u64(j, "bytes_in", a->bytes_in);
		hw_json__u64(j, "bytes_out", a->bytes_out);
	}
	if (a->count)
		hw_json__u64(j, "count", a->count);
	if (a->nhosts) {
		hw_json__begin_array(j, "hosts");
		for (int i = 0; i < a->nhosts; i++)
			hw_json__string(j, NULL, a->hosts[i]);
		hw_json__end_array(j);
	}
	hw_json__end_object(j);
	if ((a->session_id && a->session_id[0]) || (a->service && a->service[0])) {
		hw_json__begin_object(j, "session");
		str(j, "id", a->session_id);
		str(j, "service", a->service);
		hw_json__end_object(j);
	}
	if (a->connection_id && a->connection_id[0]) {
		hw_json__begin_object(j, "connection");
		hw_json__string(j, "id", a->connection_id);
		hw_json__end_object(j);
	}
	hw_json__end_object(j);
	hw_json__end_object(j);
	hw_json__end_line(j);
}

void hw_text__alert(struct hw_text *t, const struct hw_alert *a)
{
	char ts[HW_TIME_LEN], line[1024];
	int n;

	hw_format_time(a->ts, ts);
	ts[23] = 0;
	/* the message is built from recorded strings: keep one line whatever they hold */
	n = snprintf(line, sizeof(line), "%s ALERT    %s %s: ", ts, a->severity_name, a->rule_id);
	if (n < 0)
		return;
	for (const char *s = a->message; *s && (size_t)n + 5 < sizeof(line); s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c == 0x7f)
			n += snprintf(line + n, sizeof(line) - (size_t)n, "\\x%02x", c);
		else
			line[n++] = (char)c;
	}
	line[n++] = '\n';
	line[n] = 0;
	hw_text__reset(t);
	hw_text__raw(t, line, (size_t)n);
}

void hw_ecs__tick(struct hw_json *j, unsigned long long wall_ns, const char *host_name,
		  const char *host_id)
{
	char t[HW_TIME_LEN];

	hw_format_time(wall_ns, t);
	hw_json__begin_object(j, NULL);
	hw_json__string(j, "@timestamp", t);
	ecs_version(j);
	hw_json__begin_object(j, "event");
	hw_json__string(j, "kind", "state");
	hw_json__string(j, "action", "tick");
	hw_json__string(j, "dataset", "hopwatch.agent");
	hw_json__string(j, "module", "hopwatch");
	hw_json__end_object(j);
	hw_json__begin_object(j, "host");
	hw_json__string(j, "name", host_name);
	hw_json__string(j, "id", host_id);
	hw_json__end_object(j);
	hw_json__end_object(j);
	hw_json__end_line(j);
}
