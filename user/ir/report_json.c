/* The report's data written as JSON (see report_int.h): nodes, edges, sessions with their
 * timelines, alerts. Every string is written as ASCII: printable characters as they are,
 * except < > & ' " and \, which like everything else (control bytes, every non-ASCII
 * character, U+2028 and U+2029) become \u escapes; bytes that are not UTF-8 become U+FFFD.
 * So the object can sit in an HTML <script> element: no "</script", no "<!--" can appear. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ir/report_int.h"

/* The code point at s (*len bytes long), or U+FFFD for a byte that starts no valid sequence
 * (then *len is 1). */
static unsigned int utf8_next(const unsigned char *s, size_t *len)
{
	unsigned int c = s[0], need, min, cp;

	*len = 1;
	if (c < 0x80)
		return c;
	if (c >= 0xc2 && c <= 0xdf)
		need = 1, min = 0x80, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		need = 2, min = 0x800, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		need = 3, min = 0x10000, cp = c & 0x07;
	else
		return 0xfffd;
	for (unsigned int i = 1; i <= need; i++) {
		if ((s[i] & 0xc0) != 0x80) /* also stops at the NUL */
			return 0xfffd;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0xfffd;
	*len = need + 1;
	return cp;
}

void hw_report__json_str(FILE *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t len;

	fputc('"', out);
	while (*p) {
		unsigned int cp = utf8_next(p, &len);

		p += len;
		if (cp >= 0x20 && cp < 0x7f && !strchr("<>&'\"\\", (int)cp)) {
			fputc((int)cp, out);
		} else if (cp > 0xffff) {
			cp -= 0x10000;
			fprintf(out, "\\u%04x\\u%04x", 0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff));
		} else {
			fprintf(out, "\\u%04x", cp);
		}
	}
	fputc('"', out);
}

/* ,"key":"value" (the first member of an object without the comma: key starts with '{') */
static void kv(FILE *out, const char *key, const char *val)
{
	fprintf(out, ",\"%s\":", key);
	hw_report__json_str(out, val);
}

static void kv_ref(FILE *out, const char *key, char kind, long idx)
{
	if (idx < 0)
		fprintf(out, ",\"%s\":null", key);
	else
		fprintf(out, ",\"%s\":\"%c%ld\"", key, kind, idx);
}

/* "2026-12-03 03:40:01.123" UTC; "" for 0 */
static void fmt_time(char *out, size_t n, unsigned long long ns)
{
	time_t t = (time_t)(ns / 1000000000ull);
	struct tm tm;
	char s[32];

	if (!ns || !gmtime_r(&t, &tm) || !strftime(s, sizeof(s), "%Y-%m-%d %H:%M:%S", &tm)) {
		snprintf(out, n, "%s", "");
		return;
	}
	snprintf(out, n, "%s.%03llu", s, ns / 1000000ull % 1000);
}

static void kv_time(FILE *out, const char *key, unsigned long long ns)
{
	char s[48];

	fmt_time(s, sizeof(s), ns);
	kv(out, key, s);
}

static void addr(char *out, size_t n, const char *ip, unsigned int port)
{
	snprintf(out, n, strchr(ip, ':') ? "[%s]:%u" : "%s:%u", ip, port);
}

static void emit_nodes(FILE *out, const struct rp *g)
{
	fputs("\"nodes\":[", out);
	for (size_t i = 0; i < g->nnodes; i++) {
		fprintf(out, "%s{\"id\":\"n%zu\"", i ? "," : "", i);
		kv(out, "label", g->nodes[i].label);
		kv(out, "kind", g->nodes[i].host_id[0] ? "host" : "address");
		kv(out, "host_id", g->nodes[i].host_id);
		fputc('}', out);
	}
	fputc(']', out);
}

static void emit_edges(FILE *out, const struct rp *g)
{
	fputs(",\"edges\":[", out);
	for (size_t i = 0; i < g->nedges; i++) {
		const struct rp_edge *e = &g->edges[i];
		int first = 1;

		fprintf(out, "%s{\"id\":\"e%zu\",\"from\":\"n%d\",\"to\":\"n%d\"", i ? "," : "", i,
			e->from, e->to);
		kv(out, "user", e->user);
		kv_time(out, "time", e->ts);
		kv(out, "method", e->method);
		kv(out, "via", e->via);
		kv_ref(out, "session", 's', e->sess);
		kv_ref(out, "source_session", 's', e->src_sess);
		fprintf(out, ",\"alerted\":%s,\"failed\":%s,\"alerts\":[",
			e->alerted ? "true" : "false", e->failed ? "true" : "false");
		for (size_t j = g->edge_first[i]; j < g->edge_first[i + 1]; j++) {
			fprintf(out, "%s\"a%zu\"", first ? "" : ",", g->edge_alerts[j]);
			first = 0;
		}
		fputs("]}", out);
	}
	fputc(']', out);
}

/* --- a session's timeline -------------------------------------------------------------------- */

enum { EV_LOGIN, EV_EXEC, EV_CONN, EV_ALERT, EV_LOGOUT };

struct tev {
	unsigned long long ts;
	int kind;
	size_t idx;
};

static int by_ts(const void *pa, const void *pb)
{
	const struct tev *a = pa, *b = pb;

	if (a->ts != b->ts)
		return a->ts < b->ts ? -1 : 1;
	if (a->kind != b->kind)
		return a->kind - b->kind;
	return a->idx < b->idx ? -1 : a->idx > b->idx;
}

/* the edge a hop of session si (its connection ci) drew */
static long hop_edge(const struct rp *g, size_t si, size_t ci)
{
	char key[64];

	snprintf(key, sizeof(key), "%zu/%zu", si, ci);
	return hw_rp_map__get(&g->hop_m, key);
}

static void emit_event(FILE *out, const struct rp *g, size_t si, const struct tev *t, int first)
{
	const struct hw_ir_session *x = g->v[si];
	char text[600], detail[600], a1[80], a2[80];
	const char *kind = "";
	long ref = -1;
	char rk = 'e';

	text[0] = detail[0] = 0;
	switch (t->kind) {
	case EV_LOGIN:
		kind = "login";
		addr(a1, sizeof(a1), x->client_ip, x->client_port);
		snprintf(text, sizeof(text), "%s logged in from %s", x->user, a1);
		snprintf(detail, sizeof(detail), "%s%s%s%s", x->service,
			 x->auth_method[0] ? ", " : "", x->auth_method,
			 x->snapshot ? ", open before the agent started" : "");
		ref = g->sess_edge[si];
		break;
	case EV_EXEC: {
		const struct hw_ir_proc *p = &x->procs[t->idx];

		kind = "exec";
		snprintf(text, sizeof(text), "%s", p->cmd[0] ? p->cmd : p->name);
		snprintf(detail, sizeof(detail), "pid %u, user %s, %s%s%s", p->pid, p->user, p->exe,
			 p->first[0] ? ", first ran: " : "", p->first);
		break;
	}
	case EV_CONN: {
		const struct hw_ir_conn *c = &x->conns[t->idx];

		kind = c->hop ? "hop" : "connect";
		addr(a1, sizeof(a1), c->src_ip, c->sport);
		addr(a2, sizeof(a2), c->dst_ip, c->dport);
		snprintf(text, sizeof(text), "%s %s %s %s%s", c->udp ? "udp" : "tcp", a1,
			 c->egress ? "->" : "<-", a2, c->failure ? " (failed)" : "");
		snprintf(detail, sizeof(detail), "by %s",
			 hw_report__proc_name(g, si, c->owner_eid));
		if (c->hop)
			ref = hop_edge(g, si, t->idx);
		break;
	}
	case EV_ALERT: {
		const struct hw_rp_alert *a = &g->r->alerts[t->idx];

		kind = "alert";
		snprintf(text, sizeof(text), "%s %s: %s", a->severity, a->rule, a->message);
		ref = (long)t->idx;
		rk = 'a';
		break;
	}
	case EV_LOGOUT:
		kind = "logout";
		snprintf(text, sizeof(text), "%s",
			 x->end_unknown ? "ended while the agent was away" : "logged out");
		snprintf(detail, sizeof(detail), "%s%s", x->ended_by[0] ? "ended by " : "",
			 x->ended_by);
		break;
	}
	fprintf(out, "%s{\"kind\":\"%s\"", first ? "" : ",", kind);
	kv_time(out, "time", t->ts);
	kv(out, "text", text);
	kv(out, "detail", detail);
	kv_ref(out, "ref", rk, ref);
	fputc('}', out);
}

static int emit_timeline(FILE *out, const struct rp *g, size_t si)
{
	const struct hw_ir_session *x = g->v[si];
	size_t n = 0, first = g->sess_first[si], last = g->sess_first[si + 1];
	size_t cap = 2 + x->nprocs + x->nconns + (last - first);
	struct tev *t = malloc(cap * sizeof(*t));
	int truncated = 0;

	if (!t)
		return -ENOMEM;
	t[n++] = (struct tev){x->start, EV_LOGIN, 0};
	for (size_t i = 0; i < x->nprocs; i++)
		t[n++] = (struct tev){x->procs[i].start, EV_EXEC, i};
	for (size_t i = 0; i < x->nconns; i++)
		t[n++] = (struct tev){x->conns[i].ts, EV_CONN, i};
	for (size_t i = first; i < last; i++)
		t[n++] =
		    (struct tev){g->r->alerts[g->sess_alerts[i]].ts, EV_ALERT, g->sess_alerts[i]};
	if (x->end)
		t[n++] = (struct tev){x->end, EV_LOGOUT, 0};
	qsort(t, n, sizeof(*t), by_ts);
	if (n > RP_EVENTS) {
		n = RP_EVENTS;
		truncated = 1;
	}
	fputs(",\"events\":[", out);
	for (size_t i = 0; i < n; i++)
		emit_event(out, g, si, &t[i], !i);
	fprintf(out, "],\"truncated\":%s", truncated || x->truncated ? "true" : "false");
	free(t);
	return 0;
}

static int emit_sessions(FILE *out, const struct rp *g)
{
	char a[80];

	fputs(",\"sessions\":[", out);
	for (size_t i = 0; i < g->n; i++) {
		const struct hw_ir_session *x = g->v[i];

		fprintf(out, "%s{\"id\":\"s%zu\"", i ? "," : "", i);
		kv(out, "sid", x->id);
		kv(out, "host", x->host_name[0] ? x->host_name : x->host_id);
		kv(out, "user", x->user);
		kv(out, "service", x->service);
		kv(out, "auth", x->auth_method);
		addr(a, sizeof(a), x->client_ip, x->client_port);
		kv(out, "source", a);
		kv_time(out, "start", x->start);
		kv_time(out, "end", x->end);
		fprintf(out, ",\"open\":%s,\"before_agent\":%s", x->end ? "false" : "true",
			x->snapshot ? "true" : "false");
		kv_ref(out, "edge", 'e', g->sess_edge[i]);
		if (emit_timeline(out, g, i))
			return -ENOMEM;
		fputc('}', out);
	}
	fputc(']', out);
	return 0;
}

static void emit_alerts(FILE *out, const struct rp *g)
{
	fputs(",\"alerts\":[", out);
	for (size_t k = 0; k < g->r->nalerts; k++) {
		const struct hw_rp_alert *a = &g->r->alerts[k];

		fprintf(out, "%s{\"id\":\"a%zu\"", k ? "," : "", k);
		kv_time(out, "time", a->ts);
		kv(out, "host", a->host_name[0] ? a->host_name : a->host_id);
		kv(out, "rule", a->rule);
		kv(out, "severity", a->severity);
		kv(out, "user", a->user);
		kv(out, "message", a->message);
		kv(out, "event_id", a->id);
		kv_ref(out, "session", 's', g->al[k].sess);
		fputs(",\"edges\":[", out);
		for (size_t j = 0; j < g->al[k].nedges; j++)
			fprintf(out, "%s\"e%d\"", j ? "," : "", g->al[k].edges[j]);
		fputs("],\"hosts\":[", out);
		for (int j = 0; j < a->nhosts; j++) {
			fputs(j ? "," : "", out);
			hw_report__json_str(out, a->hosts[j]);
		}
		fputs("]}", out);
	}
	fputc(']', out);
}

int hw_report__emit(FILE *out, const struct rp *g)
{
	size_t hosts = 0;

	for (size_t i = 0; i < g->nnodes; i++)
		hosts += g->nodes[i].host_id[0] != 0;
	fprintf(out, "{\"format\":1,\"hosts\":%zu,", hosts);
	emit_nodes(out, g);
	emit_edges(out, g);
	if (emit_sessions(out, g))
		return -ENOMEM;
	emit_alerts(out, g);
	fputc('}', out);
	return 0;
}
