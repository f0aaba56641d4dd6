/* The fleet profile (docs/streaming.md "Profiles"): what a streaming sink with
 * output.nats_profile or output.syslog_profile = fleet gets in place of the full lines. The
 * rules are not concerned: the engine judges every event whatever the sinks get (emit.c).
 *
 *   exec, existing_process           the full line
 *   fork, exit                       slim: the process's identity, parent, times, exit, user
 *                                    ids, trust and session
 *   a TCP connection                 one connection_closed line at its close (both ends, bytes
 *                                    each way, start, duration, who closed, the owner);
 *                                    its opening too (connection_attempted/accepted, slim)
 *                                    only when the collector must see it live: a failed
 *                                    attempt, an admin port (detect.admin_ports) or an owner
 *                                    in a remote session (what hop chains and the lateral
 *                                    rules are made of)
 *   loopback TCP (both ends)         counted per (owner, port, direction, netns) and written
 *                                    as loopback_summary lines every
 *                                    output.fleet_summary_interval (output/ecs_conn.h)
 *   other network events             with process.* as pid, entity_id, name, executable
 *   sessions, logins, alerts, agent  the full line (emit.c streams them to every sink) */
#include <netinet/in.h>
#include <string.h>

#include "agent/agent_int.h"
#include "output/ecs.h"

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

int hw_profile__proc(struct hw_agent *a, const struct hw_proc_event *v)
{
	struct hw_proc_event s = *v;

	if (strcmp(v->action, "fork") && strcmp(v->action, "exit"))
		return 1;
	s.slim = 1;
	hw_json__reset(&a->fleet.json);
	hw_ecs__proc_event(&a->fleet.json, &a->host, &s);
	stream_fleet(&a->fleet.json, a);
	return 0;
}

static int admin_port(const struct hw_agent *a, unsigned int port)
{
	const struct hw_port_list *l = &a->cfg->admin_ports;

	for (size_t i = 0; i < l->n; i++)
		if (l->v[i] == port)
			return 1;
	return 0;
}

/* A connection the collector must see when it opens: a hop of a chain or lateral movement. */
static int live(const struct hw_agent *a, const struct hw_net_view *v)
{
	const char *session = v->p ? v->p->session_id : v->session_id;
	unsigned int port = v->direction == HW_DIR_INGRESS ? v->addr->sport : v->addr->dport;

	return (session && session[0]) || admin_port(a, port);
}

static void count(struct hw_agent *a, const struct hw_net_view *v)
{
	hw_loopsum__add(&a->fleet.loopsum, v);
	if (!a->fleet.next_flush_ns)
		a->fleet.next_flush_ns = v->ts_ns + a->cfg->fleet_summary_interval_ns;
}

int hw_profile__net(struct hw_agent *a, const struct hw_net_view *v)
{
	struct hw_net_view f = *v;
	int lo = v->addr->protocol != IPPROTO_UDP && hw_addr__loopback_pair(v->addr);

	f.slim = 1;
	if (!strcmp(v->action, "disconnect")) {
		if (lo) {
			count(a, v);
			return 0;
		}
		f.action = "connection_closed";
	} else if (!strcmp(v->action, "connection_attempted")) {
		if (lo && v->error)
			count(a, v);
		if (lo || (!v->error && !live(a, v)))
			return 0;
	} else if (!strcmp(v->action, "connection_accepted")) {
		if (lo || !live(a, v))
			return 0;
	}
	hw_json__reset(&a->fleet.json);
	hw_ecs__net_event(&a->fleet.json, &a->host, &f);
	stream_fleet(&a->fleet.json, a);
	return 0;
}

void hw_profile__flush(struct hw_agent *a, __u64 ts_ns, int end)
{
	if (!a->fleet.next_flush_ns || (!end && ts_ns < a->fleet.next_flush_ns))
		return;
	hw_loopsum__flush(&a->fleet.loopsum, &a->host, ts_ns, &a->fleet.json, stream_fleet, a);
	a->fleet.next_flush_ns = 0;
}

void hw_profile__free(struct hw_agent *a)
{
	hw_json__free(&a->fleet.json);
	hw_loopsum__free(&a->fleet.loopsum);
}
