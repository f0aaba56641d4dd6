/* xrdp's two-service login (model/sessions.h): the handler's loopback connection to
 * xrdp-sesman paired from its two ends (the relay), the session manager's process that
 * authenticates on it, the desktop it forks, and the desktop's exit as the logout. Pure, as
 * the rest of the table. */
#include <string.h>

#include "model/sessions_int.h"

int hw_sessions__same(const struct hw_process *p, __u32 pid, __u64 start_ns)
{
	return p && pid && p->k.pid == pid && p->k.start_ns == start_ns;
}

/* The oldest session whose relay p serves and whose authentication is not decided yet: the
 * session manager answers its connections in the order it accepted them, one at a time. */
struct hw_session *hw_sessions__relay_of(struct hw_sessions *s, const struct hw_process *p)
{
	struct hw_session *oldest = NULL;

	for (struct hw_session *x = s->head; x; x = x->next)
		if ((x->state == HW_SESS_HANDLED || x->state == HW_SESS_CLOSING) &&
		    !x->relay_done && hw_sessions__same(p, x->relay_pid, x->relay_start_ns))
			oldest = x;
	return oldest;
}

/* The session whose password parent, its session manager, accepted last: parent's next fork
 * is its desktop. */
struct hw_session *hw_sessions__desktop_due(struct hw_sessions *s, const struct hw_process *parent)
{
	struct hw_session *x = hw_sessions__relay_of(s, parent);

	return x && x->password_ok && !x->desktop_pid ? x : NULL;
}

static int authenticating(const struct hw_session *x)
{
	return (x->state == HW_SESS_HANDLED || x->state == HW_SESS_CLOSING) && !x->desktop_pid;
}

void hw_sessions__connect(struct hw_sessions *s, const struct hw_process *p,
			  const struct hw_sock_addr *addr, __u32 netns)
{
	struct hw_session *x;

	/* a handler runs its service's program: the processes of a logged-in session (a build,
	 * a connect storm) pass here without a walk of the session list */
	if (!p || !p->session_id[0] || !hw_sessions__is_service(s, p))
		return;
	x = hw_sessions__by_id(s, p->session_id);
	/* only the handler itself, before any login: a process of a logged-in session talking to
	 * a local service is that session's own business (sesrun, a nested login) */
	if (!x || !hw_sessions__same(p, x->handler_pid, x->handler_start_ns) || !authenticating(x))
		return;
	x->handler_conn = *addr;
	x->handler_netns = netns;
	x->handler_connected = 1;
}

/* a and b are the two ends of one connection */
static int ends_match(const struct hw_sock_addr *a, const struct hw_sock_addr *b)
{
	return a->family == b->family && a->sport == b->dport && a->dport == b->sport &&
	       !memcmp(a->saddr, b->daddr, sizeof(a->saddr)) &&
	       !memcmp(a->daddr, b->saddr, sizeof(a->daddr));
}

int hw_sessions__relay(struct hw_sessions *s, __u64 cookie, const struct hw_sock_addr *addr,
		       __u32 netns, const struct hw_process *listener)
{
	struct hw_session *x;

	if (!hw_sessions__is_service(s, listener))
		return 0;
	for (x = s->head; x; x = x->next)
		if (x->handler_connected && x->handler_netns == netns && authenticating(x) &&
		    ends_match(&x->handler_conn, addr))
			break;
	if (!x)
		return 0;
	x->handler_connected = 0;
	/* a new relay (the login screen's next try) replaces a decided one */
	x->relay_cookie = cookie;
	x->relay_pid = listener->k.pid;
	x->relay_start_ns = listener->k.start_ns;
	x->relay_audit_sid = listener->k.sessionid;
	x->relay_closed_ns = 0;
	x->relay_done = 0;
	x->password_ok = 0;
	return 1;
}

struct hw_session *hw_sessions__by_relay(struct hw_sessions *s, __u64 cookie)
{
	for (struct hw_session *x = s->head; x; x = x->next)
		if (x->relay_pid && x->relay_cookie == cookie && x->state != HW_SESS_ENDED)
			return x;
	return NULL;
}

void hw_sessions__exit(struct hw_sessions *s, const struct hw_process *p, __u64 ts_ns)
{
	struct hw_session *x;

	/* marked at its fork, whatever it executed since (a reconnection's script): the
	 * session's other processes (every exit of an exec storm in it) pass here without a walk
	 * of the session list */
	if (!p || !(p->flags & HW_PROC_DESKTOP) || !p->session_id[0])
		return;
	x = hw_sessions__by_id(s, p->session_id);
	if (!x || x->state == HW_SESS_ENDED ||
	    !hw_sessions__same(p, x->desktop_pid, x->desktop_start_ns))
		return;
	if (x->state == HW_SESS_ACTIVE) {
		hw_sessions__change(s, "user_logout", ts_ns, x, "success", NULL, p, NULL);
		hw_sessions__end(s, x);
		return;
	}
	/* the desktop ended without opening a session */
	x->desktop_ended = 1;
	if (!x->password_ok || x->failure_reported)
		return; /* no password accepted yet: its connection's close decides */
	/* The password was accepted and no session opened: a reconnection to the user's running
	 * desktop (sesman ran reconnectwm.sh), or sesman refused to start one. Said now, not at
	 * the connection's close: the reconnected client may stay for hours. The exit comes
	 * after any libpam record of the same process (one ring, in order). */
	x->relay_done = 1;
	x->login_ns = ts_ns; /* its hopwatch.session.login, in this event and the logout */
	hw_sessions__change(s, "user_login", ts_ns, x, "unknown",
			    "the password was accepted, and no session was opened", NULL, NULL);
	if (x->state == HW_SESS_CLOSING) {
		/* its client left first: over at once, so nothing holds it open */
		struct hw_session_bytes b = {.from_client = x->closed_from_client,
					     .to_client = x->closed_to_client,
					     .closed_by = x->closed_by};

		hw_sessions__change(s, "user_logout", ts_ns, x, "success", NULL, NULL, &b);
		s->closing--;
		hw_sessions__end(s, x);
		return;
	}
	/* open while its client stays: its connection's close is its logout */
	x->state = HW_SESS_ACTIVE;
	x->reattached = 1;
}

/* A session whose relay may still bring libpam records: its authentication is undecided and
 * its session manager's connection open, or closed less than the grace ago. */
int hw_sessions__relay_pending(const struct hw_session *x, __u64 now_ns)
{
	if (!x->relay_pid || x->failure_reported)
		return 0;
	if (x->desktop_pid) /* forked: it opens the PAM session or ends */
		return !x->desktop_ended;
	return !x->relay_closed_ns || now_ns < x->relay_closed_ns + HW_SESS_CLOSE_GRACE_NS;
}
