/* agent-hijack (docs/rules.md): a process connects to the agent socket of a session that is
 * not its own. An ssh -A session's sshd binds SSH_AUTH_SOCK; whoever can connect to it (the
 * session's user, and root) can sign with the keys of the user's own machine for as long as
 * the session lasts, and log in wherever they open (T1563.001). Its own session's processes
 * use it; a process of another session, or of none, uses it only to borrow those keys.
 *
 * The fact names the socket's session (the sshd that bound it) and the caller's own; the rule
 * fires once per caller. Another user's agent is critical: root (or someone with the user's
 * uid but not the user's session) borrowing keys is the technique itself; the same user in
 * another of his sessions is high (a second login of the same account reaching for the first
 * one's agent is rare enough to look at, and a stolen account does exactly that). */
#include <stdio.h>
#include <string.h>

#include "detect/engine_int.h"
#include "lib/attack.h"

void hw_rules__agent_socket(struct hw_engine *e, const struct hw_fact *f, struct hw_eproc *p)
{
	struct hw_esession *victim = hw_engine__session(e, f->sock_session);
	struct hw_alert a = {0};
	char ch[256], whose[160], from[96];
	int other_user = f->uid != f->sock_owner_uid;

	if (!p || (p->flags & EP_FIRED_HIJACK))
		return;
	/* its own session's agent; or, when the socket's session is not known (its sshd was not
	 * seen as a session's), the same user's */
	if (f->sock_session[0] ? !strcmp(f->session_id, f->sock_session) : !other_user)
		return;
	p->flags |= EP_FIRED_HIJACK;
	a.rule_id = "agent-hijack";
	a.rule_name = "SSH agent of another session used";
	hw_alert__severity(&a, other_user ? HW_SEV_CRITICAL : HW_SEV_HIGH);
	hw_alert__technique(&a, "T1563.001");
	hw_rules__chain(e, &a, p, ch, sizeof(ch));
	a.entity_id = p->node.key;
	a.executable = p->exe;
	a.pid = f->pid;
	a.user = f->user;
	/* the session whose keys were borrowed: what the responder follows next */
	a.session_id = f->sock_session;
	if (victim) {
		a.service = victim->service;
		a.source_ip = victim->client.ip;
		a.source_port = victim->client.port;
	}
	if (f->sock_owner[0])
		a.related_ids[a.nrelated++] = f->sock_owner;
	if (f->session_id[0])
		a.related_ids[a.nrelated++] = f->session_id;
	if (victim && victim->user[0])
		snprintf(whose, sizeof(whose), "%s's ssh agent (session %s from %s)", victim->user,
			 f->sock_session, victim->client.ip[0] ? victim->client.ip : "?");
	else if (f->sock_session[0])
		snprintf(whose, sizeof(whose), "the ssh agent of session %s (uid %u)",
			 f->sock_session, f->sock_owner_uid);
	else
		snprintf(whose, sizeof(whose), "the ssh agent of uid %u", f->sock_owner_uid);
	if (f->session_id[0])
		snprintf(from, sizeof(from), "in session %s", f->session_id);
	else
		snprintf(from, sizeof(from), "outside any remote session");
	snprintf(a.message, sizeof(a.message),
		 "%s (pid %u, user %s, %s) connected to %s through %s: it can log in wherever "
		 "those keys open, as that user%s%s%s",
		 p->name[0] ? p->name : "a process", f->pid, f->user[0] ? f->user : "?", from,
		 whose, f->sock_path, ch[0] ? " (" : "", ch, ch[0] ? ")" : "");
	hw_engine__emit(e, &a, p->node.key);
}
