/* raw_socket_opened: the fact built from the view (detect/fact_raw.c) equals the fact read back
 * from the ECS line ecs_raw.c writes for it, field by field (packet and inet raw sockets, a
 * failure, a family and a type without a name, a trusted renamed copy with an odd argv[0],
 * a process without an executable); the line itself says what the view said; the names
 * round-trip. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "detect/fact_raw.h"
#include "detect/fact_view.h"
#include "detect/jsonread.h"
#include "output/ecs_raw.h"
#include "test.h"

static struct hw_host host(void)
{
	struct hw_host h;

	memset(&h, 0, sizeof(h));
	snprintf(h.name, sizeof(h.name), "bridge-b");
	snprintf(h.id, sizeof(h.id), "0123456789abcdef0123456789abcdef");
	snprintf(h.boot_id, sizeof(h.boot_id), "bid");
	h.ns_per_tick = 10000000;
	h.boot_to_real_ns = 1795795200123456789LL;
	return h;
}

static void proc(struct hw_process *p, const char *exe, const char *args, __u32 args_len)
{
	memset(p, 0, sizeof(*p));
	p->k.pid = 777;
	p->k.tid = 778;
	p->k.ppid = 1;
	p->k.start_ns = 5000000000ULL;
	p->k.loginuid = p->k.sessionid = (__u32)-1;
	memcpy(p->k.comm, "conhost", 8);
	memcpy(p->entity_id, "AAAAAAAAAAAAAAAAAAAAA7", 23);
	memcpy(p->parent_entity_id, "AAAAAAAAAAAAAAAAAAAAA1", 23);
	p->exe = (char *)exe;
	p->cwd = "/";
	p->args = (char *)args;
	p->args_len = args_len;
	p->flags = HW_PROC_EXEC;
	p->exe_uid = 0;
	p->exe_mode = 0100755;
}

/* Encodes v, reads the line back, compares with the view's fact; returns the line's doc. */
static struct hw_jdoc *same(const char *what, const struct hw_raw_view *v, struct hw_fact *out)
{
	static struct hw_jdoc d;
	struct hw_host h = host();
	struct hw_fact view, line;
	struct hw_json j;
	char err[400];
	int n;

	hw_json__init(&j);
	hw_ecs__raw_event(&j, &h, v);
	memset(&view, 0xa5, sizeof(view));
	hw_fact__raw_event(&view, &h, v);
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
	CHECK_EQ(view.kind, HW_F_RAW_SOCKET);
	*out = view;
	hw_json__free(&j);
	return &d;
}

TEST(fact_raw_packet_socket)
{
	static const char argv[] = "/usr/sbin/cron\0-f";
	struct hw_process p;
	struct hw_raw_view v = {.action = HW_RAW_ACTION,
				.ts_ns = 9000000000ULL,
				.user_name = "root",
				.euser_name = "root",
				.family = 17,
				.type = 3 | 02000000 /* SOCK_CLOEXEC */,
				.protocol = 0x0300,
				.ret = 5};
	struct hw_jdoc *d;
	struct hw_fact f;

	proc(&p, "/usr/local/lib/conhost", argv, sizeof(argv));
	v.p = &p;
	d = same("packet socket", &v, &f);
	if (!d)
		return;
	CHECK_EQ(f.raw_family, 17);
	CHECK_EQ(f.raw_type, 3);
	CHECK_EQ(f.raw_protocol, 3); /* ETH_P_ALL, host order */
	CHECK_EQ(f.failure, 0);
	CHECK_EQ(f.exe_trusted, 1);
	CHECK_STREQ(f.executable, "/usr/local/lib/conhost");
	CHECK_STREQ(f.name, "conhost");
	CHECK_STREQ(f.args[0], "/usr/sbin/cron");
	CHECK_STREQ(hw_jdoc__str(d, "hopwatch.socket.family"), "packet");
	CHECK_STREQ(hw_jdoc__str(d, "hopwatch.socket.type"), "raw");
	CHECK_STREQ(hw_jdoc__str(d, "event.outcome"), "success");
	CHECK_STREQ(hw_jdoc__str(d, "hopwatch.comm"), "conhost");

	/* an ICMP raw socket, refused: the errno's name, no fd */
	v.family = 2;
	v.type = 3;
	v.protocol = 1;
	v.ret = -EPERM;
	p.exe_uid = 1000; /* a user's copy: not trusted */
	d = same("inet raw socket refused", &v, &f);
	if (!d)
		return;
	CHECK_EQ(f.failure, 1);
	CHECK_EQ(f.raw_protocol, 1);
	CHECK_EQ(f.exe_trusted, 0);
	CHECK_STREQ(hw_jdoc__str(d, "error.code"), "EPERM");
	CHECK(!hw_jdoc__get(d, "hopwatch.socket.fd"));

	/* a family and a type without a name: numbers, read back the same */
	v.family = 99;
	v.type = 9;
	v.ret = 3;
	d = same("unnamed family and type", &v, &f);
	if (!d)
		return;
	CHECK_EQ(f.raw_family, 99);
	CHECK_EQ(f.raw_type, 9);

	/* a process the agent knows only by its comm */
	proc(&p, NULL, NULL, 0);
	p.flags = 0;
	p.exe_mode = 0;
	v.family = 17;
	v.type = 2;
	same("no executable", &v, &f);
	CHECK_STREQ(f.name, "conhost");
}

TEST(fact_raw_names)
{
	for (unsigned int i = 0; i < 64; i++) {
		const char *n = hw_raw_family_name(i);

		if (n[0])
			CHECK_EQ(hw_raw_family_parse(n), i);
	}
	CHECK_STREQ(hw_raw_family_name(17), "packet");
	CHECK_STREQ(hw_raw_family_name(1000), "");
	CHECK_EQ(hw_raw_family_parse("nonsense"), 0);
	CHECK_STREQ(hw_raw_type_name(3 | 0x80000), "raw");
	CHECK_EQ(hw_raw_type_parse("dgram"), 2);
}

/* the record's size is checked before anything reads it */
TEST(fact_raw_decode_checks_size)
{
	struct hw_raw_socket_event e;

	memset(&e, 0, sizeof(e));
	e.hdr.type = HW_EV_RAW_SOCKET;
	e.hdr.size = sizeof(e);
	CHECK_EQ(hw_decode_check(&e, sizeof(e)), HW_EV_RAW_SOCKET);
	CHECK_EQ(hw_decode_check(&e, sizeof(e) - 1), -EBADMSG); /* size beyond the buffer */
	e.hdr.size = sizeof(e) - 4;
	CHECK_EQ(hw_decode_check(&e, sizeof(e)), -EBADMSG); /* a short record */
	e.hdr.size = sizeof(e) + 8;
	CHECK_EQ(hw_decode_check(&e, sizeof(e)), -EBADMSG);
}
