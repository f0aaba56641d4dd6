/* Session table and the pairing of its records (model/sessions.h): few entries, one per remote
 * connection to a service, so a list is enough. Pure: no I/O, no clock; what it decides goes to
 * the function it was made with. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/id.h"
#include "lib/str.h"
#include "model/sessions_int.h"

struct hw_sessions *hw_sessions__new(const struct hw_host *host, const struct hw_sessions_opts *o)
{
	struct hw_sessions *s = calloc(1, sizeof(*s));

	if (s) {
		s->host = host;
		s->o = *o;
	}
	return s;
}

void hw_sessions__free(struct hw_sessions *s)
{
	if (!s)
		return;
	for (struct hw_session *x = s->head, *n; x; x = n) {
		n = x->next;
		free(x);
	}
	free(s);
}

struct hw_session *hw_sessions__add(struct hw_sessions *s, __u64 cookie)
{
	struct hw_session *x = calloc(1, sizeof(*x));

	if (!x)
		return NULL;
	x->cookie = cookie;
	x->uid = (__u32)-1;
	x->audit_sid = (__u32)-1;
	hw_id__session(s->host->key, cookie, x->id);
	x->next = s->head;
	s->head = x;
	s->count++;
	return x;
}

struct hw_session *hw_sessions__by_cookie(struct hw_sessions *s, __u64 cookie)
{
	for (struct hw_session *x = s->head; x; x = x->next)
		if (x->cookie == cookie && x->state != HW_SESS_ENDED)
			return x;
	return NULL;
}

struct hw_session *hw_sessions__by_audit(struct hw_sessions *s, __u32 audit_sid)
{
	if (audit_sid == (__u32)-1)
		return NULL;
	for (struct hw_session *x = s->head; x; x = x->next)
		if (x->audit_sid == audit_sid)
			return x;
	return NULL;
}

struct hw_session *hw_sessions__by_handler(struct hw_sessions *s, __u32 pid, __u64 start_ns)
{
	for (struct hw_session *x = s->head; x; x = x->next)
		if (x->state != HW_SESS_PENDING && x->handler_pid == pid &&
		    x->handler_start_ns == start_ns)
			return x;
	return NULL;
}

struct hw_session *hw_sessions__pending_of(struct hw_sessions *s, __u32 listener_pid,
					   __u64 listener_start_ns)
{
	struct hw_session *oldest = NULL;

	for (struct hw_session *x = s->head; x; x = x->next)
		if (x->state == HW_SESS_PENDING && x->listener_pid == listener_pid &&
		    x->listener_start_ns == listener_start_ns)
			oldest = x; /* the list is newest first */
	return oldest;
}

struct hw_session *hw_sessions__by_id(struct hw_sessions *s, const char *id)
{
	if (!id || !id[0])
		return NULL;
	for (struct hw_session *x = s->head; x; x = x->next)
		if (!strcmp(x->id, id))
			return x;
	return NULL;
}

void hw_sessions__each(struct hw_sessions *s, void (*fn)(struct hw_session *x, void *ctx),
		       void *ctx)
{
	for (struct hw_session *x = s->head; x; x = x->next)
		fn(x, ctx);
}

void hw_sessions__end(struct hw_sessions *s, struct hw_session *x)
{
	struct hw_session **pp, *last_ended = NULL, **last_pp = NULL;

	if (x->state == HW_SESS_ENDED)
		return;
	x->state = HW_SESS_ENDED;
	s->ended++;
	if (s->ended <= s->o.max_ended)
		return;
	/* free the oldest ended session: the last ended one in the list */
	for (pp = &s->head; *pp; pp = &(*pp)->next) {
		if ((*pp)->state == HW_SESS_ENDED) {
			last_ended = *pp;
			last_pp = pp;
		}
	}
	if (last_ended) {
		*last_pp = last_ended->next;
		free(last_ended);
		s->ended--;
		s->count--;
	}
}

size_t hw_sessions__count(const struct hw_sessions *s)
{
	return s->count;
}

unsigned int hw_sessions__closing(const struct hw_sessions *s)
{
	return s->closing;
}

static const char *user_name(const struct hw_sessions *s, __u32 uid)
{
	return s->o.user_name ? s->o.user_name(s->o.user_ctx, uid) : NULL;
}

/* Says what happened (before x can be ended and freed). */
void hw_sessions__change(struct hw_sessions *s, const char *action, __u64 ts_ns,
			 const struct hw_session *x, const char *outcome, const char *reason,
			 const struct hw_process *p, const struct hw_session_bytes *b)
{
	struct hw_session_change c = {
	    .action = action,
	    .ts_ns = ts_ns,
	    .x = x,
	    .outcome = outcome,
	    .reason = reason,
	    .p = p,
	    .bytes = b,
	};

	if (s->o.change)
		s->o.change(&c, s->o.change_ctx);
}

int hw_sessions__is_service(const struct hw_sessions *s, const struct hw_process *p)
{
	const struct hw_str_list *l = s->o.services;

	if (!p || !p->exe || !l || !hw_process__exe_trusted(p))
		return 0;
	for (size_t i = 0; i < l->n; i++) {
		const char *want = l->v[i];

		if (want[0] == '/' ? !strcmp(want, p->exe)
				   : !strcmp(want, hw_str__base_name(p->exe)))
			return 1;
	}
	return 0;
}

void hw_sessions__accept(struct hw_sessions *s, __u64 cookie, const struct hw_sock_addr *addr,
			 __u64 start_ns, const struct hw_process *listener)
{
	struct hw_session *x;

	if (!hw_sessions__is_service(s, listener))
		return;
	x = hw_sessions__add(s, cookie);
	if (!x)
		return;
	x->addr = *addr;
	x->start_ns = start_ns;
	snprintf(x->service, sizeof(x->service), "%s", hw_str__base_name(listener->exe));
	x->listener_pid = listener->k.pid;
	x->listener_start_ns = listener->k.start_ns;
}

void hw_sessions__fork(struct hw_sessions *s, struct hw_process *child,
		       const struct hw_process *parent)
{
	struct hw_session *x;

	if (!parent)
		return;
	x = hw_sessions__desktop_due(s, parent);
	if (x) {
		/* the session manager forks the desktop of the login it just authenticated */
		x->desktop_pid = child->k.pid;
		x->desktop_start_ns = child->k.start_ns;
		x->relay_done = 1;
		child->flags |=
		    HW_PROC_DESKTOP; /* kept through an exec, not given to its children */
		memcpy(child->session_id, x->id, sizeof(child->session_id));
		return;
	}
	x = hw_sessions__pending_of(s, parent->k.pid, parent->k.start_ns);
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

void hw_sessions__mark(struct hw_sessions *s, struct hw_process *p)
{
	struct hw_session *x;

	/* once per process and audit sessionid: the lookup walks the session list, and this runs
	 * for every event. An id is only ever given inside a login, whose handler lineage already
	 * carries the session, so a miss need not be looked up again. */
	if (!p || p->k.sessionid == (__u32)-1 || p->k.sessionid == p->sid_checked ||
	    p->session_id[0])
		return;
	p->sid_checked = p->k.sessionid;
	x = hw_sessions__by_audit(s, p->k.sessionid);
	if (x)
		memcpy(p->session_id, x->id, sizeof(p->session_id));
}

/* What the kernel confirms of a login by root-run service process p (its executable is
 * trusted: hw_sessions__is_service): pam_loginuid set p's audit loginuid, and it is the uid of
 * the user PAM was asked for. The user then comes from the kernel. Without a loginuid (a PAM
 * stack without pam_loginuid, e.g. xrdp's) the login is reported unverified with the user PAM
 * named. */
static void verify_login(struct hw_sessions *s, struct hw_session *x, const struct hw_process *p,
			 const struct hw_session *relay)
{
	const char *n;

	x->verified = 0;
	x->audit_sid = p->k.sessionid;
	x->uid = p->k.loginuid;
	/* a desktop process keeps the audit ids its session manager was started with unless
	 * pam_loginuid set new ones: inherited ids name whoever started the service, and its
	 * audit session is not this login's */
	if (relay && p->k.sessionid == x->relay_audit_sid) {
		x->audit_sid = (__u32)-1;
		x->uid = (__u32)-1;
		x->unverified = "no audit loginuid: the service's PAM stack has no pam_loginuid";
		return;
	}
	if (p->k.loginuid == (__u32)-1) {
		x->unverified = "no audit loginuid: the service's PAM stack has no pam_loginuid";
		return;
	}
	n = user_name(s, p->k.loginuid);
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

static void end_closing(struct hw_sessions *s, struct hw_session *x)
{
	s->closing--;
	hw_sessions__end(s, x);
}

void hw_sessions__pam(struct hw_sessions *s, struct hw_process *p, const struct hw_pam_event *e)
{
	struct hw_session *x, *relay;

	hw_sessions__mark(s, p);
	x = hw_sessions__by_id(s, p->session_id);
	/* a session manager authenticates in its own process, outside any session */
	relay = !x ? hw_sessions__relay_of(s, p) : x->relay_pid ? x : NULL;
	if (!x)
		x = relay;
	/* PAM inside a session already logged in (sudo, su) is not the login */
	if (!x || (x->state != HW_SESS_HANDLED && x->state != HW_SESS_CLOSING))
		return;
	/* closed meanwhile: only a failure returned before the close can still say why; xrdp
	 * logs in after its client left (the session outlives the connection) */
	if (x->state == HW_SESS_CLOSING && !relay &&
	    (e->op != HW_PAM_AUTH || e->ret == 0 || e->hdr.ts_ns > x->closed_ns))
		return;
	/* the session manager's process speaks for the session only until it decided */
	if (relay && !x->desktop_pid && !hw_sessions__same(p, x->relay_pid, x->relay_start_ns))
		return;
	if (relay && x->desktop_pid && !hw_sessions__same(p, x->desktop_pid, x->desktop_start_ns))
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
		x->relay_done = 1;
		snprintf(x->auth_method, sizeof(x->auth_method), "password");
		hw_sessions__change(s, "user_login", e->hdr.ts_ns, x, "failure",
				    "authentication failed", p, NULL);
		if (x->state == HW_SESS_CLOSING)
			end_closing(s, x);
		break;
	case HW_PAM_OPEN:
		if (e->ret != 0)
			break;
		/* a service process that is not root cannot log anyone in: what it tells libpam
		 * (pam_start's user) is its own choice, not a login */
		if (p->k.uid != 0 || p->k.euid != 0) {
			x->verified = 0;
			x->unverified =
			    "pam_open_session in a service process that does not run as "
			    "root";
			x->failure_reported = 1;
			hw_sessions__change(s, "user_login", e->hdr.ts_ns, x, "unknown",
					    "not a login the kernel confirms", p, NULL);
			break;
		}
		if (x->state == HW_SESS_CLOSING) { /* the session outlives its connection */
			s->closing--;
			x->conn_closed = 1;
		}
		x->state = HW_SESS_ACTIVE;
		x->login_ns = e->hdr.ts_ns;
		verify_login(s, x, p, relay);
		/* publickey (and other methods sshd checks itself) never call pam_authenticate */
		snprintf(x->auth_method, sizeof(x->auth_method), "%s",
			 x->password_ok ? "password" : "publickey");
		hw_sessions__change(s, "user_login", e->hdr.ts_ns, x, "success", NULL, p, NULL);
		break;
	default:
		break;
	}
}

void hw_sessions__close(struct hw_sessions *s, __u64 cookie, __u64 ts_ns,
			const struct hw_session_bytes *b)
{
	struct hw_session *x = hw_sessions__by_cookie(s, cookie);

	if (!x) {
		x = hw_sessions__by_relay(s, cookie);
		if (x)
			x->relay_closed_ns = ts_ns;
		return;
	}
	if (x->state == HW_SESS_CLOSING || x->conn_closed)
		return;
	if (x->state == HW_SESS_ACTIVE && x->desktop_pid && !x->reattached) {
		/* xrdp: the desktop goes on without its client; its exit is the logout */
		x->conn_closed = 1;
		return;
	}
	if (x->state == HW_SESS_ACTIVE) {
		hw_sessions__change(s, "user_logout", ts_ns, x, "success", NULL, NULL, b);
		hw_sessions__end(s, x);
		return;
	}
	if (x->failure_reported) {
		hw_sessions__end(s, x);
		return;
	}
	x->state = HW_SESS_CLOSING;
	s->closing++;
	x->closed_ns = ts_ns;
	x->closed_from_client = b->from_client;
	x->closed_to_client = b->to_client;
	x->closed_by = b->closed_by;
}

void hw_sessions__settle(struct hw_sessions *s, __u64 now_ns, int all)
{
	struct hw_session *x, *next;

	if (!s->closing)
		return;
	for (x = s->head; x && s->closing; x = next) {
		struct hw_session_bytes b;

		next = x->next;
		if (x->state != HW_SESS_CLOSING ||
		    (!all && (now_ns < x->closed_ns + HW_SESS_CLOSE_GRACE_NS ||
			      hw_sessions__relay_pending(x, now_ns))))
			continue;
		b.from_client = x->closed_from_client;
		b.to_client = x->closed_to_client;
		b.closed_by = x->closed_by;
		if (!x->failure_reported && x->password_ok)
			hw_sessions__change(s, "user_login", x->closed_ns, x, "unknown",
					    "the password was accepted, and no session was opened",
					    NULL, &b);
		else if (!x->failure_reported)
			hw_sessions__change(s, "user_login", x->closed_ns, x, "failure",
					    "closed before login", NULL, &b);
		end_closing(s, x);
		/* ending x may have freed the oldest ended session, x or one after it: again from
		 * the head (few sessions close at once; the ended ones are passed over) */
		next = s->head;
	}
}

struct hw_session *hw_sessions__snapshot(struct hw_sessions *s, __u64 cookie,
					 const struct hw_sock_addr *addr, struct hw_process *p,
					 const struct hw_process *parent)
{
	struct hw_session *x;

	if (!hw_sessions__is_service(s, p) || hw_sessions__by_cookie(s, cookie))
		return NULL;
	x = hw_sessions__add(s, cookie);
	if (!x)
		return NULL;
	x->addr = *addr;
	x->start_ns = p->k.start_ns; /* the handler was forked for this connection */
	snprintf(x->service, sizeof(x->service), "%s", hw_str__base_name(p->exe));
	x->handler_pid = p->k.pid;
	x->handler_start_ns = p->k.start_ns;
	x->state = HW_SESS_HANDLED;
	memcpy(p->session_id, x->id, sizeof(p->session_id));
	if (p->k.sessionid != (__u32)-1) {
		const char *n = user_name(s, p->k.loginuid);

		x->state = HW_SESS_ACTIVE;
		x->audit_sid = p->k.sessionid;
		x->uid = p->k.loginuid;
		x->login_ns = p->k.start_ns;
		if (n)
			snprintf(x->user, sizeof(x->user), "%s", n);
		/* the kernel set the loginuid, and the login runs under a root service process
		 * (sshd's per-user process is the child of its root monitor) */
		x->verified =
		    p->k.loginuid != (__u32)-1 &&
		    ((p->k.uid == 0 && p->k.euid == 0) ||
		     (parent && parent->k.uid == 0 && hw_sessions__is_service(s, parent)));
		x->unverified =
		    x->verified ? NULL : "the login is not under a root service process";
	} else {
		x->unverified = "no audit loginuid: the service's PAM stack has no pam_loginuid";
	}
	return x;
}
