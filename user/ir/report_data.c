/* The report's data (see report.h): the hop graph, built from the sessions model — every
 * session's login is an arrow from its client to its host, a hop (an outbound connection to
 * an admin port) that opened a session of the input is that session's arrow, one that did not
 * is an arrow of its own, and a hop-chain alert whose hops the input lacks draws them from its
 * hosts — each session's timeline, and the alerts, linked to both. Written as one JSON object
 * of ASCII only (report_json.c escapes every string). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ir/report.h"
#include "ir/report_int.h"

/* --- nodes ---------------------------------------------------------------------------------- */

static int node_add(struct rp *g, const char *host_id, const char *label)
{
	char key[RP_KEY];
	struct rp_node *v;
	int at;

	snprintf(key, sizeof(key), "%s\x1f%s", host_id, label);
	at = hw_rp_map__get(&g->node_m, key);
	if (at >= 0)
		return at;
	v = hw_ir__grow(g->nodes, &g->cnodes, g->nnodes, sizeof(*v));
	if (!v || hw_rp_map__put(&g->node_m, key, (int)g->nnodes))
		return -ENOMEM;
	if (host_id[0] && hw_rp_map__get(&g->name_m, label) < 0 &&
	    hw_rp_map__put(&g->name_m, label, (int)g->nnodes))
		return -ENOMEM;
	g->nodes = v;
	memset(&v[g->nnodes], 0, sizeof(v[0]));
	hw_ir__copy(v[g->nnodes].host_id, sizeof(v[0].host_id), host_id);
	hw_ir__copy(v[g->nnodes].label, sizeof(v[0].label), label);
	return (int)g->nnodes++;
}

static int host_node(struct rp *g, const struct hw_ir_session *x)
{
	return node_add(g, x->host_id, x->host_name[0] ? x->host_name : x->host_id);
}

static int is_loopback(const char *ip)
{
	return !strncmp(ip, "127.", 4) || !strcmp(ip, "::1") || !ip[0];
}

/* ip is an address of the host at node: its sessions' server end, its hops' source */
static int ip_note(struct rp *g, const char *ip, int node)
{
	if (is_loopback(ip) || hw_rp_map__get(&g->ip_m, ip) >= 0)
		return 0; /* the first host seen with it keeps it */
	return hw_rp_map__put(&g->ip_m, ip, node);
}

/* The host that has ip, or the address itself (a node with no host). */
static int node_of_ip(struct rp *g, const char *ip)
{
	int at = hw_rp_map__get(&g->ip_m, ip);

	return at >= 0 ? at : node_add(g, "", ip);
}

/* A host named so (a hop-chain alert names hosts), else an address. */
static int node_by_name(struct rp *g, const char *name)
{
	int at = hw_rp_map__get(&g->name_m, name);

	return at >= 0 ? at : node_of_ip(g, name);
}

/* --- edges ---------------------------------------------------------------------------------- */

static struct rp_edge *edge_add(struct rp *g, int from, int to)
{
	struct rp_edge *v = hw_ir__grow(g->edges, &g->cedges, g->nedges, sizeof(*v));

	if (!v)
		return NULL;
	g->edges = v;
	memset(&v[g->nedges], 0, sizeof(v[0]));
	v[g->nedges].from = from;
	v[g->nedges].to = to;
	v[g->nedges].sess = v[g->nedges].src_sess = -1;
	return &v[g->nedges++];
}

static const char *port_method(unsigned int port)
{
	switch (port) {
	case 22:
		return "ssh";
	case 23:
		return "telnet";
	case 445:
		return "smb";
	case 3389:
		return "rdp";
	case 5900:
		return "vnc";
	case 5985:
	case 5986:
		return "winrm";
	default:
		return NULL;
	}
}

const char *hw_report__proc_name(const struct rp *g, size_t si, const char *eid)
{
	char key[RP_KEY];
	int at;

	if (!eid[0])
		return "";
	snprintf(key, sizeof(key), "%zu/%s", si, eid);
	at = hw_rp_map__get(&g->proc_m, key);
	return at >= 0 ? g->v[si]->procs[at].name : "";
}

static int by_tuple(const void *a, const void *b)
{
	return strcmp(((const struct rp_tuple *)a)->key, ((const struct rp_tuple *)b)->key);
}

static void tuple_key(char *out, size_t n, const char *cip, unsigned int cport, const char *sip,
		      unsigned int sport)
{
	snprintf(out, n, "%s|%u|%s|%u", cip, cport, sip, sport);
}

/* Every session's login arrow, then the hops: onto the session they opened, or their own. */
static int edges_of_sessions(struct rp *g)
{
	struct rp_tuple *t = calloc(g->n ? g->n : 1, sizeof(*t));
	int err = -ENOMEM;

	if (!t)
		return -ENOMEM;
	for (size_t i = 0; i < g->n; i++) {
		const struct hw_ir_session *x = g->v[i];
		int h = host_node(g, x);

		if (h < 0 || ip_note(g, x->server_ip, h))
			goto out;
		for (size_t j = 0; j < x->nconns; j++)
			if (x->conns[j].egress && ip_note(g, x->conns[j].src_ip, h))
				goto out;
		for (size_t j = 0; j < x->nprocs; j++) {
			char key[RP_KEY];

			snprintf(key, sizeof(key), "%zu/%s", i, x->procs[j].eid);
			if (hw_rp_map__put(&g->proc_m, key, (int)j))
				goto out;
		}
		tuple_key(t[i].key, sizeof(t[i].key), x->client_ip, x->client_port, x->server_ip,
			  x->server_port);
		t[i].sess = i;
	}
	for (size_t i = 0; i < g->n; i++) {
		const struct hw_ir_session *x = g->v[i];
		int from = node_of_ip(g, x->client_ip), to = host_node(g, x);
		struct rp_edge *e = from < 0 || to < 0 ? NULL : edge_add(g, from, to);

		if (!e)
			goto out;
		e->sess = (int)i;
		e->ts = x->start;
		hw_ir__copy(e->user, sizeof(e->user), x->user);
		snprintf(e->method, sizeof(e->method), "%s%s%s", x->service,
			 x->auth_method[0] ? " " : "", x->auth_method);
		g->sess_edge[i] = (int)g->nedges - 1;
	}
	qsort(t, g->n, sizeof(*t), by_tuple);
	for (size_t i = 0; i < g->n; i++) {
		const struct hw_ir_session *x = g->v[i];

		for (size_t j = 0; j < x->nconns; j++) {
			const struct hw_ir_conn *c = &x->conns[j];
			const char *m = port_method(c->dport);
			struct rp_tuple key, *hit;
			struct rp_edge *e;
			char mk[RP_KEY];
			int to;

			if (!c->hop)
				continue;
			tuple_key(key.key, sizeof(key.key), c->src_ip, c->sport, c->dst_ip,
				  c->dport);
			hit = bsearch(&key, t, g->n, sizeof(*t), by_tuple);
			/* another host's session: hosts cloned from one image share host.id
			 * (the machine id), so the name tells them apart too */
			if (hit && (strcmp(g->v[hit->sess]->host_id, x->host_id) ||
				    strcmp(g->v[hit->sess]->host_name, x->host_name))) {
				e = &g->edges[g->sess_edge[hit->sess]];
				e->from = host_node(g, x);
			} else {
				to = node_of_ip(g, c->dst_ip);
				e = to < 0 ? NULL : edge_add(g, host_node(g, x), to);
				if (!e)
					goto out;
				e->ts = c->ts;
				e->failed = c->failure;
				hw_ir__copy(e->user, sizeof(e->user), x->user);
				if (m)
					snprintf(e->method, sizeof(e->method), "%s", m);
				else
					snprintf(e->method, sizeof(e->method), "port %u", c->dport);
			}
			e->src_sess = (int)i;
			e->conn = j;
			hw_ir__copy(e->via, sizeof(e->via),
				    hw_report__proc_name(g, i, c->owner_eid));
			snprintf(mk, sizeof(mk), "%zu/%zu", i, j);
			if (hw_rp_map__put(&g->hop_m, mk, (int)(e - g->edges)))
				goto out;
			snprintf(mk, sizeof(mk), "%s\x1f%s", x->host_id, c->id);
			if (c->id[0] && hw_rp_map__put(&g->conn_m, mk, (int)(e - g->edges)))
				goto out;
		}
	}
	err = 0;
out:
	free(t);
	return err;
}

static int link(struct rp *g, size_t a, int edge)
{
	int *v;

	g->edges[edge].alerted = 1;
	for (size_t i = 0; i < g->al[a].nedges; i++)
		if (g->al[a].edges[i] == edge)
			return 0;
	v = realloc(g->al[a].edges, (g->al[a].nedges + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	g->al[a].edges = v;
	v[g->al[a].nedges++] = edge;
	return 0;
}

/* "from>to" (the first such edge) and "from>to>session id" of every edge */
static int index_pairs(struct rp *g)
{
	char key[RP_KEY];

	for (size_t i = 0; i < g->nedges; i++) {
		const struct rp_edge *e = &g->edges[i];

		snprintf(key, sizeof(key), "%d>%d", e->from, e->to);
		if (hw_rp_map__get(&g->pair_m, key) < 0 && hw_rp_map__put(&g->pair_m, key, (int)i))
			return -ENOMEM;
		if (e->sess < 0)
			continue;
		snprintf(key, sizeof(key), "%d>%d>%s", e->from, e->to, g->v[e->sess]->id);
		if (hw_rp_map__put(&g->pair_m, key, (int)i))
			return -ENOMEM;
	}
	return 0;
}

/* A hop-chain alert lights its hops: found among the edges (one into a session of the chain
 * first), drawn from its hosts when the input has not got them. */
static int chain_edges(struct rp *g, size_t ai)
{
	const struct hw_rp_alert *a = &g->r->alerts[ai];
	char key[RP_KEY];

	for (int k = 0; k + 1 < a->nhosts; k++) {
		int from = node_by_name(g, a->hosts[k]), to = node_by_name(g, a->hosts[k + 1]);
		int found = -1;
		struct rp_edge *e;

		if (from < 0 || to < 0)
			return -ENOMEM;
		for (int j = -1; j < a->nrelated && found < 0; j++) {
			const char *sid = j < 0 ? a->sid : a->related[j];

			snprintf(key, sizeof(key), "%d>%d>%s", from, to, sid);
			if (sid[0])
				found = hw_rp_map__get(&g->pair_m, key);
		}
		snprintf(key, sizeof(key), "%d>%d", from, to);
		if (found < 0)
			found = hw_rp_map__get(&g->pair_m, key);
		if (found < 0) {
			e = edge_add(g, from, to);
			if (!e)
				return -ENOMEM;
			e->ts = a->ts;
			snprintf(e->method, sizeof(e->method), "hop-chain");
			if (k + 2 == a->nhosts)
				hw_ir__copy(e->user, sizeof(e->user), a->user);
			found = (int)g->nedges - 1;
			if (hw_rp_map__put(&g->pair_m, key, found))
				return -ENOMEM;
		}
		if (link(g, ai, found))
			return -ENOMEM;
	}
	return 0;
}

static void alert_key(char *out, size_t n, const char *host_id, const char *id, const char *rule)
{
	snprintf(out, n, "%s\x1f%s\x1f%s", host_id, id, rule);
}

/* Each alert's session (the model's placement: by session id, else by its process) and hops. */
static int place_alerts(struct rp *g)
{
	struct rp_map by_id = {0}, by_sid = {0};
	char key[RP_KEY];
	int err = -ENOMEM;

	for (size_t k = 0; k < g->r->nalerts; k++) {
		const struct hw_rp_alert *a = &g->r->alerts[k];

		alert_key(key, sizeof(key), a->host_id, a->id, a->rule);
		if (hw_rp_map__put(&by_id, key, (int)k))
			goto out;
	}
	for (size_t i = 0; i < g->n; i++) {
		const struct hw_ir_session *x = g->v[i];

		snprintf(key, sizeof(key), "%s\x1f%s", x->host_id, x->id);
		if (hw_rp_map__put(&by_sid, key, (int)i))
			goto out;
		for (size_t j = 0; j < x->nalerts; j++) {
			int k;

			alert_key(key, sizeof(key), x->host_id, x->alerts[j].id, x->alerts[j].rule);
			k = hw_rp_map__get(&by_id, key);
			if (k >= 0)
				g->al[k].sess = (int)i;
		}
	}
	if (index_pairs(g))
		goto out;
	for (size_t k = 0; k < g->r->nalerts; k++) {
		const struct hw_rp_alert *a = &g->r->alerts[k];
		int e;

		if (g->al[k].sess < 0 && a->sid[0]) {
			snprintf(key, sizeof(key), "%s\x1f%s", a->host_id, a->sid);
			g->al[k].sess = hw_rp_map__get(&by_sid, key);
		}
		if (!strcmp(a->rule, "hop-chain") && chain_edges(g, k))
			goto out;
		/* the hop it is about (lateral-movement names its connection) */
		snprintf(key, sizeof(key), "%s\x1f%s", a->host_id, a->conn);
		e = a->conn[0] ? hw_rp_map__get(&g->conn_m, key) : -1;
		if (e >= 0 && link(g, k, e))
			goto out;
	}
	err = 0;
out:
	hw_rp_map__free(&by_id);
	hw_rp_map__free(&by_sid);
	return err;
}

/* groups (a counting sort): first[i]..first[i + 1] in out are the alerts of item i */
static int group(struct rp *g, size_t n, int sessions, size_t **first_out, size_t **out)
{
	size_t total = 0, *first = calloc(n + 2, sizeof(*first)), *v;

	for (size_t k = 0; first && k < g->r->nalerts; k++) {
		if (sessions && g->al[k].sess >= 0)
			first[g->al[k].sess + 2]++, total++;
		for (size_t j = 0; !sessions && j < g->al[k].nedges; j++)
			first[g->al[k].edges[j] + 2]++, total++;
	}
	v = calloc(total ? total : 1, sizeof(*v));
	if (!first || !v) {
		free(first);
		free(v);
		return -ENOMEM;
	}
	for (size_t i = 2; i < n + 2; i++)
		first[i] += first[i - 1];
	for (size_t k = 0; k < g->r->nalerts; k++) {
		if (sessions && g->al[k].sess >= 0)
			v[first[g->al[k].sess + 1]++] = k;
		for (size_t j = 0; !sessions && j < g->al[k].nedges; j++)
			v[first[g->al[k].edges[j] + 1]++] = k;
	}
	*first_out = first;
	*out = v;
	return 0;
}

static int by_time(const void *pa, const void *pb)
{
	const struct hw_rp_alert *a = pa, *b = pb;
	int c = a->ts < b->ts ? -1 : a->ts > b->ts;

	if (!c)
		c = strcmp(a->host_name, b->host_name);
	if (!c)
		c = strcmp(a->rule, b->rule);
	if (!c)
		c = strcmp(a->id, b->id);
	return c ? c : strcmp(a->host_id, b->host_id);
}

int hw_report__data(FILE *out, struct hw_ir_session *const *v, size_t n, struct hw_report *r)
{
	struct rp g = {.v = v, .n = n, .r = r};
	int err = -ENOMEM;

	if (r->nalerts)
		qsort(r->alerts, r->nalerts, sizeof(*r->alerts), by_time);
	g.sess_edge = calloc(n ? n : 1, sizeof(*g.sess_edge));
	g.al = calloc(r->nalerts ? r->nalerts : 1, sizeof(*g.al));
	if (!g.sess_edge || !g.al)
		goto out;
	for (size_t k = 0; k < r->nalerts; k++)
		g.al[k].sess = -1;
	if (edges_of_sessions(&g) || place_alerts(&g) ||
	    group(&g, g.n, 1, &g.sess_first, &g.sess_alerts) ||
	    group(&g, g.nedges, 0, &g.edge_first, &g.edge_alerts))
		goto out;
	err = hw_report__emit(out, &g);
out:
	for (size_t k = 0; g.al && k < r->nalerts; k++)
		free(g.al[k].edges);
	free(g.al);
	free(g.sess_edge);
	free(g.nodes);
	free(g.edges);
	free(g.sess_first);
	free(g.sess_alerts);
	free(g.edge_first);
	free(g.edge_alerts);
	hw_rp_map__free(&g.node_m);
	hw_rp_map__free(&g.ip_m);
	hw_rp_map__free(&g.name_m);
	hw_rp_map__free(&g.hop_m);
	hw_rp_map__free(&g.conn_m);
	hw_rp_map__free(&g.pair_m);
	hw_rp_map__free(&g.proc_m);
	return err;
}

int hw_report__add_alert(struct hw_report *r, const struct hw_rp_alert *a)
{
	struct hw_rp_alert *v;
	char key[RP_KEY];
	int at;

	if (!r->seen) {
		r->seen = calloc(1, sizeof(*r->seen));
		if (!r->seen)
			return -ENOMEM;
	}
	alert_key(key, sizeof(key), a->host_id, a->id, a->rule);
	at = hw_rp_map__get(r->seen, key);
	if (at >= 0) {
		struct hw_rp_alert *o = &r->alerts[at];

		/* the same alert: the input's copy may say more (a chain's sessions, hosts) */
		if (!o->nrelated) {
			memcpy(o->related, a->related, sizeof(o->related));
			o->nrelated = a->nrelated;
		}
		if (!o->nhosts) {
			memcpy(o->hosts, a->hosts, sizeof(o->hosts));
			o->nhosts = a->nhosts;
		}
		return 0;
	}
	if (r->nalerts >= HW_RP_MAX_ALERTS) {
		r->dropped++;
		return 0;
	}
	v = hw_ir__grow(r->alerts, &r->calerts, r->nalerts, sizeof(*v));
	if (!v || hw_rp_map__put(r->seen, key, (int)r->nalerts))
		return -ENOMEM;
	r->alerts = v;
	v[r->nalerts++] = *a;
	return 0;
}

void hw_report__free(struct hw_report *r)
{
	if (r->seen)
		hw_rp_map__free(r->seen);
	free(r->seen);
	free(r->alerts);
	memset(r, 0, sizeof(*r));
}
