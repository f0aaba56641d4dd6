/* The fleet profile (docs/streaming.md "Profiles"): what a streaming sink with
 * output.nats_profile or output.syslog_profile = fleet gets in place of the full lines, decided
 * here and encoded by emit.c. The rules are not concerned: the engine judges every event
 * whatever the sinks get.
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

int hw_profile__proc(struct hw_agent *a, const struct hw_proc_event *v, struct hw_proc_event *out)
{
	if (strcmp(v->action, "fork") && strcmp(v->action, "exit"))
		return HW_PROFILE_SAME;
	*out = *v;
	out->slim = 1;
	return HW_PROFILE_SHIP;
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

int hw_profile__net(struct hw_agent *a, const struct hw_net_view *v, struct hw_net_view *out)
{
	int lo = v->addr->protocol != IPPROTO_UDP && hw_addr__loopback_pair(v->addr);

	*out = *v;
	out->slim = 1;
	if (!strcmp(v->action, "disconnect")) {
		if (lo) {
			count(a, v);
			return HW_PROFILE_NONE;
		}
		out->action = "connection_closed";
	} else if (!strcmp(v->action, "connection_attempted")) {
		if (lo && v->error)
			count(a, v);
		if (lo || (!v->error && !live(a, v)))
			return HW_PROFILE_NONE;
	} else if (!strcmp(v->action, "connection_accepted")) {
		if (lo || !live(a, v))
			return HW_PROFILE_NONE;
	}
	return HW_PROFILE_SHIP;
}

int hw_profile__summary_due(struct hw_agent *a, __u64 ts_ns, int end)
{
	if (!a->fleet.next_flush_ns || (!end && ts_ns < a->fleet.next_flush_ns))
		return 0;
	a->fleet.next_flush_ns = 0;
	return 1;
}

void hw_profile__free(struct hw_agent *a)
{
	hw_loopsum__free(&a->fleet.loopsum);
}
