/* Network records -> connection table -> views (output/event.h) -> emit.c. The kernel names
 * the owner of a connection by pid and start time when it could not read the process itself
 * (the close runs in softirq context); the process table turns that into the full process. An
 * accept and a close of a remote-access service's connection also open and end its session
 * (model/sessions.c; what that decides, login.c emits). */
#include <stdlib.h>
#include <string.h>

#include "agent/agent_int.h"

void hw_agent__net_names(struct hw_agent *a, struct hw_net_view *v)
{
	if (!v->p)
		return;
	v->user_name = hw_users__name(a->users, v->p->k.uid);
	v->euser_name =
	    v->p->k.euid == v->p->k.uid ? v->user_name : hw_users__name(a->users, v->p->k.euid);
}

static void emit_net(struct hw_agent *a, struct hw_net_view *v)
{
	hw_agent__net_names(a, v);
	hw_emit__net(a, v);
}

/* The kernel counts sequence numbers: an active open's SYN and an acknowledged FIN are one
 * byte each in bytes_acked, the peer's FIN one in bytes_received. Users want data bytes. */
void hw_tcp_data_bytes(const struct hw_net_event *e, __u8 direction, __u64 *sent, __u64 *recv)
{
	/* our FIN was acknowledged when it closed from these (TCP_FIN_WAIT2, TCP_CLOSING,
	 * TCP_LAST_ACK) */
	int fin_acked = e->oldstate == 5 || e->oldstate == 11 || e->oldstate == 9;
	__u64 s = e->bytes_sent, r = e->bytes_received;
	__u64 ctl = (direction == HW_DIR_EGRESS) + fin_acked;

	*sent = s >= ctl ? s - ctl : 0;
	*recv = r >= e->fin_received ? r - e->fin_received : 0;
}

static struct hw_process *owner_of(struct hw_agent *a, const struct hw_net_event *e)
{
	if (e->has_proc)
		return hw_proc_table__upsert(a->procs, &e->proc);
	if (e->proc.pid)
		return hw_proc_table__get(a->procs, e->proc.pid, e->proc.start_ns);
	return NULL;
}

void hw_conn__set_owner(struct hw_agent *a, struct hw_conn *c, const struct hw_process *p,
			__u32 pid, __u64 start_ns)
{
	c->owner_pid = p ? p->k.pid : pid;
	c->owner_start_ns = p ? p->k.start_ns : start_ns;
	free(c->owner_exe);
	c->owner_exe = p && p->exe ? strdup(p->exe) : NULL;
	if (p)
		memcpy(c->owner_entity_id, p->entity_id, sizeof(c->owner_entity_id));
	else if (pid && start_ns)
		hw_host__entity_id(&a->host, pid, start_ns, c->owner_entity_id);
	else
		c->owner_entity_id[0] = 0;
}

/* Starts following an established connection. */
static struct hw_conn *follow(struct hw_agent *a, const struct hw_net_event *e,
			      const struct hw_process *p)
{
	struct hw_conn *c = hw_conn_table__add(a->conns, e->cookie);

	if (!c) {
		a->counters.conn_table_full++;
		return NULL;
	}
	c->addr = e->addr;
	c->start_ns = e->start_ns ? e->start_ns : e->hdr.ts_ns;
	c->direction = e->direction;
	c->netns = e->netns;
	hw_conn__set_owner(a, c, p, e->proc.pid, e->proc.start_ns);
	c->last_report_ns = e->hdr.ts_ns;
	return c;
}

/* The connection's id: the one its table entry keeps (computed when it was added, the same
 * key and cookie), computed into buf for a connection the table does not have. */
static const char *conn_id(struct hw_agent *a, const struct hw_net_event *e,
			   const struct hw_conn *c, char buf[HW_ENTITY_ID_LEN])
{
	if (!e->cookie)
		return NULL;
	if (c)
		return c->id;
	hw_host__conn_id(&a->host, e->cookie, buf);
	return buf;
}

void hw_agent__net_record(struct hw_agent *a, const struct hw_net_event *e)
{
	struct hw_net_view v = {
	    .ts_ns = e->hdr.ts_ns,
	    .addr = &e->addr,
	    .owner_pid = e->proc.pid,
	    .start_ns = e->start_ns,
	    .error = e->error,
	    .netns = e->netns,
	    .direction = e->direction,
	};
	struct hw_conn *c;
	struct hw_process *owner;
	char id[HW_ENTITY_ID_LEN];

	owner = owner_of(a, e);
	hw_sessions__mark(a->sessions, owner);
	v.p = owner;
	switch (e->hdr.type) {
	case HW_EV_CONNECT:
		v.action = "connection_attempted";
		c = NULL;
		if (!e->error) {
			c = follow(a, e, v.p);
			hw_sessions__connect(a->sessions, v.p, &e->addr, e->netns);
		}
		v.conn_id = conn_id(a, e, c, id);
		break;
	case HW_EV_ACCEPT:
		v.action = "connection_accepted";
		c = follow(a, e, v.p);
		v.conn_id = conn_id(a, e, c, id);
		hw_agent__session_accept(a, e, v.p);
		break;
	case HW_EV_LISTEN:
		v.action = "listen";
		break;
	case HW_EV_UDP:
		v.action = "udp_flow";
		v.direction = HW_DIR_EGRESS;
		break;
	case HW_EV_CLOSE:
		v.action = "disconnect";
		v.have_bytes = 1;
		v.closed_by = e->closed_by;
		c = hw_conn_table__get(a->conns, e->cookie);
		v.conn_id = conn_id(a, e, c, id);
		if (c) {
			if (!v.p)
				v.p = hw_proc_table__get(a->procs, c->owner_pid, c->owner_start_ns);
			if (!v.owner_pid)
				v.owner_pid = c->owner_pid;
			if (c->owner_entity_id[0])
				v.owner_entity_id = c->owner_entity_id;
			v.owner_exe = c->owner_exe;
			if (!v.start_ns)
				v.start_ns = c->start_ns;
			if (!v.direction)
				v.direction = c->direction;
		}
		if (!v.direction)
			v.direction = HW_DIR_EGRESS; /* unknown: neither map nor table had it */
		hw_tcp_data_bytes(e, v.direction, &v.bytes_sent, &v.bytes_received);
		emit_net(a, &v);
		if (v.direction == HW_DIR_INGRESS) {
			struct hw_session_bytes b = {
			    .from_client = v.bytes_received,
			    .to_client = v.bytes_sent,
			    .closed_by = v.closed_by,
			};

			hw_sessions__close(a->sessions, e->cookie, e->hdr.ts_ns, &b);
		}
		if (c)
			hw_conn_table__remove(a->conns, e->cookie);
		return;
	default:
		return;
	}
	emit_net(a, &v);
}
