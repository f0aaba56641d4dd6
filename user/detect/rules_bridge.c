/* raw-socket-bridge (docs/rules.md): a program that is not a known network tool holds a raw
 * packet socket (raw_socket_opened) and a long-lived outbound TCP connection to another host:
 * a layer-2 VPN bridge such as SoftEther's, renamed to pass for a system binary (T1572,
 * T1036.005). The holders live in e->raw from their socket to their exit; each tick judges
 * their connections against detect.raw_bridge_connection. One alert per process. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect/engine_int.h"
#include "detect/fact_raw.h"
#include "lib/attack.h"
#include "lib/str.h"

#define HW_AF_PACKET 17

struct hw_eraw {
	struct hw_snode node; /* the holder's entity id */
	char exe[HW_FACT_PATH_LEN];
	char name[HW_FACT_ARG_LEN];
	char argv0[HW_FACT_ARG_LEN]; /* the name it runs under */
	unsigned int pid, family, type, protocol;
	int fired;
};

/* A known network tool: its whole path is listed and the kernel vouched for it (a root-owned
 * file in root-owned directories). A copy under any other path or name is not one. */
static int network_tool(const struct hw_config *cfg, const char *exe, int trusted)
{
	if (!trusted || exe[0] != '/')
		return 0;
	for (size_t i = 0; i < cfg->raw_socket_programs.n; i++)
		if (!strcmp(cfg->raw_socket_programs.v[i], exe))
			return 1;
	return 0;
}

void hw_rules__raw_socket(struct hw_engine *e, const struct hw_fact *f, struct hw_eproc *p)
{
	const char *exe = f->executable[0] ? f->executable : p ? p->exe : "";
	struct hw_eraw *r;

	if (f->failure || !f->entity_id[0] || network_tool(e->cfg, exe, f->exe_trusted))
		return;
	r = (struct hw_eraw *)hw_smap__get(&e->raw, f->entity_id);
	if (!r) {
		if (hw_smap__count(&e->raw) >= HW_TABLE_MAX) {
			e->table_full++;
			return;
		}
		r = calloc(1, sizeof(*r));
		if (!r || hw_smap__put(&e->raw, &r->node, f->entity_id)) {
			free(r);
			return;
		}
	}
	hw_str__copy(r->exe, sizeof(r->exe), exe);
	hw_str__copy(r->name, sizeof(r->name), f->name[0] ? f->name : p ? p->name : "");
	hw_str__copy(r->argv0, sizeof(r->argv0), f->nargs ? f->args[0] : "");
	r->pid = f->pid;
	/* the alert names a packet socket when the process has one (a bridge also opens ICMP
	 * raw sockets, to probe) */
	if (!r->family || f->raw_family == HW_AF_PACKET || r->family != HW_AF_PACKET) {
		r->family = f->raw_family;
		r->type = f->raw_type;
		r->protocol = f->raw_protocol;
	}
}

/* A holder whose process exited holds nothing any more. */
static void forget_gone(struct hw_snode *n, void *ctx)
{
	struct hw_engine *e = ctx;
	struct hw_eproc *p = hw_engine__proc(e, n->key);

	if (!p || (p->flags & EP_EXITED)) {
		hw_smap__del(&e->raw, n);
		free(n);
	}
}

static void alert(struct hw_engine *e, struct hw_eraw *r, const struct hw_econn *c)
{
	struct hw_eproc *p = hw_engine__proc(e, r->node.key);
	struct hw_esession *s = hw_engine__session(e, c->session[0] ? c->session
						      : p	    ? p->session
								    : NULL);
	const char *family = hw_raw_family_name(r->family), *type = hw_raw_type_name(r->type);
	struct hw_alert a = {0};
	char age[32], ch[256], fam[24], typ[24], as[HW_FACT_ARG_LEN + 16] = "";

	a.rule_id = "raw-socket-bridge";
	a.rule_name = "Raw packet socket with a long-lived outbound connection";
	hw_alert__severity(&a, HW_SEV_HIGH);
	hw_alert__technique(&a, "T1572");
	hw_alert__technique(&a, "T1036.005");
	hw_rules__chain(e, &a, p, ch, sizeof(ch));
	a.entity_id = r->node.key;
	a.executable = r->exe;
	a.pid = r->pid;
	if (s) {
		a.session_id = s->node.key;
		a.user = s->user;
		a.service = s->service;
		a.source_ip = s->client.ip;
		a.source_port = s->client.port;
	}
	a.destination_ip = c->remote.ip;
	a.destination_port = c->remote.port;
	a.connection_id = c->node.key;
	a.age_ns = e->now - c->start;
	a.have_age = 1;
	a.idle_ns = e->now > c->last_seen ? e->now - c->last_seen : 0;
	a.bytes_out = c->local.bytes;
	a.bytes_in = c->remote.bytes;
	a.have_bytes = c->remote.have_bytes;
	hw_rules__format_age(a.age_ns, age, sizeof(age));
	if (family[0])
		snprintf(fam, sizeof(fam), "%s", family);
	else
		snprintf(fam, sizeof(fam), "af%u", r->family);
	if (type[0])
		snprintf(typ, sizeof(typ), "%s", type);
	else
		snprintf(typ, sizeof(typ), "type%u", r->type);
	if (r->argv0[0] && strcmp(r->argv0, r->name) && strcmp(r->argv0, r->exe))
		snprintf(as, sizeof(as), ", running as '%s'", r->argv0);
	snprintf(a.message, sizeof(a.message),
		 "%s (%s, pid %u%s) holds a raw socket (%s/%s, protocol %u) and has held a "
		 "connection to %s:%u open for %s: a VPN bridge or tunnel under a borrowed name "
		 "unless it is an expected network tool%s%s%s",
		 r->name[0] ? r->name : "a process", r->exe[0] ? r->exe : "path unknown", r->pid,
		 as, fam, typ, r->protocol, c->remote.ip, c->remote.port, age, ch[0] ? " (" : "",
		 ch, ch[0] ? ")" : "");
	hw_engine__emit(e, &a, r->node.key);
}

/* An outbound connection to another host, open long enough, of a holder not yet alerted. */
static void judge_conn(struct hw_snode *n, void *ctx)
{
	struct hw_engine *e = ctx;
	const struct hw_econn *c = (const struct hw_econn *)n;
	struct hw_eraw *r;

	if (!c->egress || !c->remote_host || !c->owner[0] || e->now < c->start ||
	    e->now - c->start < e->cfg->raw_bridge_connection_ns)
		return;
	r = (struct hw_eraw *)hw_smap__get(&e->raw, c->owner);
	if (!r || r->fired)
		return;
	r->fired = 1;
	alert(e, r, c);
}

void hw_rules__bridge_tick(struct hw_engine *e)
{
	if (!hw_smap__count(&e->raw))
		return;
	hw_smap__each(&e->raw, forget_gone, e);
	if (hw_smap__count(&e->raw))
		hw_smap__each(&e->conns, judge_conn, e);
}

size_t hw_rules__bridge_memory(const struct hw_engine *e)
{
	return hw_smap__count(&e->raw) * sizeof(struct hw_eraw);
}
