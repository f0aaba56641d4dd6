/* Remote-access sessions in the agent: the session table (model/sessions.c pairs accept, fork,
 * libpam calls, close and a desktop's exit, purely; a local connection's two ends pair xrdp
 * with its session manager) is given the agent's users and the remote-access services,
 * and every change it decides (a login, a failure, a logout) becomes a session view emitted
 * here. Also the libpam records, and the sessions that began before the agent (the start-up
 * snapshot), whose processes are marked by audit sessionid or by lineage. */
#include <string.h>

#include "agent/agent_int.h"

static const char *user_name(void *ctx, __u32 uid)
{
	return hw_users__name(ctx, uid);
}

static void session_view(struct hw_agent *a, const char *action, __u64 ts_ns,
			 const struct hw_session *x, const char *outcome, const char *reason,
			 const struct hw_process *p, const struct hw_session_bytes *b)
{
	struct hw_session_view v = {
	    .action = action,
	    .ts_ns = ts_ns,
	    .s = x,
	    .outcome = outcome,
	    .reason = reason,
	    .p = p,
	    .bytes = b,
	};

	hw_emit__session(a, &v);
}

/* A change the pairing decided: the process it names is the libpam caller, else the handler. */
static void on_change(const struct hw_session_change *c, void *ctx)
{
	struct hw_agent *a = ctx;
	const struct hw_process *p = c->p;

	if (!p)
		p = hw_proc_table__get(a->procs, c->x->handler_pid, c->x->handler_start_ns);
	session_view(a, c->action, c->ts_ns, c->x, c->outcome, c->reason, p, c->bytes);
}

struct hw_sessions *hw_agent__sessions_new(struct hw_agent *a)
{
	struct hw_sessions_opts o = {
	    .services = &a->cfg->remote_services,
	    .user_name = user_name,
	    .user_ctx = a->users,
	    .change = on_change,
	    .change_ctx = a,
	    .max_ended = 4096,
	};

	return hw_sessions__new(&a->host, &o);
}

/* An accepted connection: the relay of the session whose handler made it (xrdp's connection
 * to xrdp-sesman), else a session of its service. */
void hw_agent__session_accept(struct hw_agent *a, const struct hw_net_event *e,
			      const struct hw_process *listener)
{
	if (hw_sessions__relay(a->sessions, e->cookie, &e->addr, e->netns, listener))
		return;
	hw_sessions__accept(a->sessions, e->cookie, &e->addr,
			    e->start_ns ? e->start_ns : e->hdr.ts_ns, listener);
}

void hw_agent__pam_record(struct hw_agent *a, const struct hw_pam_event *e)
{
	struct hw_process *p = hw_proc_table__upsert(a->procs, &e->proc);

	if (p)
		hw_sessions__pam(a->sessions, p, e);
}

/* The start-up snapshot: a service process holding an accepted connection is the handler of a
 * session that began before the agent (hw_sessions__snapshot decides what it is). */
struct snap_ctx {
	struct hw_agent *a;
	size_t found;
};

static void snap_conn(struct hw_conn *c, void *ctx)
{
	struct snap_ctx *s = ctx;
	struct hw_agent *a = s->a;
	struct hw_process *p;

	if (c->direction != HW_DIR_INGRESS || !c->owner_pid)
		return;
	p = hw_proc_table__live(a->procs, c->owner_pid);
	if (!p)
		return;
	if (hw_sessions__snapshot(a->sessions, c->cookie, &c->addr, p,
				  hw_proc_table__get(a->procs, p->k.ppid, p->k.parent_start_ns)))
		s->found++;
}

static void snap_mark(struct hw_process *p, void *ctx)
{
	struct hw_agent *a = ctx;
	struct hw_process *q = p;

	hw_sessions__mark(a->sessions, p);
	/* lineage: the nearest ancestor that has a session (services without loginuid) */
	for (int depth = 0; !p->session_id[0] && q && q->k.ppid && depth < 64; depth++) {
		q = hw_proc_table__get(a->procs, q->k.ppid, q->k.parent_start_ns);
		if (q && q->session_id[0])
			memcpy(p->session_id, q->session_id, sizeof(p->session_id));
	}
}

size_t hw_agent__snapshot_sessions(struct hw_agent *a)
{
	struct snap_ctx s = {.a = a};

	hw_conn_table__each(a->conns, snap_conn, &s);
	if (s.found)
		hw_proc_table__each(a->procs, snap_mark, a);
	return s.found;
}

static void existing(struct hw_session *x, void *ctx)
{
	struct hw_agent *a = ctx;

	if (x->state == HW_SESS_ENDED)
		return;
	session_view(a, "existing_session", hw_agent__now(), x, NULL, NULL,
		     hw_proc_table__get(a->procs, x->handler_pid, x->handler_start_ns), NULL);
}

void hw_agent__existing_sessions(struct hw_agent *a)
{
	hw_sessions__each(a->sessions, existing, a);
}
