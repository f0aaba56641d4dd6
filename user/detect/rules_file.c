/* The file rules (docs/rules.md): persistence — a watched file changed by a process of a
 * remote session or under a network service, not by a trusted package manager; transfer-exec —
 * a file a network-facing process wrote, executed (by inode) within detect.transfer_window.
 * Judged from the kernel's file facts (bpf/file.bpf.c) and the engine's lineage and sessions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect/engine_int.h"
#include "lib/attack.h"
#include "lib/str.h"

#define HW_FILE_UP 12 /* ancestors looked at */

/* p or an ancestor is a trusted writer (detect.file_writers: full paths, trusted files) */
static int by_file_writer(struct hw_engine *e, struct hw_eproc *p)
{
	for (int i = 0; p && i < HW_FILE_UP; i++, p = hw_engine__proc(e, p->parent))
		if (p->exe[0] == '/' &&
		    hw_engine__match(&e->cfg->file_writers, p->exe, p->flags & EP_TRUSTED))
			return 1;
	return 0;
}

/* The first ancestor (p included) listening on TCP that is not pid 1 (systemd's socket
 * activation) nor a remote-access service (whose logins are sessions), or NULL. */
static struct hw_eproc *network_service(struct hw_engine *e, struct hw_eproc *p)
{
	for (int i = 0; p && i < HW_FILE_UP; i++, p = hw_engine__proc(e, p->parent)) {
		if (p->pid == 1)
			return NULL;
		if ((p->flags & EP_LISTENER) &&
		    !hw_engine__match(&e->cfg->remote_services, p->exe, p->flags & EP_TRUSTED))
			return p;
	}
	return NULL;
}

static void persistence(struct hw_engine *e, const struct hw_fact *f, struct hw_eproc *p)
{
	struct hw_esession *s = hw_engine__session(e, f->session_id[0] ? f->session_id
						      : p	       ? p->session
								       : NULL);
	struct hw_eproc *svc = s ? NULL : network_service(e, p);
	struct hw_alert a = {0};
	char ch[256], key[HW_FACT_PATH_LEN + HW_FACT_ID_LEN + 2], who[200];

	if (!f->file_watched || !p || (!s && !svc) || by_file_writer(e, p))
		return;
	hw_rules__chain(e, &a, p, ch, sizeof(ch));
	a.rule_id = "persistence";
	a.rule_name = "Persistence file changed remotely";
	hw_alert__severity(&a, HW_SEV_HIGH);
	/* authorized_keys, cron, systemd units, ld.so.preload, PAM, sudoers, accounts */
	hw_alert__technique(&a, strstr(f->file_path, "authorized_keys") ? "T1098.004"
				: strstr(f->file_path, "cron")		? "T1053.003"
				: strstr(f->file_path, "systemd")	? "T1543.002"
				: strstr(f->file_path, "ld.so.preload") ? "T1574.006"
									: "T1098");
	if (s) {
		a.session_id = s->node.key;
		a.user = s->user;
		a.service = s->service;
		a.source_ip = s->client.ip;
		a.source_port = s->client.port;
		snprintf(who, sizeof(who), "in the %s session of %s from %s", s->service, s->user,
			 s->client.ip);
	} else {
		a.related_ids[a.nrelated++] = svc->node.key;
		snprintf(who, sizeof(who), "under the network service %s (pid %u)",
			 hw_rules__pname(svc), svc->pid);
	}
	snprintf(a.message, sizeof(a.message), "%s (pid %u) %s %s %s%s%s (%s)", hw_rules__pname(p),
		 p->pid,
		 !strcmp(f->file_action, "file_created")	? "created"
		 : !strcmp(f->file_action, "file_deleted")	? "deleted"
		 : !strcmp(f->file_action, "file_renamed")	? "renamed into"
		 : !strcmp(f->file_action, "file_mode_changed") ? "changed the mode of"
								: "changed",
		 f->file_path, who, f->file_old[0] ? " from " : "", f->file_old, ch);
	snprintf(key, sizeof(key), "%s|%s", p->node.key, f->file_path);
	hw_engine__emit(e, &a, key);
}

/* --- transfer-exec -------------------------------------------------------------------------- */

/* A writer that takes the file from the network: it holds a connection to another host (curl,
 * wget), or it runs without a terminal in a remote session or under a network service (scp -t,
 * sftp-server, `ssh host 'cat > f'`, a web shell). A compiler run from an interactive session
 * is none of these. */
static int takes_from_network(struct hw_engine *e, const struct hw_fact *f, struct hw_eproc *p)
{
	int terminal = p->stdio[0] == HW_IO_PTY || p->stdio[0] == HW_IO_TTY;

	if (p->open_conns || p->open_egress)
		return 1;
	if (terminal)
		return 0;
	return hw_engine__session(e, f->session_id[0] ? f->session_id : p->session) ||
	       network_service(e, p);
}

static void inode_key(char *out, size_t len, const char *dev, unsigned long long ino)
{
	hw_str__pair(out, len, dev, ino);
}

static void transfer_note(struct hw_engine *e, const struct hw_fact *f, struct hw_eproc *p)
{
	struct hw_etransfer *t;
	char key[HW_SMAP_KEY_LEN];

	if (!f->file_ino || !f->file_dev[0] || !p || !takes_from_network(e, f, p))
		return;
	inode_key(key, sizeof(key), f->file_dev, f->file_ino);
	t = (struct hw_etransfer *)hw_smap__get(&e->transfers, key);
	if (!t) {
		if (hw_smap__count(&e->transfers) >= HW_TABLE_MAX) {
			e->table_full++;
			return;
		}
		t = calloc(1, sizeof(*t));
		if (!t || hw_smap__put(&e->transfers, &t->node, key)) {
			free(t);
			return;
		}
	}
	t->ts = f->ts;
	t->fired = 0;
	snprintf(t->writer, sizeof(t->writer), "%s", p->node.key);
	snprintf(t->writer_name, sizeof(t->writer_name), "%s", hw_rules__pname(p));
	snprintf(t->path, sizeof(t->path), "%s", f->file_path);
	snprintf(t->session, sizeof(t->session), "%s",
		 f->session_id[0] ? f->session_id : p->session);
}

struct chmod_ctx {
	const struct hw_fact *f;
};

static void chmod_by_path(struct hw_snode *n, void *ctx)
{
	struct hw_etransfer *t = (struct hw_etransfer *)n;
	const struct chmod_ctx *c = ctx;

	if (!strcmp(t->path, c->f->file_path))
		t->chmod_ts = c->f->ts;
}

/* a chmod that sets an execute bit: by inode when the kernel gave it, else by path */
static void transfer_chmod(struct hw_engine *e, const struct hw_fact *f)
{
	char key[HW_SMAP_KEY_LEN];
	struct hw_etransfer *t;
	struct chmod_ctx c = {f};

	if (!(f->file_mode & 0111))
		return;
	if (f->file_ino && f->file_dev[0]) {
		inode_key(key, sizeof(key), f->file_dev, f->file_ino);
		t = (struct hw_etransfer *)hw_smap__get(&e->transfers, key);
		if (t)
			t->chmod_ts = f->ts;
		return;
	}
	hw_smap__each(&e->transfers, chmod_by_path, &c);
}

void hw_rules__file_exec(struct hw_engine *e, const struct hw_fact *f, struct hw_eproc *p)
{
	char key[HW_SMAP_KEY_LEN], ch[256];
	struct hw_etransfer *t;
	struct hw_esession *s;
	struct hw_alert a = {0};

	if (!f->exe_ino || !f->exe_dev[0])
		return;
	inode_key(key, sizeof(key), f->exe_dev, f->exe_ino);
	t = (struct hw_etransfer *)hw_smap__get(&e->transfers, key);
	if (!t || t->fired || f->ts < t->ts || f->ts - t->ts > e->cfg->transfer_window_ns)
		return;
	t->fired = 1;
	hw_rules__chain(e, &a, p, ch, sizeof(ch));
	a.rule_id = "transfer-exec";
	a.rule_name = "Transferred file executed";
	hw_alert__severity(&a, HW_SEV_HIGH);
	hw_alert__technique(&a, "T1105");
	hw_alert__technique(&a, "T1570");
	a.related_ids[a.nrelated++] = t->writer;
	s = hw_engine__session(e, t->session);
	if (s) {
		a.session_id = s->node.key;
		a.user = s->user;
		a.service = s->service;
		a.source_ip = s->client.ip;
		a.source_port = s->client.port;
	}
	snprintf(a.message, sizeof(a.message),
		 "%s (pid %u) runs %s, written %llus earlier by %s, which took it from the "
		 "network%s%s%s (%s)",
		 hw_rules__pname(p), p->pid, f->executable, (f->ts - t->ts) / NS_PER_SEC,
		 t->writer_name, t->chmod_ts ? ", then made executable" : "",
		 s ? " in the session of " : "", s ? s->user : "", ch);
	hw_engine__emit(e, &a, key);
}

void hw_rules__file(struct hw_engine *e, const struct hw_fact *f, struct hw_eproc *p)
{
	persistence(e, f, p);
	if (!strcmp(f->file_action, "file_mode_changed"))
		transfer_chmod(e, f);
	else if (f->file_netfacing && (!strcmp(f->file_action, "file_created") ||
				       !strcmp(f->file_action, "file_modified")))
		transfer_note(e, f, p);
}

static void expire(struct hw_snode *n, void *ctx)
{
	struct hw_engine *e = ctx;
	struct hw_etransfer *t = (struct hw_etransfer *)n;

	if (e->now > t->ts && e->now - t->ts > e->cfg->transfer_window_ns) {
		hw_smap__del(&e->transfers, n);
		free(t);
	}
}

void hw_rules__file_tick(struct hw_engine *e)
{
	if (hw_smap__count(&e->transfers))
		hw_smap__each(&e->transfers, expire, e);
}
