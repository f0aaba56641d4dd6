/* The session pairing of model/sessions.c, fed directly: accept, fork, libpam calls, close and
 * the clock, with processes of a real process table; what it decides is recorded from its
 * change function. */
#include <stdlib.h>
#include <string.h>

#include "model/proc_table.h"
#include "model/sessions.h"
#include "test.h"

#define SEC 1000000000ULL

struct seen {
	char action[16], outcome[16], reason[80], unverified[80];
	char user[64], auth_method[24], id[HW_ENTITY_ID_LEN];
	__u64 ts_ns;
	__u32 pid; /* the process named, 0: the handler */
	__u32 auth_failures;
	int verified, have_bytes;
	struct hw_session_bytes bytes;
};

struct lab {
	struct hw_host host;
	struct hw_proc_table *procs;
	struct hw_sessions *s;
	struct hw_str_list services;
	char *names[2];
	struct seen seen[16];
	int n;
};

static void copy(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

static void on_change(const struct hw_session_change *c, void *ctx)
{
	struct lab *l = ctx;
	struct seen *w;

	if (l->n == (int)(sizeof(l->seen) / sizeof(l->seen[0]))) {
		hw_test__fail(__FILE__, __LINE__, "more changes than the lab records");
		return;
	}
	w = &l->seen[l->n++];
	copy(w->action, sizeof(w->action), c->action);
	copy(w->outcome, sizeof(w->outcome), c->outcome);
	copy(w->reason, sizeof(w->reason), c->reason);
	copy(w->unverified, sizeof(w->unverified), c->x->unverified);
	copy(w->user, sizeof(w->user), c->x->user);
	copy(w->auth_method, sizeof(w->auth_method), c->x->auth_method);
	copy(w->id, sizeof(w->id), c->x->id);
	w->ts_ns = c->ts_ns;
	w->pid = c->p ? c->p->k.pid : 0;
	w->auth_failures = c->x->auth_failures;
	w->verified = c->x->verified;
	w->have_bytes = c->bytes != NULL;
	if (c->bytes)
		w->bytes = *c->bytes;
}

static const char *user_name(void *ctx, __u32 uid)
{
	return uid == 1000 ? "alice" : uid == 0 ? "root" : uid == 1001 ? "bob" : NULL;
}

static int lab_init(struct lab *l, size_t max_ended)
{
	struct hw_sessions_opts o = {
	    .services = &l->services,
	    .user_name = user_name,
	    .change = on_change,
	    .change_ctx = l,
	    .max_ended = max_ended,
	};

	memset(l, 0, sizeof(*l));
	snprintf(l->host.name, sizeof(l->host.name), "h1");
	snprintf(l->host.id, sizeof(l->host.id), "mid");
	snprintf(l->host.boot_id, sizeof(l->host.boot_id), "bid");
	l->host.ns_per_tick = 10000000;
	l->host.key[0] = 11;
	l->host.key[1] = 22;
	l->names[0] = "sshd";
	l->names[1] = "/usr/sbin/xrdp";
	l->services.v = l->names;
	l->services.n = 2;
	l->procs = hw_proc_table__new(&l->host, 100, 60 * SEC);
	l->s = hw_sessions__new(&l->host, &o);
	return CHECK(l->procs && l->s);
}

static void lab_free(struct lab *l)
{
	hw_sessions__free(l->s);
	hw_proc_table__free(l->procs);
}

/* A process of the table: exe owned by exe_uid with mode 0755 (trusted when root's). */
static struct hw_process *proc(struct lab *l, __u32 pid, __u32 ppid, __u32 uid, const char *exe,
			       __u32 exe_uid)
{
	struct hw_proc k = {
	    .start_ns = pid * SEC,
	    .parent_start_ns = ppid * SEC,
	    .pid = pid,
	    .tid = pid,
	    .ppid = ppid,
	    .uid = uid,
	    .euid = uid,
	    .loginuid = (__u32)-1,
	    .sessionid = (__u32)-1,
	};
	struct hw_process *p = hw_proc_table__upsert(l->procs, &k);

	if (!CHECK(p))
		return NULL;
	CHECK_EQ(hw_process__set_image(p, exe, "/", "x", 2, 0), 0);
	hw_process__set_exe_owner(p, exe_uid, 0100755);
	return p;
}

static struct hw_sock_addr addr(void)
{
	struct hw_sock_addr a = {.sport = 22, .dport = 40000, .family = 2, .protocol = 6};

	a.saddr[0] = 198;
	a.daddr[0] = 198;
	return a;
}

static void pam(struct lab *l, struct hw_process *p, __u32 op, int ret, const char *user,
		__u64 ts_ns)
{
	struct hw_pam_event e = {.ret = ret, .op = op};

	e.hdr.ts_ns = ts_ns;
	e.proc = p->k;
	copy(e.user, sizeof(e.user), user);
	hw_sessions__pam(l->s, p, &e);
}

/* sshd (pid 100, root) accepts cookie at t=1s and forks its handler (pid 101, uid 0). */
static struct hw_process *accept_fork(struct lab *l, __u64 cookie, __u32 handler_uid)
{
	struct hw_process *sshd = proc(l, 100, 1, 0, "/usr/sbin/sshd", 0), *h;
	struct hw_sock_addr a = addr();

	if (!sshd)
		return NULL;
	hw_sessions__accept(l->s, cookie, &a, 1 * SEC, sshd);
	h = proc(l, 101, 100, handler_uid, "/usr/sbin/sshd", 0);
	if (h)
		hw_sessions__fork(l->s, h, sshd);
	return h;
}

static void login(struct lab *l, struct hw_process *h, __u32 loginuid, __u32 sessionid, __u64 ts_ns)
{
	h->k.loginuid = loginuid;
	h->k.sessionid = sessionid;
	pam(l, h, HW_PAM_OPEN, 0, NULL, ts_ns);
}

TEST(sessions_accept_fork_pam_open_is_a_verified_login)
{
	struct lab l;
	struct hw_process *h, *shell, *sudo;
	struct hw_session *x;
	struct hw_session_bytes b = {
	    .from_client = 300, .to_client = 4000, .closed_by = HW_CLOSED_REMOTE};

	if (!lab_init(&l, 16))
		return;
	h = accept_fork(&l, 7, 0);
	x = hw_sessions__by_cookie(l.s, 7);
	if (!CHECK(h && x))
		goto out;
	CHECK_EQ(x->state, HW_SESS_HANDLED);
	CHECK_STREQ(x->service, "sshd");
	CHECK_EQ(x->start_ns, 1 * SEC);
	CHECK_EQ(x->handler_pid, 101);
	CHECK_STREQ(h->session_id, x->id); /* the handler is marked by lineage */
	pam(&l, h, HW_PAM_START, 0, "alice", 2 * SEC);
	pam(&l, h, HW_PAM_AUTH, 0, NULL, 3 * SEC);
	CHECK_EQ(l.n, 0); /* trying is no change */
	login(&l, h, 1000, 42, 4 * SEC);
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
	shell = proc(&l, 300, 1, 1000, "/bin/bash", 0);
	if (!CHECK(shell))
		goto out;
	shell->k.sessionid = 42;
	hw_sessions__mark(l.s, shell);
	CHECK_STREQ(shell->session_id, x->id);
	/* PAM inside the logged-in session (sudo) is not a login */
	sudo = proc(&l, 301, 300, 0, "/usr/bin/sudo", 0);
	sudo->k.sessionid = 42;
	pam(&l, sudo, HW_PAM_AUTH, 7, NULL, 5 * SEC);
	pam(&l, sudo, HW_PAM_OPEN, 0, NULL, 5 * SEC);
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
	lab_free(&l);
}

TEST(sessions_publickey_login_and_the_next_fork_pairs_the_next_accept)
{
	struct lab l;
	struct hw_process *sshd, *h1, *h2;
	struct hw_sock_addr a = addr();
	struct hw_session *x1, *x2;

	if (!lab_init(&l, 16))
		return;
	sshd = proc(&l, 100, 1, 0, "/usr/sbin/sshd", 0);
	if (!sshd)
		goto out;
	/* two accepts before the forks: the oldest pending is handled first */
	hw_sessions__accept(l.s, 1, &a, 1 * SEC, sshd);
	hw_sessions__accept(l.s, 2, &a, 2 * SEC, sshd);
	h1 = proc(&l, 101, 100, 0, "/usr/sbin/sshd", 0);
	h2 = proc(&l, 102, 100, 0, "/usr/sbin/sshd", 0);
	hw_sessions__fork(l.s, h1, sshd);
	hw_sessions__fork(l.s, h2, sshd);
	x1 = hw_sessions__by_cookie(l.s, 1);
	x2 = hw_sessions__by_cookie(l.s, 2);
	if (!CHECK(x1 && x2))
		goto out;
	CHECK_EQ(x1->handler_pid, 101);
	CHECK_EQ(x2->handler_pid, 102);
	CHECK(strcmp(x1->id, x2->id) != 0);
	login(&l, h2, 1001, 43, 3 * SEC); /* no pam_authenticate: publickey */
	if (CHECK_EQ(l.n, 1)) {
		CHECK_STREQ(l.seen[0].auth_method, "publickey");
		CHECK_STREQ(l.seen[0].user, "bob"); /* from the kernel's loginuid */
		CHECK_STREQ(l.seen[0].id, x2->id);
	}
out:
	lab_free(&l);
}

TEST(sessions_close_before_login_is_a_failure_after_the_grace)
{
	struct lab l;
	struct hw_process *h;
	struct hw_session_bytes b = {
	    .from_client = 20, .to_client = 30, .closed_by = HW_CLOSED_LOCAL};

	if (!lab_init(&l, 16))
		return;
	h = accept_fork(&l, 7, 0);
	if (!h)
		goto out;
	pam(&l, h, HW_PAM_START, 0, "alice", 2 * SEC);
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
	lab_free(&l);
}

TEST(sessions_stop_settles_every_closing_session_at_once)
{
	struct lab l;
	struct hw_process *sshd;
	struct hw_sock_addr a = addr();
	struct hw_session_bytes b = {0};

	/* one ended session kept: settling frees sessions while it walks them */
	if (!lab_init(&l, 1))
		return;
	sshd = proc(&l, 100, 1, 0, "/usr/sbin/sshd", 0);
	if (!sshd)
		goto out;
	for (__u32 i = 0; i < 5; i++) {
		struct hw_process *h = proc(&l, 200 + i, 100, 0, "/usr/sbin/sshd", 0);

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
	lab_free(&l);
	/* closing, ended, closing (newest first): the ended session freed while the newest is
	 * settled is the next one in the list, and another closing one follows it */
	if (!lab_init(&l, 1))
		return;
	sshd = proc(&l, 100, 1, 0, "/usr/sbin/sshd", 0);
	if (!sshd)
		goto out;
	for (__u32 i = 0; i < 3; i++) {
		struct hw_process *h = proc(&l, 200 + i, 100, 0, "/usr/sbin/sshd", 0);

		hw_sessions__accept(l.s, 10 + i, &a, 1 * SEC, sshd);
		if (h)
			hw_sessions__fork(l.s, h, sshd);
		if (i == 1 && h)
			login(&l, h, 1000, 42, 2 * SEC);
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
	lab_free(&l);
}

TEST(sessions_pam_auth_failures_are_counted)
{
	struct lab l;
	struct hw_process *h;
	struct hw_session_bytes b = {0};

	if (!lab_init(&l, 16))
		return;
	h = accept_fork(&l, 7, 0);
	if (!h)
		goto out;
	pam(&l, h, HW_PAM_START, 0, "root", 2 * SEC);
	pam(&l, h, HW_PAM_AUTH, 7, NULL, 3 * SEC);
	pam(&l, h, HW_PAM_AUTH, 7, NULL, 4 * SEC);
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
	lab_free(&l);
}

TEST(sessions_a_failure_that_arrives_after_the_close_still_says_why)
{
	struct lab l;
	struct hw_process *h;
	struct hw_session_bytes b = {0};

	if (!lab_init(&l, 16))
		return;
	h = accept_fork(&l, 7, 0);
	if (!h)
		goto out;
	hw_sessions__close(l.s, 7, 10 * SEC, &b);
	/* returned after the close (kernel time): not why it closed; a success says nothing */
	pam(&l, h, HW_PAM_AUTH, 7, NULL, 10 * SEC + 1);
	pam(&l, h, HW_PAM_AUTH, 0, NULL, 9 * SEC);
	pam(&l, h, HW_PAM_START, 0, "mallory", 9 * SEC);
	CHECK_EQ(l.n, 0);
	CHECK_EQ(hw_sessions__closing(l.s), 1);
	/* returned before the close, read after it: the failure, and the session ends */
	pam(&l, h, HW_PAM_AUTH, 7, NULL, 9 * SEC);
	if (!CHECK_EQ(l.n, 1))
		goto out;
	CHECK_STREQ(l.seen[0].reason, "authentication failed");
	CHECK_STREQ(l.seen[0].user, "");
	CHECK_EQ(l.seen[0].ts_ns, 9 * SEC);
	CHECK_EQ(hw_sessions__closing(l.s), 0);
	hw_sessions__settle(l.s, 0, 1);
	CHECK_EQ(l.n, 1);
out:
	lab_free(&l);
}

TEST(sessions_a_non_root_pam_caller_is_no_login)
{
	struct lab l;
	struct hw_process *h;
	struct hw_session *x;
	struct hw_session_bytes b = {0};

	if (!lab_init(&l, 16))
		return;
	/* the handler runs as a user: what it tells libpam is its own choice */
	h = accept_fork(&l, 7, 1000);
	x = hw_sessions__by_cookie(l.s, 7);
	if (!CHECK(h && x))
		goto out;
	pam(&l, h, HW_PAM_START, 0, "root", 2 * SEC);
	login(&l, h, 0, 9, 3 * SEC);
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
	login(&l, h, 0, 9, 4 * SEC);
	CHECK_EQ(l.n, 2);
	CHECK_STREQ(l.seen[1].outcome, "unknown");
	hw_sessions__close(l.s, 7, 5 * SEC, &b);
	hw_sessions__settle(l.s, 0, 1);
	CHECK_EQ(l.n, 2); /* reported already: the close adds nothing */
out:
	lab_free(&l);
}

TEST(sessions_an_untrusted_exe_is_no_service)
{
	struct lab l;
	struct hw_process *fake, *h, *xrdp, *named;
	struct hw_sock_addr a = addr();

	if (!lab_init(&l, 16))
		return;
	/* a user's copy named sshd: not root-owned */
	fake = proc(&l, 100, 1, 0, "/tmp/sshd", 1000);
	if (!fake)
		goto out;
	CHECK_EQ(hw_sessions__is_service(l.s, fake), 0);
	hw_sessions__accept(l.s, 7, &a, 1 * SEC, fake);
	h = proc(&l, 101, 100, 0, "/tmp/sshd", 1000);
	hw_sessions__fork(l.s, h, fake);
	login(&l, h, 1000, 42, 2 * SEC);
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
	xrdp = proc(&l, 110, 1, 0, "/usr/sbin/xrdp", 0);
	named = proc(&l, 111, 1, 0, "/opt/xrdp", 0);
	CHECK_EQ(hw_sessions__is_service(l.s, xrdp), 1);
	CHECK_EQ(hw_sessions__is_service(l.s, named), 0);
	CHECK_EQ(hw_sessions__is_service(l.s, NULL), 0);
out:
	lab_free(&l);
}

TEST(sessions_a_login_the_kernel_does_not_confirm_is_unverified)
{
	struct lab l;
	struct hw_process *h;

	if (!lab_init(&l, 16))
		return;
	h = accept_fork(&l, 7, 0);
	if (!h)
		goto out;
	pam(&l, h, HW_PAM_START, 0, "root", 2 * SEC);
	login(&l, h, 1000, 42, 3 * SEC); /* PAM was asked for root, the kernel says alice */
	if (!CHECK_EQ(l.n, 1))
		goto out;
	CHECK_STREQ(l.seen[0].outcome, "success");
	CHECK_EQ(l.seen[0].verified, 0);
	CHECK_STREQ(l.seen[0].unverified, "the audit loginuid is not the user PAM was asked for");
	CHECK_STREQ(l.seen[0].user, "alice"); /* the kernel's word */
	lab_free(&l);
	if (!lab_init(&l, 16))
		return;
	h = accept_fork(&l, 8, 0);
	if (!h)
		goto out;
	pam(&l, h, HW_PAM_START, 0, "alice", 2 * SEC);
	login(&l, h, (__u32)-1, (__u32)-1, 3 * SEC); /* no pam_loginuid in the stack */
	if (!CHECK_EQ(l.n, 1))
		goto out;
	CHECK_STREQ(l.seen[0].outcome, "success");
	CHECK_EQ(l.seen[0].verified, 0);
	CHECK_STREQ(l.seen[0].unverified,
		    "no audit loginuid: the service's PAM stack has no pam_loginuid");
	CHECK_STREQ(l.seen[0].user, "alice"); /* the user PAM named */
out:
	lab_free(&l);
}

TEST(sessions_handler_exit_changes_nothing_until_the_close)
{
	struct lab l;
	struct hw_process *h, *child;
	struct hw_session *x;
	struct hw_session_bytes b = {0};

	if (!lab_init(&l, 16))
		return;
	h = accept_fork(&l, 7, 0);
	x = hw_sessions__by_cookie(l.s, 7);
	if (!CHECK(h && x))
		goto out;
	login(&l, h, 1000, 42, 2 * SEC);
	/* the handler's child (the user's shell) keeps the session by lineage */
	child = proc(&l, 102, 101, 1000, "/bin/bash", 0);
	hw_sessions__fork(l.s, child, h);
	CHECK_STREQ(child->session_id, x->id);
	hw_proc_table__exit(l.procs, h, 3 * SEC, 0);
	hw_sessions__mark(l.s, h);
	CHECK_EQ(l.n, 1);
	CHECK_EQ(x->state, HW_SESS_ACTIVE);
	hw_sessions__close(l.s, 7, 4 * SEC, &b);
	if (CHECK_EQ(l.n, 2))
		CHECK_STREQ(l.seen[1].action, "user_logout");
	lab_free(&l);
	/* exited before any login: the close is a failure once the grace is over */
	if (!lab_init(&l, 16))
		return;
	h = accept_fork(&l, 8, 0);
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
	lab_free(&l);
}

TEST(sessions_snapshot_finds_sessions_begun_before_the_agent)
{
	struct lab l;
	struct hw_sock_addr a = addr();
	struct hw_process *monitor, *root_h, *user_h, *plain_h, *stray, *loose;
	struct hw_session *x;

	if (!lab_init(&l, 16))
		return;
	monitor = proc(&l, 100, 1, 0, "/usr/sbin/sshd", 0);
	/* logged in, running as root: verified, the user from the kernel's loginuid */
	root_h = proc(&l, 101, 100, 0, "/usr/sbin/sshd", 0);
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
	user_h = proc(&l, 102, 100, 1001, "/usr/sbin/sshd", 0);
	user_h->k.loginuid = 1001;
	user_h->k.sessionid = 43;
	x = hw_sessions__snapshot(l.s, 2, &a, user_h, monitor);
	if (CHECK(x)) {
		CHECK_EQ(x->verified, 1);
		CHECK_STREQ(x->user, "bob");
	}
	/* not root, and its parent is no root service: not verified */
	loose = proc(&l, 104, 1, 1001, "/usr/sbin/sshd", 0);
	loose->k.loginuid = 1001;
	loose->k.sessionid = 44;
	x = hw_sessions__snapshot(l.s, 4, &a, loose, NULL);
	if (CHECK(x)) {
		CHECK_EQ(x->state, HW_SESS_ACTIVE);
		CHECK_EQ(x->verified, 0);
		CHECK_STREQ(x->unverified, "the login is not under a root service process");
	}
	/* no audit session: authenticating (or a stack without pam_loginuid) */
	plain_h = proc(&l, 103, 100, 0, "/usr/sbin/sshd", 0);
	x = hw_sessions__snapshot(l.s, 3, &a, plain_h, monitor);
	if (CHECK(x)) {
		CHECK_EQ(x->state, HW_SESS_HANDLED);
		CHECK_EQ(x->verified, 0);
		CHECK_STREQ(x->unverified,
			    "no audit loginuid: the service's PAM stack has no pam_loginuid");
	}
	/* a connection of a program that is no service */
	stray = proc(&l, 105, 1, 0, "/usr/bin/nc", 0);
	CHECK(hw_sessions__snapshot(l.s, 5, &a, stray, NULL) == NULL);
	CHECK_STREQ(stray->session_id, "");
	CHECK_EQ(l.n, 0); /* the snapshot reports through existing_session, not changes */
	CHECK_EQ(hw_sessions__count(l.s), 4);
out:
	lab_free(&l);
}
