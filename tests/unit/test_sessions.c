/* The session pairing of model/sessions.c, fed directly: logins (accept, fork, libpam calls),
 * who is trusted to log in, and the sessions the start-up snapshot finds. The close, the grace
 * and the failures: test_sessions_close.c. */
#include <string.h>

#include "sessions_lab.h"
#include "test.h"

TEST(sessions_accept_fork_pam_open_is_a_verified_login)
{
	struct lab l;
	struct hw_process *h, *shell, *sudo;
	struct hw_session *x;
	struct hw_session_bytes b = {
	    .from_client = 300, .to_client = 4000, .closed_by = HW_CLOSED_REMOTE};

	if (!sl_init(&l, 16))
		return;
	h = sl_accept_fork(&l, 7, 0);
	x = hw_sessions__by_cookie(l.s, 7);
	if (!CHECK(h && x))
		goto out;
	CHECK_EQ(x->state, HW_SESS_HANDLED);
	CHECK_STREQ(x->service, "sshd");
	CHECK_EQ(x->start_ns, 1 * SEC);
	CHECK_EQ(x->handler_pid, 101);
	CHECK_STREQ(h->session_id, x->id); /* the handler is marked by lineage */
	sl_pam(&l, h, HW_PAM_START, 0, "alice", 2 * SEC);
	sl_pam(&l, h, HW_PAM_AUTH, 0, NULL, 3 * SEC);
	CHECK_EQ(l.n, 0); /* trying is no change */
	sl_login(&l, h, 1000, 42, 4 * SEC);
	if (!CHECK_EQ(l.n, 1))
		goto out;
	CHECK_STREQ(l.seen[0].action, "user_login");
	CHECK_STREQ(l.seen[0].outcome, "success");
	CHECK_STREQ(l.seen[0].user, "alice");
	CHECK_STREQ(l.seen[0].auth_method, "password");
	CHECK_EQ(l.seen[0].verified, 1);
	CHECK_STREQ(l.seen[0].unverified, "");
	CHECK_EQ(l.seen[0].ts_ns, 4 * SEC);
	CHECK_EQ(l.seen[0].pid, 101);
	CHECK_EQ(x->state, HW_SESS_ACTIVE);
	CHECK_EQ(x->audit_sid, 42);
	CHECK_EQ(x->uid, 1000);
	/* a process of the login, whatever its lineage (setsid, a daemon), by audit sessionid */
	shell = sl_proc(&l, 300, 1, 1000, "/bin/bash", 0);
	if (!CHECK(shell))
		goto out;
	shell->k.sessionid = 42;
	hw_sessions__mark(l.s, shell);
	CHECK_STREQ(shell->session_id, x->id);
	/* PAM inside the logged-in session (sudo) is not a login */
	sudo = sl_proc(&l, 301, 300, 0, "/usr/bin/sudo", 0);
	sudo->k.sessionid = 42;
	sl_pam(&l, sudo, HW_PAM_AUTH, 7, NULL, 5 * SEC);
	sl_pam(&l, sudo, HW_PAM_OPEN, 0, NULL, 5 * SEC);
	CHECK_EQ(l.n, 1);
	CHECK_EQ(x->auth_failures, 0);
	hw_sessions__close(l.s, 7, 9 * SEC, &b);
	if (!CHECK_EQ(l.n, 2))
		goto out;
	CHECK_STREQ(l.seen[1].action, "user_logout");
	CHECK_STREQ(l.seen[1].outcome, "success");
	CHECK_EQ(l.seen[1].ts_ns, 9 * SEC);
	CHECK_EQ(l.seen[1].pid, 0); /* the handler: the agent looks it up */
	CHECK(l.seen[1].have_bytes && l.seen[1].bytes.from_client == 300 &&
	      l.seen[1].bytes.to_client == 4000 && l.seen[1].bytes.closed_by == HW_CLOSED_REMOTE);
	CHECK(hw_sessions__by_cookie(l.s, 7) == NULL); /* ended */
	hw_sessions__close(l.s, 7, 10 * SEC, &b);      /* a second close: nothing */
	CHECK_EQ(l.n, 2);
out:
	sl_free(&l);
}

TEST(sessions_publickey_login_and_the_next_fork_pairs_the_next_accept)
{
	struct lab l;
	struct hw_process *sshd, *h1, *h2;
	struct hw_sock_addr a = sl_addr();
	struct hw_session *x1, *x2;

	if (!sl_init(&l, 16))
		return;
	sshd = sl_proc(&l, 100, 1, 0, "/usr/sbin/sshd", 0);
	if (!sshd)
		goto out;
	/* two accepts before the forks: the oldest pending is handled first */
	hw_sessions__accept(l.s, 1, &a, 1 * SEC, sshd);
	hw_sessions__accept(l.s, 2, &a, 2 * SEC, sshd);
	h1 = sl_proc(&l, 101, 100, 0, "/usr/sbin/sshd", 0);
	h2 = sl_proc(&l, 102, 100, 0, "/usr/sbin/sshd", 0);
	hw_sessions__fork(l.s, h1, sshd);
	hw_sessions__fork(l.s, h2, sshd);
	x1 = hw_sessions__by_cookie(l.s, 1);
	x2 = hw_sessions__by_cookie(l.s, 2);
	if (!CHECK(x1 && x2))
		goto out;
	CHECK_EQ(x1->handler_pid, 101);
	CHECK_EQ(x2->handler_pid, 102);
	CHECK(strcmp(x1->id, x2->id) != 0);
	sl_login(&l, h2, 1001, 43, 3 * SEC); /* no pam_authenticate: publickey */
	if (CHECK_EQ(l.n, 1)) {
		CHECK_STREQ(l.seen[0].auth_method, "publickey");
		CHECK_STREQ(l.seen[0].user, "bob"); /* from the kernel's loginuid */
		CHECK_STREQ(l.seen[0].id, x2->id);
	}
out:
	sl_free(&l);
}

TEST(sessions_a_non_root_pam_caller_is_no_login)
{
	struct lab l;
	struct hw_process *h;
	struct hw_session *x;
	struct hw_session_bytes b = {0};

	if (!sl_init(&l, 16))
		return;
	/* the handler runs as a user: what it tells libpam is its own choice */
	h = sl_accept_fork(&l, 7, 1000);
	x = hw_sessions__by_cookie(l.s, 7);
	if (!CHECK(h && x))
		goto out;
	sl_pam(&l, h, HW_PAM_START, 0, "root", 2 * SEC);
	sl_login(&l, h, 0, 9, 3 * SEC);
	if (!CHECK_EQ(l.n, 1))
		goto out;
	CHECK_STREQ(l.seen[0].action, "user_login");
	CHECK_STREQ(l.seen[0].outcome, "unknown");
	CHECK_STREQ(l.seen[0].reason, "not a login the kernel confirms");
	CHECK_STREQ(l.seen[0].unverified,
		    "pam_open_session in a service process that does not run as root");
	CHECK_EQ(l.seen[0].verified, 0);
	CHECK_EQ(x->state, HW_SESS_HANDLED); /* not logged in */
	CHECK_EQ(x->audit_sid, (__u32)-1);
	/* euid 0 alone is not root either */
	h->k.euid = 0;
	sl_login(&l, h, 0, 9, 4 * SEC);
	CHECK_EQ(l.n, 2);
	CHECK_STREQ(l.seen[1].outcome, "unknown");
	hw_sessions__close(l.s, 7, 5 * SEC, &b);
	hw_sessions__settle(l.s, 0, 1);
	CHECK_EQ(l.n, 2); /* reported already: the close adds nothing */
out:
	sl_free(&l);
}

TEST(sessions_an_untrusted_exe_is_no_service)
{
	struct lab l;
	struct hw_process *fake, *h, *xrdp, *named;
	struct hw_sock_addr a = sl_addr();

	if (!sl_init(&l, 16))
		return;
	/* a user's copy named sshd: not root-owned */
	fake = sl_proc(&l, 100, 1, 0, "/tmp/sshd", 1000);
	if (!fake)
		goto out;
	CHECK_EQ(hw_sessions__is_service(l.s, fake), 0);
	hw_sessions__accept(l.s, 7, &a, 1 * SEC, fake);
	h = sl_proc(&l, 101, 100, 0, "/tmp/sshd", 1000);
	hw_sessions__fork(l.s, h, fake);
	sl_login(&l, h, 1000, 42, 2 * SEC);
	CHECK_EQ(l.n, 0);
	CHECK(hw_sessions__by_cookie(l.s, 7) == NULL);
	CHECK_STREQ(h->session_id, "");
	/* root-owned but writable by others, or in an unsafe directory */
	fake->exe_uid = 0;
	fake->exe_mode = 0100777;
	CHECK_EQ(hw_sessions__is_service(l.s, fake), 0);
	fake->exe_mode = 0100755;
	fake->flags |= HW_EXEC_EXE_UNSAFE_DIR;
	CHECK_EQ(hw_sessions__is_service(l.s, fake), 0);
	fake->flags &= ~HW_EXEC_EXE_UNSAFE_DIR;
	CHECK_EQ(hw_sessions__is_service(l.s, fake), 1); /* "sshd": a name matches any dir */
	/* an absolute path in the list matches that path only */
	xrdp = sl_proc(&l, 110, 1, 0, "/usr/sbin/xrdp", 0);
	named = sl_proc(&l, 111, 1, 0, "/opt/xrdp", 0);
	CHECK_EQ(hw_sessions__is_service(l.s, xrdp), 1);
	CHECK_EQ(hw_sessions__is_service(l.s, named), 0);
	CHECK_EQ(hw_sessions__is_service(l.s, NULL), 0);
out:
	sl_free(&l);
}

TEST(sessions_a_login_the_kernel_does_not_confirm_is_unverified)
{
	struct lab l;
	struct hw_process *h;

	if (!sl_init(&l, 16))
		return;
	h = sl_accept_fork(&l, 7, 0);
	if (!h)
		goto out;
	sl_pam(&l, h, HW_PAM_START, 0, "root", 2 * SEC);
	sl_login(&l, h, 1000, 42, 3 * SEC); /* PAM was asked for root, the kernel says alice */
	if (!CHECK_EQ(l.n, 1))
		goto out;
	CHECK_STREQ(l.seen[0].outcome, "success");
	CHECK_EQ(l.seen[0].verified, 0);
	CHECK_STREQ(l.seen[0].unverified, "the audit loginuid is not the user PAM was asked for");
	CHECK_STREQ(l.seen[0].user, "alice"); /* the kernel's word */
	sl_free(&l);
	if (!sl_init(&l, 16))
		return;
	h = sl_accept_fork(&l, 8, 0);
	if (!h)
		goto out;
	sl_pam(&l, h, HW_PAM_START, 0, "alice", 2 * SEC);
	sl_login(&l, h, (__u32)-1, (__u32)-1, 3 * SEC); /* no pam_loginuid in the stack */
	if (!CHECK_EQ(l.n, 1))
		goto out;
	CHECK_STREQ(l.seen[0].outcome, "success");
	CHECK_EQ(l.seen[0].verified, 0);
	CHECK_STREQ(l.seen[0].unverified,
		    "no audit loginuid: the service's PAM stack has no pam_loginuid");
	CHECK_STREQ(l.seen[0].user, "alice"); /* the user PAM named */
out:
	sl_free(&l);
}

TEST(sessions_snapshot_finds_sessions_begun_before_the_agent)
{
	struct lab l;
	struct hw_sock_addr a = sl_addr();
	struct hw_process *monitor, *root_h, *user_h, *plain_h, *stray, *loose;
	struct hw_session *x;

	if (!sl_init(&l, 16))
		return;
	monitor = sl_proc(&l, 100, 1, 0, "/usr/sbin/sshd", 0);
	/* logged in, running as root: verified, the user from the kernel's loginuid */
	root_h = sl_proc(&l, 101, 100, 0, "/usr/sbin/sshd", 0);
	if (!CHECK(monitor && root_h))
		goto out;
	root_h->k.loginuid = 1000;
	root_h->k.sessionid = 42;
	x = hw_sessions__snapshot(l.s, 1, &a, root_h, monitor);
	if (!CHECK(x))
		goto out;
	CHECK_EQ(x->state, HW_SESS_ACTIVE);
	CHECK_EQ(x->verified, 1);
	CHECK(x->unverified == NULL);
	CHECK_STREQ(x->user, "alice");
	CHECK_EQ(x->audit_sid, 42);
	CHECK_EQ(x->handler_pid, 101);
	CHECK_EQ(x->start_ns, root_h->k.start_ns);
	CHECK_EQ(x->login_ns, root_h->k.start_ns);
	CHECK_STREQ(root_h->session_id, x->id);
	CHECK(hw_sessions__snapshot(l.s, 1, &a, root_h, monitor) == NULL); /* known already */
	/* sshd's per-user process: not root, the child of its root monitor: verified */
	user_h = sl_proc(&l, 102, 100, 1001, "/usr/sbin/sshd", 0);
	user_h->k.loginuid = 1001;
	user_h->k.sessionid = 43;
	x = hw_sessions__snapshot(l.s, 2, &a, user_h, monitor);
	if (CHECK(x)) {
		CHECK_EQ(x->verified, 1);
		CHECK_STREQ(x->user, "bob");
	}
	/* not root, and its parent is no root service: not verified */
	loose = sl_proc(&l, 104, 1, 1001, "/usr/sbin/sshd", 0);
	loose->k.loginuid = 1001;
	loose->k.sessionid = 44;
	x = hw_sessions__snapshot(l.s, 4, &a, loose, NULL);
	if (CHECK(x)) {
		CHECK_EQ(x->state, HW_SESS_ACTIVE);
		CHECK_EQ(x->verified, 0);
		CHECK_STREQ(x->unverified, "the login is not under a root service process");
	}
	/* no audit session: authenticating (or a stack without pam_loginuid) */
	plain_h = sl_proc(&l, 103, 100, 0, "/usr/sbin/sshd", 0);
	x = hw_sessions__snapshot(l.s, 3, &a, plain_h, monitor);
	if (CHECK(x)) {
		CHECK_EQ(x->state, HW_SESS_HANDLED);
		CHECK_EQ(x->verified, 0);
		CHECK_STREQ(x->unverified,
			    "no audit loginuid: the service's PAM stack has no pam_loginuid");
	}
	/* a connection of a program that is no service */
	stray = sl_proc(&l, 105, 1, 0, "/usr/bin/nc", 0);
	CHECK(hw_sessions__snapshot(l.s, 5, &a, stray, NULL) == NULL);
	CHECK_STREQ(stray->session_id, "");
	CHECK_EQ(l.n, 0); /* the snapshot reports through existing_session, not changes */
	CHECK_EQ(hw_sessions__count(l.s), 4);
out:
	sl_free(&l);
}
