/* The session pairing of model/sessions.c, fed directly: the close of a session's connection,
 * the grace a close before login waits for a late libpam failure, settling, the failures
 * counted, the handler's exit. */
#include <string.h>

#include "sessions_lab.h"
#include "test.h"

TEST(sessions_close_before_login_is_a_failure_after_the_grace)
{
	struct lab l;
	struct hw_process *h;
	struct hw_session_bytes b = {
	    .from_client = 20, .to_client = 30, .closed_by = HW_CLOSED_LOCAL};

	if (!sl_init(&l, 16))
		return;
	h = sl_accept_fork(&l, 7, 0);
	if (!h)
		goto out;
	sl_pam(&l, h, HW_PAM_START, 0, "alice", 2 * SEC);
	hw_sessions__close(l.s, 7, 10 * SEC, &b);
	CHECK_EQ(l.n, 0);
	CHECK_EQ(hw_sessions__closing(l.s), 1);
	hw_sessions__settle(l.s, 10 * SEC + HW_SESS_CLOSE_GRACE_NS - 1, 0);
	CHECK_EQ(l.n, 0); /* within the grace: a late libpam record may still say why */
	hw_sessions__close(l.s, 7, 11 * SEC, &b); /* closing already: nothing */
	hw_sessions__settle(l.s, 10 * SEC + HW_SESS_CLOSE_GRACE_NS, 0);
	if (!CHECK_EQ(l.n, 1))
		goto out;
	CHECK_STREQ(l.seen[0].action, "user_login");
	CHECK_STREQ(l.seen[0].outcome, "failure");
	CHECK_STREQ(l.seen[0].reason, "closed before login");
	CHECK_STREQ(l.seen[0].user, "alice");
	CHECK_EQ(l.seen[0].ts_ns, 10 * SEC); /* the close's time, not the settle's */
	CHECK_EQ(l.seen[0].pid, 0);
	CHECK(l.seen[0].have_bytes && l.seen[0].bytes.from_client == 20 &&
	      l.seen[0].bytes.to_client == 30 && l.seen[0].bytes.closed_by == HW_CLOSED_LOCAL);
	CHECK_EQ(hw_sessions__closing(l.s), 0);
	CHECK(hw_sessions__by_cookie(l.s, 7) == NULL);
	hw_sessions__settle(l.s, 100 * SEC, 1);
	CHECK_EQ(l.n, 1); /* once */
out:
	sl_free(&l);
}

TEST(sessions_stop_settles_every_closing_session_at_once)
{
	struct lab l;
	struct hw_process *sshd;
	struct hw_sock_addr a = sl_addr();
	struct hw_session_bytes b = {0};

	/* one ended session kept: settling frees sessions while it walks them */
	if (!sl_init(&l, 1))
		return;
	sshd = sl_proc(&l, 100, 1, 0, "/usr/sbin/sshd", 0);
	if (!sshd)
		goto out;
	for (__u32 i = 0; i < 5; i++) {
		struct hw_process *h = sl_proc(&l, 200 + i, 100, 0, "/usr/sbin/sshd", 0);

		hw_sessions__accept(l.s, 10 + i, &a, 1 * SEC, sshd);
		if (h)
			hw_sessions__fork(l.s, h, sshd);
		hw_sessions__close(l.s, 10 + i, (5 + i) * SEC, &b);
	}
	CHECK_EQ(hw_sessions__closing(l.s), 5);
	hw_sessions__settle(l.s, 0, 1); /* the agent stops: no grace */
	CHECK_EQ(l.n, 5);
	for (int i = 0; i < l.n; i++) {
		CHECK_STREQ(l.seen[i].reason, "closed before login");
		CHECK_EQ(l.seen[i].ts_ns, (__u64)(9 - i) * SEC); /* newest first */
	}
	CHECK_EQ(hw_sessions__closing(l.s), 0);
	CHECK(hw_sessions__count(l.s) <= 2);
	sl_free(&l);
	/* closing, ended, closing (newest first): the ended session freed while the newest is
	 * settled is the next one in the list, and another closing one follows it */
	if (!sl_init(&l, 1))
		return;
	sshd = sl_proc(&l, 100, 1, 0, "/usr/sbin/sshd", 0);
	if (!sshd)
		goto out;
	for (__u32 i = 0; i < 3; i++) {
		struct hw_process *h = sl_proc(&l, 200 + i, 100, 0, "/usr/sbin/sshd", 0);

		hw_sessions__accept(l.s, 10 + i, &a, 1 * SEC, sshd);
		if (h)
			hw_sessions__fork(l.s, h, sshd);
		if (i == 1 && h)
			sl_login(&l, h, 1000, 42, 2 * SEC);
		hw_sessions__close(l.s, 10 + i, (5 + i) * SEC, &b);
	}
	CHECK_EQ(l.n, 2); /* the login and its logout */
	hw_sessions__settle(l.s, 0, 1);
	if (CHECK_EQ(l.n, 4)) {
		CHECK_STREQ(l.seen[2].reason, "closed before login");
		CHECK_EQ(l.seen[2].ts_ns, 7 * SEC);
		CHECK_STREQ(l.seen[3].reason, "closed before login");
		CHECK_EQ(l.seen[3].ts_ns, 5 * SEC);
	}
	CHECK_EQ(hw_sessions__count(l.s), 1);
out:
	sl_free(&l);
}

TEST(sessions_pam_auth_failures_are_counted)
{
	struct lab l;
	struct hw_process *h;
	struct hw_session_bytes b = {0};

	if (!sl_init(&l, 16))
		return;
	h = sl_accept_fork(&l, 7, 0);
	if (!h)
		goto out;
	sl_pam(&l, h, HW_PAM_START, 0, "root", 2 * SEC);
	sl_pam(&l, h, HW_PAM_AUTH, 7, NULL, 3 * SEC);
	sl_pam(&l, h, HW_PAM_AUTH, 7, NULL, 4 * SEC);
	if (!CHECK_EQ(l.n, 2))
		goto out;
	for (int i = 0; i < 2; i++) {
		CHECK_STREQ(l.seen[i].action, "user_login");
		CHECK_STREQ(l.seen[i].outcome, "failure");
		CHECK_STREQ(l.seen[i].reason, "authentication failed");
		CHECK_STREQ(l.seen[i].auth_method, "password");
		CHECK_STREQ(l.seen[i].user, "root");
		CHECK_EQ(l.seen[i].pid, 101);
		CHECK_EQ(l.seen[i].auth_failures, (__u32)i + 1);
		CHECK_EQ(l.seen[i].ts_ns, (__u64)(3 + i) * SEC);
	}
	/* the failures said it: the close ends the session without another event */
	hw_sessions__close(l.s, 7, 5 * SEC, &b);
	CHECK_EQ(hw_sessions__closing(l.s), 0);
	hw_sessions__settle(l.s, 0, 1);
	CHECK_EQ(l.n, 2);
	CHECK(hw_sessions__by_cookie(l.s, 7) == NULL);
out:
	sl_free(&l);
}

TEST(sessions_a_failure_that_arrives_after_the_close_still_says_why)
{
	struct lab l;
	struct hw_process *h;
	struct hw_session_bytes b = {0};

	if (!sl_init(&l, 16))
		return;
	h = sl_accept_fork(&l, 7, 0);
	if (!h)
		goto out;
	hw_sessions__close(l.s, 7, 10 * SEC, &b);
	/* returned after the close (kernel time): not why it closed; a success says nothing */
	sl_pam(&l, h, HW_PAM_AUTH, 7, NULL, 10 * SEC + 1);
	sl_pam(&l, h, HW_PAM_AUTH, 0, NULL, 9 * SEC);
	sl_pam(&l, h, HW_PAM_START, 0, "mallory", 9 * SEC);
	CHECK_EQ(l.n, 0);
	CHECK_EQ(hw_sessions__closing(l.s), 1);
	/* returned before the close, read after it: the failure, and the session ends */
	sl_pam(&l, h, HW_PAM_AUTH, 7, NULL, 9 * SEC);
	if (!CHECK_EQ(l.n, 1))
		goto out;
	CHECK_STREQ(l.seen[0].reason, "authentication failed");
	CHECK_STREQ(l.seen[0].user, "");
	CHECK_EQ(l.seen[0].ts_ns, 9 * SEC);
	CHECK_EQ(hw_sessions__closing(l.s), 0);
	hw_sessions__settle(l.s, 0, 1);
	CHECK_EQ(l.n, 1);
out:
	sl_free(&l);
}

TEST(sessions_handler_exit_changes_nothing_until_the_close)
{
	struct lab l;
	struct hw_process *h, *child;
	struct hw_session *x;
	struct hw_session_bytes b = {0};

	if (!sl_init(&l, 16))
		return;
	h = sl_accept_fork(&l, 7, 0);
	x = hw_sessions__by_cookie(l.s, 7);
	if (!CHECK(h && x))
		goto out;
	sl_login(&l, h, 1000, 42, 2 * SEC);
	/* the handler's child (the user's shell) keeps the session by lineage */
	child = sl_proc(&l, 102, 101, 1000, "/bin/bash", 0);
	hw_sessions__fork(l.s, child, h);
	CHECK_STREQ(child->session_id, x->id);
	hw_proc_table__exit(l.procs, h, 3 * SEC, 0);
	hw_sessions__mark(l.s, h);
	CHECK_EQ(l.n, 1);
	CHECK_EQ(x->state, HW_SESS_ACTIVE);
	hw_sessions__close(l.s, 7, 4 * SEC, &b);
	if (CHECK_EQ(l.n, 2))
		CHECK_STREQ(l.seen[1].action, "user_logout");
	sl_free(&l);
	/* exited before any login: the close is a failure once the grace is over */
	if (!sl_init(&l, 16))
		return;
	h = sl_accept_fork(&l, 8, 0);
	if (!h)
		goto out;
	hw_proc_table__exit(l.procs, h, 3 * SEC, 255);
	hw_sessions__mark(l.s, h);
	CHECK_EQ(l.n, 0);
	hw_sessions__close(l.s, 8, 4 * SEC, &b);
	hw_sessions__settle(l.s, 4 * SEC + HW_SESS_CLOSE_GRACE_NS, 0);
	if (CHECK_EQ(l.n, 1))
		CHECK_STREQ(l.seen[0].reason, "closed before login");
out:
	sl_free(&l);
}
