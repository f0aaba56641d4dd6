/* The OCSF classes' own attributes, from the ECS fields of each kind of line (the mapping
 * table is docs/events.md, "OCSF"): Process Activity, Network Activity, Authentication and
 * Detection Finding with its MITRE ATT&CK techniques. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/attack.h"
#include "output/ocsf_int.h"

/* --- processes ---------------------------------------------------------------------------- */

static void file_of(const struct hw_jdoc *d, struct hw_json *j, const char *path)
{
	const char *exe = hw_jdoc__str(d, path), *base;

	if (!exe)
		return;
	base = strrchr(exe, '/');
	hw_json__begin_object(j, "file");
	hw_json__string(j, "name", base && base[1] ? base + 1 : exe);
	hw_json__string(j, "path", exe);
	hw_json__u64(j, "type_id", 1);
	hw_json__string(j, "type", "Regular File");
	hw_json__end_object(j);
}

/* cmd_line: the arguments joined by spaces (all of them: the ECS line is within its limits) */
static void cmd_line(const struct hw_jdoc *d, struct hw_json *j)
{
	const struct hw_jleaf *l = hw_jdoc__get(d, "process.args");
	size_t first, end, need = 0, n = 0;
	char *buf;

	if (!l)
		return;
	first = (size_t)(l - d->leaves);
	for (end = first; end < d->n && !strcmp(d->leaves[end].path, "process.args") &&
			  d->leaves[end].type == HW_J_STRING;
	     end++)
		need += d->leaves[end].len + 1;
	buf = malloc(need + 1);
	if (!buf) {
		hw_json__set_error(j, -ENOMEM);
		return;
	}
	for (size_t i = first; i < end; i++) {
		if (n)
			buf[n++] = ' ';
		memcpy(buf + n, d->leaves[i].val, d->leaves[i].len);
		n += d->leaves[i].len;
	}
	hw_json__string_n(j, "cmd_line", buf, n);
	free(buf);
}

void oc_process(const struct hw_jdoc *d, struct hw_json *j, const char *key, int full)
{
	if (!oc_has(d, "process.pid") && !oc_has(d, "process.entity_id"))
		return;
	hw_json__begin_object(j, key);
	oc_num(d, j, "pid", "process.pid");
	oc_str(d, j, "uid", "process.entity_id");
	oc_str(d, j, "name", "process.name");
	if (oc_has(d, "process.executable"))
		oc_str(d, j, "path", "process.executable");
	if (full) {
		cmd_line(d, j);
		oc_num(d, j, "tid", "process.thread.id");
		oc_str(d, j, "working_directory", "process.working_directory");
		oc_time(j, "created_time", hw_jdoc__str(d, "process.start"));
		oc_time(j, "terminated_time", hw_jdoc__str(d, "process.end"));
		file_of(d, j, "process.executable");
		oc_user(d, j, "user", 0);
		if (oc_has(d, "process.parent.pid") || oc_has(d, "process.parent.entity_id")) {
			hw_json__begin_object(j, "parent_process");
			oc_num(d, j, "pid", "process.parent.pid");
			oc_str(d, j, "uid", "process.parent.entity_id");
			hw_json__end_object(j);
		}
		if (oc_has(d, "hopwatch.session.id")) {
			hw_json__begin_object(j, "session");
			oc_str(d, j, "uid", "hopwatch.session.id");
			hw_json__bool(j, "is_remote", 1);
			hw_json__end_object(j);
		}
	}
	hw_json__end_object(j);
}

static void process_body(const struct hw_jdoc *d, struct hw_json *j)
{
	const char *action = hw_jdoc__str(d, "event.action");
	int launch = !strcmp(action, "fork") || !strcmp(action, "exec");

	hw_json__begin_object(j, "actor");
	if (launch && (oc_has(d, "process.parent.pid") || oc_has(d, "process.parent.entity_id"))) {
		/* who launched it: the parent forked it; an exec is the process's own doing, but
		 * OCSF's actor of a launch is the one that asked for it, its parent */
		hw_json__begin_object(j, "process");
		oc_num(d, j, "pid", "process.parent.pid");
		oc_str(d, j, "uid", "process.parent.entity_id");
		hw_json__end_object(j);
	} else if (!strcmp(action, "existing_process")) {
		hw_json__string(j, "app_name", "hopwatch"); /* found by the agent's snapshot */
	} else {
		oc_process(d, j, "process", 0);
	}
	oc_user(d, j, "user", 0);
	hw_json__end_object(j);
	oc_process(d, j, "process", 1);
	if (!strcmp(action, "fork") || !strcmp(action, "exec")) {
		hw_json__u64(j, "launch_type_id", action[0] == 'f' ? 2 : 3);
		hw_json__string(j, "launch_type", action[0] == 'f' ? "Fork" : "Exec");
	}
	oc_num(d, j, "exit_code", "process.exit_code");
}

void hw_ocsf__process(const struct hw_jdoc *d, const char *action, struct oc_head *h)
{
	(void)d;
	h->class_uid = 1007;
	h->class_name = "Process Activity";
	h->category_name = "System Activity";
	h->body = process_body;
	if (!strcmp(action, "fork") || !strcmp(action, "exec")) {
		h->activity_id = 1;
		h->activity_name = "Launch";
	} else if (!strcmp(action, "exit")) {
		h->activity_id = 2;
		h->activity_name = "Terminate";
	} else {
		h->activity_id = 99; /* existing_process: the start-up inventory */
		h->activity_name = "Inventory";
	}
}

/* --- network ------------------------------------------------------------------------------ */

static void network_body(const struct hw_jdoc *d, struct hw_json *j)
{
	const char *dir = hw_jdoc__str(d, "network.direction");
	const char *proto = hw_jdoc__str(d, "network.transport");
	const char *type = hw_jdoc__str(d, "network.type");
	const char *action = hw_jdoc__str(d, "event.action");
	int listen = !strcmp(action, "listen") || !strcmp(action, "existing_listener");
	int dir_id = dir ? (!strcmp(dir, "ingress") ? 1 : !strcmp(dir, "egress") ? 2 : 0) : 0;

	if (listen)
		dir_id = 1; /* a listener waits for inbound connections */
	if (oc_has(d, "process.pid") || oc_has(d, "user.id")) {
		hw_json__begin_object(j, "actor");
		oc_process(d, j, "process", 1);
		oc_user(d, j, "user", 0);
		hw_json__end_object(j);
	}
	oc_endpoint(d, j, "src_endpoint", "source");
	oc_endpoint(d, j, "dst_endpoint", "destination");
	hw_json__bool(j, "is_src_dst_assignment_known", 1);
	hw_json__begin_object(j, "connection_info");
	oc_str(d, j, "uid", "hopwatch.connection.id");
	hw_json__u64(j, "direction_id", (unsigned long long)dir_id);
	hw_json__string(j, "direction",
			dir_id == 1   ? "Inbound"
			: dir_id == 2 ? "Outbound"
				      : "Unknown");
	if (proto) {
		hw_json__string(j, "protocol_name", proto);
		if (!strcmp(proto, "tcp") || !strcmp(proto, "udp"))
			hw_json__u64(j, "protocol_num", proto[0] == 't' ? 6 : 17);
	}
	if (type && (!strcmp(type, "ipv4") || !strcmp(type, "ipv6"))) {
		hw_json__u64(j, "protocol_ver_id", type[3] == '4' ? 4 : 6);
		hw_json__string(j, "protocol_ver",
				type[3] == '4' ? "Internet Protocol version 4 (IPv4)"
					       : "Internet Protocol version 6 (IPv6)");
	}
	hw_json__end_object(j);
	if (oc_has(d, "source.bytes") || oc_has(d, "destination.bytes") ||
	    oc_has(d, "network.bytes")) {
		hw_json__begin_object(j, "traffic");
		oc_num(d, j, "bytes_out", "source.bytes");
		oc_num(d, j, "bytes_in", "destination.bytes");
		oc_num(d, j, "bytes", "network.bytes");
		hw_json__end_object(j);
	}
	oc_ms(d, j, "duration", "event.duration");
	/* loopback_summary (the fleet profile): the connections it counts */
	oc_num(d, j, "count", "hopwatch.summary.connections");
	/* the connection's start; else a summary's interval (a line with both: the connection's,
	 * once: OCSF has one start_time) */
	if (oc_has(d, "hopwatch.connection.start")) {
		oc_time(j, "start_time", hw_jdoc__str(d, "hopwatch.connection.start"));
	} else if (oc_has(d, "event.start")) {
		oc_time(j, "start_time", hw_jdoc__str(d, "event.start"));
		oc_time(j, "end_time", hw_jdoc__str(d, "event.end"));
	}
}

void hw_ocsf__network(const struct hw_jdoc *d, const char *action, struct oc_head *h)
{
	const char *outcome = hw_jdoc__str(d, "event.outcome");
	const char *code = hw_jdoc__str(d, "error.code");

	if (!strcmp(action, "raw_socket_opened"))
		return; /* a socket made, no traffic: no class of its own, a Base Event */
	h->class_uid = 4001;
	h->class_name = "Network Activity";
	h->category_name = "Network Activity";
	h->body = network_body;
	h->activity_id = 6;
	/* udp_flow, connection_open, existing_connection, loopback_summary */
	h->activity_name = "Traffic";
	if (!strcmp(action, "connection_attempted") || !strcmp(action, "connection_accepted")) {
		h->activity_id = 1;
		h->activity_name = "Open";
	} else if (!strcmp(action, "disconnect") || !strcmp(action, "connection_closed")) {
		/* connection_closed: the fleet profile's whole connection, its traffic with it */
		h->activity_id = 2;
		h->activity_name = "Close";
	} else if (!strcmp(action, "listen") || !strcmp(action, "existing_listener")) {
		h->activity_id = 7;
		h->activity_name = "Listen";
	}
	if (!outcome)
		return;
	h->status_id = !strcmp(outcome, "success") ? 1 : !strcmp(outcome, "failure") ? 2 : 0;
	if (h->status_id == 2) {
		int refused = code && !strcmp(code, "ECONNREFUSED");

		h->activity_id = refused ? 5 : 4;
		h->activity_name = refused ? "Refuse" : "Fail";
		h->status_code = code;
		h->status_detail = hw_jdoc__str(d, "error.message");
	}
}

/* --- authentication ----------------------------------------------------------------------- */

static void auth_body(const struct hw_jdoc *d, struct hw_json *j)
{
	const char *method = hw_jdoc__str(d, "hopwatch.session.auth_method");

	if (oc_has(d, "process.pid")) {
		hw_json__begin_object(j, "actor"); /* the service's process that handled it */
		oc_process(d, j, "process", 0);
		hw_json__end_object(j);
	}
	oc_user(d, j, "user", 1);
	oc_endpoint(d, j, "src_endpoint", "source");
	oc_endpoint(d, j, "dst_endpoint", "destination");
	if (oc_has(d, "hopwatch.session.service")) {
		hw_json__begin_object(j, "service");
		oc_str(d, j, "name", "hopwatch.session.service");
		hw_json__end_object(j);
	}
	if (oc_has(d, "hopwatch.session.id")) {
		hw_json__begin_object(j, "session");
		oc_str(d, j, "uid", "hopwatch.session.id");
		oc_time(j, "created_time", hw_jdoc__str(d, "hopwatch.session.start"));
		hw_json__bool(j, "is_remote", 1);
		hw_json__end_object(j);
	}
	/* OCSF has no id for a password or a public key checked by the service itself */
	hw_json__u64(j, "auth_protocol_id", method ? 99 : 0);
	hw_json__string(j, "auth_protocol", method ? method : "Unknown");
	hw_json__u64(j, "logon_type_id", 10);
	hw_json__string(j, "logon_type", "Remote Interactive");
	hw_json__bool(j, "is_remote", 1);
	oc_ms(d, j, "duration", "event.duration");
}

void hw_ocsf__auth(const struct hw_jdoc *d, const char *action, struct oc_head *h)
{
	const char *outcome = hw_jdoc__str(d, "event.outcome");

	h->class_uid = 3002;
	h->class_name = "Authentication";
	h->category_name = "Identity & Access Management";
	h->body = auth_body;
	if (!strcmp(action, "user_login")) {
		h->activity_id = 1;
		h->activity_name = "Logon";
	} else if (!strcmp(action, "user_logout")) {
		h->activity_id = 2;
		h->activity_name = "Logoff";
	} else {
		h->activity_id = 99; /* existing_session: a logon from before the agent */
		h->activity_name = "Existing Session";
	}
	if (outcome) {
		h->status_id = !strcmp(outcome, "success")   ? 1
			       : !strcmp(outcome, "failure") ? 2
							     : 0;
		h->status_detail = hw_jdoc__str(d, "event.reason");
	}
}

/* --- Detection Finding: every alert ------------------------------------------------------- */

static void entity(struct hw_json *j, const char *key, const char *uid, size_t len,
		   const char *name)
{
	hw_json__begin_object(j, key);
	hw_json__string_n(j, "uid", uid, len);
	if (name)
		hw_json__string(j, "name", name);
	hw_json__end_object(j);
}

static void attack(struct hw_json *j, const char *id, size_t len)
{
	const char *dot = memchr(id, '.', len);
	size_t tlen = dot ? (size_t)(dot - id) : len;
	const struct hw_attack_technique *t = hw_attack__technique(id, tlen);
	const struct hw_attack_technique *sub = dot ? hw_attack__technique(id, len) : NULL;

	hw_json__begin_object(j, NULL);
	entity(j, "technique", id, tlen, t ? t->name : NULL);
	if (dot)
		entity(j, "sub_technique", id, len, sub ? sub->name : NULL);
	if (t)
		entity(j, "tactic", t->tactic_id, strlen(t->tactic_id), t->tactic);
	hw_json__end_object(j);
}

static void finding_body(const struct hw_jdoc *d, struct hw_json *j)
{
	const struct hw_jleaf *l = hw_jdoc__get(d, "threat.technique.id");
	const char *ts = hw_jdoc__str(d, "@timestamp");

	hw_json__begin_object(j, "finding_info");
	oc_str(d, j, "uid", "event.id");
	oc_str(d, j, "title", "rule.name");
	oc_str(d, j, "desc", "message");
	oc_time(j, "created_time", ts);
	hw_json__begin_array(j, "types");
	oc_str(d, j, NULL, "event.action");
	hw_json__end_array(j);
	hw_json__begin_object(j, "analytic");
	oc_str(d, j, "uid", "rule.id");
	oc_str(d, j, "name", "rule.name");
	oc_str(d, j, "category", "rule.ruleset");
	hw_json__u64(j, "type_id", 1);
	hw_json__string(j, "type", "Rule");
	hw_json__end_object(j);
	if (l) {
		hw_json__begin_array(j, "attacks");
		for (size_t i = (size_t)(l - d->leaves); i < d->n; i++) {
			if (strcmp(d->leaves[i].path, "threat.technique.id"))
				break;
			if (d->leaves[i].type == HW_J_STRING)
				attack(j, d->leaves[i].val, d->leaves[i].len);
		}
		hw_json__end_array(j);
	}
	hw_json__end_object(j);
	hw_json__bool(j, "is_alert", 1);
	hw_json__u64(j, "status_id", 1); /* a finding's own status: New */
	hw_json__string(j, "status", "New");
	if (oc_has(d, "process.pid") || oc_has(d, "source.ip") || oc_has(d, "destination.ip") ||
	    oc_has(d, "user.name")) {
		hw_json__begin_array(j, "evidences");
		hw_json__begin_object(j, NULL);
		oc_process(d, j, "process", 0);
		oc_endpoint(d, j, "src_endpoint", "source");
		oc_endpoint(d, j, "dst_endpoint", "destination");
		oc_user(d, j, "user", 0);
		hw_json__end_object(j);
		hw_json__end_array(j);
	}
}

void hw_ocsf__finding(const struct hw_jdoc *d, const char *action, struct oc_head *h)
{
	unsigned long long sev = 0;

	(void)action;
	h->class_uid = 2004;
	h->class_name = "Detection Finding";
	h->category_name = "Findings";
	h->body = finding_body;
	h->activity_id = 1;
	h->activity_name = "Create";
	hw_jdoc__u64(d, "event.severity", &sev);
	/* ECS severities 47, 73, 99 (docs/events.md): Medium, High, Critical */
	h->severity_id = sev >= 99 ? 5 : sev >= 73 ? 4 : sev >= 47 ? 3 : sev ? 2 : 0;
	h->status_id = -1;
}
