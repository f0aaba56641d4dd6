/* agent_socket_used: the fact built from the view (detect/fact_unix.c) equals the fact read
 * back from the ECS line ecs_unix.c writes for it, field by field (root outside a session on a
 * user's socket through a link, a socket of no known session); the line says what the view
 * said; the text line escapes a path; the kernel record's size and its strings' ends are
 * checked before it is read. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "detect/fact_unix.h"
#include "detect/fact_view.h"
#include "detect/jsonread.h"
#include "output/ecs_unix.h"
#include "test.h"

static struct hw_host host(void)
{
	struct hw_host h;

	memset(&h, 0, sizeof(h));
	snprintf(h.name, sizeof(h.name), "b");
	snprintf(h.id, sizeof(h.id), "0123456789abcdef0123456789abcdef");
	snprintf(h.boot_id, sizeof(h.boot_id), "bid");
	h.ns_per_tick = 10000000;
	h.boot_to_real_ns = 1795795200123456789LL;
	return h;
}

static void proc(struct hw_process *p, __u32 pid, __u32 uid, const char *exe, const char *comm)
{
	memset(p, 0, sizeof(*p));
	p->k.pid = p->k.tid = pid;
	p->k.ppid = 1;
	p->k.uid = p->k.euid = uid;
	p->k.start_ns = 5000000000ULL + pid;
	p->k.loginuid = p->k.sessionid = (__u32)-1;
	snprintf(p->k.comm, sizeof(p->k.comm), "%s", comm);
	snprintf(p->entity_id, sizeof(p->entity_id), "E%021u", pid);
	memcpy(p->parent_entity_id, "AAAAAAAAAAAAAAAAAAAAA1", 23);
	p->exe = (char *)exe;
	p->cwd = "/";
	p->flags = HW_PROC_EXEC;
	p->exe_mode = 0100755;
}

static struct hw_jdoc *same(const char *what, const struct hw_unix_view *v, struct hw_fact *out)
{
	static struct hw_jdoc d;
	struct hw_host h = host();
	struct hw_fact view, line;
	struct hw_json j;
	char err[400];
	int n;

	hw_json__init(&j);
	hw_ecs__unix_event(&j, &h, v);
	memset(&view, 0xa5, sizeof(view));
	hw_fact__unix_event(&view, &h, v);
	if (!CHECK_EQ(j.error, 0) || !CHECK_EQ(hw_jdoc__parse(&d, j.buf, j.len), 0) ||
	    !CHECK_EQ(hw_fact__from_json(&line, &d, err, sizeof(err)), 0)) {
		hw_json__free(&j);
		return NULL;
	}
	n = hw_fact__diff(&view, &line, err, sizeof(err));
	if (n)
		hw_test__fail(__FILE__, __LINE__, "%s: %d fields differ: %s\n      line: %s", what,
			      n, err, j.buf);
	CHECK(!memcmp(&view, &line, sizeof(line)));
	CHECK_EQ(view.kind, HW_F_AGENT_SOCKET);
	*out = view;
	hw_json__free(&j);
	return &d;
}

TEST(fact_unix_borrowed_agent)
{
	struct hw_process p, owner;
	struct hw_unix_view v = {.action = HW_UNIX_ACTION,
				 .ts_ns = 9000000000ULL,
				 .user_name = "root",
				 .euser_name = "root",
				 .owner = &owner,
				 .owner_user = "alice",
				 .owner_uid = 1000,
				 .session = "SSSSSSSSSSSSSSSSSSSSS1",
				 .ino = 10987124,
				 .dev = (254u << 20) | 1,
				 .path = "/tmp/ssh-p3wdEshQxU/agent.4003",
				 .user_path = "/tmp/.x/sym"};
	struct hw_jdoc *d;
	struct hw_fact f;

	proc(&p, 777, 0, "/tmp/.x/kworker", "kworker");
	proc(&owner, 4003, 1000, "/usr/sbin/sshd", "sshd");
	memcpy(owner.session_id, "SSSSSSSSSSSSSSSSSSSSS1", 23);
	v.p = &p;
	d = same("root's borrowed agent", &v, &f);
	if (!d)
		return;
	CHECK_STREQ(f.sock_session, "SSSSSSSSSSSSSSSSSSSSS1");
	CHECK_STREQ(f.sock_owner, owner.entity_id);
	CHECK_STREQ(f.sock_path, "/tmp/ssh-p3wdEshQxU/agent.4003");
	CHECK_EQ(f.sock_ino, 10987124);
	CHECK_EQ(f.sock_owner_uid, 1000);
	CHECK_EQ(f.uid, 0);
	CHECK_STREQ(f.session_id, "");
	CHECK_STREQ(hw_jdoc__str(d, "hopwatch.agent_socket.connected_path"), "/tmp/.x/sym");
	CHECK_STREQ(hw_jdoc__str(d, "hopwatch.agent_socket.device"), "254:1");
	CHECK_STREQ(hw_jdoc__str(d, "hopwatch.agent_socket.owner.user.name"), "alice");
	CHECK_STREQ(hw_jdoc__str(d, "event.type"), "access");

	/* the caller in a session; the socket's session unknown, its owner's name too */
	memcpy(p.session_id, "SSSSSSSSSSSSSSSSSSSSS2", 23);
	p.k.uid = p.k.euid = 1000;
	v.session = "";
	v.owner_user = NULL;
	d = same("no session for the socket", &v, &f);
	if (!d)
		return;
	CHECK_STREQ(f.sock_session, "");
	CHECK_STREQ(f.session_id, "SSSSSSSSSSSSSSSSSSSSS2");
	CHECK(!hw_jdoc__get(d, "hopwatch.agent_socket.session.id"));
	CHECK(!hw_jdoc__get(d, "hopwatch.agent_socket.owner.user.name"));
	CHECK_EQ(f.uid, 1000);
}

TEST(fact_unix_text_line_escapes_the_path)
{
	struct hw_process p, owner;
	struct hw_unix_view v = {.action = HW_UNIX_ACTION,
				 .ts_ns = 9000000000ULL,
				 .user_name = "root",
				 .owner = &owner,
				 .owner_uid = 1000,
				 .session = "",
				 .path = "/tmp/a b\nALERT forged",
				 .user_path = ""};
	struct hw_host h = host();
	struct hw_text t;

	proc(&p, 777, 0, "/usr/bin/ssh", "ssh");
	proc(&owner, 4003, 1000, "/usr/sbin/sshd", "sshd");
	v.p = &p;
	memset(&t, 0, sizeof(t));
	hw_text__unix_event(&t, &h, &v);
	CHECK(t.len > 0 && t.buf[t.len - 1] == '\n');
	CHECK(!memchr(t.buf, '\n', t.len - 1)); /* one line, whatever the path holds */
	CHECK(strstr(t.buf, " owner=4003/1000 ") != NULL);
	CHECK(strstr(t.buf, " session=- ") != NULL);
	hw_text__free(&t);
}

TEST(fact_unix_decode_checks_size_and_strings)
{
	struct hw_unix_event e;

	memset(&e, 0, sizeof(e));
	e.hdr.type = HW_EV_UNIX_CONNECT;
	e.hdr.size = sizeof(e);
	CHECK_EQ(hw_decode_check(&e, sizeof(e)), HW_EV_UNIX_CONNECT);
	CHECK_EQ(hw_decode_check(&e, sizeof(e) - 1), -EBADMSG);
	e.hdr.size = sizeof(e) - 8;
	CHECK_EQ(hw_decode_check(&e, sizeof(e)), -EBADMSG);
	e.hdr.size = sizeof(e);
	memset(e.path, 'a', sizeof(e.path)); /* no NUL: never read as a string */
	CHECK_EQ(hw_decode_check(&e, sizeof(e)), -EBADMSG);
	memset(e.path, 0, sizeof(e.path));
	memset(e.user_path, 'a', sizeof(e.user_path));
	CHECK_EQ(hw_decode_check(&e, sizeof(e)), -EBADMSG);
}
