/* The file rules (docs/rules.md): persistence — a watched file changed by a process of a
 * remote session or under a network service, not by a trusted package manager. Judged from
 * the kernel's file facts (bpf/file.bpf.c) and the engine's lineage and sessions. */
#include <stdio.h>
#include <string.h>

#include "detect/engine_int.h"

#define SEV_HIGH 73
#define HW_FILE_UP 12 /* ancestors looked at */

static const char *pname(const struct hw_eproc *p)
{
	const char *s;

	if (p->name[0])
		return p->name;
	s = strrchr(p->exe, '/');
	return s ? s + 1 : p->exe[0] ? p->exe : "?";
}

/* p or an ancestor is a trusted writer (detect.file_writers: full paths, trusted files) */
static int by_file_writer(struct hw_engine *e, struct hw_eproc *p)
{
	for (int i = 0; p && i < HW_FILE_UP; i++, p = hw_engine__proc(e, p->parent))
		if (p->exe[0] == '/' && hw_engine__match(&e->cfg->file_writers, p->exe,
							 p->flags & EP_TRUSTED))
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
								     : p ? p->session : NULL);
	struct hw_eproc *svc = s ? NULL : network_service(e, p);
	struct hw_eproc *v[HW_ALERT_CHAIN];
	struct hw_alert a = {0};
	char ch[256], key[HW_FACT_PATH_LEN + HW_FACT_ID_LEN + 2], who[200];
	size_t off = 0;
	int n = 0;

	if (!f->file_watched || !p || (!s && !svc) || by_file_writer(e, p))
		return;
	for (struct hw_eproc *q = p; q && n < HW_ALERT_CHAIN; q = hw_engine__proc(e, q->parent))
		v[n++] = q;
	a.nchain = n;
	ch[0] = 0;
	for (int i = 0; i < n; i++) {
		a.chain[i] = pname(v[n - 1 - i]);
		a.chain_ids[i] = v[n - 1 - i]->node.key;
		if (off < sizeof(ch))
			off += (size_t)snprintf(ch + off, sizeof(ch) - off, "%s%s", i ? " → " : "",
						a.chain[i]);
	}
	a.entity_id = p->node.key;
	a.executable = p->exe;
	a.pid = p->pid;
	a.rule_id = "persistence";
	a.rule_name = "Persistence file changed remotely";
	a.severity = SEV_HIGH;
	a.severity_name = "high";
	/* authorized_keys, cron, systemd units, ld.so.preload, PAM, sudoers, accounts */
	a.techniques[a.ntechniques++] = strstr(f->file_path, "authorized_keys") ? "T1098.004"
					 : strstr(f->file_path, "cron")		 ? "T1053.003"
					 : strstr(f->file_path, "systemd")	 ? "T1543.002"
					 : strstr(f->file_path, "ld.so.preload") ? "T1574.006"
										 : "T1098";
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
		snprintf(who, sizeof(who), "under the network service %s (pid %u)", pname(svc),
			 svc->pid);
	}
	snprintf(a.message, sizeof(a.message), "%s (pid %u) %s %s %s%s%s (%s)", pname(p), p->pid,
		 !strcmp(f->file_action, "file_created")    ? "created"
		 : !strcmp(f->file_action, "file_deleted")  ? "deleted"
		 : !strcmp(f->file_action, "file_renamed")  ? "renamed into"
		 : !strcmp(f->file_action, "file_mode_changed") ? "changed the mode of"
							   : "changed",
		 f->file_path, who, f->file_old[0] ? " from " : "", f->file_old, ch);
	snprintf(key, sizeof(key), "%s|%s", p->node.key, f->file_path);
	hw_engine__emit(e, &a, key);
}

void hw_rules__file(struct hw_engine *e, const struct hw_fact *f, struct hw_eproc *p)
{
	persistence(e, f, p);
}
