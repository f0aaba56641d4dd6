/* The engine's model: processes, connections and sessions rebuilt from event facts, then
 * handed to the rules (rules.c). Memory is bounded: exited processes are kept in a FIFO of
 * HW_EXITED_KEPT, closed connections and ended sessions are freed, each table holds at most
 * HW_TABLE_MAX entries (beyond that new entries are not followed and counted). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect/engine_int.h"
#include "lib/addr.h"
#include "lib/hash.h"
#include "lib/mem.h"
#include "lib/str.h"

/* What hw_engine__feed_line() reads a line into. */
struct hw_engine_line {
	struct hw_jdoc doc;
	struct hw_fact fact;
};

struct hw_eproc *hw_engine__proc(struct hw_engine *e, const char *entity_id)
{
	return entity_id && entity_id[0] ? (struct hw_eproc *)hw_smap__get(&e->procs, entity_id)
					 : NULL;
}

struct hw_esession *hw_engine__session(struct hw_engine *e, const char *id)
{
	return id && id[0] ? (struct hw_esession *)hw_smap__get(&e->sessions, id) : NULL;
}

int hw_engine__internal(const struct hw_engine *e, const char *ip)
{
	struct hw_addr a;

	return !hw_addr__parse(&a, ip) &&
	       hw_cidrs_contain(e->cfg->internal_nets.v, e->cfg->internal_nets.n, a.family, a.a);
}

int hw_engine__loopback(const char *ip)
{
	return hw_addr__local(ip);
}

int hw_engine__admin_port(const struct hw_engine *e, unsigned int port)
{
	for (size_t i = 0; i < e->cfg->admin_ports.n; i++)
		if (e->cfg->admin_ports.v[i] == port)
			return 1;
	return 0;
}

/* An executable against a list of names (its base name) and paths (the whole path). */
int hw_engine__match(const struct hw_str_list *l, const char *exe, int trusted)
{
	const char *base;

	if (!trusted || !exe || !exe[0])
		return 0;
	base = hw_str__base_name(exe);
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i][0] == '/' ? !strcmp(l->v[i], exe) : !strcmp(l->v[i], base))
			return 1;
	return 0;
}

static int allowed_source(const struct hw_engine *e, const char *ip)
{
	struct hw_addr a;

	return !hw_addr__parse(&a, ip) &&
	       hw_cidrs_contain(e->cfg->allow_sources.v, e->cfg->allow_sources.n, a.family, a.a);
}

/* A short id, the same in replay: FNV-1a 64 of host, rule, the entity it fired for and the
 * moment (a rule fires once per entity, but may fire again for it after its window). */
static void alert_id(char out[24], const char *host, const char *rule, const char *key,
		     unsigned long long ts)
{
	uint64_t h =
	    hw_fnv__u64(hw_fnv__str(hw_fnv__str(hw_fnv__str(HW_FNV0, host), rule), key), ts);

	snprintf(out, 24, "%016llx", (unsigned long long)h);
}

void hw_alert__severity(struct hw_alert *a, int sev)
{
	a->severity = sev;
	a->severity_name = hw_attack__severity_name(sev);
}

void hw_alert__technique(struct hw_alert *a, const char *id)
{
	hw_attack__add_technique(a->techniques, &a->ntechniques, HW_ALERT_TECHNIQUES, id);
}

void hw_engine__emit(struct hw_engine *e, struct hw_alert *a, const char *key)
{
	a->ts = e->now;
	a->host_id = e->host_id;
	a->host_name = e->host_name;
	alert_id(a->id, e->host_id, a->rule_id, key, a->ts);
	e->alerts++;
	if (e->fn)
		e->fn(a, e->ctx);
}

struct hw_engine *hw_engine__new(const struct hw_config *cfg, hw_alert_fn fn, void *ctx)
{
	struct hw_engine *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->cfg = cfg;
	e->fn = fn;
	e->ctx = ctx;
	return e;
}

static void free_node(struct hw_snode *n, void *ctx)
{
	(void)ctx;
	free(n);
}

static void free_proc(struct hw_engine *e, struct hw_eproc *p)
{
	hw_intern__put(&e->strs, p->exe);
	free(p->net);
	free(p);
}

static void free_proc_node(struct hw_snode *n, void *ctx)
{
	(void)ctx;
	free_proc(ctx, (struct hw_eproc *)n);
}

/* p's network record, made when first needed; NULL when out of memory. */
static struct hw_eproc_net *proc_net(struct hw_eproc *p)
{
	if (!p->net)
		p->net = hw_zalloc(sizeof(*p->net));
	return p->net;
}

int hw_engine__grow(struct hw_engine *e, void **arr, int *cap, int n, size_t size, int max)
{
	int want;
	void *a;

	if (n < *cap)
		return 0;
	if (*cap >= max)
		return -1;
	want = *cap ? *cap * 2 : 4;
	if (want > max)
		want = max;
	a = realloc(*arr, (size_t)want * size);
	if (!a)
		return -1;
	e->grown += (size_t)(want - *cap) * size;
	*arr = a;
	*cap = want;
	return 0;
}

void hw_engine__free_session(struct hw_engine *e, struct hw_esession *s)
{
	e->grown -= (size_t)s->cap_lateral * sizeof(s->lateral[0]);
	free(s->lateral);
	free(s);
}

void hw_engine__free_fanout(struct hw_engine *e, struct hw_efanout *fo)
{
	e->grown -= (size_t)fo->cap * sizeof(fo->hosts[0]);
	free(fo->hosts);
	free(fo);
}

static void free_session_node(struct hw_snode *n, void *ctx)
{
	hw_engine__free_session(ctx, (struct hw_esession *)n);
}

static void free_fanout_node(struct hw_snode *n, void *ctx)
{
	hw_engine__free_fanout(ctx, (struct hw_efanout *)n);
}

static void free_tables(struct hw_engine *e)
{
	struct {
		struct hw_smap *m;
		void (*fn)(struct hw_snode *n, void *ctx);
	} maps[] = {{&e->procs, free_proc_node},
		    {&e->conns, free_node},
		    {&e->sessions, free_session_node},
		    {&e->fanout, free_fanout_node},
		    {&e->brute, free_node},
		    {&e->raw, free_node},
		    {&e->transfers, free_node}};

	for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		hw_smap__each(maps[i].m, maps[i].fn, e);
		hw_smap__free(maps[i].m);
	}
}

void hw_engine__free(struct hw_engine *e)
{
	if (!e)
		return;
	free_tables(e);
	hw_intern__free(&e->strs);
	if (e->line)
		hw_jdoc__free(&e->line->doc);
	free(e->line);
	free(e);
}

/* Finds or creates a record of size bytes under key; NULL when the table is full. */
static void *upsert(struct hw_engine *e, struct hw_smap *m, const char *key, size_t size,
		    int *created)
{
	struct hw_snode *n = hw_smap__get(m, key);

	*created = 0;
	if (n)
		return n;
	if (hw_smap__count(m) >= HW_TABLE_MAX) {
		e->table_full++;
		return NULL;
	}
	n = hw_zalloc(size);
	if (!n)
		return NULL;
	if (hw_smap__put(m, n, key)) {
		free(n);
		return NULL;
	}
	*created = 1;
	return n;
}

static void proc_forget_oldest_exited(struct hw_engine *e)
{
	while (e->nexited > HW_EXITED_KEPT && e->exited_head) {
		struct hw_eproc *p = e->exited_head;

		e->exited_head = p->exited_next;
		if (!e->exited_head)
			e->exited_tail = NULL;
		e->nexited--;
		hw_smap__del(&e->procs, &p->node);
		free_proc(e, p);
	}
}

/* What a process event says of the program and credentials (not network events, whose
 * process object is the owner's, as last known). */
static void proc_trust(struct hw_eproc *p, const struct hw_fact *f)
{
	p->flags &= ~(EP_TRUSTED | EP_ROOT);
	if (f->exe_trusted)
		p->flags |= EP_TRUSTED;
	if (f->root)
		p->flags |= EP_ROOT;
}

/* p's executable from now on (out of memory: unknown). */
static void set_exe(struct hw_engine *e, struct hw_eproc *p, const char *exe)
{
	const char *x;

	if (!strcmp(p->exe, exe))
		return;
	x = hw_intern__get(&e->strs, exe, HW_FACT_PATH_LEN);
	hw_intern__put(&e->strs, p->exe);
	p->exe = x ? x : "";
}

/* The process an event is about, created or refreshed from the fact. */
static struct hw_eproc *proc_of(struct hw_engine *e, const struct hw_fact *f, int image)
{
	struct hw_eproc *p;
	int created;

	if (!f->entity_id[0])
		return NULL;
	p = upsert(e, &e->procs, f->entity_id, sizeof(*p), &created);
	if (!p)
		return NULL;
	if (created) {
		p->pid = f->pid;
		p->exe = "";
		set_exe(e, p, f->executable);
		hw_str__copy(p->name, sizeof(p->name), f->name);
	}
	if (f->parent_entity_id[0])
		hw_str__copy(p->parent, sizeof(p->parent), f->parent_entity_id);
	if (image && f->executable[0]) {
		set_exe(e, p, f->executable);
		hw_str__copy(p->name, sizeof(p->name), f->name);
	}
	if (f->session_id[0])
		hw_str__copy(p->session, sizeof(p->session), f->session_id);
	return p;
}

static void proc_exit(struct hw_engine *e, struct hw_eproc *p)
{
	if (p->flags & EP_EXITED)
		return;
	p->flags |= EP_EXITED;
	p->exited_next = NULL;
	if (e->exited_tail)
		e->exited_tail->exited_next = p;
	else
		e->exited_head = p;
	e->exited_tail = p;
	e->nexited++;
	proc_forget_oldest_exited(e);
}

static void conn_close(struct hw_engine *e, struct hw_econn *c)
{
	struct hw_eproc *p = hw_engine__proc(e, c->owner);

	if (p && c->remote_host) {
		if (p->open_conns)
			p->open_conns--;
		if (c->egress && p->open_egress)
			p->open_egress--;
	}
	hw_smap__del(&e->conns, &c->node);
	free(c);
}

/* A connection the fact reports open (attempted with success, accepted, found, reported). */
static struct hw_econn *conn_open(struct hw_engine *e, const struct hw_fact *f, struct hw_eproc *p)
{
	struct hw_econn *c;
	int created;

	if (!f->conn_id[0] || f->udp)
		return NULL;
	c = upsert(e, &e->conns, f->conn_id, sizeof(*c), &created);
	if (!c)
		return NULL;
	if (created) {
		c->egress = f->egress;
		/* source is the local end of an egress connection, the remote of an ingress one */
		c->local = f->egress ? f->src : f->dst;
		c->remote = f->egress ? f->dst : f->src;
		c->remote_host =
		    !hw_engine__loopback(c->remote.ip) && strcmp(c->remote.ip, c->local.ip);
		c->start = f->conn_start ? f->conn_start : f->ts;
		c->pid = f->pid;
		hw_str__copy(c->owner, sizeof(c->owner), f->entity_id);
		hw_str__copy(c->exe, sizeof(c->exe),
			     f->executable[0] ? f->executable
			     : p	      ? p->exe
					      : "");
		hw_str__copy(c->session, sizeof(c->session), f->session_id);
		c->exe_trusted = p && (p->flags & EP_TRUSTED) && !strcmp(c->exe, p->exe);
		if (p && c->remote_host) {
			struct hw_eproc_net *pn = proc_net(p);

			if (pn) {
				pn->last_local = c->local;
				pn->last_remote = c->remote;
				pn->last_ingress = !c->egress;
				hw_str__copy(pn->last_conn, sizeof(pn->last_conn), c->node.key);
			}
			p->open_conns++;
			if (c->egress)
				p->open_egress++;
		}
	}
	if (f->src.have_bytes) {
		c->local.bytes = f->egress ? f->src.bytes : f->dst.bytes;
		c->remote.bytes = f->egress ? f->dst.bytes : f->src.bytes;
		c->local.have_bytes = c->remote.have_bytes = 1;
	}
	c->last_seen = f->ts;
	return c;
}

/* The session whose connection this is (client = remote end, server = local end). */
static struct hw_esession *session_of_conn(struct hw_engine *e, const struct hw_econn *c);

struct conn_match {
	const struct hw_econn *c;
	struct hw_esession *found;
};

static void match_session(struct hw_snode *n, void *ctx)
{
	struct hw_esession *s = (struct hw_esession *)n;
	struct conn_match *m = ctx;

	if (!m->found && s->client.port == m->c->remote.port &&
	    s->server.port == m->c->local.port && !strcmp(s->client.ip, m->c->remote.ip) &&
	    !strcmp(s->server.ip, m->c->local.ip))
		m->found = s;
}

static struct hw_esession *session_of_conn(struct hw_engine *e, const struct hw_econn *c)
{
	struct conn_match m = {.c = c};

	if (c->egress || !hw_smap__count(&e->sessions))
		return NULL;
	hw_smap__each(&e->sessions, match_session, &m);
	return m.found;
}

static void session_bytes(struct hw_engine *e, const struct hw_econn *c)
{
	struct hw_esession *s;

	if (!c || c->egress || !c->remote.have_bytes)
		return;
	s = session_of_conn(e, c);
	if (s) {
		s->bytes_in = c->remote.bytes;
		s->bytes_out = c->local.bytes;
		s->have_bytes = 1;
	}
}

static void session_open(struct hw_engine *e, const struct hw_fact *f)
{
	struct hw_esession *s;
	int created;

	if (!f->session_id[0])
		return;
	s = upsert(e, &e->sessions, f->session_id, sizeof(*s), &created);
	if (!s)
		return;
	hw_str__copy(s->user, sizeof(s->user), f->user);
	hw_str__copy(s->service, sizeof(s->service), f->service);
	hw_str__copy(s->handler, sizeof(s->handler), f->entity_id);
	s->verified = f->login_verified;
	s->client = f->src;
	s->server = f->dst;
	s->client.have_bytes = s->server.have_bytes = 0;
	if (created) {
		s->start = f->session_start ? f->session_start : f->ts;
		s->last_activity = f->ts;
		s->allowed = allowed_source(e, s->client.ip);
	}
}

static void sweep(struct hw_snode *n, void *ctx);

struct sweep_ctx {
	struct hw_engine *e;
	struct hw_smap *m;
	unsigned long long before;
};

static void sweep(struct hw_snode *n, void *ctx)
{
	struct sweep_ctx *s = ctx;
	unsigned long long last;

	if (s->m == &s->e->brute) {
		const struct hw_ebrute *b = (const struct hw_ebrute *)n;

		/* a burst that alerted waits a day for the success that would escalate it */
		last = b->last;
		if (b->fired && !b->fired_success)
			last += 86400 * NS_PER_SEC;
	} else {
		const struct hw_efanout *fo = (const struct hw_efanout *)n;

		last = fo->n ? fo->hosts[fo->n - 1].ts : 0;
	}
	if (last < s->before) {
		hw_smap__del(s->m, n);
		if (s->m == &s->e->fanout)
			hw_engine__free_fanout(s->e, (struct hw_efanout *)n);
		else
			free(n);
	}
}

/* Forgets fan-out and brute-force state older than its window (and the alert it raised: a new
 * burst later alerts again). */
static void sweep_windows(struct hw_engine *e)
{
	struct sweep_ctx c = {.e = e};

	if (e->now - e->last_sweep < 60 * NS_PER_SEC)
		return;
	e->last_sweep = e->now;
	c.m = &e->fanout;
	c.before = e->now > e->cfg->fanout_window_ns ? e->now - e->cfg->fanout_window_ns : 0;
	hw_smap__each(&e->fanout, sweep, &c);
	c.m = &e->brute;
	c.before =
	    e->now > e->cfg->bruteforce_window_ns ? e->now - e->cfg->bruteforce_window_ns : 0;
	hw_smap__each(&e->brute, sweep, &c);
}

/* A process found by the snapshot, judged by the exec rules as if it had just started, now
 * that what the snapshot found around it is known. */
struct judge_ctx {
	struct hw_engine *e;
	struct hw_fact f; /* built for each */
};

static void judge_later(struct hw_snode *n, void *ctx)
{
	struct judge_ctx *j = ctx;
	struct hw_engine *e = j->e;
	struct hw_eproc *p = (struct hw_eproc *)n;
	struct hw_fact *f = &j->f;

	if (!(p->flags & EP_JUDGE_LATER))
		return;
	p->flags &= ~EP_JUDGE_LATER;
	e->judge_later--;
	memset(f, 0, sizeof(*f));
	f->kind = HW_F_PROC_SNAPSHOT;
	f->ts = e->now;
	f->pid = p->pid;
	hw_str__copy(f->entity_id, sizeof(f->entity_id), p->node.key);
	hw_str__copy(f->parent_entity_id, sizeof(f->parent_entity_id), p->parent);
	hw_str__copy(f->executable, sizeof(f->executable), p->exe);
	hw_str__copy(f->name, sizeof(f->name), p->name);
	hw_str__copy(f->session_id, sizeof(f->session_id), p->session);
	memcpy(f->stdio, p->stdio, sizeof(f->stdio));
	f->unlinked = !!(p->flags & EP_UNLINKED);
	f->exe_trusted = !!(p->flags & EP_TRUSTED);
	f->root = !!(p->flags & EP_ROOT);
	hw_rules__exec(e, f, p);
}

/* The fact with its addresses in one spelling (lib/addr.h): the rules compare addresses as
 * text, and one host seen as ::ffff:198.18.0.2 (a dual-stack socket) and as 198.18.0.2 must not
 * look like two. Only text with a ':' can be spelt otherwise; f itself when nothing changes,
 * else c, f's copy respelt. */
static const struct hw_fact *canonical(const struct hw_fact *f, struct hw_fact *c)
{
	const struct hw_fact_ep *in[] = {&f->src, &f->dst, &f->stdio_local, &f->stdio_remote};
	struct hw_fact_ep *out[] = {&c->src, &c->dst, &c->stdio_local, &c->stdio_remote};
	char ip[HW_FACT_IP_LEN];
	int copied = 0;

	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		if (!strchr(in[i]->ip, ':') || hw_addr__canon(in[i]->ip, ip, sizeof(ip)) ||
		    !strcmp(ip, in[i]->ip))
			continue;
		if (!copied++)
			*c = *f;
		hw_str__copy(out[i]->ip, sizeof(out[i]->ip), ip);
	}
	return copied ? c : f;
}

void hw_engine__one_host(struct hw_engine *e)
{
	e->one_host = 1;
}

void hw_engine__feed(struct hw_engine *e, const struct hw_fact *f)
{
	struct hw_fact canon; /* f respelt, when it must be */
	struct hw_eproc *p = NULL;
	struct hw_econn *c;
	struct hw_esession *s;

	if (f->kind == HW_F_OTHER || f->kind == HW_F_ALERT)
		return;
	f = canonical(f, &canon);
	if (f->ts > e->now)
		e->now = f->ts;
	if (f->host_id[0] && !(e->one_host && e->host_id[0]))
		hw_str__copy(e->host_id, sizeof(e->host_id), f->host_id);
	if (f->host_name[0] && !(e->one_host && e->host_name[0]))
		hw_str__copy(e->host_name, sizeof(e->host_name), f->host_name);
	if (f->session_id[0] && f->kind != HW_F_LOGOUT) {
		s = hw_engine__session(e, f->session_id);
		if (s && f->ts > s->last_activity)
			s->last_activity = f->ts;
	}
	switch (f->kind) {
	case HW_F_EXEC:
	case HW_F_PROC_SNAPSHOT:
		p = proc_of(e, f, 1);
		if (p) {
			proc_trust(p, f);
			if (f->unlinked)
				p->flags |= EP_UNLINKED;
			else
				p->flags &= ~EP_UNLINKED;
			memcpy(p->stdio, f->stdio, sizeof(p->stdio));
			if (f->kind == HW_F_PROC_SNAPSHOT) {
				if (!(p->flags & EP_JUDGE_LATER))
					e->judge_later++;
				p->flags |= EP_JUDGE_LATER;
			} else {
				hw_rules__exec(e, f, p);
				hw_rules__file_exec(e, f, p);
			}
		}
		break;
	case HW_F_FORK: {
		struct hw_eproc *parent;

		p = proc_of(e, f, 0);
		if (p)
			proc_trust(p, f);
		parent = p ? hw_engine__proc(e, p->parent) : NULL;
		if (p && parent && !f->executable[0]) {
			/* the parent's copy: another reference, no lookup */
			const char *x = hw_intern__dup(parent->exe);

			hw_intern__put(&e->strs, p->exe);
			p->exe = x;
			hw_str__copy(p->name, sizeof(p->name), parent->name);
		}
		/* the children of a reverse shell share its descriptors: one alert for all */
		if (p && parent)
			p->flags |= parent->flags & EP_FIRED_REVERSE;
		break;
	}
	case HW_F_EXIT:
		p = hw_engine__proc(e, f->entity_id);
		if (p)
			proc_exit(e, p);
		break;
	case HW_F_CONNECT:
		if (f->udp)
			break;
		p = proc_of(e, f, 0);
		if (!f->failure)
			conn_open(e, f, p);
		hw_rules__connect(e, f, p);
		break;
	case HW_F_ACCEPT:
	case HW_F_CONN_SNAPSHOT:
	case HW_F_CONN_OPEN:
		p = proc_of(e, f, 0);
		c = conn_open(e, f, p);
		session_bytes(e, c);
		if (f->kind == HW_F_ACCEPT && p && c && c->remote_host && proc_net(p)) {
			p->net->accepted_ts = f->ts;
			hw_str__copy(p->net->accepted_peer, sizeof(p->net->accepted_peer),
				     c->remote.ip);
			hw_str__copy(p->net->accepted_conn, sizeof(p->net->accepted_conn),
				     f->conn_id);
		}
		break;
	case HW_F_CONN_CLOSED:
	case HW_F_DISCONNECT:
		c = (struct hw_econn *)hw_smap__get(&e->conns, f->conn_id);
		/* a connection first known at its close (the fleet profile ships the opening only
		 * of those the rules judge when they open): opened at its start, then closed */
		if (!c && f->kind == HW_F_CONN_CLOSED)
			c = conn_open(e, f, proc_of(e, f, 0));
		if (c) {
			c->local.bytes = f->egress ? f->src.bytes : f->dst.bytes;
			c->remote.bytes = f->egress ? f->dst.bytes : f->src.bytes;
			c->remote.have_bytes = f->src.have_bytes;
			session_bytes(e, c);
			conn_close(e, c);
		}
		break;
	case HW_F_LISTEN:
		p = proc_of(e, f, 0);
		if (p && !f->udp) {
			p->flags |= EP_LISTENER;
			hw_rules__listen(e, f, p);
		}
		break;
	case HW_F_LOGIN:
		if (!f->failure)
			session_open(e, f);
		hw_rules__login(e, f);
		break;
	case HW_F_SESSION_SNAPSHOT:
		session_open(e, f);
		break;
	case HW_F_LOGOUT:
		s = hw_engine__session(e, f->session_id);
		if (s) {
			hw_smap__del(&e->sessions, &s->node);
			hw_engine__free_session(e, s);
		}
		break;
	case HW_F_RAW_SOCKET:
		hw_rules__raw_socket(e, f, proc_of(e, f, 0));
		break;
	case HW_F_AGENT_SOCKET:
		hw_rules__agent_socket(e, f, proc_of(e, f, 0));
		break;
	case HW_F_TICK:
		if (e->judge_later) {
			struct judge_ctx j = {.e = e};

			hw_smap__each(&e->procs, judge_later, &j);
		}
		hw_rules__tick(e);
		hw_rules__bridge_tick(e);
		hw_rules__file_tick(e);
		sweep_windows(e);
		break;
	case HW_F_FILE:
		p = proc_of(e, f, 0);
		hw_rules__file(e, f, p);
		break;
	default:
		break;
	}
}

int hw_engine__feed_line(struct hw_engine *e, const char *line, size_t len, char *err,
			 size_t errlen)
{
	int r;

	while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	if (!e->line && !(e->line = calloc(1, sizeof(*e->line)))) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	r = hw_jdoc__parse(&e->line->doc, line, len);
	if (r) {
		snprintf(err, errlen, "%s", e->line->doc.err);
		return r;
	}
	r = hw_fact__from_json(&e->line->fact, &e->line->doc, err, errlen);
	if (r)
		return r;
	e->last_kind = e->line->fact.kind;
	hw_engine__feed(e, &e->line->fact);
	return 0;
}

enum hw_fact_kind hw_engine__last_kind(const struct hw_engine *e)
{
	return e->last_kind;
}

unsigned long long hw_engine__alerts(const struct hw_engine *e)
{
	return e->alerts;
}

unsigned long long hw_engine__table_full(const struct hw_engine *e)
{
	return e->table_full;
}

size_t hw_engine__memory(const struct hw_engine *e)
{
	const struct hw_smap *m[] = {&e->procs,	 &e->conns, &e->sessions,
				     &e->fanout, &e->brute, &e->transfers};
	size_t n = sizeof(*e) + e->grown + e->strs.bytes + hw_htab__memory(&e->strs.t) +
		   (e->line ? sizeof(*e->line) + e->line->doc.cap : 0);

	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
		n += hw_smap__memory(m[i]);
	n += hw_smap__memory(&e->raw) + hw_rules__bridge_memory(e);
	return n + hw_smap__count(&e->procs) * sizeof(struct hw_eproc) +
	       hw_smap__count(&e->conns) * sizeof(struct hw_econn) +
	       hw_smap__count(&e->sessions) * sizeof(struct hw_esession) +
	       hw_smap__count(&e->fanout) * sizeof(struct hw_efanout) +
	       hw_smap__count(&e->brute) * sizeof(struct hw_ebrute) +
	       hw_smap__count(&e->transfers) * sizeof(struct hw_etransfer);
}

size_t hw_engine__tick_work(const struct hw_engine *e)
{
	return hw_smap__count(&e->sessions) + hw_smap__count(&e->conns) +
	       (e->judge_later ? hw_smap__count(&e->procs) : 0);
}
