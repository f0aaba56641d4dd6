/* The xrdp pairing of model/sessions.c, fed directly: xrdp (user xrdp) accepts and forks its
 * handler, which connects to xrdp-sesman over loopback; sesman authenticates in its own
 * process, forks the desktop that opens the PAM session, and the desktop's exit is the logout.
 * Also what must not pair: an untrusted sesman, a connection that is not the handler's, the
 * audit ids the desktop merely inherited. */
#include <string.h>

#include "sessions_lab.h"
#include "test.h"

#define XRDP_UID 105

struct rdp {
	struct hw_process *xrdp, *handler, *sesman;
	struct hw_sock_addr to_sesman; /* the handler's end first */
};

/* xrdp (pid 200) accepts cookie from the client at t, forks handler pid, which connects to
 * sesman (pid 300, root) from port sport. */
static int rdp_conn(struct lab *l, struct rdp *r, __u64 cookie, __u32 pid, __u16 sport, __u64 t)
{
	struct hw_sock_addr a = sl_addr();

	a.sport = 3389;
	r->xrdp = sl_proc(l, 200, 1, XRDP_UID, "/usr/sbin/xrdp", 0);
	r->sesman = sl_proc(l, 300, 1, 0, "/usr/sbin/xrdp-sesman", 0);
	if (!r->xrdp || !r->sesman)
		return 0;
	hw_sessions__accept(l->s, cookie, &a, t, r->xrdp);
	r->handler = sl_proc(l, pid, 200, XRDP_UID, "/usr/sbin/xrdp", 0);
	if (!r->handler)
		return 0;
	hw_sessions__fork(l->s, r->handler, r->xrdp);
	memset(&r->to_sesman, 0, sizeof(r->to_sesman));
	r->to_sesman.family = 10;
	r->to_sesman.protocol = 6;
	r->to_sesman.saddr[15] = 1;
	r->to_sesman.daddr[15] = 1;
	r->to_sesman.sport = sport;
	r->to_sesman.dport = 3350;
	hw_sessions__connect(l->s, r->handler, &r->to_sesman, 77);
	return 1;
}

/* sesman's end of the handler's connection */
static struct hw_sock_addr accepted(const struct rdp *r)
{
	struct hw_sock_addr a = r->to_sesman;

	memcpy(a.saddr, r->to_sesman.daddr, sizeof(a.saddr));
	memcpy(a.daddr, r->to_sesman.saddr, sizeof(a.daddr));
	a.sport = r->to_sesman.dport;
	a.dport = r->to_sesman.sport;
	return a;
}

static int sesman_accepts(struct lab *l, struct rdp *r, __u64 cookie)
{
	struct hw_sock_addr a = accepted(r);

	return hw_sessions__relay(l->s, cookie, &a, 77, r->sesman);
}

TEST(sessions_xrdp_login_lives_until_the_desktop_ends)
{
	struct lab l;
	struct rdp r;
	struct hw_process *desktop, *wm;
	struct hw_session_bytes b = {.from_client = 1, .to_client = 2};
	const struct hw_session *x;

	if (!sl_init(&l, 16))
		return;
	if (!rdp_conn(&l, &r, 7, 201, 50000, 1 * SEC))
		goto out;
	CHECK_EQ(sesman_accepts(&l, &r, 8), 1);
	CHECK_EQ(hw_sessions__count(l.s), 1); /* the relay is no session of its own */
	sl_pam(&l, r.sesman, HW_PAM_START, 0, "alice", 2 * SEC);
	sl_pam(&l, r.sesman, HW_PAM_AUTH, 0, NULL, 3 * SEC);
	CHECK_EQ(l.n, 0);
	desktop = sl_proc(&l, 301, 300, 0, "/usr/sbin/xrdp-sesman", 0);
	if (!desktop)
		goto out;
	hw_sessions__fork(l.s, desktop, r.sesman);
	CHECK_STREQ(desktop->session_id, r.handler->session_id);
	CHECK_EQ(r.sesman->session_id[0], 0); /* sesman itself belongs to no session */
	sl_pam(&l, desktop, HW_PAM_OPEN, 0, NULL, 4 * SEC);
	if (!CHECK_EQ(l.n, 1))
		goto out;
	CHECK_STREQ(l.seen[0].action, "user_login");
	CHECK_STREQ(l.seen[0].outcome, "success");
	CHECK_STREQ(l.seen[0].user, "alice");
	CHECK_STREQ(l.seen[0].auth_method, "password");
	CHECK_EQ(l.seen[0].pid, 301);
	CHECK_EQ(l.seen[0].verified, 0);
	CHECK(strstr(l.seen[0].unverified, "pam_loginuid") != NULL);
	CHECK_STREQ(l.seen[0].id, r.handler->session_id);
	x = hw_sessions__by_id(l.s, r.handler->session_id);
	CHECK(x && !strcmp(x->service, "xrdp"));
	/* the window manager, forked by the desktop, is in the session by lineage */
	wm = sl_proc(&l, 302, 301, 1000, "/bin/bash", 0);
	if (!wm)
		goto out;
	hw_sessions__fork(l.s, wm, desktop);
	CHECK_STREQ(wm->session_id, r.handler->session_id);
	/* the client and the relay go: the desktop stays */
	hw_sessions__close(l.s, 8, 5 * SEC, &b);
	hw_sessions__close(l.s, 7, 6 * SEC, &b);
	hw_sessions__settle(l.s, 60 * SEC, 0);
	CHECK_EQ(l.n, 1);
	CHECK_EQ(hw_sessions__closing(l.s), 0);
	hw_sessions__exit(l.s, wm, 70 * SEC); /* not the desktop */
	CHECK_EQ(l.n, 1);
	hw_sessions__exit(l.s, desktop, 71 * SEC);
	if (!CHECK_EQ(l.n, 2))
		goto out;
	CHECK_STREQ(l.seen[1].action, "user_logout");
	CHECK_EQ(l.seen[1].ts_ns, 71 * SEC);
	CHECK_EQ(l.seen[1].pid, 301);
	CHECK_STREQ(l.seen[1].id, l.seen[0].id);
out:
	sl_free(&l);
}

TEST(sessions_xrdp_wrong_password_in_sesman)
{
	struct lab l;
	struct rdp r;

	if (!sl_init(&l, 16))
		return;
	if (!rdp_conn(&l, &r, 7, 201, 50000, 1 * SEC))
		goto out;
	CHECK_EQ(sesman_accepts(&l, &r, 8), 1);
	sl_pam(&l, r.sesman, HW_PAM_START, 0, "alice", 2 * SEC);
	sl_pam(&l, r.sesman, HW_PAM_AUTH, 7, NULL, 4 * SEC);
	if (!CHECK_EQ(l.n, 1))
		goto out;
	CHECK_STREQ(l.seen[0].outcome, "failure");
	CHECK_STREQ(l.seen[0].reason, "authentication failed");
	CHECK_STREQ(l.seen[0].user, "alice");
	CHECK_EQ(l.seen[0].pid, 300);
	/* decided: sesman's next libpam calls are not this session's */
	sl_pam(&l, r.sesman, HW_PAM_AUTH, 7, NULL, 5 * SEC);
	CHECK_EQ(l.n, 1);
out:
	sl_free(&l);
}

/* xfreerdp /auth-only leaves before xrdp even sent the credentials: the handler exits and
 * closes its end, sesman accepts afterwards and still logs the user in. */
TEST(sessions_xrdp_login_after_the_client_left)
{
	struct lab l;
	struct rdp r;
	struct hw_process *desktop;
	struct hw_session_bytes b = {0};

	if (!sl_init(&l, 16))
		return;
	if (!rdp_conn(&l, &r, 7, 201, 50000, 1 * SEC))
		goto out;
	hw_sessions__close(l.s, 7, 2 * SEC, &b);
	CHECK_EQ(sesman_accepts(&l, &r, 8), 1);
	hw_sessions__settle(l.s, 30 * SEC, 0); /* the relay is open: its answer may come */
	CHECK_EQ(l.n, 0);
	sl_pam(&l, r.sesman, HW_PAM_START, 0, "alice", 31 * SEC);
	sl_pam(&l, r.sesman, HW_PAM_AUTH, 0, NULL, 32 * SEC);
	desktop = sl_proc(&l, 301, 300, 0, "/usr/sbin/xrdp-sesman", 0);
	if (!desktop)
		goto out;
	hw_sessions__fork(l.s, desktop, r.sesman);
	hw_sessions__close(l.s, 8, 33 * SEC, &b);
	hw_sessions__settle(l.s, 60 * SEC, 0); /* the desktop was forked: it decides */
	CHECK_EQ(l.n, 0);
	sl_pam(&l, desktop, HW_PAM_OPEN, 0, NULL, 61 * SEC);
	if (!CHECK_EQ(l.n, 1))
		goto out;
	CHECK_STREQ(l.seen[0].outcome, "success");
	CHECK_EQ(hw_sessions__closing(l.s), 0);
	hw_sessions__settle(l.s, 0, 1);
	CHECK_EQ(l.n, 1);
	hw_sessions__exit(l.s, desktop, 90 * SEC);
	CHECK(l.n == 2 && !strcmp(l.seen[1].action, "user_logout"));
out:
	sl_free(&l);
}

/* The relay closed without any answer (sesman never read it): after the grace the session is
 * a connection that never logged in. */
TEST(sessions_xrdp_relay_closed_unanswered)
{
	struct lab l;
	struct rdp r;
	struct hw_session_bytes b = {0};

	if (!sl_init(&l, 16))
		return;
	if (!rdp_conn(&l, &r, 7, 201, 50000, 1 * SEC))
		goto out;
	CHECK_EQ(sesman_accepts(&l, &r, 8), 1);
	hw_sessions__close(l.s, 7, 2 * SEC, &b);
	hw_sessions__close(l.s, 8, 3 * SEC, &b);
	hw_sessions__settle(l.s, 3 * SEC + HW_SESS_CLOSE_GRACE_NS - 1, 0);
	CHECK_EQ(l.n, 0);
	hw_sessions__settle(l.s, 3 * SEC + HW_SESS_CLOSE_GRACE_NS, 0);
	if (CHECK_EQ(l.n, 1))
		CHECK_STREQ(l.seen[0].reason, "closed before login");
out:
	sl_free(&l);
}

/* Two clients at once: sesman answers in the order it accepted. */
TEST(sessions_xrdp_two_logins_in_accept_order)
{
	struct lab l;
	struct rdp r1, r2;
	char id1[HW_ENTITY_ID_LEN], id2[HW_ENTITY_ID_LEN];

	if (!sl_init(&l, 16))
		return;
	if (!rdp_conn(&l, &r1, 7, 201, 50000, 1 * SEC))
		goto out;
	memcpy(id1, r1.handler->session_id, sizeof(id1));
	if (!rdp_conn(&l, &r2, 9, 202, 50001, 2 * SEC))
		goto out;
	memcpy(id2, r2.handler->session_id, sizeof(id2));
	CHECK(strcmp(id1, id2) != 0);
	CHECK_EQ(sesman_accepts(&l, &r1, 8), 1);
	CHECK_EQ(sesman_accepts(&l, &r2, 10), 1);
	sl_pam(&l, r1.sesman, HW_PAM_START, 0, "alice", 3 * SEC);
	sl_pam(&l, r1.sesman, HW_PAM_AUTH, 7, NULL, 4 * SEC);
	sl_pam(&l, r1.sesman, HW_PAM_START, 0, "bob", 5 * SEC);
	sl_pam(&l, r1.sesman, HW_PAM_AUTH, 7, NULL, 6 * SEC);
	if (!CHECK_EQ(l.n, 2))
		goto out;
	CHECK(!strcmp(l.seen[0].id, id1) && !strcmp(l.seen[0].user, "alice"));
	CHECK(!strcmp(l.seen[1].id, id2) && !strcmp(l.seen[1].user, "bob"));
out:
	sl_free(&l);
}

/* What must not pair: an xrdp-sesman that is not the trusted file, a connection that is not
 * the handler's last one, a connection from another network namespace. */
TEST(sessions_xrdp_relay_needs_the_trusted_sesman_and_the_handlers_connection)
{
	struct lab l;
	struct rdp r;
	struct hw_process *fake, *child;
	struct hw_sock_addr a;

	if (!sl_init(&l, 16))
		return;
	if (!rdp_conn(&l, &r, 7, 201, 50000, 1 * SEC))
		goto out;
	fake = sl_proc(&l, 400, 1, 1000, "/home/m/xrdp-sesman", 1000);
	if (!fake)
		goto out;
	a = accepted(&r);
	CHECK_EQ(hw_sessions__relay(l.s, 8, &a, 77, fake), 0);
	a.dport++;
	CHECK_EQ(hw_sessions__relay(l.s, 8, &a, 77, r.sesman), 0);
	a.dport--;
	CHECK_EQ(hw_sessions__relay(l.s, 8, &a, 78, r.sesman), 0);
	/* the fake's libpam calls, its forks: nobody's login */
	sl_pam(&l, fake, HW_PAM_START, 0, "root", 2 * SEC);
	sl_pam(&l, fake, HW_PAM_AUTH, 0, NULL, 2 * SEC);
	child = sl_proc(&l, 401, 400, 0, "/home/m/xrdp-sesman", 1000);
	if (!child)
		goto out;
	hw_sessions__fork(l.s, child, fake);
	sl_pam(&l, child, HW_PAM_OPEN, 0, NULL, 3 * SEC);
	CHECK_EQ(l.n, 0);
	CHECK_EQ(child->session_id[0], 0);
	/* the real sesman's libpam calls while it serves no relay: nobody's either */
	sl_pam(&l, r.sesman, HW_PAM_START, 0, "root", 4 * SEC);
	sl_pam(&l, r.sesman, HW_PAM_AUTH, 7, NULL, 4 * SEC);
	CHECK_EQ(l.n, 0);
out:
	sl_free(&l);
}

/* sesman started from a login shell carries that shell's audit ids; the desktop inherits them
 * (no pam_loginuid): they are no loginuid of this login, and that audit session's other
 * processes are not this session's. */
TEST(sessions_xrdp_inherited_audit_ids_are_not_the_login)
{
	struct lab l;
	struct rdp r;
	struct hw_process *desktop, *admin;

	if (!sl_init(&l, 16))
		return;
	if (!rdp_conn(&l, &r, 7, 201, 50000, 1 * SEC))
		goto out;
	r.sesman->k.loginuid = 0;
	r.sesman->k.sessionid = 5;
	CHECK_EQ(sesman_accepts(&l, &r, 8), 1);
	sl_pam(&l, r.sesman, HW_PAM_START, 0, "alice", 2 * SEC);
	sl_pam(&l, r.sesman, HW_PAM_AUTH, 0, NULL, 3 * SEC);
	desktop = sl_proc(&l, 301, 300, 0, "/usr/sbin/xrdp-sesman", 0);
	if (!desktop)
		goto out;
	desktop->k.loginuid = 0;
	desktop->k.sessionid = 5;
	hw_sessions__fork(l.s, desktop, r.sesman);
	sl_pam(&l, desktop, HW_PAM_OPEN, 0, NULL, 4 * SEC);
	if (!CHECK_EQ(l.n, 1))
		goto out;
	CHECK_STREQ(l.seen[0].user, "alice"); /* not root, the inherited loginuid's name */
	CHECK_EQ(l.seen[0].verified, 0);
	admin = sl_proc(&l, 500, 1, 0, "/bin/bash", 0);
	if (!admin)
		goto out;
	admin->k.loginuid = 0;
	admin->k.sessionid = 5;
	hw_sessions__mark(l.s, admin);
	CHECK_EQ(admin->session_id[0], 0);
out:
	sl_free(&l);
}

/* A reconnection up to its script: alice's password accepted on the client's connection 7
 * (sesman's loopback one is 8), then sesman's child (pid 301) forked, executing a shell script
 * (reconnectwm.sh). NULL when the lab is out of memory. close8: sesman's connection closes
 * before the fork. */
static struct hw_process *reconnecting(struct lab *l, struct rdp *r, int close8)
{
	struct hw_session_bytes b = {0};
	struct hw_process *child;

	if (!rdp_conn(l, r, 7, 201, 50000, 1 * SEC))
		return NULL;
	CHECK_EQ(sesman_accepts(l, r, 8), 1);
	sl_pam(l, r->sesman, HW_PAM_START, 0, "alice", 2 * SEC);
	sl_pam(l, r->sesman, HW_PAM_AUTH, 0, NULL, 3 * SEC);
	if (close8)
		hw_sessions__close(l->s, 8, 4 * SEC, &b);
	child = sl_proc(l, 301, 300, 0, "/usr/sbin/xrdp-sesman", 0);
	if (!child)
		return NULL;
	hw_sessions__fork(l->s, child, r->sesman);
	CHECK_EQ(hw_process__set_image(child, "/usr/bin/dash", "/", "sh", 3, 0), 0);
	return child;
}

/* A reconnection: sesman accepts the password of a user whose desktop runs, forks a child
 * that executes reconnectwm.sh and exits, and opens no PAM session. The exec does not hide
 * the child's exit; the session is then a password accepted without a login of its own. */
TEST(sessions_xrdp_reconnection_is_no_new_login)
{
	struct lab l;
	struct rdp r;
	struct hw_process *child;
	struct hw_session_bytes b = {0};

	if (!sl_init(&l, 16))
		return;
	child = reconnecting(&l, &r, 0);
	if (!child)
		goto out;
	hw_sessions__close(l.s, 8, 4 * SEC, &b);
	hw_sessions__close(l.s, 7, 5 * SEC, &b);
	hw_sessions__settle(l.s, 30 * SEC, 0); /* the child has not ended: it may still log in */
	CHECK_EQ(l.n, 0);
	/* its exit decides, whatever time the settling comes: the login, and (its client left
	 * long ago) at once the logout, so the engine holds no session open for it */
	hw_sessions__exit(l.s, child, 31 * SEC);
	if (!CHECK_EQ(l.n, 2))
		goto out;
	CHECK_STREQ(l.seen[0].action, "user_login");
	CHECK_STREQ(l.seen[0].outcome, "unknown");
	CHECK_STREQ(l.seen[0].reason, "the password was accepted, and no session was opened");
	CHECK_STREQ(l.seen[0].user, "alice");
	CHECK_EQ(l.seen[0].ts_ns, 31 * SEC);
	CHECK_STREQ(l.seen[1].action, "user_logout");
	CHECK_STREQ(l.seen[1].id, l.seen[0].id);
	CHECK_EQ(l.seen[1].ts_ns, 31 * SEC);
	CHECK_EQ(l.seen[1].have_bytes, 1);
	CHECK_EQ(hw_sessions__closing(l.s), 0);
	hw_sessions__settle(l.s, 60 * SEC, 1);
	CHECK_EQ(l.n, 2);
out:
	sl_free(&l);
}

/* A reconnection whose client stays: the login is said when sesman's reconnection process
 * ends, not hours later when the client leaves; the session is open until then, and the
 * client's leaving is its logout (the running desktop's own session, the first login's,
 * goes on). */
TEST(sessions_xrdp_reconnection_is_said_while_its_client_stays)
{
	struct lab l;
	struct rdp r;
	struct hw_process *child;
	struct hw_session_bytes b = {0};

	if (!sl_init(&l, 16))
		return;
	child = reconnecting(&l, &r, 1);
	if (!child)
		goto out;
	hw_sessions__exit(l.s, child, 5 * SEC);
	if (!CHECK_EQ(l.n, 1))
		goto out;
	CHECK_STREQ(l.seen[0].action, "user_login");
	CHECK_STREQ(l.seen[0].outcome, "unknown");
	CHECK_EQ(l.seen[0].ts_ns, 5 * SEC);
	/* a later libpam record of sesman is not this session's (decided) */
	sl_pam(&l, r.sesman, HW_PAM_AUTH, 7, NULL, 6 * SEC);
	CHECK_EQ(l.n, 1);
	hw_sessions__settle(l.s, 3600 * SEC, 0);
	CHECK_EQ(l.n, 1);
	CHECK_EQ(hw_sessions__by_cookie(l.s, 7)->state, HW_SESS_ACTIVE);
	b.from_client = 5000;
	b.to_client = 90000;
	hw_sessions__close(l.s, 7, 7200 * SEC, &b); /* the client leaves two hours later */
	if (!CHECK_EQ(l.n, 2))
		goto out;
	CHECK_STREQ(l.seen[1].action, "user_logout");
	CHECK_STREQ(l.seen[1].id, l.seen[0].id);
	CHECK_EQ(l.seen[1].ts_ns, 7200 * SEC);
	CHECK_EQ(l.seen[1].bytes.to_client, 90000);
	hw_sessions__settle(l.s, 7300 * SEC, 1);
	CHECK_EQ(l.n, 2);
	CHECK_EQ(hw_sessions__closing(l.s), 0);
out:
	sl_free(&l);
}
