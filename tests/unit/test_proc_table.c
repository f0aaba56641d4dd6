/* Process table, entity ids and record decoding. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "model/host.h"
#include "model/proc_table.h"
#include "test.h"

static struct hw_host test_host(const char *id, const char *boot)
{
	struct hw_host h;

	memset(&h, 0, sizeof(h));
	snprintf(h.id, sizeof(h.id), "%s", id);
	snprintf(h.boot_id, sizeof(h.boot_id), "%s", boot);
	h.ns_per_tick = 10000000;
	h.key[0] = hw_siphash((__u64[2]){1, 0}, h.id, strlen(h.id));
	h.key[1] = hw_siphash((__u64[2]){2, 0}, h.boot_id, strlen(h.boot_id));
	return h;
}

static struct hw_proc kproc(__u32 pid, __u64 start_ns, __u32 ppid, __u64 pstart)
{
	struct hw_proc k;

	memset(&k, 0, sizeof(k));
	k.pid = k.tid = pid;
	k.start_ns = start_ns;
	k.ppid = ppid;
	k.parent_start_ns = pstart;
	return k;
}

TEST(entity_id_stable_and_distinct)
{
	struct hw_host a = test_host("machine-a", "boot-1"), b = test_host("machine-b", "boot-1");
	struct hw_host a2 = test_host("machine-a", "boot-2");
	char x[HW_ENTITY_ID_LEN], y[HW_ENTITY_ID_LEN];

	hw_host__entity_id(&a, 42, 1234567890, x);
	CHECK_EQ(strlen(x), 22);
	/* /proc gives ticks, the kernel ns: both must give one id */
	hw_host__entity_id(&a, 42, 1230000000, y);
	CHECK_STREQ(x, y);
	hw_host__entity_id(&a, 42, 1240000000, y);
	CHECK(strcmp(x, y) != 0); /* pid reuse: another start */
	hw_host__entity_id(&a, 43, 1234567890, y);
	CHECK(strcmp(x, y) != 0);
	hw_host__entity_id(&b, 42, 1234567890, y);
	CHECK(strcmp(x, y) != 0); /* another host */
	hw_host__entity_id(&a2, 42, 1234567890, y);
	CHECK(strcmp(x, y) != 0); /* another boot */
	for (int i = 0; i < 22; i++)
		CHECK(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
			     x[i]));
}

TEST(siphash_reference_vector)
{
	/* SipHash-2-4 reference: key 00..0f, message 00..0e -> a129ca6149be45e5 */
	__u64 key[2] = {0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL};
	unsigned char msg[15];

	for (int i = 0; i < 15; i++)
		msg[i] = (unsigned char)i;
	CHECK(hw_siphash(key, msg, 15) == 0xa129ca6149be45e5ULL);
	CHECK(hw_siphash(key, msg, 0) == 0x726fdb47dd0e0e31ULL);
}

TEST(format_time)
{
	char t[HW_TIME_LEN];

	hw_format_time(1795795200123456789ULL, t);
	CHECK_STREQ(t, "2026-11-27T16:00:00.123456789Z");
	hw_format_time(5, t);
	CHECK_STREQ(t, "1970-01-01T00:00:00.000000005Z");
}

TEST(proc_table_upsert_get_lineage)
{
	struct hw_host h = test_host("m", "b");
	struct hw_proc_table *t = hw_proc_table__new(&h, 100, 30000000000ULL);
	struct hw_proc kp = kproc(100, 1000000000, 1, 10000000),
		       kc = kproc(200, 2000000000, 100, 1000000000);
	struct hw_process *parent, *child;

	if (!CHECK(t))
		return;
	parent = hw_proc_table__upsert(t, &kp);
	CHECK(parent);
	CHECK(!hw_process__set_image(parent, "/usr/bin/bash", "/root", "bash\0-l", 8, 0));
	child = hw_proc_table__upsert(t, &kc);
	CHECK(child);
	CHECK_STREQ(child->parent_entity_id, parent->entity_id);
	CHECK(!hw_process__inherit(child, parent));
	CHECK_STREQ(child->exe, "/usr/bin/bash");
	CHECK_EQ(child->args_len, 8);
	CHECK(!(child->flags & HW_PROC_EXEC)); /* inherited, not its own */
	/* the same process found at tick precision */
	CHECK(hw_proc_table__get(t, 200, 2004000000) == child);
	CHECK(hw_proc_table__get(t, 200, 2010000000) == NULL);
	CHECK(hw_proc_table__upsert(t, &kc) == child);
	CHECK_EQ(hw_proc_table__count(t), 2);
	/* an exec replaces the image, a later inherit does not undo it */
	CHECK(!hw_process__set_image(child, "/usr/bin/ssh", "/tmp", "ssh\0b", 5,
				     HW_EXEC_ARGS_TRUNCATED));
	CHECK(!hw_process__inherit(child, parent));
	CHECK_STREQ(child->exe, "/usr/bin/ssh");
	CHECK(child->flags & HW_EXEC_ARGS_TRUNCATED);
	hw_proc_table__free(t);
}

/* A forked child shares its parent's image until it execs: the image outlives the parent, and
 * the child's exec or exit leaves the parent's alone. */
TEST(proc_table_child_image_outlives_its_parent)
{
	struct hw_host h = test_host("m", "b");
	struct hw_proc_table *t = hw_proc_table__new(&h, 1, 30000000000ULL);
	struct hw_proc kp = kproc(100, 1000000000, 1, 10000000),
		       kc = kproc(200, 2000000000, 100, 1000000000),
		       kg = kproc(300, 3000000000, 200, 2000000000);
	struct hw_process *parent, *child, *grand;
	int ok = 1;

	if (!CHECK(t))
		return;
	parent = hw_proc_table__upsert(t, &kp);
	CHECK(!hw_process__set_image(parent, "/usr/sbin/sshd", "/", "sshd\0-D", 8, 0));
	child = hw_proc_table__upsert(t, &kc);
	grand = hw_proc_table__upsert(t, &kg);
	CHECK(!hw_process__inherit(child, parent));
	CHECK(!hw_process__inherit(grand, child));
	CHECK(child->exe == parent->exe && grand->args == parent->args); /* shared, not copied */
	/* the parent exits and is forgotten (one exited process kept): the image stays */
	hw_proc_table__exit(t, parent, 5000000000ULL, 0);
	hw_proc_table__exit(
	    t, hw_proc_table__upsert(t, &(struct hw_proc){.pid = 400, .start_ns = 4000000000ULL}),
	    6000000000ULL, 0);
	CHECK_EQ(hw_proc_table__expire(t, 7000000000ULL), 1);
	CHECK(hw_proc_table__get(t, 100, 1000000000) == NULL);
	/* other images made meanwhile (the freed memory taken again) */
	for (unsigned int pid = 500; pid < 600; pid++) {
		struct hw_proc k = kproc(pid, 8000000000ULL, 1, 10000000);
		struct hw_process *o = hw_proc_table__upsert(t, &k);

		ok &= o && !hw_process__set_image(o, "/usr/bin/xxxxxxxxxxxxxx", "/yyyyyyyyyyyyyy",
						  "zzzzzzzzzzzz", 12, 0);
	}
	CHECK(ok);
	CHECK_STREQ(child->exe, "/usr/sbin/sshd");
	CHECK_STREQ(child->cwd, "/");
	CHECK_EQ(child->args_len, 8);
	CHECK(!memcmp(child->args, "sshd\0-D", 8));
	/* the child execs: its own image; the grandchild keeps the one it inherited */
	CHECK(!hw_process__set_image(child, "/usr/bin/bash", "/root", "bash", 4, 0));
	CHECK_STREQ(child->exe, "/usr/bin/bash");
	CHECK_STREQ(grand->exe, "/usr/sbin/sshd");
	CHECK(!memcmp(grand->args, "sshd\0-D", 8));
	/* its own strings given again (copied before its old image goes) */
	CHECK(
	    !hw_process__set_image(child, child->exe, child->cwd, child->args, child->args_len, 0));
	CHECK_STREQ(child->exe, "/usr/bin/bash");
	CHECK_STREQ(child->cwd, "/root");
	CHECK(!memcmp(child->args, "bash", 4));
	/* an image without a cwd or arguments */
	CHECK(!hw_process__set_image(grand, "/bin/true", NULL, NULL, 0, 0));
	CHECK_STREQ(grand->exe, "/bin/true");
	CHECK(grand->cwd == NULL && grand->args_len == 0);
	hw_proc_table__free(t);
}

TEST(proc_table_reparent_updates_parent_id)
{
	struct hw_host h = test_host("m", "b");
	struct hw_proc_table *t = hw_proc_table__new(&h, 100, 30000000000ULL);
	struct hw_proc k = kproc(300, 3000000000, 250, 2500000000);
	struct hw_process *p;
	char init_id[HW_ENTITY_ID_LEN];

	if (!CHECK(t))
		return;
	p = hw_proc_table__upsert(t, &k);
	k.ppid = 1;
	k.parent_start_ns = 10000000;
	hw_proc_table__upsert(t, &k);
	hw_host__entity_id(&h, 1, 10000000, init_id);
	CHECK_STREQ(p->parent_entity_id, init_id);
	hw_proc_table__free(t);
}

TEST(proc_table_pid_reuse_and_expiry_bounded)
{
	struct hw_host h = test_host("m", "b");
	struct hw_proc_table *t = hw_proc_table__new(&h, 10, 5000000000ULL);
	struct hw_proc k = kproc(400, 1000000000, 1, 0);
	struct hw_process *old, *young;

	if (!CHECK(t))
		return;
	old = hw_proc_table__upsert(t, &k);
	k.start_ns = 9000000000;
	young = hw_proc_table__upsert(t, &k);
	CHECK(old != young);
	CHECK(old->flags & HW_PROC_EXITED); /* its exit was missed: the new one replaces it */
	CHECK(!(young->flags & HW_PROC_EXITED));
	CHECK_EQ(hw_proc_table__exited(t), 1);
	/* a fork storm: 10,000 processes exit, at most 10 are kept */
	for (__u32 i = 0; i < 10000; i++) {
		struct hw_proc c =
		    kproc(1000 + i, 10000000000ULL + i * 10000000ULL, 400, 9000000000);
		struct hw_process *p = hw_proc_table__upsert(t, &c);

		if (!CHECK(p))
			break;
		hw_proc_table__exit(t, p, c.start_ns + 1, 0);
		hw_proc_table__expire(t, c.start_ns + 1);
	}
	CHECK(hw_proc_table__exited(t) <= 10);
	CHECK_EQ(hw_proc_table__count(t), hw_proc_table__exited(t) + 1);
	/* and the ttl frees the rest */
	CHECK_EQ(hw_proc_table__expire(t, 1000000000000ULL), 10);
	CHECK_EQ(hw_proc_table__exited(t), 0);
	CHECK(hw_proc_table__get(t, 400, 9000000000) == young);
	hw_proc_table__free(t);
}

static void put_names(struct hw_path *p, const char *const *names, int n)
{
	memset(p, 0, sizeof(*p));
	for (int i = 0; i < n; i++) {
		size_t l = strlen(names[i]) + 1;

		memcpy(p->names + p->len, names[i], l);
		p->len += (__u16)l;
		p->count++;
	}
}

TEST(decode_path)
{
	static const char *const leaf_first[] = {"true", "bin", "usr"};
	struct hw_path p;
	char out[HW_PATH_MAX + 8];

	put_names(&p, leaf_first, 3);
	CHECK_EQ(hw_decode_path(&p, 0, out, sizeof(out)), 13);
	CHECK_STREQ(out, "/usr/bin/true");
	CHECK_EQ(hw_decode_path(&p, 1, out, sizeof(out)), 16);
	CHECK_STREQ(out, ".../usr/bin/true");
	put_names(&p, leaf_first, 0);
	hw_decode_path(&p, 0, out, sizeof(out));
	CHECK_STREQ(out, "/");
	/* a name without its NUL is malformed */
	put_names(&p, leaf_first, 1);
	p.len = 3;
	CHECK_EQ(hw_decode_path(&p, 0, out, sizeof(out)), -EBADMSG);
	CHECK_STREQ(out, "");
	p.len = HW_PATH_MAX + 1;
	CHECK_EQ(hw_decode_path(&p, 0, out, sizeof(out)), -EBADMSG);
	/* a small output buffer cuts, never overflows */
	put_names(&p, leaf_first, 3);
	hw_decode_path(&p, 0, out, 9);
	CHECK_STREQ(out, "/usr/bin");
}

TEST(decode_check_sizes)
{
	struct hw_fork_event f;
	struct hw_exit_event x;
	struct hw_exec_event *e = calloc(1, sizeof(*e));

	if (!CHECK(e))
		return;
	memset(&f, 0, sizeof(f));
	f.hdr.type = HW_EV_FORK;
	f.hdr.size = sizeof(f);
	CHECK_EQ(hw_decode_check(&f, sizeof(f)), HW_EV_FORK);
	CHECK_EQ(hw_decode_check(&f, sizeof(f) - 1), -EBADMSG);
	f.hdr.size = 20;
	CHECK_EQ(hw_decode_check(&f, sizeof(f)), -EBADMSG);
	memset(&x, 0, sizeof(x));
	x.hdr.type = HW_EV_EXIT;
	x.hdr.size = sizeof(x);
	CHECK_EQ(hw_decode_check(&x, sizeof(x)), HW_EV_EXIT);
	x.hdr.type = 99;
	CHECK_EQ(hw_decode_check(&x, sizeof(x)), -ENOTSUP);
	CHECK_EQ(hw_decode_check(&x, 8), -EBADMSG);

	e->hdr.type = HW_EV_EXEC;
	e->args_len = 10;
	e->hdr.size = HW_EXEC_FIXED_SIZE + 10;
	CHECK_EQ(hw_decode_check(e, e->hdr.size), HW_EV_EXEC);
	e->args_len = 11; /* claims more than the record holds */
	CHECK_EQ(hw_decode_check(e, e->hdr.size), -EBADMSG);
	e->args_len = HW_ARGS_MAX;
	e->hdr.size = HW_EXEC_FIXED_SIZE + HW_ARGS_MAX;
	CHECK_EQ(hw_decode_check(e, sizeof(*e)), HW_EV_EXEC);
	e->args_len = HW_ARGS_MAX + 1;
	e->hdr.size = HW_EXEC_FIXED_SIZE + HW_ARGS_MAX + 1;
	CHECK_EQ(hw_decode_check(e, e->hdr.size), -EBADMSG);
	e->args_len = 0;
	e->hdr.size = HW_EXEC_FIXED_SIZE;
	e->exe.len = 5; /* names[4] is not NUL */
	e->exe.names[4] = 'x';
	CHECK_EQ(hw_decode_check(e, e->hdr.size), -EBADMSG);
	free(e);
}
