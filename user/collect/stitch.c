/* Cross-host stitching (see stitch.h). Halves live in hash tables by 4-tuple and by (host,
 * session); a hop is an inbound half linked to its outbound half. After every change, the
 * chains ending at the hops it touches (the hop itself and every hop made later from its
 * session, transitively) are walked back, and those that grew raise an alert
 * (stitch_chain.c). */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "collect/stitch_int.h"
#include "lib/addr.h"
#include "lib/mem.h"
#include "lib/str.h"

#define SWEEP_NS    (30 * NS_PER_SEC) /* how often old halves are looked for (collector's clock) */
#define SWEEP_FACTS 65536	      /* or after this many facts (files have no such clock) */
#define ROOM_FACTS  4096	      /* a full table is swept at most once per this many facts */

static int near(unsigned long long a, unsigned long long b, unsigned long long w)
{
	return a <= b + w && b <= a + w;
}

/* --- addresses and ports ------------------------------------------------------------------ */

/* An address in one spelling, so both ends of a connection name it alike. */
static int canon_ip(const char *ip, char out[HW_FACT_IP_LEN])
{
	return hw_addr__canon(ip, out, HW_FACT_IP_LEN);
}

/* A connection between two hosts: both addresses valid, ports set, not loopback, not to
 * itself. */
static int make_tuple(struct tuple *t, const struct hw_fact_ep *client,
		      const struct hw_fact_ep *server)
{
	if (canon_ip(client->ip, t->cip) || canon_ip(server->ip, t->sip) || !client->port ||
	    client->port > 65535 || !server->port || server->port > 65535 ||
	    hw_addr__local(t->cip) || hw_addr__local(t->sip) || !strcmp(t->cip, t->sip))
		return -EINVAL;
	t->cport = client->port;
	t->sport = server->port;
	return 0;
}

static int tuple_eq(const struct tuple *a, const struct tuple *b)
{
	return a->cport == b->cport && a->sport == b->sport && !strcmp(a->cip, b->cip) &&
	       !strcmp(a->sip, b->sip);
}

static int admin_port(const struct hw_stitch *s, unsigned int port)
{
	for (size_t i = 0; i < s->cfg->admin_ports.n; i++)
		if (s->cfg->admin_ports.v[i] == port)
			return 1;
	return 0;
}

static int allowed_source(const struct hw_stitch *s, const char *ip)
{
	struct hw_addr a;

	return !hw_addr__parse(&a, ip) &&
	       hw_cidrs_contain(s->cfg->allow_sources.v, s->cfg->allow_sources.n, a.family, a.a);
}

/* --- hosts -------------------------------------------------------------------------------- */

/* A host is its host.id and host.name together (agents scoped to network namespaces of one
 * machine share its machine-id). */
static struct st_host *host_of(struct hw_stitch *s, const struct hw_fact *f)
{
	uint64_t h = hw_fnv__str(hw_fnv__str(HW_FNV0, f->host_id), f->host_name);
	struct st_host *host = NULL;

	for (struct hw_hnode *n = hw_htab__first(&s->hosts, h); n; n = hw_htab__next(n, h)) {
		struct st_host *c = container_of(n, struct st_host, node);

		if (!strcmp(c->id, f->host_id) && !strcmp(c->name, f->host_name)) {
			host = c;
			break;
		}
	}
	if (!host) {
		if (s->hosts.n >= HW_STITCH_HOSTS_MAX) {
			s->st.table_full++;
			return NULL;
		}
		host = calloc(1, sizeof(*host));
		if (!host || hw_htab__add(&s->hosts, &host->node, h)) {
			free(host);
			return NULL;
		}
		hw_str__copy(host->id, sizeof(host->id), f->host_id);
		hw_str__copy(host->name, sizeof(host->name), f->host_name);
		s->st.hosts++;
	}
	if (f->ts > host->last)
		host->last = f->ts;
	host->seen = s->now;
	return host;
}

/* --- addresses hosts own ------------------------------------------------------------------ */

static int owns(const struct st_host *h, const char *ip)
{
	int n = h->naddrs < HW_STITCH_HOST_ADDRS ? h->naddrs : HW_STITCH_HOST_ADDRS;

	for (int i = 0; i < n; i++)
		if (!strcmp(h->addrs[i], ip))
			return 1;
	return 0;
}

static struct st_owner *owner_of(const struct hw_stitch *s, const char *ip)
{
	uint64_t h = hw_fnv__str(HW_FNV0, ip);

	for (struct hw_hnode *n = hw_htab__first(&s->owners, h); n; n = hw_htab__next(n, h)) {
		struct st_owner *o = container_of(n, struct st_owner, node);

		if (!strcmp(o->ip, ip))
			return o;
	}
	return NULL;
}

/* host's half for a connection to ip may stand against another host's: ip's first owner wins */
static int first_owner(const struct hw_stitch *s, const struct st_host *host, const char *ip)
{
	const struct st_owner *o = owner_of(s, ip);

	return o && o->host == host;
}

/* The host showed ip (any spelling) as its own: a listener on it, a connection accepted on it.
 * The last HW_STITCH_HOST_ADDRS are remembered. */
static void own(struct hw_stitch *s, struct st_host *host, const char *raw)
{
	char ip[HW_FACT_IP_LEN];
	struct st_owner *o;

	if (canon_ip(raw, ip) || hw_addr__local(ip) || owns(host, ip))
		return;
	hw_str__copy(host->addrs[host->naddrs % HW_STITCH_HOST_ADDRS], HW_FACT_IP_LEN, ip);
	host->naddrs++;
	if (host->naddrs == 2 * HW_STITCH_HOST_ADDRS)
		host->naddrs = HW_STITCH_HOST_ADDRS; /* the same slots, no overflow */
	if (owner_of(s, ip) || s->owners.n >= HW_STITCH_TABLE_MAX)
		return;
	o = hw_zalloc(sizeof(*o));
	if (!o)
		return;
	o->host = host;
	hw_str__copy(o->ip, sizeof(o->ip), ip);
	if (hw_htab__add(&s->owners, &o->node, hw_fnv__str(HW_FNV0, ip)))
		free(o);
}

/* --- freeing ------------------------------------------------------------------------------ */

static void in_free(struct hw_stitch *s, struct st_in *in)
{
	hw_chain__pending_drop(s, in);
	if (in->out)
		in->out->in = NULL;
	hw_htab__del(&s->ins, &in->by_tuple);
	if (in->have_session)
		hw_htab__del(&s->ins_by_session, &in->by_session);
	s->st.inbound--;
	in->host->halves--;
	if (in->host_prev)
		in->host_prev->host_next = in->host_next;
	else
		in->host->ins = in->host_next;
	if (in->host_next)
		in->host_next->host_prev = in->host_prev;
	free(in);
}

static void out_free(struct hw_stitch *s, struct st_out *o)
{
	if (o->in)
		o->in->out = NULL;
	hw_htab__del(&s->outs, &o->by_tuple);
	if (o->session[0])
		hw_htab__del(&s->outs_by_session, &o->by_session);
	s->st.outbound--;
	o->host->halves--;
	free(o);
}

/* Past age by the collector's clock: since the half came (or, not known, its time). */
static int aged(const struct hw_stitch *s, unsigned long long arrived, unsigned long long ts,
		unsigned long long age)
{
	return s->now && s->now > (arrived ? arrived : ts) + age;
}

/* Halves age by their own host's clock (no other host's clock moves them), and by the
 * collector's: a host that went quiet keeps nothing for ever. */
static void sweep_in(struct hw_hnode *n, void *ctx)
{
	struct hw_stitch *s = ctx;
	struct st_in *in = container_of(n, struct st_in, by_tuple);
	unsigned long long host_now = in->host->last, end = in->ended ? in->ended : in->ts;
	int old;

	if (in->have_session && !in->ended) /* open: hops may still leave it */
		old = host_now > in->ts + HW_STITCH_OPEN_NS;
	else if (in->have_session) /* ended: late events of hops out of it may still come */
		old = host_now > in->ended + HW_STITCH_ENDED_NS ||
		      aged(s, in->arrived, end, HW_STITCH_OPEN_NS);
	else /* an accept: its session or its outbound half may still come */
		old = (host_now > end + HW_STITCH_WAIT_NS ||
		       aged(s, in->arrived, end, HW_STITCH_WAIT_NS)) &&
		      !in->pending;
	if (old) {
		in_free(s, in);
		s->st.expired++;
	}
}

static void sweep_out(struct hw_hnode *n, void *ctx)
{
	struct hw_stitch *s = ctx;
	struct st_out *o = container_of(n, struct st_out, by_tuple);

	/* a hop's outbound half lives as long as its inbound half */
	if (!o->in && (o->host->last > o->ts + HW_STITCH_WAIT_NS ||
		       aged(s, o->arrived, o->ts, HW_STITCH_WAIT_NS))) {
		out_free(s, o);
		s->st.expired++;
	}
}

/* A host with no halves left that said nothing for HW_STITCH_ENDED_NS of the collector's clock
 * is forgotten (and what it owned), so that hosts that come and go do not fill the table. */
static void host_gone(struct hw_hnode *n, void *ctx)
{
	struct hw_stitch *s = ctx;
	struct st_host *h = container_of(n, struct st_host, node);

	h->gone = !h->halves && s->now && s->now > h->seen + HW_STITCH_ENDED_NS;
	s->gone += h->gone;
}

static void owner_gone(struct hw_hnode *n, void *ctx)
{
	struct hw_stitch *s = ctx;
	struct st_owner *o = container_of(n, struct st_owner, node);

	if (o->host->gone) {
		hw_htab__del(&s->owners, n);
		free(o);
	}
}

static void host_free(struct hw_hnode *n, void *ctx)
{
	struct hw_stitch *s = ctx;
	struct st_host *h = container_of(n, struct st_host, node);

	if (h->gone) {
		hw_htab__del(&s->hosts, n);
		free(h);
		s->st.forgotten++;
	}
}

static void sweep(struct hw_stitch *s, int force)
{
	if (!force && s->now < s->last_sweep + SWEEP_NS && s->facts < s->swept_at + SWEEP_FACTS)
		return;
	s->last_sweep = s->now;
	s->swept_at = s->facts;
	hw_htab__each(&s->ins, sweep_in, s);
	hw_htab__each(&s->outs, sweep_out, s);
	s->gone = 0;
	hw_htab__each(&s->hosts, host_gone, s);
	if (s->gone) {
		hw_htab__each(&s->owners, owner_gone, s);
		hw_htab__each(&s->hosts, host_free, s);
	}
}

/* --- matching halves ---------------------------------------------------------------------- */

static int times_match(const struct st_out *o, const struct st_in *in)
{
	if (in->ended && !o->approx && in->ended + HW_STITCH_SKEW_NS < o->ts)
		return 0; /* closed before this connection was made: an earlier use of the tuple */
	return o->approx || in->approx || near(o->ts, in->ts, HW_STITCH_SKEW_NS);
}

static unsigned long long dist(unsigned long long a, unsigned long long b)
{
	return a > b ? a - b : b - a;
}

/* Of two inbound halves for one outbound half, the one of the host that owned the server
 * address first wins; then the nearer in time. */
static int better_in(const struct hw_stitch *s, const struct st_out *o, const struct st_in *in,
		     const struct st_in *best)
{
	int a = first_owner(s, in->host, in->t.sip), b;

	if (!best)
		return 1;
	b = first_owner(s, best->host, best->t.sip);
	if (a != b)
		return a > b;
	return dist(in->ts, o->ts) < dist(best->ts, o->ts);
}

static void link_out(struct hw_stitch *s, struct st_out *o)
{
	uint64_t h = tuple_hash(&o->t);
	struct st_in *best = NULL;

	for (struct hw_hnode *n = hw_htab__first(&s->ins, h); n; n = hw_htab__next(n, h)) {
		struct st_in *in = container_of(n, struct st_in, by_tuple);

		if (in->out || in->host == o->host || !tuple_eq(&in->t, &o->t) ||
		    !times_match(o, in))
			continue;
		if (better_in(s, o, in, best))
			best = in;
	}
	if (best) {
		o->in = best;
		best->out = o;
		s->st.hops++;
		hw_chain__changed(s, best);
	}
}

static void link_in(struct hw_stitch *s, struct st_in *in)
{
	uint64_t h = tuple_hash(&in->t);
	struct st_out *best = NULL;

	if (!in->out) {
		/* the first owner of the address takes a hop from a later claimant */
		int owner = first_owner(s, in->host, in->t.sip);

		for (struct hw_hnode *n = hw_htab__first(&s->outs, h); n; n = hw_htab__next(n, h)) {
			struct st_out *o = container_of(n, struct st_out, by_tuple);

			if ((o->in && (!owner || first_owner(s, o->in->host, o->in->t.sip))) ||
			    o->host == in->host || !tuple_eq(&in->t, &o->t) || !times_match(o, in))
				continue;
			if (!best || dist(o->ts, in->ts) < dist(best->ts, in->ts))
				best = o;
		}
		if (best) {
			if (best->in) {
				best->in->out = NULL;
				s->st.refused++;
			}
			best->in = in;
			in->out = best;
			s->st.hops++;
		}
	}
	hw_chain__changed(s, in);
}

/* Room for one more half of host in a table of n: at most HW_STITCH_HOST_HALVES of one host,
 * and old halves are swept first when the table is full (at most once per ROOM_FACTS facts: a
 * flood must not make every fact cost a sweep). */
static int room(struct hw_stitch *s, struct st_host *host, const unsigned long long *n)
{
	if (host->halves >= HW_STITCH_HOST_HALVES) {
		s->st.host_full++;
		return 0;
	}
	if (*n < HW_STITCH_TABLE_MAX)
		return 1;
	if (!s->room_at || s->facts >= s->room_at + ROOM_FACTS) {
		s->room_at = s->facts;
		sweep(s, 1);
	}
	if (*n < HW_STITCH_TABLE_MAX)
		return 1;
	s->st.table_full++;
	return 0;
}

/* --- the facts ---------------------------------------------------------------------------- */

static void out_add(struct hw_stitch *s, const struct hw_fact *f, int snapshot)
{
	struct tuple t;
	struct st_host *host;
	struct st_out *o;
	unsigned long long ts = f->conn_start ? f->conn_start : f->ts;
	int approx = snapshot && !f->conn_start;
	uint64_t h;

	/* only what can be a hop of a chain: made in a session, or to an admin port */
	if (make_tuple(&t, &f->src, &f->dst) || (!f->session_id[0] && !admin_port(s, t.sport)))
		return;
	host = host_of(s, f);
	if (!host)
		return;
	h = tuple_hash(&t);
	for (struct hw_hnode *n = hw_htab__first(&s->outs, h); n; n = hw_htab__next(n, h)) {
		o = container_of(n, struct st_out, by_tuple);
		/* the same connection again (found again by a restarted agent's snapshot) */
		if (o->host == host && tuple_eq(&o->t, &t) &&
		    (approx || o->approx || near(o->ts, ts, HW_STITCH_SKEW_NS)))
			return;
	}
	if (!room(s, host, &s->st.outbound))
		return;
	o = hw_zalloc(sizeof(*o));
	if (!o)
		return;
	o->host = host;
	o->t = t;
	o->ts = ts;
	o->arrived = s->now;
	o->approx = approx;
	o->pid = f->pid;
	hw_str__copy(o->session, sizeof(o->session), f->session_id);
	hw_str__copy(o->entity, sizeof(o->entity), f->entity_id);
	hw_str__copy(o->conn, sizeof(o->conn), f->conn_id);
	hw_str__copy(o->exe, sizeof(o->exe), f->executable[0] ? f->executable : f->name);
	hw_str__copy(o->user, sizeof(o->user), f->user);
	if (hw_htab__add(&s->outs, &o->by_tuple, h)) {
		free(o);
		return;
	}
	if (o->session[0] &&
	    hw_htab__add(&s->outs_by_session, &o->by_session, session_hash(host, o->session))) {
		hw_htab__del(&s->outs, &o->by_tuple);
		free(o);
		return;
	}
	s->st.outbound++;
	host->halves++;
	link_out(s, o);
}

/* The inbound half on host with this tuple that a new fact at ts belongs to, if any. */
static struct st_in *in_find(struct hw_stitch *s, const struct st_host *host, const struct tuple *t,
			     unsigned long long ts, int approx)
{
	uint64_t h = tuple_hash(t);

	for (struct hw_hnode *n = hw_htab__first(&s->ins, h); n; n = hw_htab__next(n, h)) {
		struct st_in *in = container_of(n, struct st_in, by_tuple);

		if (in->host != host || !tuple_eq(&in->t, t))
			continue;
		if (approx || in->approx || !in->ended || in->ended + HW_STITCH_SKEW_NS >= ts)
			return in;
	}
	return NULL;
}

static struct st_in *in_new(struct hw_stitch *s, struct st_host *host, const struct tuple *t,
			    unsigned long long ts, int approx)
{
	struct st_in *in;

	if (!room(s, host, &s->st.inbound))
		return NULL;
	in = hw_zalloc(sizeof(*in));
	if (!in)
		return NULL;
	in->host = host;
	in->t = *t;
	in->ts = ts;
	in->arrived = s->now;
	in->approx = approx;
	if (hw_htab__add(&s->ins, &in->by_tuple, tuple_hash(t))) {
		free(in);
		return NULL;
	}
	s->st.inbound++;
	host->halves++;
	in->host_next = host->ins;
	if (host->ins)
		host->ins->host_prev = in;
	host->ins = in;
	return in;
}

static void handler(struct st_in *in, const struct hw_fact *f)
{
	if (!f->entity_id[0])
		return;
	hw_str__copy(in->handler, sizeof(in->handler), f->entity_id);
	hw_str__copy(in->handler_exe, sizeof(in->handler_exe),
		     f->executable[0] ? f->executable : f->name);
	in->handler_pid = f->pid;
}

/* connection_accepted, or an inbound existing_connection: source is the client */
static void in_accept(struct hw_stitch *s, const struct hw_fact *f, int snapshot)
{
	struct tuple t;
	struct st_host *host;
	struct st_in *in;
	unsigned long long ts = f->conn_start ? f->conn_start : f->ts;
	int approx = snapshot && !f->conn_start;

	if (make_tuple(&t, &f->src, &f->dst))
		return;
	host = host_of(s, f);
	if (!host)
		return;
	own(s, host, t.sip); /* it took a connection on that address */
	if (!admin_port(s, t.sport))
		return;
	in = in_find(s, host, &t, ts, approx);
	if (!in) {
		in = in_new(s, host, &t, ts, approx);
		if (!in)
			return;
	}
	if (!in->handler[0])
		handler(in, f);
	if (!in->conn[0])
		hw_str__copy(in->conn, sizeof(in->conn), f->conn_id);
	link_in(s, in);
}

/* user_login (success), existing_session: source is the client */
static void in_session(struct hw_stitch *s, const struct hw_fact *f)
{
	struct tuple t;
	struct st_host *host;
	struct st_in *in;
	unsigned long long ts = f->session_start ? f->session_start : f->ts;
	int approx = !f->session_start && f->kind == HW_F_SESSION_SNAPSHOT;

	if (!f->session_id[0] || make_tuple(&t, &f->src, &f->dst))
		return;
	host = host_of(s, f);
	if (!host)
		return;
	/* a session on an address the host never showed as its own (a listener on it, a
	 * connection accepted on it, which come before their sessions) is a claim on another
	 * host's connections */
	if (!owns(host, t.sip)) {
		s->st.refused++;
		return;
	}
	in = hw_chain__session_in(s, host, f->session_id);
	if (!in)
		in = in_find(s, host, &t, ts, approx);
	if (!in) {
		in = in_new(s, host, &t, ts, approx);
		if (!in)
			return;
	}
	if (in->have_session && strcmp(in->session, f->session_id)) {
		/* the same connection under a new id (a restarted agent's snapshot) */
		hw_htab__del(&s->ins_by_session, &in->by_session);
		in->have_session = 0;
	}
	if (!in->have_session) {
		hw_str__copy(in->session, sizeof(in->session), f->session_id);
		if (hw_htab__add(&s->ins_by_session, &in->by_session,
				 session_hash(host, in->session)))
			return;
		in->have_session = 1;
	}
	if (f->user[0])
		hw_str__copy(in->user, sizeof(in->user), f->user);
	if (f->service[0])
		hw_str__copy(in->service, sizeof(in->service), f->service);
	handler(in, f);
	if (!approx && (in->approx || ts < in->ts)) {
		in->ts = ts;
		in->approx = 0;
	}
	in->ended = 0;
	in->allowed = allowed_source(s, t.cip);
	link_in(s, in);
}

static void in_end(struct hw_stitch *s, const struct hw_fact *f)
{
	struct st_host *host = host_of(s, f);
	struct st_in *in = NULL;
	struct tuple t;

	if (!host)
		return;
	if (f->kind == HW_F_LOGOUT && f->session_id[0])
		in = hw_chain__session_in(s, host, f->session_id);
	else if (!make_tuple(&t, &f->src, &f->dst))
		in = in_find(s, host, &t, f->ts, 0);
	if (!in || in->ended || (f->kind == HW_F_DISCONNECT && in->have_session))
		return;
	in->ended = f->ts ? f->ts : 1;
	/* an accepted last hop that never logged in: its alert need not wait */
	if (in->pending)
		hw_chain__evaluate(s, in, 1);
}

/* A restarted agent reports the sessions still open (existing_session), which reopens them;
 * those it does not report ended while it was away. */
static void agent_started(struct hw_stitch *s, const struct hw_fact *f)
{
	struct st_host *host = host_of(s, f);

	for (struct st_in *in = host ? host->ins : NULL; in; in = in->host_next)
		if (in->have_session && !in->ended)
			in->ended = f->ts ? f->ts : 1;
}

static void listener(struct hw_stitch *s, const struct hw_fact *f)
{
	struct st_host *host = host_of(s, f);

	if (host && !f->udp)
		own(s, host, f->src.ip);
}

/* What feed does with a fact: the one list of what the stitcher takes (hw_stitch__wants is
 * "not ST_CLOCK", so the second stage of collectors that scale out gets all of it). */
enum st_use {
	ST_CLOCK,
	ST_OUT,
	ST_OUT_SNAP,
	ST_IN_ACCEPT,
	ST_IN_SNAP,
	ST_SESSION,
	ST_END,
	ST_IN_CLOSED,
	ST_BORROW,
	ST_AGENT,
	ST_LISTEN,
};

/* an outbound connection that can be a hop of a chain: made in a session, or to an admin port
 * (out_add looks again) */
static int hop_out(const struct hw_stitch *s, const struct hw_fact *f)
{
	return f->session_id[0] || admin_port(s, f->dst.port);
}

static enum st_use use_of(const struct hw_stitch *s, const struct hw_fact *f)
{
	switch (f->kind) {
	case HW_F_CONNECT:
		return !f->failure && f->egress && !f->udp && hop_out(s, f) ? ST_OUT : ST_CLOCK;
	case HW_F_CONN_SNAPSHOT:
		return f->udp	       ? ST_CLOCK
		       : !f->egress    ? ST_IN_SNAP
		       : hop_out(s, f) ? ST_OUT_SNAP
				       : ST_CLOCK;
	case HW_F_ACCEPT:
		return f->udp ? ST_CLOCK : ST_IN_ACCEPT;
	case HW_F_LOGIN:
		return f->failure ? ST_CLOCK : ST_SESSION;
	case HW_F_SESSION_SNAPSHOT:
		return ST_SESSION;
	case HW_F_LOGOUT:
		return ST_END;
	case HW_F_DISCONNECT:
		return !f->egress && !f->udp ? ST_END : ST_CLOCK;
	case HW_F_CONN_CLOSED: /* the fleet profile: the opening (unless seen) with the close */
		return f->udp			      ? ST_CLOCK
		       : !f->egress		      ? ST_IN_CLOSED
		       : !f->failure && hop_out(s, f) ? ST_OUT
						      : ST_CLOCK;
	case HW_F_AGENT_SOCKET:
		return ST_BORROW;
	case HW_F_AGENT_STARTED:
		return ST_AGENT;
	case HW_F_LISTEN:
		return ST_LISTEN;
	default:
		return ST_CLOCK;
	}
}

int hw_stitch__wants(const struct hw_stitch *s, const struct hw_fact *f)
{
	return use_of(s, f) != ST_CLOCK;
}

void hw_stitch__feed(struct hw_stitch *s, const struct hw_fact *f)
{
	s->facts++;
	if (f->host_id[0]) {
		switch (use_of(s, f)) {
		case ST_OUT:
			out_add(s, f, 0);
			break;
		case ST_OUT_SNAP:
			out_add(s, f, 1);
			break;
		case ST_IN_ACCEPT:
			in_accept(s, f, 0);
			break;
		case ST_IN_SNAP:
			in_accept(s, f, 1);
			break;
		case ST_SESSION:
			in_session(s, f);
			break;
		case ST_END:
			in_end(s, f);
			break;
		case ST_IN_CLOSED: /* the fleet profile: the opening and the close in one */
			in_accept(s, f, 0);
			in_end(s, f);
			break;
		case ST_AGENT:
			agent_started(s, f);
			break;
		case ST_LISTEN:
			listener(s, f);
			break;
		case ST_BORROW: { /* agent-hijack: a session's ssh agent used by another */
			struct st_host *host = host_of(s, f);

			if (host)
				hw_chain__borrow(s, host, f);
			break;
		}
		case ST_CLOCK:
			host_of(s, f); /* its clock */
			break;
		}
	}
	if (s->pending)
		hw_chain__pending_run(s, 0);
	sweep(s, 0);
}

void hw_stitch__tick(struct hw_stitch *s, unsigned long long ts)
{
	if (ts > s->now)
		s->now = ts;
	if (s->pending)
		hw_chain__pending_run(s, 0);
	sweep(s, 0);
}

void hw_stitch__flush(struct hw_stitch *s)
{
	hw_chain__pending_run(s, 1);
}

void hw_stitch__stats(const struct hw_stitch *s, struct hw_stitch_stats *st)
{
	*st = s->st;
}

size_t hw_stitch__memory(const struct hw_stitch *s)
{
	const struct hw_htab *t[] = {&s->hosts,		  &s->owners, &s->outs,
				     &s->outs_by_session, &s->ins,    &s->ins_by_session};
	size_t n = sizeof(*s);

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		n += hw_htab__memory(t[i]);
	return n + s->hosts.n * sizeof(struct st_host) + s->owners.n * sizeof(struct st_owner) +
	       s->st.outbound * sizeof(struct st_out) + s->st.inbound * sizeof(struct st_in);
}

struct hw_stitch *hw_stitch__new(const struct hw_config *cfg, hw_alert_fn fn, void *ctx)
{
	struct hw_stitch *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->cfg = cfg;
	s->fn = fn;
	s->ctx = ctx;
	return s;
}

static void free_in(struct hw_hnode *n, void *ctx)
{
	(void)ctx;
	free(container_of(n, struct st_in, by_tuple));
}

static void free_out(struct hw_hnode *n, void *ctx)
{
	(void)ctx;
	free(container_of(n, struct st_out, by_tuple));
}

static void free_host(struct hw_hnode *n, void *ctx)
{
	(void)ctx;
	free(container_of(n, struct st_host, node));
}

static void free_owner(struct hw_hnode *n, void *ctx)
{
	(void)ctx;
	free(container_of(n, struct st_owner, node));
}

void hw_stitch__free(struct hw_stitch *s)
{
	if (!s)
		return;
	hw_htab__each(&s->ins, free_in, NULL);
	hw_htab__each(&s->outs, free_out, NULL);
	hw_htab__each(&s->hosts, free_host, NULL);
	hw_htab__each(&s->owners, free_owner, NULL);
	hw_htab__free(&s->owners);
	hw_htab__free(&s->ins);
	hw_htab__free(&s->ins_by_session);
	hw_htab__free(&s->outs);
	hw_htab__free(&s->outs_by_session);
	hw_htab__free(&s->hosts);
	free(s);
}
