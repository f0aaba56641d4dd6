/* The session lab (sessions_lab.h). */
#include <stdio.h>
#include <string.h>

#include "sessions_lab.h"
#include "test.h"

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

int sl_init(struct lab *l, size_t max_ended)
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
	l->names[2] = "xrdp-sesman";
	l->services.v = l->names;
	l->services.n = 3;
	l->procs = hw_proc_table__new(&l->host, 100, 60 * SEC);
	l->s = hw_sessions__new(&l->host, &o);
	return CHECK(l->procs && l->s);
}

void sl_free(struct lab *l)
{
	hw_sessions__free(l->s);
	hw_proc_table__free(l->procs);
}

struct hw_process *sl_proc(struct lab *l, __u32 pid, __u32 ppid, __u32 uid, const char *exe,
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

struct hw_sock_addr sl_addr(void)
{
	struct hw_sock_addr a = {.sport = 22, .dport = 40000, .family = 2, .protocol = 6};

	a.saddr[0] = 198;
	a.daddr[0] = 198;
	return a;
}

void sl_pam(struct lab *l, struct hw_process *p, __u32 op, int ret, const char *user, __u64 ts_ns)
{
	struct hw_pam_event e = {.ret = ret, .op = op};

	e.hdr.ts_ns = ts_ns;
	e.proc = p->k;
	copy(e.user, sizeof(e.user), user);
	hw_sessions__pam(l->s, p, &e);
}

struct hw_process *sl_accept_fork(struct lab *l, __u64 cookie, __u32 handler_uid)
{
	struct hw_process *sshd = sl_proc(l, 100, 1, 0, "/usr/sbin/sshd", 0), *h;
	struct hw_sock_addr a = sl_addr();

	if (!sshd)
		return NULL;
	hw_sessions__accept(l->s, cookie, &a, 1 * SEC, sshd);
	h = sl_proc(l, 101, 100, handler_uid, "/usr/sbin/sshd", 0);
	if (h)
		hw_sessions__fork(l->s, h, sshd);
	return h;
}

void sl_login(struct lab *l, struct hw_process *h, __u32 loginuid, __u32 sessionid, __u64 ts_ns)
{
	h->k.loginuid = loginuid;
	h->k.sessionid = sessionid;
	sl_pam(l, h, HW_PAM_OPEN, 0, NULL, ts_ns);
}
