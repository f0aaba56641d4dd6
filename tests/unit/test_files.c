/* Unit tests of file facts: the watch set (user/model/files.c), the fact of a file event read
 * back from its line equal to the one built from its view (detect/fact_file.c), and the file
 * rules (detect/rules_file.c): persistence from a session, the package-manager exemption by
 * trusted full path only, transfer-exec by inode within the window. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"
#include "config.h"
#include "detect/engine.h"
#include "detect/fact_file.h"
#include "detect/jsonread.h"
#include "model/files.h"
#include "output/ecs_file.h"

TEST(path_normalise)
{
	char p[64];

	snprintf(p, sizeof(p), "/etc//cron.d/./x");
	hw_path_normalise(p);
	CHECK_STREQ(p, "/etc/cron.d/x");
	snprintf(p, sizeof(p), "/tmp/a/../../etc/passwd");
	hw_path_normalise(p);
	CHECK_STREQ(p, "/etc/passwd");
	snprintf(p, sizeof(p), "/..");
	hw_path_normalise(p);
	CHECK_STREQ(p, "/");
}

TEST(watch_match)
{
	char *v[] = {"/etc/passwd", "/etc/cron*", "/home/u/.ssh/authorized_keys*"};
	struct hw_watch w = {.pats = v, .n = 3};

	CHECK(hw_watch__match(&w, "/etc/passwd"));
	CHECK(!hw_watch__match(&w, "/etc/passwd-")); /* a name, not a prefix */
	CHECK(!hw_watch__match(&w, "/etc/pass"));
	CHECK(hw_watch__match(&w, "/etc/crontab"));
	CHECK(hw_watch__match(&w, "/etc/cron.d/job"));
	CHECK(hw_watch__match(&w, "/home/u/.ssh/authorized_keys2"));
	CHECK(!hw_watch__match(&w, "/home/u/.ssh/known_hosts"));
	CHECK(!hw_watch__match(&w, "/tmp/etc/passwd"));
}

struct keys {
	struct hw_watch_key k[8];
	int n;
};

static void on_key(const struct hw_watch_key *k, void *ctx)
{
	struct keys *ks = ctx;

	if (ks->n < 8)
		ks->k[ks->n++] = *k;
}

TEST(watch_build_homes_and_keys)
{
	char dir[] = "/tmp/hw-unit-files-XXXXXX", passwd[128], home[128], ssh[160], gone[128];
	struct hw_str_list l;
	char *items[] = {"~/.ssh/authorized_keys*"};
	struct hw_watch w;
	struct keys ks = {0};
	struct stat st;
	FILE *f;

	if (!CHECK(mkdtemp(dir)))
		return;
	snprintf(home, sizeof(home), "%s/home", dir);
	snprintf(ssh, sizeof(ssh), "%s/.ssh", home);
	snprintf(gone, sizeof(gone), "%s/nonexistent", dir);
	mkdir(home, 0755);
	mkdir(ssh, 0700);
	snprintf(passwd, sizeof(passwd), "%s/passwd", dir);
	f = fopen(passwd, "w");
	fprintf(f, "u:x:1000:1000::%s:/bin/sh\nn:x:65534:65534::%s:/bin/sh\n", home, gone);
	fclose(f);
	l.v = items;
	l.n = 1;
	CHECK_EQ(hw_watch__build(&w, &l, passwd), 0);
	snprintf(passwd, sizeof(passwd), "%s/.ssh/authorized_keys", home);
	CHECK(hw_watch__match(&w, passwd));
	/* a home that does not exist yet is watched too: useradd -m writes passwd first */
	snprintf(passwd, sizeof(passwd), "%s/.ssh/authorized_keys2", gone);
	CHECK(hw_watch__match(&w, passwd));
	hw_watch__keys(&w, on_key, &ks);
	stat(ssh, &st);
	int found = 0;

	for (int i = 0; i < ks.n; i++)
		if (ks.k[i].ino == st.st_ino && !strcmp(ks.k[i].name, "authorized_keys") &&
		    ks.k[i].glob)
			found = 1;
	CHECK(found); /* keyed by the .ssh directory, the name a prefix */
	hw_watch__free(&w);
	snprintf(passwd, sizeof(passwd), "rm -rf %s", dir);
	CHECK_EQ(system(passwd), 0);
}

static struct hw_host host(void)
{
	struct hw_host h = {0};

	snprintf(h.name, sizeof(h.name), "h");
	snprintf(h.id, sizeof(h.id), "hid");
	snprintf(h.boot_id, sizeof(h.boot_id), "b");
	return h;
}

TEST(file_fact_view_equals_line)
{
	struct hw_host h = host();
	struct hw_process p = {0};
	struct hw_file_view v = {0};
	struct hw_json j = {0};
	struct hw_jdoc d = {0};
	struct hw_fact a, b;
	char err[128];

	p.k.pid = 42;
	p.k.ppid = 1;
	p.k.uid = 1000;
	p.k.euid = 1000;
	p.k.loginuid = (__u32)-1;
	p.k.sessionid = (__u32)-1;
	snprintf(p.k.comm, sizeof(p.k.comm), "sh");
	snprintf(p.entity_id, sizeof(p.entity_id), "E1");
	snprintf(p.parent_entity_id, sizeof(p.parent_entity_id), "E0");
	snprintf(p.session_id, sizeof(p.session_id), "S1");
	v.action = "file_renamed";
	v.ts_ns = 5;
	v.p = &p;
	v.user_name = "u";
	v.path = "/etc/cron.d/job";
	v.old_path = "/tmp/job";
	v.mode = 0100644;
	v.watched = 1;
	v.have_inode = 1;
	v.ino = 1234;
	v.dev = (8 << 20) | 1;
	hw_json__init(&j);
	hw_ecs__file_event(&j, &h, &v);
	CHECK(!j.error);
	CHECK_EQ(hw_jdoc__parse(&d, j.buf, j.len - 1), 0);
	CHECK_EQ(hw_fact__from_json(&a, &d, err, sizeof(err)), 0);
	hw_fact__file_event(&b, &h, &v);
	CHECK_EQ(memcmp(&a, &b, sizeof(a)), 0);
	CHECK_EQ(a.kind, HW_F_FILE);
	CHECK_STREQ(a.file_path, "/etc/cron.d/job");
	CHECK_STREQ(a.file_old, "/tmp/job");
	CHECK_STREQ(a.file_dev, "8:1");
	CHECK_EQ(a.file_ino, 1234);
	CHECK_EQ(a.file_mode, 0644);
	hw_jdoc__free(&d);
	hw_json__free(&j);
}

/* --- the rules, from facts ------------------------------------------------------------------ */

struct got {
	int n;
	char rule[32];
	char msg[640];
};

static void on_alert(const struct hw_alert *al, void *ctx)
{
	struct got *g = ctx;

	g->n++;
	snprintf(g->rule, sizeof(g->rule), "%s", al->rule_id);
	snprintf(g->msg, sizeof(g->msg), "%s", al->message);
}

static struct hw_fact proc(enum hw_fact_kind kind, const char *id, const char *parent,
			   const char *exe, int trusted, const char *session, unsigned long long ts)
{
	struct hw_fact f = {0};

	f.kind = kind;
	f.ts = ts;
	f.pid = 100;
	snprintf(f.entity_id, sizeof(f.entity_id), "%s", id);
	snprintf(f.parent_entity_id, sizeof(f.parent_entity_id), "%s", parent);
	snprintf(f.executable, sizeof(f.executable), "%s", exe);
	snprintf(f.name, sizeof(f.name), "%s", strrchr(exe, '/') + 1);
	snprintf(f.session_id, sizeof(f.session_id), "%s", session);
	f.exe_trusted = trusted;
	f.root = 1;
	f.stdio[0] = HW_IO_PIPE;
	return f;
}

static void login(struct hw_engine *e, const char *sid)
{
	struct hw_fact f = {0};

	f.kind = HW_F_LOGIN;
	f.ts = 1;
	snprintf(f.session_id, sizeof(f.session_id), "%s", sid);
	snprintf(f.user, sizeof(f.user), "u");
	snprintf(f.service, sizeof(f.service), "sshd");
	snprintf(f.src.ip, sizeof(f.src.ip), "198.18.0.1");
	f.login_verified = 1;
	hw_engine__feed(e, &f);
}

static void file(struct hw_engine *e, const char *writer, const char *session, const char *action,
		 const char *path, unsigned long long ino, int net, unsigned long long ts)
{
	struct hw_fact f = {0};

	f.kind = HW_F_FILE;
	f.ts = ts;
	snprintf(f.entity_id, sizeof(f.entity_id), "%s", writer);
	snprintf(f.session_id, sizeof(f.session_id), "%s", session);
	snprintf(f.file_action, sizeof(f.file_action), "%s", action);
	snprintf(f.file_path, sizeof(f.file_path), "%s", path);
	f.file_ino = ino;
	snprintf(f.file_dev, sizeof(f.file_dev), "8:1");
	f.file_watched = !strncmp(path, "/etc/", 5);
	f.file_netfacing = net;
	f.file_mode = 0755;
	hw_engine__feed(e, &f);
}

TEST(persistence_session_and_trusted_writer)
{
	struct hw_config cfg;
	struct got g = {0};
	struct hw_engine *e;
	struct hw_fact f;

	CHECK_EQ(hw_config__init(&cfg), 0);
	e = hw_engine__new(&cfg, on_alert, &g);
	login(e, "S1");
	/* a shell of the session appends to a cron file: persistence */
	f = proc(HW_F_EXEC, "sh1", "", "/usr/bin/bash", 1, "S1", 2);
	hw_engine__feed(e, &f);
	file(e, "sh1", "S1", "file_modified", "/etc/cron.d/job", 7, 1, 3);
	CHECK_EQ(g.n, 1);
	CHECK_STREQ(g.rule, "persistence");
	CHECK(strstr(g.msg, "/etc/cron.d/job") && strstr(g.msg, "198.18.0.1"));
	/* the real dpkg (trusted, full path) and what it runs: exempt */
	f = proc(HW_F_EXEC, "dpkg1", "sh1", "/usr/bin/dpkg", 1, "S1", 4);
	hw_engine__feed(e, &f);
	f = proc(HW_F_EXEC, "post1", "dpkg1", "/usr/bin/dash", 1, "S1", 5);
	hw_engine__feed(e, &f);
	file(e, "dpkg1", "S1", "file_created", "/etc/systemd/system/x.service", 8, 1, 6);
	file(e, "post1", "S1", "file_created", "/etc/systemd/system/y.service", 9, 1, 6);
	CHECK_EQ(g.n, 1);
	/* a program named dpkg that is not the trusted file: not exempt */
	f = proc(HW_F_EXEC, "fake1", "sh1", "/tmp/dpkg", 0, "S1", 7);
	hw_engine__feed(e, &f);
	file(e, "fake1", "S1", "file_created", "/etc/systemd/system/z.service", 10, 1, 8);
	CHECK_EQ(g.n, 2);
	/* outside a session and any network service: quiet */
	f = proc(HW_F_EXEC, "console1", "", "/usr/bin/vi", 1, "", 9);
	hw_engine__feed(e, &f);
	file(e, "console1", "", "file_modified", "/etc/crontab", 11, 0, 10);
	CHECK_EQ(g.n, 2);
	hw_engine__free(e);
	hw_config__free(&cfg);
}

TEST(transfer_exec_by_inode_within_window)
{
	struct hw_config cfg;
	struct got g = {0};
	struct hw_engine *e;
	struct hw_fact f;
	unsigned long long s = 1000000000ULL;

	CHECK_EQ(hw_config__init(&cfg), 0);
	e = hw_engine__new(&cfg, on_alert, &g);
	login(e, "S2");
	f = proc(HW_F_EXEC, "scp1", "", "/usr/bin/scp", 1, "S2", 2 * s);
	hw_engine__feed(e, &f);
	file(e, "scp1", "S2", "file_created", "/tmp/tool", 77, 1, 3 * s);
	/* another file with the same name but another inode runs: nothing */
	f = proc(HW_F_EXEC, "run0", "", "/tmp/tool", 0, "S2", 4 * s);
	f.exe_ino = 78;
	snprintf(f.exe_dev, sizeof(f.exe_dev), "8:1");
	hw_engine__feed(e, &f);
	CHECK_EQ(g.n, 0);
	/* the inode, under another name (renamed): transfer-exec */
	f = proc(HW_F_EXEC, "run1", "", "/tmp/renamed", 0, "S2", 5 * s);
	f.exe_ino = 77;
	snprintf(f.exe_dev, sizeof(f.exe_dev), "8:1");
	hw_engine__feed(e, &f);
	CHECK_EQ(g.n, 1);
	CHECK_STREQ(g.rule, "transfer-exec");
	/* past the window: nothing */
	file(e, "scp1", "S2", "file_created", "/tmp/tool2", 79, 1, 6 * s);
	f = proc(HW_F_EXEC, "run2", "", "/tmp/tool2", 0, "S2", 6 * s + cfg.transfer_window_ns + s);
	f.exe_ino = 79;
	snprintf(f.exe_dev, sizeof(f.exe_dev), "8:1");
	hw_engine__feed(e, &f);
	CHECK_EQ(g.n, 1);
	hw_engine__free(e);
	hw_config__free(&cfg);
}
