/* Cross-host stitching (see stitch.h). Halves live in hash tables by 4-tuple and by (host,
 * session); a hop is an inbound half linked to its outbound half. After every change, the
 * chains ending at the hops it touches (the hop itself and every hop made later from its
 * session, transitively) are walked back, and those that grew raise an alert. */
#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "collect/stitch.h"

#define NS_PER_SEC  1000000000ULL
#define SWEEP_NS    (30 * NS_PER_SEC) /* how often old halves are looked for (collector's clock) */
#define SWEEP_FACTS 65536	      /* or after this many facts (files have no such clock) */
#define ROOM_FACTS  4096	      /* a full table is swept at most once per this many facts */

#define container_of(p, type, member) ((type *)((char *)(p)-offsetof(type, member)))

/* --- a hash multimap of intrusive nodes by a 64-bit hash; callers compare the full key ---- */

struct hnode {
	struct hnode *next;
	uint64_t h;
};

struct htab {
	struct hnode **b;
	size_t nb, n;
};

static int htab_add(struct htab *t, struct hnode *node, uint64_t h)
{
	if (t->n + 1 > t->nb) {
		size_t nb = t->nb ? t->nb * 2 : 64;
		struct hnode **b = calloc(nb, sizeof(*b));

		if (!b)
			return -ENOMEM;
		for (size_t i = 0; i < t->nb; i++) {
			for (struct hnode *n = t->b[i], *next; n; n = next) {
				next = n->next;
				n->next = b[n->h & (nb - 1)];
				b[n->h & (nb - 1)] = n;
			}
		}
		free(t->b);
		t->b = b;
		t->nb = nb;
	}
	node->h = h;
	node->next = t->b[h & (t->nb - 1)];
	t->b[h & (t->nb - 1)] = node;
	t->n++;
	return 0;
}

static void htab_del(struct htab *t, struct hnode *node)
{
	for (struct hnode **p = &t->b[node->h & (t->nb - 1)]; *p; p = &(*p)->next) {
		if (*p == node) {
			*p = node->next;
			t->n--;
			return;
		}
	}
}

static struct hnode *htab_first(const struct htab *t, uint64_t h)
{
	struct hnode *n = t->nb ? t->b[h & (t->nb - 1)] : NULL;

	while (n && n->h != h)
		n = n->next;
	return n;
}

static struct hnode *htab_next(const struct hnode *n, uint64_t h)
{
	for (n = n->next; n && n->h != h; n = n->next)
		;
	return (struct hnode *)n;
}

/* Calls fn for every node; fn may unlink (from t) and free the node it is given, nothing
 * else of t. */
static void htab_each(struct htab *t, void (*fn)(struct hnode *n, void *ctx), void *ctx)
{
	for (size_t i = 0; i < t->nb; i++) {
		for (struct hnode *n = t->b[i], *next; n; n = next) {
			next = n->next;
			fn(n, ctx);
		}
	}
}

#define FNV0 1469598103934665603ULL

static uint64_t fnv_str(uint64_t h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return (h ^ 0xff) * 1099511628211ULL;
}

static uint64_t fnv_u64(uint64_t h, unsigned long long v)
{
	for (int i = 0; i < 8; i++)
		h = (h ^ ((v >> (8 * i)) & 0xff)) * 1099511628211ULL;
	return h;
}

/* --- the records ------------------------------------------------------------------------- */

struct st_in;

struct st_host {
	struct hnode node;	 /* by id and name */
	struct st_in *ins;	 /* its inbound halves */
	unsigned long long last; /* its latest fact: its clock, that its halves age by */
	unsigned int halves;	 /* held now: at most HW_STITCH_HOST_HALVES */
	int naddrs;		 /* addresses it showed as its own (listeners, accepts) */
	char addrs[HW_STITCH_HOST_ADDRS][HW_FACT_IP_LEN];
	char id[sizeof(((struct hw_fact *)0)->host_id)];
	char name[sizeof(((struct hw_fact *)0)->host_name)];
};

/* The first host that showed an address as its own: it wins a hop over later claimants. */
struct st_owner {
	struct hnode node;
	struct st_host *host;
	char ip[HW_FACT_IP_LEN];
};

/* client -> server, addresses in canonical text (IPv4-mapped IPv6 as IPv4) */
struct tuple {
	char cip[HW_FACT_IP_LEN], sip[HW_FACT_IP_LEN];
	unsigned int cport, sport;
};

struct st_in;

/* An outbound connection of a watched host. */
struct st_out {
	struct hnode by_tuple, by_session; /* by_session only when session[0] */
	struct st_host *host;
	struct st_in *in; /* the inbound half: then it is a hop */
	struct tuple t;
	unsigned long long ts;
	unsigned long long arrived; /* the collector's clock when it came, 0 unknown */
	int approx; /* ts is when the agent found it (a snapshot), not when it was made */
	unsigned int pid;
	char session[HW_FACT_ID_LEN];
	char entity[HW_FACT_ID_LEN];
	char conn[HW_FACT_ID_LEN];
	char exe[HW_FACT_PATH_LEN];
	char user[64];
};

/* An inbound connection of a watched host: a remote session, an accepted connection on an
 * admin port, or both (sshd's accept, then the login on it). */
struct st_in {
	struct hnode by_tuple, by_session;
	struct st_host *host;
	struct st_out *out;
	struct st_in *pending_prev, *pending_next; /* waiting for a login to alert */
	struct st_in *host_prev, *host_next;	    /* its host's list */
	struct tuple t;
	unsigned long long ts;	    /* the accept, or the session's start */
	unsigned long long ended;   /* logout or close; 0 open */
	unsigned long long pending; /* since when its alert waits (its host's clock); 0 none */
	unsigned long long pending_tick; /* and by the collector's clock, 0 unknown */
	unsigned long long arrived;	  /* the collector's clock when it came, 0 unknown */
	int approx, have_session, allowed;
	int fired; /* hops in the last alert of the chain that ends here */
	unsigned int visit, walk;
	char session[HW_FACT_ID_LEN];
	char user[64];
	char service[32];
	char handler[HW_FACT_ID_LEN]; /* the session's service process, or the acceptor */
	char handler_exe[HW_FACT_PATH_LEN];
	unsigned int handler_pid;
	char conn[HW_FACT_ID_LEN];
};

struct hw_stitch {
	const struct hw_config *cfg;
	hw_alert_fn fn;
	void *ctx;
	struct htab hosts, owners, outs, outs_by_session, ins, ins_by_session;
	struct st_in *pending; /* list of halves whose alert waits for a login */
	/* the collector's clock (hw_stitch__tick), not any host's: 0 until ticked */
	unsigned long long now, last_sweep;
	unsigned long long facts, swept_at, room_at; /* facts fed; at the last sweeps */
	unsigned int gen, walk;
	struct hw_stitch_stats st;
};

static void copy(char *dst, size_t len, const char *src)
{
	size_t n = src ? strnlen(src, len - 1) : 0;

	memcpy(dst, src ? src : "", n);
	dst[n] = 0;
}

static int near(unsigned long long a, unsigned long long b, unsigned long long w)
{
	return a <= b + w && b <= a + w;
}

/* --- addresses and ports ------------------------------------------------------------------ */

static int parse_ip(const char *ip, int *family, unsigned char addr[16])
{
	if (inet_pton(AF_INET, ip, addr) == 1) {
		*family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, ip, addr) == 1) {
		static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

		if (!memcmp(addr, mapped, 12)) {
			memmove(addr, addr + 12, 4);
			*family = AF_INET;
		} else {
			*family = AF_INET6;
		}
		return 0;
	}
	return -EINVAL;
}

/* An address in one spelling, so both ends of a connection name it alike. */
static int canon_ip(const char *ip, char out[HW_FACT_IP_LEN])
{
	unsigned char a[16];
	int family;

	if (parse_ip(ip, &family, a) || !inet_ntop(family, a, out, HW_FACT_IP_LEN))
		return -EINVAL;
	return 0;
}

static int local_only(const char *ip)
{
	return !strncmp(ip, "127.", 4) || !strcmp(ip, "::1") || !strcmp(ip, "0.0.0.0") ||
	       !strcmp(ip, "::");
}

/* A connection between two hosts: both addresses valid, ports set, not loopback, not to
 * itself. */
static int make_tuple(struct tuple *t, const struct hw_fact_ep *client,
		      const struct hw_fact_ep *server)
{
	if (canon_ip(client->ip, t->cip) || canon_ip(server->ip, t->sip) || !client->port ||
	    client->port > 65535 || !server->port || server->port > 65535 || local_only(t->cip) ||
	    local_only(t->sip) || !strcmp(t->cip, t->sip))
		return -EINVAL;
	t->cport = client->port;
	t->sport = server->port;
	return 0;
}

static uint64_t tuple_hash(const struct tuple *t)
{
	return fnv_u64(fnv_u64(fnv_str(fnv_str(FNV0, t->cip), t->sip), t->cport), t->sport);
}

static int tuple_eq(const struct tuple *a, const struct tuple *b)
{
	return a->cport == b->cport && a->sport == b->sport && !strcmp(a->cip, b->cip) &&
	       !strcmp(a->sip, b->sip);
}

static uint64_t session_hash(const struct st_host *h, const char *session)
{
	return fnv_str(fnv_str(fnv_str(FNV0, h->id), h->name), session);
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
	unsigned char a[16];
	int family;

	return !parse_ip(ip, &family, a) &&
	       hw_cidrs_contain(s->cfg->allow_sources.v, s->cfg->allow_sources.n, family, a);
}

/* --- hosts -------------------------------------------------------------------------------- */

/* A host is its host.id and host.name together (agents scoped to network namespaces of one
 * machine share its machine-id). */
static struct st_host *host_of(struct hw_stitch *s, const struct hw_fact *f)
{
	uint64_t h = fnv_str(fnv_str(FNV0, f->host_id), f->host_name);
	struct st_host *host = NULL;

	for (struct hnode *n = htab_first(&s->hosts, h); n; n = htab_next(n, h)) {
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
		if (!host || htab_add(&s->hosts, &host->node, h)) {
			free(host);
			return NULL;
		}
		copy(host->id, sizeof(host->id), f->host_id);
		copy(host->name, sizeof(host->name), f->host_name);
		s->st.hosts++;
	}
	if (f->ts > host->last)
		host->last = f->ts;
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
	uint64_t h = fnv_str(FNV0, ip);

	for (struct hnode *n = htab_first(&s->owners, h); n; n = htab_next(n, h)) {
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

	if (canon_ip(raw, ip) || local_only(ip) || owns(host, ip))
		return;
	copy(host->addrs[host->naddrs % HW_STITCH_HOST_ADDRS], HW_FACT_IP_LEN, ip);
	host->naddrs++;
	if (host->naddrs == 2 * HW_STITCH_HOST_ADDRS)
		host->naddrs = HW_STITCH_HOST_ADDRS; /* the same slots, no overflow */
	if (owner_of(s, ip) || s->owners.n >= HW_STITCH_TABLE_MAX)
		return;
	o = calloc(1, sizeof(*o));
	if (!o)
		return;
	o->host = host;
	copy(o->ip, sizeof(o->ip), ip);
	if (htab_add(&s->owners, &o->node, fnv_str(FNV0, ip)))
		free(o);
}

/* --- freeing ------------------------------------------------------------------------------ */

static void pending_drop(struct hw_stitch *s, struct st_in *in)
{
	if (!in->pending)
		return;
	if (in->pending_prev)
		in->pending_prev->pending_next = in->pending_next;
	else
		s->pending = in->pending_next;
	if (in->pending_next)
		in->pending_next->pending_prev = in->pending_prev;
	in->pending_prev = in->pending_next = NULL;
	in->pending = in->pending_tick = 0;
}

static void in_free(struct hw_stitch *s, struct st_in *in)
{
	pending_drop(s, in);
	if (in->out)
		in->out->in = NULL;
	htab_del(&s->ins, &in->by_tuple);
	if (in->have_session)
		htab_del(&s->ins_by_session, &in->by_session);
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
	htab_del(&s->outs, &o->by_tuple);
	if (o->session[0])
		htab_del(&s->outs_by_session, &o->by_session);
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
static void sweep_in(struct hnode *n, void *ctx)
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

static void sweep_out(struct hnode *n, void *ctx)
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

static void sweep(struct hw_stitch *s, int force)
{
	if (!force && s->now < s->last_sweep + SWEEP_NS && s->facts < s->swept_at + SWEEP_FACTS)
		return;
	s->last_sweep = s->now;
	s->swept_at = s->facts;
	htab_each(&s->ins, sweep_in, s);
	htab_each(&s->outs, sweep_out, s);
}

/* --- chains and alerts -------------------------------------------------------------------- */

static struct st_in *session_in(const struct hw_stitch *s, const struct st_host *host,
				const char *session)
{
	uint64_t h = session_hash(host, session);

	for (struct hnode *n = htab_first(&s->ins_by_session, h); n; n = htab_next(n, h)) {
		struct st_in *in = container_of(n, struct st_in, by_session);

		if (in->host == host && !strcmp(in->session, session))
			return in;
	}
	return NULL;
}

static const char *port_technique(unsigned int port)
{
	switch (port) {
	case 22:
		return "T1021.004";
	case 3389:
		return "T1021.001";
	case 135:
	case 445:
		return "T1021.002";
	case 5900:
		return "T1021.005";
	case 5985:
	case 5986:
		return "T1021.006";
	default:
		return NULL;
	}
}

static void technique(struct hw_alert *a, const char *id)
{
	if (!id || a->ntechniques >= HW_ALERT_TECHNIQUES)
		return;
	for (int i = 0; i < a->ntechniques; i++)
		if (!strcmp(a->techniques[i], id))
			return;
	a->techniques[a->ntechniques++] = id;
}

static const char *hop_user(const struct st_in *h)
{
	if (h->have_session && h->user[0])
		return h->user;
	return h->out && h->out->user[0] ? h->out->user : "";
}

/* "c (alice via /usr/bin/ssh, 18:44:05)": the host reached, who, how, when (UTC) */
static void hop_text(const struct st_in *h, char *buf, size_t len)
{
	const struct st_out *o = h->out;
	const char *user = hop_user(h);
	time_t t = (time_t)((o ? o->ts : h->ts) / NS_PER_SEC);
	struct tm tm;
	char when[16] = "";

	if (gmtime_r(&t, &tm))
		strftime(when, sizeof(when), "%H:%M:%S", &tm);
	if (o)
		snprintf(buf, len, "%s (%s%svia %s, %s)", h->host->name, user, user[0] ? " " : "",
			 o->exe[0] ? o->exe : "an unknown program", when);
	else if (h->have_session)
		snprintf(buf, len, "%s (%s%s%s session, %s)", h->host->name, user,
			 user[0] ? ", " : "", h->service[0] ? h->service : "remote", when);
	else
		snprintf(buf, len, "%s (accepted by %s, %s)", h->host->name,
			 h->handler_exe[0] ? h->handler_exe : "an unknown program", when);
}

/* v[0] is the last hop, v[n - 1] the first. */
static void emit(struct hw_stitch *s, struct st_in *const *v, int n)
{
	const struct st_in *end = v[0], *first = v[n - 1];
	struct hw_alert a = {0};
	const char *who = hop_user(first);
	char hop[1200];
	size_t off;
	uint64_t h;
	int k;

	a.rule_id = "hop-chain";
	a.rule_name = "Hop chain across hosts";
	a.severity = 73;
	a.severity_name = "high";
	technique(&a, "T1021");
	for (int i = n - 1; i >= 0; i--)
		technique(&a, port_technique(v[i]->t.sport));
	a.ts = end->host->last ? end->host->last : s->now; /* the chain end's clock */
	a.host_id = end->host->id;
	a.host_name = end->host->name;
	if (end->have_session) {
		a.session_id = end->session;
		a.service = end->service;
	}
	a.user = hop_user(end);
	a.source_ip = end->t.cip;
	a.source_port = end->t.cport;
	a.destination_ip = end->t.sip;
	a.destination_port = end->t.sport;
	if (end->handler[0]) {
		a.entity_id = end->handler;
		a.executable = end->handler_exe;
		a.pid = end->handler_pid;
	}
	a.connection_id = end->conn;
	/* the hosts from the origin on; the origin is an address when it has no agent */
	a.hosts[a.nhosts++] = first->out ? first->out->host->name : first->t.cip;
	for (int i = n - 1; i >= 0; i--)
		a.hosts[a.nhosts++] = v[i]->host->name;
	a.count = (unsigned int)n;
	/* the sessions of the chain, the last ones when there are more than fit */
	k = 0;
	for (int i = n - 1; i >= 0; i--)
		if (v[i]->have_session)
			k++;
	for (int i = n - 1; i >= 0; i--) {
		if (!v[i]->have_session)
			continue;
		if (k-- <= (int)(sizeof(a.related_ids) / sizeof(a.related_ids[0])))
			a.related_ids[a.nrelated++] = v[i]->session;
	}
	/* "alice hopped 198.18.0.1 → b (alice, sshd session, 18:44:02) → c (...)": whole hops
	 * only, and "…" when the next does not fit */
	off = (size_t)snprintf(a.message, sizeof(a.message), "%s hopped %s",
			       who[0] ? who : "a user", a.hosts[0]);
	if (off >= sizeof(a.message))
		off = sizeof(a.message) - 1;
	for (int i = n - 1; i >= 0; i--) {
		size_t len;

		hop_text(v[i], hop, sizeof(hop));
		len = strlen(hop);
		if (off + len + 16 >= sizeof(a.message)) {
			if (off + 8 < sizeof(a.message))
				off += (size_t)snprintf(a.message + off, sizeof(a.message) - off,
							" → …");
			break;
		}
		off += (size_t)snprintf(a.message + off, sizeof(a.message) - off, " → %s", hop);
	}
	/* the id names the chain end and its length: a chain reported again as it grows gets a
	 * new one; the same stream always gives the same ids */
	h = fnv_str(fnv_str(fnv_str(FNV0, end->host->id), end->host->name), "hop-chain");
	h = fnv_u64(tuple_hash(&end->t) ^ h, end->ts);
	h = fnv_u64(h, (unsigned long long)n);
	snprintf(a.id, sizeof(a.id), "%016llx", (unsigned long long)h);
	s->st.alerts++;
	if (s->fn)
		s->fn(&a, s->ctx);
}

/* An accepted last hop waited long enough for its login: by its host's clock, or by the
 * collector's (its host said nothing more). */
static int login_waited(const struct hw_stitch *s, const struct st_in *in)
{
	unsigned long long base = in->pending_tick ? in->pending_tick : in->pending;

	return in->host->last >= in->pending + HW_STITCH_LOGIN_NS ||
	       s->now >= base + HW_STITCH_LOGIN_NS;
}

/* Walks the chain that ends at end back to its origin; alerts when it has two hops or more and
 * is longer than when it last alerted. An accepted connection with no session yet waits for
 * its login (unless force). */
static void evaluate(struct hw_stitch *s, struct st_in *end, int force)
{
	struct st_in *v[HW_STITCH_MAX_HOPS];
	unsigned int walk = ++s->walk;
	int n = 0;

	for (struct st_in *cur = end; cur && n < HW_STITCH_MAX_HOPS;) {
		const struct st_out *o = cur->out;
		struct st_in *prev;

		cur->walk = walk;
		v[n++] = cur;
		if (!o || !o->session[0])
			break;
		prev = session_in(s, o->host, o->session);
		/* a jump host's sessions may hop: a chain starts there afresh */
		if (!prev || prev->walk == walk || prev->allowed)
			break;
		/* the session was open when the hop left it */
		if (!o->approx && !prev->approx && prev->ts > o->ts + HW_STITCH_SKEW_NS)
			break;
		if (!o->approx && prev->ended && o->ts > prev->ended + HW_STITCH_SKEW_NS)
			break;
		cur = prev;
	}
	if (n < 2 || n <= end->fired)
		return;
	if (!end->have_session && !end->ended && !force &&
	    (!end->pending || !login_waited(s, end))) {
		if (!end->pending) {
			end->pending = end->host->last ? end->host->last : 1;
			end->pending_tick = s->now;
			end->pending_next = s->pending;
			if (s->pending)
				s->pending->pending_prev = end;
			s->pending = end;
		}
		return;
	}
	pending_drop(s, end);
	end->fired = n;
	emit(s, v, n);
}

/* in changed (linked, or a session now): its chain, and every chain through it. */
static void update(struct hw_stitch *s, struct st_in *in, int depth)
{
	uint64_t h;

	if (in->visit == s->gen)
		return;
	in->visit = s->gen;
	evaluate(s, in, 0);
	if (!in->have_session || depth >= HW_STITCH_MAX_HOPS)
		return;
	h = session_hash(in->host, in->session);
	for (struct hnode *n = htab_first(&s->outs_by_session, h); n; n = htab_next(n, h)) {
		struct st_out *o = container_of(n, struct st_out, by_session);

		if (o->in && o->host == in->host && !strcmp(o->session, in->session))
			update(s, o->in, depth + 1);
	}
}

static void changed(struct hw_stitch *s, struct st_in *in)
{
	s->gen++;
	update(s, in, 0);
}

static void pending_run(struct hw_stitch *s, int force)
{
	struct st_in *in = s->pending, *next;

	for (; in; in = next) {
		next = in->pending_next;
		if (force || in->ended || login_waited(s, in)) {
			evaluate(s, in, 1);
			pending_drop(s, in); /* also when its chain broke meanwhile */
		}
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

	for (struct hnode *n = htab_first(&s->ins, h); n; n = htab_next(n, h)) {
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
		changed(s, best);
	}
}

static void link_in(struct hw_stitch *s, struct st_in *in)
{
	uint64_t h = tuple_hash(&in->t);
	struct st_out *best = NULL;

	if (!in->out) {
		/* the first owner of the address takes a hop from a later claimant */
		int owner = first_owner(s, in->host, in->t.sip);

		for (struct hnode *n = htab_first(&s->outs, h); n; n = htab_next(n, h)) {
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
	changed(s, in);
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
	for (struct hnode *n = htab_first(&s->outs, h); n; n = htab_next(n, h)) {
		o = container_of(n, struct st_out, by_tuple);
		/* the same connection again (found again by a restarted agent's snapshot) */
		if (o->host == host && tuple_eq(&o->t, &t) &&
		    (approx || o->approx || near(o->ts, ts, HW_STITCH_SKEW_NS)))
			return;
	}
	if (!room(s, host, &s->st.outbound))
		return;
	o = calloc(1, sizeof(*o));
	if (!o)
		return;
	o->host = host;
	o->t = t;
	o->ts = ts;
	o->arrived = s->now;
	o->approx = approx;
	o->pid = f->pid;
	copy(o->session, sizeof(o->session), f->session_id);
	copy(o->entity, sizeof(o->entity), f->entity_id);
	copy(o->conn, sizeof(o->conn), f->conn_id);
	copy(o->exe, sizeof(o->exe), f->executable[0] ? f->executable : f->name);
	copy(o->user, sizeof(o->user), f->user);
	if (htab_add(&s->outs, &o->by_tuple, h)) {
		free(o);
		return;
	}
	if (o->session[0] &&
	    htab_add(&s->outs_by_session, &o->by_session, session_hash(host, o->session))) {
		htab_del(&s->outs, &o->by_tuple);
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

	for (struct hnode *n = htab_first(&s->ins, h); n; n = htab_next(n, h)) {
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
	in = calloc(1, sizeof(*in));
	if (!in)
		return NULL;
	in->host = host;
	in->t = *t;
	in->ts = ts;
	in->arrived = s->now;
	in->approx = approx;
	if (htab_add(&s->ins, &in->by_tuple, tuple_hash(t))) {
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
	copy(in->handler, sizeof(in->handler), f->entity_id);
	copy(in->handler_exe, sizeof(in->handler_exe), f->executable[0] ? f->executable : f->name);
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
		copy(in->conn, sizeof(in->conn), f->conn_id);
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
	in = session_in(s, host, f->session_id);
	if (!in)
		in = in_find(s, host, &t, ts, approx);
	if (!in) {
		in = in_new(s, host, &t, ts, approx);
		if (!in)
			return;
	}
	if (in->have_session && strcmp(in->session, f->session_id)) {
		/* the same connection under a new id (a restarted agent's snapshot) */
		htab_del(&s->ins_by_session, &in->by_session);
		in->have_session = 0;
	}
	if (!in->have_session) {
		copy(in->session, sizeof(in->session), f->session_id);
		if (htab_add(&s->ins_by_session, &in->by_session, session_hash(host, in->session)))
			return;
		in->have_session = 1;
	}
	if (f->user[0])
		copy(in->user, sizeof(in->user), f->user);
	if (f->service[0])
		copy(in->service, sizeof(in->service), f->service);
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
		in = session_in(s, host, f->session_id);
	else if (!make_tuple(&t, &f->src, &f->dst))
		in = in_find(s, host, &t, f->ts, 0);
	if (!in || in->ended || (f->kind == HW_F_DISCONNECT && in->have_session))
		return;
	in->ended = f->ts ? f->ts : 1;
	/* an accepted last hop that never logged in: its alert need not wait */
	if (in->pending)
		evaluate(s, in, 1);
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

void hw_stitch__feed(struct hw_stitch *s, const struct hw_fact *f)
{
	s->facts++;
	if (f->host_id[0]) {
		switch (f->kind) {
		case HW_F_CONNECT:
			if (!f->failure && f->egress && !f->udp)
				out_add(s, f, 0);
			break;
		case HW_F_CONN_SNAPSHOT:
			if (f->udp)
				break;
			if (f->egress)
				out_add(s, f, 1);
			else
				in_accept(s, f, 1);
			break;
		case HW_F_ACCEPT:
			if (!f->udp)
				in_accept(s, f, 0);
			break;
		case HW_F_LOGIN:
			if (!f->failure)
				in_session(s, f);
			break;
		case HW_F_SESSION_SNAPSHOT:
			in_session(s, f);
			break;
		case HW_F_LOGOUT:
			in_end(s, f);
			break;
		case HW_F_DISCONNECT:
			if (!f->egress && !f->udp)
				in_end(s, f);
			break;
		case HW_F_AGENT_STARTED:
			agent_started(s, f);
			break;
		case HW_F_LISTEN:
			listener(s, f);
			break;
		default:
			host_of(s, f); /* its clock */
			break;
		}
	}
	if (s->pending)
		pending_run(s, 0);
	sweep(s, 0);
}

void hw_stitch__tick(struct hw_stitch *s, unsigned long long ts)
{
	if (ts > s->now)
		s->now = ts;
	if (s->pending)
		pending_run(s, 0);
	sweep(s, 0);
}

void hw_stitch__flush(struct hw_stitch *s)
{
	pending_run(s, 1);
}

void hw_stitch__stats(const struct hw_stitch *s, struct hw_stitch_stats *st)
{
	*st = s->st;
}

size_t hw_stitch__memory(const struct hw_stitch *s)
{
	const struct htab *t[] = {&s->hosts, &s->owners, &s->outs, &s->outs_by_session, &s->ins,
				  &s->ins_by_session};
	size_t n = sizeof(*s);

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		n += t[i]->nb * sizeof(struct hnode *);
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

static void free_in(struct hnode *n, void *ctx)
{
	(void)ctx;
	free(container_of(n, struct st_in, by_tuple));
}

static void free_out(struct hnode *n, void *ctx)
{
	(void)ctx;
	free(container_of(n, struct st_out, by_tuple));
}

static void free_host(struct hnode *n, void *ctx)
{
	(void)ctx;
	free(container_of(n, struct st_host, node));
}

static void free_owner(struct hnode *n, void *ctx)
{
	(void)ctx;
	free(container_of(n, struct st_owner, node));
}

void hw_stitch__free(struct hw_stitch *s)
{
	if (!s)
		return;
	htab_each(&s->ins, free_in, NULL);
	htab_each(&s->outs, free_out, NULL);
	htab_each(&s->hosts, free_host, NULL);
	htab_each(&s->owners, free_owner, NULL);
	free(s->owners.b);
	free(s->ins.b);
	free(s->ins_by_session.b);
	free(s->outs.b);
	free(s->outs_by_session.b);
	free(s->hosts.b);
	free(s);
}
