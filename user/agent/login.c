/* Remote-access sessions over the agent's events (model/sessions.h says what a session is).
 * The accept of a service process opens one, the service's next fork becomes its handler, the
 * libpam calls of the handler's lineage say who tried, how, and when the login completed, and
 * the close of the connection ends it. Every process is marked with its session: by the audit
 * sessionid pam_loginuid gave the login, else by lineage from the handler. */
#include <stdio.h>
#include <string.h>

#include "agent_int.h"
#include "output/ecs.h"

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

/* A process of a remote-access service (detect.remote_services: names or absolute paths). */
int hw_agent__is_service(const struct hw_agent *a, const struct hw_process *p)
{
	const struct hw_str_list *l = &a->cfg->remote_services;

	/* only a root-owned program in root-owned directories: a copy named sshd in a directory
	 * a user can write is any other program (and its PAM calls are no login) */
	if (!p || !p->exe || !hw_process__exe_trusted(p))
		return 0;
	for (size_t i = 0; i < l->n; i++) {
		const char *want = l->v[i];

		if (want[0] == '/' ? !strcmp(want, p->exe) : !strcmp(want, base_name(p->exe)))
			return 1;
	}
	return 0;
}

void hw_agent__emit_session(struct hw_agent *a, const char *action, __u64 ts_ns,
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

	HW_AGENT_EMIT(a, session, &v);
}

void hw_agent__session_accept(struct hw_agent *a, const struct hw_net_event *e,
			      const struct hw_process *listener)
{
	struct hw_session *x;

	if (!hw_agent__is_service(a, listener))
		return;
	x = hw_sessions__add(a->sessions, e->cookie);
	if (!x)
		return;
	x->addr = e->addr;
	x->start_ns = e->start_ns ? e->start_ns : e->hdr.ts_ns;
	snprintf(x->service, sizeof(x->service), "%s", base_name(listener->exe));
	x->listener_pid = listener->k.pid;
	x->listener_start_ns = listener->k.start_ns;
}

void hw_agent__session_fork(struct hw_agent *a, struct hw_process *child,
			    const struct hw_process *parent)
{
	struct hw_session *x;

	if (!parent)
		return;
	x = hw_sessions__pending_of(a->sessions, parent->k.pid, parent->k.start_ns);
	if (x) {
		/* accept, then fork: the child handles the connection just accepted */
		x->handler_pid = child->k.pid;
		x->handler_start_ns = child->k.start_ns;
		x->state = HW_SESS_HANDLED;
		memcpy(child->session_id, x->id, sizeof(child->session_id));
		return;
	}
	if (parent->session_id[0] && !child->session_id[0])
		memcpy(child->session_id, parent->session_id, sizeof(child->session_id));
}

void hw_agent__session_mark(struct hw_agent *a, struct hw_process *p)
{
	struct hw_session *x;

	/* once per process and audit sessionid: the lookup walks the session list, and this runs
	 * for every event. An id is only ever given inside a login, whose handler lineage already
	 * carries the session, so a miss need not be looked up again. */
	if (!p || p->k.sessionid == (__u32)-1 || p->k.sessionid == p->sid_checked ||
	    p->session_id[0])
		return;
	p->sid_checked = p->k.sessionid;
	x = hw_sessions__by_audit(a->sessions, p->k.sessionid);
	if (x)
		memcpy(p->session_id, x->id, sizeof(p->session_id));
}

/* What the kernel confirms of a login by root-run service process p (its executable is
 * trusted: hw_agent__is_service): pam_loginuid set p's audit loginuid, and it is the uid of the
 * user PAM was asked for. The user then comes from the kernel. Without a loginuid (a PAM stack
 * without pam_loginuid, e.g. xrdp's) the login is reported unverified with the user PAM named. */
static void verify_login(struct hw_agent *a, struct hw_session *x, const struct hw_process *p)
{
	const char *n;

	x->verified = 0;
	x->audit_sid = p->k.sessionid;
	x->uid = p->k.loginuid;
	if (p->k.loginuid == (__u32)-1) {
		x->unverified = "no audit loginuid: the service's PAM stack has no pam_loginuid";
		return;
	}
	n = hw_users__name(a->users, p->k.loginuid);
	if (x->user[0] && (!n || strcmp(n, x->user))) {
		x->unverified = "the audit loginuid is not the user PAM was asked for";
		if (n)
			snprintf(x->user, sizeof(x->user), "%s", n);
		return;
	}
	if (n)
		snprintf(x->user, sizeof(x->user), "%s", n);
	x->verified = 1;
	x->unverified = NULL;
}

void hw_agent__pam_record(struct hw_agent *a, const struct hw_pam_event *e)
{
	struct hw_process *p = hw_proc_table__upsert(a->procs, &e->proc);
	struct hw_session *x;

	if (!p)
		return;
	hw_agent__session_mark(a, p);
	x = hw_sessions__by_id(a->sessions, p->session_id);
	/* PAM inside a session already logged in (sudo, su) is not the login */
	if (!x || (x->state != HW_SESS_HANDLED && x->state != HW_SESS_CLOSING))
		return;
	/* closed meanwhile: only a failure returned before the close can still say why */
	if (x->state == HW_SESS_CLOSING &&
	    (e->op != HW_PAM_AUTH || e->ret == 0 || e->hdr.ts_ns > x->closed_ns))
		return;
	switch (e->op) {
	case HW_PAM_START:
		if (e->user[0])
			snprintf(x->user, sizeof(x->user), "%s", e->user);
		break;
	case HW_PAM_AUTH:
		if (e->ret == 0) {
			x->password_ok = 1;
			break;
		}
		x->auth_failures++;
		x->failure_reported = 1;
		snprintf(x->auth_method, sizeof(x->auth_method), "password");
		hw_agent__emit_session(a, "user_login", e->hdr.ts_ns, x, "failure",
				       "authentication failed", p, NULL);
		if (x->state == HW_SESS_CLOSING) {
			a->closing_sessions--;
			hw_sessions__end(a->sessions, x);
		}
		break;
	case HW_PAM_OPEN:
		if (e->ret != 0)
			break;
		/* a service process that is not root cannot log anyone in: what it tells libpam
		 * (pam_start's user) is its own choice, not a login */
		if (p->k.uid != 0 || p->k.euid != 0) {
			x->verified = 0;
			x->unverified = "pam_open_session in a service process that does not run as "
					"root";
			x->failure_reported = 1;
			hw_agent__emit_session(a, "user_login", e->hdr.ts_ns, x, "unknown",
					       "not a login the kernel confirms", p, NULL);
			break;
		}
		x->state = HW_SESS_ACTIVE;
		x->login_ns = e->hdr.ts_ns;
		verify_login(a, x, p);
		/* publickey (and other methods sshd checks itself) never call pam_authenticate */
		snprintf(x->auth_method, sizeof(x->auth_method), "%s",
			 x->password_ok ? "password" : "publickey");
		hw_agent__emit_session(a, "user_login", e->hdr.ts_ns, x, "success", NULL, p, NULL);
		break;
	default:
		break;
	}
}

/* How long a session closed before any login waits for a libpam record that says why: a
 * failed pam_authenticate reported by the kernel before the close may reach the agent after it
 * (the records of several CPUs, a reader that fell behind). Its kernel time, not its arrival,
 * decides: a failure returned before the close is "authentication failed". */
#define HW_CLOSE_GRACE_NS 2000000000ULL

static void end_closing(struct hw_agent *a, struct hw_session *x)
{
	struct hw_session_bytes b = {
		.from_client = x->closed_from_client,
		.to_client = x->closed_to_client,
		.closed_by = x->closed_by,
	};
	struct hw_process *p = hw_proc_table__get(a->procs, x->handler_pid, x->handler_start_ns);

	if (!x->failure_reported)
		hw_agent__emit_session(a, "user_login", x->closed_ns, x, "failure",
				       "closed before login", p, &b);
	a->closing_sessions--;
	hw_sessions__end(a->sessions, x);
}

void hw_agent__session_close(struct hw_agent *a, const struct hw_net_event *e,
			     const struct hw_session_bytes *b)
{
	struct hw_session *x = hw_sessions__by_cookie(a->sessions, e->cookie);
	struct hw_process *p;

	if (!x || x->state == HW_SESS_CLOSING)
		return;
	p = hw_proc_table__get(a->procs, x->handler_pid, x->handler_start_ns);
	if (x->state == HW_SESS_ACTIVE) {
		hw_agent__emit_session(a, "user_logout", e->hdr.ts_ns, x, "success", NULL, p, b);
		hw_sessions__end(a->sessions, x);
		return;
	}
	if (x->failure_reported) {
		hw_sessions__end(a->sessions, x);
		return;
	}
	x->state = HW_SESS_CLOSING;
	a->closing_sessions++;
	x->closed_ns = e->hdr.ts_ns;
	x->closed_from_client = b->from_client;
	x->closed_to_client = b->to_client;
	x->closed_by = b->closed_by;
}

struct settle_ctx {
	struct hw_agent *a;
	__u64 now_ns;
	int all;
};

static void settle_one(struct hw_session *x, void *ctx)
{
	struct settle_ctx *c = ctx;

	if (x->state == HW_SESS_CLOSING &&
	    (c->all || c->now_ns >= x->closed_ns + HW_CLOSE_GRACE_NS))
		end_closing(c->a, x);
}

void hw_agent__settle_sessions(struct hw_agent *a, __u64 now_ns, int all)
{
	struct settle_ctx c = {.a = a, .now_ns = now_ns, .all = all};

	if (!a->closing_sessions)
		return;
	hw_sessions__each(a->sessions, settle_one, &c);
}

/* The start-up snapshot: a service process holding an accepted connection is the handler
 * of a session that began before the agent; its audit sessionid, if pam_loginuid set one,
 * says it is logged in. */
struct snap_ctx {
	struct hw_agent *a;
	size_t found;
};

static void snap_conn(struct hw_conn *c, void *ctx)
{
	struct snap_ctx *s = ctx;
	struct hw_agent *a = s->a;
	struct hw_process *p;
	struct hw_session *x;

	if (c->direction != HW_DIR_INGRESS || !c->owner_pid)
		return;
	p = hw_proc_table__live(a->procs, c->owner_pid);
	if (!hw_agent__is_service(a, p) || hw_sessions__by_cookie(a->sessions, c->cookie))
		return;
	x = hw_sessions__add(a->sessions, c->cookie);
	if (!x)
		return;
	x->addr = c->addr;
	x->start_ns = p->k.start_ns; /* the handler was forked for this connection */
	snprintf(x->service, sizeof(x->service), "%s", base_name(p->exe));
	x->handler_pid = p->k.pid;
	x->handler_start_ns = p->k.start_ns;
	x->state = HW_SESS_HANDLED;
	memcpy(p->session_id, x->id, sizeof(p->session_id));
	if (p->k.sessionid != (__u32)-1) {
		const char *n = hw_users__name(a->users, p->k.loginuid);
		struct hw_process *parent = hw_proc_table__get(a->procs, p->k.ppid,
								p->k.parent_start_ns);

		x->state = HW_SESS_ACTIVE;
		x->audit_sid = p->k.sessionid;
		x->uid = p->k.loginuid;
		x->login_ns = p->k.start_ns;
		if (n)
			snprintf(x->user, sizeof(x->user), "%s", n);
		/* the kernel set the loginuid, and the login runs under a root service process
		 * (sshd's per-user process is the child of its root monitor) */
		x->verified = p->k.loginuid != (__u32)-1 &&
			      ((p->k.uid == 0 && p->k.euid == 0) ||
			       (parent && parent->k.uid == 0 && hw_agent__is_service(a, parent)));
		x->unverified = x->verified ? NULL : "the login is not under a root service process";
	} else {
		x->unverified = "no audit loginuid: the service's PAM stack has no pam_loginuid";
	}
	s->found++;
}

static void snap_mark(struct hw_process *p, void *ctx)
{
	struct hw_agent *a = ctx;
	struct hw_process *q = p;

	hw_agent__session_mark(a, p);
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

static void emit_existing(struct hw_session *x, void *ctx)
{
	struct hw_agent *a = ctx;

	if (x->state == HW_SESS_ENDED)
		return;
	hw_agent__emit_session(a, "existing_session", hw_agent__now(), x, NULL, NULL,
			       hw_proc_table__get(a->procs, x->handler_pid, x->handler_start_ns),
			       NULL);
}

void hw_agent__emit_sessions(struct hw_agent *a)
{
	hw_sessions__each(a->sessions, emit_existing, a);
}
