/* What `hopwatch sessions` prints (see sessions.h): the table, one session's process tree and
 * the JSON objects. Every string from the input is shown printable (control bytes as '?'). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ir/sessions.h"
#include "model/host.h"
#include "output/json.h"

#define NCOLS	   15
#define CELL	   96
#define TREE_DEPTH 64
#define PROGRAMS   64 /* names in a JSON object's programs */

static void printable(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

/* s, its control bytes shown as '?' */
static void put_clean(FILE *out, const char *s)
{
	for (; *s; s++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, out);
}

/* "! SEVERITY RULE: MESSAGE" of an alert, after prefix */
static void put_alert(FILE *out, const char *prefix, const struct hw_ir_alert *al)
{
	fprintf(out, "%s! ", prefix);
	put_clean(out, al->severity);
	fputc(' ', out);
	put_clean(out, al->rule);
	fputs(": ", out);
	put_clean(out, al->message);
	fputc('\n', out);
}

static void fmt_time(char *out, size_t n, unsigned long long ns)
{
	time_t t = (time_t)(ns / 1000000000ull);
	struct tm tm;

	if (!ns || !gmtime_r(&t, &tm) || !strftime(out, n, "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(out, n, "-");
}

static void fmt_dur(char *out, size_t n, unsigned long long ns)
{
	unsigned long long s = ns / 1000000000ull;

	if (s < 60)
		snprintf(out, n, "%llus", s);
	else if (s < 3600)
		snprintf(out, n, "%llum%02llus", s / 60, s % 60);
	else if (s < 86400)
		snprintf(out, n, "%lluh%02llum", s / 3600, s % 3600 / 60);
	else
		snprintf(out, n, "%llud%02lluh", s / 86400, s % 86400 / 3600);
}

static void fmt_bytes(char *out, size_t n, unsigned long long v)
{
	if (v < 1024)
		snprintf(out, n, "%llu", v);
	else if (v < 1024ull * 1024)
		snprintf(out, n, "%.1fK", (double)v / 1024);
	else if (v < 1024ull * 1024 * 1024)
		snprintf(out, n, "%.1fM", (double)v / (1024.0 * 1024));
	else
		snprintf(out, n, "%.1fG", (double)v / (1024.0 * 1024 * 1024));
}

static void fmt_addr(char *out, size_t n, const char *ip, unsigned int port)
{
	snprintf(out, n, strchr(ip, ':') ? "[%s]:%u" : "%s:%u", ip, port);
}

static unsigned long long duration(const struct hw_ir_session *x)
{
	unsigned long long until = x->end ? x->end : x->now;

	return until > x->start ? until - x->start : 0;
}

static int idle(const struct hw_ir_session *x, unsigned long long *ns)
{
	if (x->end || x->idle_unknown)
		return 0;
	if (x->have_idle)
		*ns = x->idle_ns;
	else
		*ns = x->now > x->last ? x->now - x->last : 0;
	return 1;
}

static size_t outbound(const struct hw_ir_session *x)
{
	size_t k = 0;

	for (size_t i = 0; i < x->nconns; i++)
		k += x->conns[i].egress && !x->conns[i].udp;
	return k;
}

/* The destinations of the session's hops, distinct, at most two named then "+N". */
static void fmt_hops(char *out, size_t n, const struct hw_ir_session *x)
{
	size_t len = 0, named = 0, more = 0;
	char a[80];

	out[0] = 0;
	for (size_t i = 0; i < x->nconns; i++) {
		const struct hw_ir_conn *c = &x->conns[i];
		int seen = 0;

		if (!c->hop)
			continue;
		for (size_t j = 0; j < i && !seen; j++)
			seen = x->conns[j].hop && x->conns[j].dport == c->dport &&
			       !strcmp(x->conns[j].dst_ip, c->dst_ip);
		if (seen)
			continue;
		if (named == 2) {
			more++;
			continue;
		}
		fmt_addr(a, sizeof(a), c->dst_ip, c->dport);
		if (len < n)
			len += (size_t)snprintf(out + len, n - len, "%s%s", named ? "," : "", a);
		named++;
	}
	if (more && len < n)
		snprintf(out + len, n - len, ",+%zu", more);
	if (!out[0])
		snprintf(out, n, "-");
}

static void fmt_alerts(char *out, size_t n, const struct hw_ir_session *x)
{
	const struct hw_ir_alert *top = NULL;

	for (size_t i = 0; i < x->nalerts; i++)
		if (!top || x->alerts[i].sev > top->sev)
			top = &x->alerts[i];
	if (top)
		snprintf(out, n, "%zu %s", x->nalerts, top->rule);
	else
		snprintf(out, n, "-");
}

static const char *const heads[NCOLS] = {
    "HOST", "USER", "SERVICE", "SOURCE",   "SINCE", "END",    "DURATION", "IDLE",
    "IN",   "OUT",  "PROCS",   "OUTBOUND", "HOPS",  "ALERTS", "SESSION",
};

static void row(char cells[NCOLS][CELL], const struct hw_ir_session *x)
{
	unsigned long long ns;
	char t[40];

	snprintf(cells[0], CELL, "%s", x->host_name[0] ? x->host_name : x->host_id);
	snprintf(cells[1], CELL, "%s", x->user[0] ? x->user : "?");
	snprintf(cells[2], CELL, "%s", x->service[0] ? x->service : "?");
	fmt_addr(cells[3], CELL, x->client_ip, x->client_port);
	fmt_time(t, sizeof(t), x->start);
	snprintf(cells[4], CELL, "%s%s", t, x->snapshot ? "*" : "");
	if (x->end_unknown)
		snprintf(cells[5], CELL, "unknown");
	else if (x->end)
		fmt_time(cells[5], CELL, x->end);
	else
		snprintf(cells[5], CELL, "open");
	fmt_dur(cells[6], CELL, duration(x));
	if (idle(x, &ns))
		fmt_dur(cells[7], CELL, ns);
	else
		snprintf(cells[7], CELL, "-");
	if (x->have_bytes) {
		fmt_bytes(cells[8], CELL, x->bytes_from_client);
		fmt_bytes(cells[9], CELL, x->bytes_to_client);
	} else {
		snprintf(cells[8], CELL, "-");
		snprintf(cells[9], CELL, "-");
	}
	snprintf(cells[10], CELL, "%zu%s", x->nprocs, x->truncated ? "+" : "");
	snprintf(cells[11], CELL, "%zu", outbound(x));
	fmt_hops(cells[12], CELL, x);
	fmt_alerts(cells[13], CELL, x);
	snprintf(cells[14], CELL, "%s", x->id);
	for (int i = 0; i < NCOLS; i++)
		printable(cells[i]);
}

int hw_ir__print_table(FILE *out, struct hw_ir_session *const *v, size_t n)
{
	char(*cells)[NCOLS][CELL] = calloc(n + 1, sizeof(*cells));
	size_t w[NCOLS] = {0};
	int snap = 0;

	if (!cells)
		return -ENOMEM;
	for (int c = 0; c < NCOLS; c++)
		snprintf(cells[0][c], CELL, "%s", heads[c]);
	for (size_t i = 0; i < n; i++) {
		row(cells[i + 1], v[i]);
		snap |= v[i]->snapshot;
	}
	for (size_t i = 0; i <= n; i++)
		for (int c = 0; c < NCOLS; c++)
			if (strlen(cells[i][c]) > w[c])
				w[c] = strlen(cells[i][c]);
	for (size_t i = 0; i <= n; i++)
		for (int c = 0; c < NCOLS; c++)
			if (c == NCOLS - 1)
				fprintf(out, "%s\n", cells[i][c]);
			else
				fprintf(out, "%-*s  ", (int)w[c], cells[i][c]);
	free(cells);
	if (snap)
		fprintf(out,
			"* found by the agent's snapshot: began before the agent, since is its "
			"true start\n");
	if (!n)
		fprintf(out, "(no remote sessions)\n");
	return ferror(out) ? -EIO : 0;
}

/* --- one session's tree -------------------------------------------------------------------- */

struct tree {
	FILE *out;
	const struct hw_ir_session *x;
	size_t *order; /* process indexes sorted by (parent entity id, start) */
	size_t *by_id; /* and by entity id */
	unsigned char *done;
};

static const struct hw_ir_session *sort_x;

static int by_eid(const void *a, const void *b)
{
	return strcmp(sort_x->procs[*(const size_t *)a].eid, sort_x->procs[*(const size_t *)b].eid);
}

/* Whether a process of the session has entity id eid. */
static int has_proc(const struct tree *t, const char *eid)
{
	size_t lo = 0, hi = t->x->nprocs;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(t->x->procs[t->by_id[mid]].eid, eid);

		if (!c)
			return 1;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

static int by_parent(const void *a, const void *b)
{
	const struct hw_ir_proc *p = &sort_x->procs[*(const size_t *)a];
	const struct hw_ir_proc *q = &sort_x->procs[*(const size_t *)b];
	int c = strcmp(p->parent_eid, q->parent_eid);

	if (!c)
		c = p->start < q->start ? -1 : p->start > q->start;
	return c;
}

/* First position in order of the children of eid. */
static size_t first_child(const struct tree *t, const char *eid)
{
	size_t lo = 0, hi = t->x->nprocs;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (strcmp(t->x->procs[t->order[mid]].parent_eid, eid) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void print_proc(struct tree *t, size_t pi, const char *prefix, const char *branch,
		       const char *cont, int depth)
{
	const struct hw_ir_proc *p = &t->x->procs[pi];
	char cmd[sizeof(p->cmd)], exe[sizeof(p->exe)], user[sizeof(p->user)], a[80], b[80];
	char first[sizeof(p->first)];
	char st[40], en[40], pre[TREE_DEPTH * 4 + 8], bo[24], bi[24];
	size_t k;

	t->done[pi] = 1;
	snprintf(cmd, sizeof(cmd), "%s", p->cmd[0] ? p->cmd : p->name);
	snprintf(exe, sizeof(exe), "%s", p->exe);
	snprintf(user, sizeof(user), "%s", p->user);
	snprintf(first, sizeof(first), "%s", p->first);
	printable(first);
	printable(cmd);
	printable(exe);
	printable(user);
	fmt_time(st, sizeof(st), p->start);
	fmt_time(en, sizeof(en), p->end);
	fprintf(t->out, "%s%s%s[%u] %s  (%s%s%s, %s%s%s)%s%s\n", prefix, branch,
		p->name[0] ? p->name : "?", p->pid, cmd, user[0] ? user : "?", exe[0] ? ", " : "",
		exe, st + 11, p->end ? " - " : ", running", p->end ? en + 11 : "",
		first[0] ? "  was: " : "", first);
	snprintf(pre, sizeof(pre), "%s%s", prefix, cont);
	for (size_t i = 0; i < t->x->nconns; i++) {
		const struct hw_ir_conn *c = &t->x->conns[i];

		if (strcmp(c->owner_eid, p->eid))
			continue;
		fmt_addr(a, sizeof(a), c->src_ip, c->sport);
		fmt_addr(b, sizeof(b), c->dst_ip, c->dport);
		fmt_bytes(bo, sizeof(bo), c->bytes_out);
		fmt_bytes(bi, sizeof(bi), c->bytes_in);
		printable(a);
		printable(b);
		fprintf(t->out, "%s    %s %s %s %s%s%s%s%s%s%s\n", pre, c->egress ? "->" : "<-",
			c->udp ? "udp" : "tcp", c->egress ? b : a, c->egress ? "from " : "to ",
			c->egress ? a : b, c->failure ? ", failed" : "",
			c->have_bytes ? ", sent " : "", c->have_bytes ? bo : "",
			c->have_bytes ? (c->egress ? " received " : " received ") : "",
			c->have_bytes ? bi : "");
		if (c->hop)
			fprintf(t->out, "%s       (a hop: an admin port of another host)\n", pre);
	}
	for (size_t i = 0; i < t->x->nalerts; i++) {
		const struct hw_ir_alert *al = &t->x->alerts[i];

		if (!strcmp(al->eid, p->eid)) {
			fputs(pre, t->out);
			put_alert(t->out, "    ", al);
		}
	}
	if (depth >= TREE_DEPTH) {
		fprintf(t->out, "%s    (deeper processes not shown)\n", pre);
		return;
	}
	k = first_child(t, p->eid);
	while (k < t->x->nprocs && !strcmp(t->x->procs[t->order[k]].parent_eid, p->eid)) {
		size_t ci = t->order[k++];
		int last = k >= t->x->nprocs || strcmp(t->x->procs[t->order[k]].parent_eid, p->eid);

		if (t->done[ci])
			continue;
		print_proc(t, ci, pre, last ? "`- " : "+- ", last ? "   " : "|  ", depth + 1);
	}
}

static void tree_header(FILE *out, const struct hw_ir_session *x)
{
	char user[sizeof(x->user)], svc[sizeof(x->service)], host[sizeof(x->host_name)];
	char cl[80], st[40], en[40], dur[24], bi[24], bo[24];

	snprintf(user, sizeof(user), "%s", x->user);
	snprintf(svc, sizeof(svc), "%s", x->service);
	snprintf(host, sizeof(host), "%s", x->host_name);
	printable(user);
	printable(svc);
	printable(host);
	fmt_addr(cl, sizeof(cl), x->client_ip, x->client_port);
	printable(cl);
	fmt_time(st, sizeof(st), x->start);
	fmt_time(en, sizeof(en), x->end);
	fmt_dur(dur, sizeof(dur), duration(x));
	fputs("session ", out);
	put_clean(out, x->id);
	fprintf(out, " on %s: %s from %s via %s", host, user, cl, svc);
	if (x->auth_method[0]) {
		fputs(" (", out);
		put_clean(out, x->auth_method);
		fputc(')', out);
	}
	fputc('\n', out);
	fprintf(out, "  since %s UTC%s, %s%s%s (%s)%s\n", st,
		x->snapshot ? " (began before the agent)" : "",
		x->end_unknown ? "ended unseen by "
		: x->end       ? "ended "
			       : "open",
		x->end ? en : "", x->end ? " UTC" : "", dur,
		x->verified ? "" : ", login not verified by the kernel");
	if (x->have_bytes) {
		fmt_bytes(bi, sizeof(bi), x->bytes_from_client);
		fmt_bytes(bo, sizeof(bo), x->bytes_to_client);
		fprintf(out, "  %s bytes from the client, %s to it\n", bi, bo);
	}
	fprintf(out, "  processes %zu, outbound connections %zu, alerts %zu%s\n", x->nprocs,
		outbound(x), x->nalerts, x->truncated ? " (more than kept: truncated)" : "");
}

int hw_ir__print_tree(FILE *out, const struct hw_ir_session *x)
{
	struct tree t = {.out = out, .x = x};

	t.order = malloc((x->nprocs + 1) * sizeof(*t.order));
	t.by_id = malloc((x->nprocs + 1) * sizeof(*t.by_id));
	t.done = calloc(x->nprocs + 1, 1);
	if (!t.order || !t.by_id || !t.done) {
		free(t.order);
		free(t.by_id);
		free(t.done);
		return -ENOMEM;
	}
	for (size_t i = 0; i < x->nprocs; i++)
		t.order[i] = t.by_id[i] = i;
	sort_x = x;
	qsort(t.order, x->nprocs, sizeof(*t.order), by_parent);
	qsort(t.by_id, x->nprocs, sizeof(*t.by_id), by_eid);
	tree_header(out, x);
	/* roots: processes whose parent is not in the session, oldest first */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t k = 0; k < x->nprocs; k++) {
			size_t i = t.order[k];
			int root = 1;

			if (t.done[i])
				continue;
			if (!pass && x->procs[i].parent_eid[0])
				root = !has_proc(&t, x->procs[i].parent_eid);
			if (root) /* the second pass: what a parent loop left unreached */
				print_proc(&t, i, "", "", "", 0);
		}
	}
	for (size_t i = 0; i < x->nalerts; i++) {
		const struct hw_ir_alert *al = &x->alerts[i];
		int shown = 0;

		shown = al->eid[0] && has_proc(&t, al->eid);
		if (!shown)
			put_alert(out, "", al);
	}
	free(t.order);
	free(t.by_id);
	free(t.done);
	return ferror(out) ? -EIO : 0;
}

/* --- JSON ---------------------------------------------------------------------------------- */

static void json_time(struct hw_json *j, const char *key, unsigned long long ns)
{
	char t[HW_TIME_LEN];

	if (!ns) {
		hw_json__null(j, key);
		return;
	}
	hw_format_time(ns, t);
	hw_json__string(j, key, t);
}

static void json_session(struct hw_json *j, const struct hw_ir_session *x)
{
	const char *prog[PROGRAMS];
	size_t nprog = 0;
	unsigned long long ns;

	hw_json__begin_object(j, NULL);
	hw_json__begin_object(j, "host");
	hw_json__string(j, "name", x->host_name);
	hw_json__string(j, "id", x->host_id);
	hw_json__end_object(j);
	hw_json__string(j, "id", x->id);
	hw_json__string(j, "user", x->user);
	hw_json__string(j, "service", x->service);
	if (x->auth_method[0])
		hw_json__string(j, "auth_method", x->auth_method);
	hw_json__bool(j, "verified", x->verified);
	hw_json__begin_object(j, "source");
	hw_json__string(j, "ip", x->client_ip);
	hw_json__u64(j, "port", x->client_port);
	hw_json__end_object(j);
	hw_json__begin_object(j, "destination");
	hw_json__string(j, "ip", x->server_ip);
	hw_json__u64(j, "port", x->server_port);
	hw_json__end_object(j);
	json_time(j, "start", x->start);
	hw_json__bool(j, "before_agent", x->snapshot);
	json_time(j, "login", x->login);
	json_time(j, "end", x->end);
	hw_json__bool(j, "open", !x->end);
	hw_json__bool(j, "end_unknown", x->end_unknown);
	if (x->ended_by[0])
		hw_json__string(j, "ended_by", x->ended_by);
	hw_json__u64(j, "duration_ns", duration(x));
	if (idle(x, &ns))
		hw_json__u64(j, "idle_ns", ns);
	else
		hw_json__null(j, "idle_ns");
	json_time(j, "last_activity", x->last);
	if (x->have_bytes) {
		hw_json__u64(j, "bytes_from_client", x->bytes_from_client);
		hw_json__u64(j, "bytes_to_client", x->bytes_to_client);
	} else {
		hw_json__null(j, "bytes_from_client");
		hw_json__null(j, "bytes_to_client");
	}
	hw_json__u64(j, "processes", x->nprocs);
	/* the distinct programs run, at most PROGRAMS of them */
	hw_json__begin_array(j, "programs");
	for (size_t i = 0; i < x->nprocs * 2 && nprog < PROGRAMS; i++) {
		const char *name = i % 2 ? x->procs[i / 2].name : x->procs[i / 2].first_name;
		int seen = !name[0];

		for (size_t k = 0; k < nprog && !seen; k++)
			seen = !strcmp(prog[k], name);
		if (seen)
			continue;
		prog[nprog++] = name;
		hw_json__string(j, NULL, name);
	}
	hw_json__end_array(j);
	hw_json__u64(j, "outbound", outbound(x));
	hw_json__begin_array(j, "connections");
	for (size_t i = 0; i < x->nconns; i++) {
		const struct hw_ir_conn *c = &x->conns[i];

		if (!c->egress)
			continue;
		hw_json__begin_object(j, NULL);
		hw_json__string(j, "transport", c->udp ? "udp" : "tcp");
		hw_json__string(j, "ip", c->dst_ip);
		hw_json__u64(j, "port", c->dport);
		json_time(j, "start", c->ts);
		hw_json__bool(j, "hop", c->hop);
		hw_json__bool(j, "failed", c->failure);
		for (size_t k = 0; k < x->nprocs; k++) {
			if (strcmp(x->procs[k].eid, c->owner_eid))
				continue;
			hw_json__u64(j, "pid", x->procs[k].pid);
			hw_json__string(j, "process", x->procs[k].name);
			break;
		}
		hw_json__end_object(j);
	}
	hw_json__end_array(j);
	hw_json__begin_array(j, "alerts");
	for (size_t i = 0; i < x->nalerts; i++) {
		const struct hw_ir_alert *a = &x->alerts[i];

		hw_json__begin_object(j, NULL);
		hw_json__string(j, "rule", a->rule);
		hw_json__string(j, "severity", a->severity);
		hw_json__string(j, "id", a->id);
		json_time(j, "time", a->ts);
		hw_json__string(j, "message", a->message);
		hw_json__end_object(j);
	}
	hw_json__end_array(j);
	hw_json__bool(j, "truncated", x->truncated);
	hw_json__end_object(j);
	hw_json__end_line(j);
}

int hw_ir__print_json(FILE *out, struct hw_ir_session *const *v, size_t n)
{
	struct hw_json j;
	int err = 0;

	hw_json__init(&j);
	for (size_t i = 0; i < n && !err; i++) {
		hw_json__reset(&j);
		json_session(&j, v[i]);
		if (j.error)
			err = j.error;
		else if (fwrite(j.buf, 1, j.len, out) != j.len)
			err = -EIO;
	}
	hw_json__free(&j);
	return err ? err : ferror(out) ? -EIO : 0;
}
