/* The collector's input (see fleet.h). Each host's stream is handled as `hopwatch replay`
 * handles a file: its engine started afresh at each agent-started (and freed at agent-stopped),
 * and a stream without the agent's ticks ticked at its events' times. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect/fleet.h"
#include "collect/stitch_line.h"
#include "detect/factscan.h"
#include "detect/smap.h"
#include "lib/hash.h"
#include "lib/heap.h"

#define TICK_NS	      1000000000ULL /* the agent's tick: at most one a second per host */
#define TICK_WORK     64	    /* entries a tick may look at per event since the last one */
#define MINUTE_NS     (60 * TICK_NS)
#define IDLE_SWEEP_NS (10 * TICK_NS) /* how often silent hosts are looked for (at most) */
#define RATE_RULES    16	     /* rules whose alerts are counted apart (there are fewer) */

/* A host's alerts of one rule in the current minute */
struct rate {
	const char *rule;
	unsigned long long window, n;
};

/* A host: the subject token its messages come on, and who it said it is the first time. */
struct fhost {
	struct hw_snode node; /* a hash of the token */
	struct hw_engine *e;  /* NULL: none now (stopped, evicted); made at its next event */
	char token[256];
	char id[sizeof(((struct hw_fact *)0)->host_id)];     /* pinned */
	char name[sizeof(((struct hw_fact *)0)->host_name)]; /* pinned */
	int ticks_seen;		       /* its stream carries the agent's ticks */
	int started;		       /* an agent-started was fed: the next one is a new run */
	unsigned long long last_tick;  /* event time of its engine's last tick */
	unsigned long long since_tick; /* events since */
	unsigned long long arrived;    /* the collector's clock at its last message */
	size_t mem;		       /* its engine's bytes at the last look */
	struct rate rate[RATE_RULES];
};

struct hw_fleet {
	const struct hw_config *cfg;
	hw_alert_fn fn;
	void *ctx;
	struct hw_smap hosts;
	struct hw_stitch *stitch;
	struct hw_factscan scan; /* lines to facts: the members the rules read, at replay speed */
	struct hw_fact *fact;
	struct fhost *cur;	  /* the host being fed: its alerts count against it */
	struct fhost *last;	  /* the host find_host() found last, NULL once it is forgotten */
	unsigned long long now;	  /* the latest event time */
	unsigned long long clock; /* the collector's (hw_fleet__tick), 0 none */
	unsigned long long bound; /* event times beyond this + HW_STITCH_SKEW_NS are bounded */
	unsigned long long last_idle_sweep;
	size_t engines_mem; /* the sum of the hosts' mem */
	size_t retry_at;    /* over memory_max with nothing to evict: look again at this much */
	struct hw_fleet_stats st;
	char token[256];
	hw_fleet_forward_fn fwd; /* engines only: the stitcher's lines go there */
	void *fwd_ctx;
	char fwd_line[HW_STITCH_LINE_MAX + 1]; /* the stitcher's line forwarded */
	int stitch_only;		       /* the second stage: no engines */
	int muted;			       /* input read again: its alerts were raised before */
};

static void hash_key(char key[20], const char *token)
{
	snprintf(key, 20, "%016llx", (unsigned long long)hw_fnv__cstr(HW_FNV0, token));
}

static struct fhost *find_host(struct hw_fleet *f, const char *token)
{
	struct fhost *h = f->last;
	char key[20];

	/* a stream's lines come a host at a time: the same token finds the same host */
	if (h && !strcmp(h->token, token))
		return h;
	hash_key(key, token);
	h = (struct fhost *)hw_smap__get(&f->hosts, key);
	if (!h || strcmp(h->token, token))
		return NULL;
	f->last = h;
	return h;
}

/* Whether one more alert of h passes: at most collect.host_alerts a minute of each rule (a
 * flood of one rule does not silence the others), by the collector's clock when it has one,
 * else by h's events' times. */
static int alert_allowed(struct hw_fleet *f, struct fhost *h, const struct hw_alert *a)
{
	unsigned long long now = f->clock ? f->clock : a->ts;
	struct rate *r = NULL;

	if (!h)
		return 1;
	for (int i = 0; i < RATE_RULES && !r; i++)
		if (!h->rate[i].rule || !strcmp(h->rate[i].rule, a->rule_id))
			r = &h->rate[i];
	if (!r)
		r = &h->rate[RATE_RULES - 1]; /* never: fewer rules */
	if (!r->rule || strcmp(r->rule, a->rule_id) || !r->window || now >= r->window + MINUTE_NS ||
	    now < r->window) {
		r->rule = a->rule_id;
		r->window = now ? now : 1;
		r->n = 0;
	}
	if (r->n >= f->cfg->collect_host_alerts)
		return 0;
	r->n++;
	return 1;
}

static void on_alert(const struct hw_alert *a, void *ctx)
{
	struct hw_fleet *f = ctx;
	struct fhost *h = f->cur;

	if (!h) { /* a hop-chain that waited for a login: its last host's */
		hw_fleet__subject_token(f->token, sizeof(f->token), a->host_name);
		h = find_host(f, f->token);
	}
	if (f->muted) {
		f->st.muted++;
		return;
	}
	if (!alert_allowed(f, h, a)) {
		f->st.alerts_dropped++;
		return;
	}
	f->st.alerts++;
	if (f->fn)
		f->fn(a, f->ctx);
}

struct hw_fleet *hw_fleet__new(const struct hw_config *cfg, hw_alert_fn fn, void *ctx)
{
	struct hw_fleet *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->cfg = cfg;
	f->fn = fn;
	f->ctx = ctx;
	f->fact = calloc(1, sizeof(*f->fact));
	f->stitch = hw_stitch__new(cfg, on_alert, f);
	if (hw_factscan__init(&f->scan) || !f->fact || !f->stitch) {
		hw_fleet__free(f);
		errno = ENOMEM;
		return NULL;
	}
	return f;
}

static void free_host(struct hw_snode *n, void *ctx)
{
	(void)ctx;
	hw_engine__free(((struct fhost *)n)->e);
	free(n);
}

void hw_fleet__free(struct hw_fleet *f)
{
	if (!f)
		return;
	hw_smap__each(&f->hosts, free_host, NULL);
	hw_smap__free(&f->hosts);
	hw_stitch__free(f->stitch);
	hw_factscan__free(&f->scan);
	free(f->fact);
	free(f);
}

void hw_fleet__subject_token(char *out, size_t len, const char *host)
{
	size_t i = 0;

	for (; host[i] && i + 1 < len; i++) {
		char c = host[i];

		out[i] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
				 (c >= '0' && c <= '9') || c == '_' || c == '-'
			     ? c
			     : '_';
	}
	out[i] = 0;
	if (!i)
		snprintf(out, len, "unknown");
}

/* PREFIX.HOST.events or PREFIX.HOST.events.PARTITION (the server's partition mapping), HOST
 * the token of host_name (in f->token); for the second stage PREFIX.collector.stitch.HOST. */
static int check_subject(struct hw_fleet *f, const char *subject, const char *host_name, char *err,
			 size_t errlen)
{
	const char *prefix = f->cfg->nats_subject, *p = subject;
	size_t plen = strlen(prefix), tlen = strlen(f->token);
	int ok = !strncmp(p, prefix, plen) && p[plen] == '.';

	p += ok ? plen + 1 : 0;
	if (ok && f->stitch_only) {
		ok = !strncmp(p, HW_FLEET_STITCH_TOKENS ".", sizeof(HW_FLEET_STITCH_TOKENS)) &&
		     !strcmp(p + sizeof(HW_FLEET_STITCH_TOKENS), f->token);
	} else if (ok) {
		ok = !strncmp(p, f->token, tlen) && !strncmp(p + tlen, ".events", 7);
		p += ok ? tlen + 7 : 0;
		if (ok && *p) { /* .PARTITION */
			ok = *p++ == '.' && *p;
			while (ok && *p)
				ok = *p >= '0' && *p <= '9' && p++;
		}
	}
	if (!ok) {
		snprintf(err, errlen, "subject '%.120s' is not %s.%s%.80s%s (host.name '%.80s')",
			 subject, prefix, f->stitch_only ? HW_FLEET_STITCH_TOKENS "." : "",
			 f->token, f->stitch_only ? "" : ".events", host_name);
		return -EINVAL;
	}
	return 0;
}

void hw_fleet__forward(struct hw_fleet *f, hw_fleet_forward_fn fn, void *ctx)
{
	f->fwd = fn;
	f->fwd_ctx = ctx;
}

void hw_fleet__stitch_only(struct hw_fleet *f)
{
	f->stitch_only = 1;
}

void hw_fleet__mute(struct hw_fleet *f, int on)
{
	f->muted = on;
}

/* Frees h's engine (h and its pinned identity stay): its next event makes a new one. */
static void engine_free(struct hw_fleet *f, struct fhost *h)
{
	hw_engine__free(h->e);
	h->e = NULL;
	f->engines_mem -= h->mem;
	h->mem = 0;
	h->ticks_seen = h->started = 0;
	h->last_tick = h->since_tick = 0;
}

static int engine_make(struct hw_fleet *f, struct fhost *h)
{
	h->e = hw_engine__new(f->cfg, on_alert, f);
	hw_heap__grown();
	if (!h->e)
		return -ENOMEM;
	hw_engine__one_host(h->e); /* host_for refuses any other host.id and host.name */
	h->mem = hw_engine__memory(h->e);
	f->engines_mem += h->mem;
	f->st.hosts++;
	return 0;
}

struct largest {
	struct fhost *h;
};

static void find_largest(struct hw_snode *n, void *ctx)
{
	struct largest *l = ctx;
	struct fhost *h = (struct fhost *)n;

	if (h->e && (!l->h || h->mem > l->h->mem))
		l->h = h;
}

static size_t memory(const struct hw_fleet *f)
{
	return f->engines_mem + hw_stitch__memory(f->stitch) +
	       hw_smap__count(&f->hosts) * sizeof(struct fhost) + hw_smap__memory(&f->hosts);
}

/* After h's event: its engine's bytes looked at again against collect.host_memory_max, and
 * everything against collect.memory_max. */
static void budgets(struct hw_fleet *f, struct fhost *h)
{
	size_t mem = hw_engine__memory(h->e);

	f->engines_mem += mem - h->mem;
	h->mem = mem;
	if (mem > f->cfg->collect_host_memory_max) {
		/* the host's own state goes: it starts afresh, as after its agent's restart */
		engine_free(f, h);
		f->st.evictions++;
		return;
	}
	if (memory(f) <= f->cfg->collect_memory_max || memory(f) < f->retry_at)
		return;
	/* down to 90% of the budget, so that the next eviction is some way off (each looks at
	 * every host) */
	while (memory(f) > f->cfg->collect_memory_max - f->cfg->collect_memory_max / 10) {
		struct largest l = {0};

		hw_smap__each(&f->hosts, find_largest, &l);
		if (!l.h || l.h->mem < (64 << 10)) {
			/* no engine is the problem (the stitcher's own bound holds): look again
			 * only when a megabyte more is held */
			f->retry_at = memory(f) + (1 << 20);
			return;
		}
		engine_free(f, l.h);
		f->st.memory_evictions++;
	}
	f->retry_at = 0;
}

static struct fhost *host_for(struct hw_fleet *f, const struct hw_fact *fact, char *err,
			      size_t errlen, int *r)
{
	struct fhost *h = find_host(f, f->token);
	char key[20];

	*r = -EINVAL;
	if (h) {
		if (strcmp(h->name, fact->host_name)) {
			snprintf(err, errlen,
				 "host.name '%.80s' is not '%.80s', the name first seen "
				 "on this host's subject",
				 fact->host_name, h->name);
			f->st.identity++;
			return NULL;
		}
		if (strcmp(h->id, fact->host_id)) {
			snprintf(err, errlen,
				 "host.id '%.80s' of host '%.80s' is not '%.80s', the id "
				 "first seen",
				 fact->host_id, h->name, h->id);
			f->st.identity++;
			return NULL;
		}
		return h;
	}
	/* the second stage holds no engines: the whole fleet's hosts, as many as the stitcher */
	if (hw_smap__count(&f->hosts) >=
	    (f->stitch_only ? HW_STITCH_HOSTS_MAX : HW_FLEET_HOSTS_MAX)) {
		snprintf(err, errlen, "more than %d hosts at once",
			 f->stitch_only ? HW_STITCH_HOSTS_MAX : HW_FLEET_HOSTS_MAX);
		f->st.hosts_full++;
		return NULL;
	}
	*r = -ENOMEM;
	hash_key(key, f->token);
	if (hw_smap__get(&f->hosts, key)) {
		snprintf(err, errlen, "host '%.80s' collides with another host's hash",
			 fact->host_name); /* two tokens, one 64-bit hash: never seen */
		*r = -EINVAL;
		return NULL;
	}
	h = calloc(1, sizeof(*h));
	if (!h || hw_smap__put(&f->hosts, &h->node, key)) {
		free(h);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	snprintf(h->token, sizeof(h->token), "%s", f->token);
	snprintf(h->id, sizeof(h->id), "%s", fact->host_id);
	snprintf(h->name, sizeof(h->name), "%s", fact->host_name);
	*r = 0;
	return h;
}

struct idle_ctx {
	struct hw_fleet *f;
	unsigned long long before;
};

static void forget_idle(struct hw_snode *n, void *ctx)
{
	struct idle_ctx *c = ctx;
	struct fhost *h = (struct fhost *)n;

	if (h->arrived >= c->before)
		return;
	if (h->e)
		engine_free(c->f, h);
	if (c->f->last == h)
		c->f->last = NULL;
	hw_smap__del(&c->f->hosts, &h->node);
	free(h);
	c->f->st.idle++;
}

/* The host's clock: its event's time bounded by the collector's clock (and its start times
 * by its time). */
static void bound_time(struct hw_fleet *f, struct hw_fact *fact)
{
	if (f->bound && fact->ts > f->bound + HW_STITCH_SKEW_NS) {
		fact->ts = f->bound + HW_STITCH_SKEW_NS;
		f->st.clamped++;
	}
	if (fact->conn_start > fact->ts)
		fact->conn_start = fact->ts;
	if (fact->session_start > fact->ts)
		fact->session_start = fact->ts;
}

/* A tick for h's engine at ts: at most once a second of its events' time, and only when the
 * events since the last one pay for what it looks at (a flood of connections must not make
 * every event cost a look at all of them). */
static int tick_due(const struct fhost *h, unsigned long long ts)
{
	if (!h->last_tick)
		return 1;
	return ts >= h->last_tick + TICK_NS &&
	       h->since_tick * TICK_WORK >= hw_engine__tick_work(h->e);
}

static void tick_engine(struct hw_fleet *f, struct fhost *h, const struct hw_fact *t)
{
	hw_engine__feed(h->e, t);
	h->last_tick = t->ts;
	h->since_tick = 0;
	f->st.ticks++;
}

int hw_fleet__feed(struct hw_fleet *f, const char *subject, const void *data, size_t len, char *err,
		   size_t errlen)
{
	const char *line = data;
	struct hw_fact *fact = f->fact;
	struct fhost *h;
	int r;

	if (!(++f->st.messages & 1023))
		hw_heap__grown(); /* the models grew */
	while (len && (line[len - 1] == '\n' || line[len - 1] == '\r' || line[len - 1] == ' ' ||
		       line[len - 1] == '\t'))
		len--;
	if (!len && !subject) {
		f->st.skipped++; /* blank lines are not events */
		return 0;
	}
	/* the second stage: the stitcher's lines of partitioned instances (older ones forwarded
	 * the agents' ECS lines: read those too) */
	if (f->stitch_only && len && line[0] == HW_STITCH_LINE_MARK)
		r = hw_stitch_line__read(fact, line, len, err, errlen);
	else
		r = hw_factscan__line(&f->scan, line, len, fact, err, errlen);
	if (r)
		goto malformed;
	if (fact->kind == HW_F_ALERT) {
		f->st.skipped++; /* the collector raises its own */
		return 0;
	}
	r = -EINVAL;
	if (!fact->host_id[0] || !fact->host_name[0]) {
		snprintf(err, errlen, "no host.%s", fact->host_id[0] ? "name" : "id");
		goto malformed;
	}
	hw_fleet__subject_token(f->token, sizeof(f->token), fact->host_name);
	if (subject && check_subject(f, subject, fact->host_name, err, errlen))
		goto malformed;
	h = host_for(f, fact, err, errlen, &r);
	if (!h)
		goto malformed;
	h->arrived = f->clock;
	bound_time(f, fact);
	if (f->stitch_only) {
		/* the second stage: the stitcher only (the engines are the partitions') */
		if (fact->ts > f->now)
			f->now = fact->ts;
		f->st.events++;
		f->cur = h;
		hw_stitch__feed(f->stitch, fact);
		f->cur = NULL;
		return 0;
	}
	if (fact->kind == HW_F_AGENT_STARTED && h->started && h->e)
		engine_free(f, h); /* another run of the agent: it starts afresh */
	if (!h->e && engine_make(f, h)) {
		snprintf(err, errlen, "out of memory");
		r = -ENOMEM;
		goto malformed;
	}
	if (fact->kind == HW_F_AGENT_STARTED)
		h->started = 1;
	f->cur = h;
	if (fact->kind == HW_F_TICK) {
		/* a recording's ticks are its clock (but not more often than they pay for) */
		h->ticks_seen = 1;
		if (tick_due(h, fact->ts))
			tick_engine(f, h, fact);
	} else {
		h->since_tick++;
		if (!h->ticks_seen && fact->kind != HW_F_AGENT_STARTED && tick_due(h, fact->ts)) {
			/* a stream without the agent's ticks (NATS, an output file): its events'
			 * times */
			struct hw_fact t = {.kind = HW_F_TICK, .ts = fact->ts};

			memcpy(t.host_id, fact->host_id, sizeof(t.host_id));
			memcpy(t.host_name, fact->host_name, sizeof(t.host_name));
			tick_engine(f, h, &t);
		}
		hw_engine__feed(h->e, fact);
	}
	if (fact->ts > f->now)
		f->now = fact->ts;
	f->st.events++;
	if (!f->fwd)
		hw_stitch__feed(f->stitch, fact);
	else if (hw_stitch__wants(f->stitch, fact)) {
		/* to the second stage: what the stitcher reads of it, not the whole line */
		size_t n = hw_stitch_line__write(f->fwd_line, fact);

		if (n)
			f->fwd(f->fwd_line, n, f->fwd_ctx);
		else
			f->fwd(line, len, f->fwd_ctx); /* a kind the line does not carry: whole */
	}
	f->cur = NULL;
	if (fact->kind == HW_F_AGENT_STOPPED)
		engine_free(f, h); /* its next run starts with an agent-started */
	else
		budgets(f, h);
	return 0;
malformed:
	/* the reason may quote the input: keep it one printable line */
	for (char *c = err; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	if (r == -ENOMEM) {
		f->st.failed++;
		return r;
	}
	f->st.malformed++;
	return -EINVAL;
}

void hw_fleet__refuse(struct hw_fleet *f)
{
	f->st.messages++;
	f->st.malformed++;
}

void hw_fleet__bound(struct hw_fleet *f, unsigned long long now)
{
	if (now > f->bound)
		f->bound = now;
}

void hw_fleet__tick(struct hw_fleet *f, unsigned long long now)
{
	hw_fleet__bound(f, now);
	if (now > f->clock)
		f->clock = now;
	if (f->clock >= f->last_idle_sweep + IDLE_SWEEP_NS ||
	    f->clock >= f->last_idle_sweep + f->cfg->collect_host_idle_ns / 2) {
		struct idle_ctx c = {.f = f};

		f->last_idle_sweep = f->clock;
		if (f->clock > f->cfg->collect_host_idle_ns) {
			c.before = f->clock - f->cfg->collect_host_idle_ns;
			hw_smap__each(&f->hosts, forget_idle, &c);
		}
	}
	hw_stitch__tick(f->stitch, f->clock);
}

void hw_fleet__flush(struct hw_fleet *f)
{
	hw_stitch__flush(f->stitch);
}

unsigned long long hw_fleet__now(const struct hw_fleet *f)
{
	return f->now;
}

void hw_fleet__stats(const struct hw_fleet *f, struct hw_fleet_stats *st,
		     struct hw_stitch_stats *stitch)
{
	if (st) {
		*st = f->st;
		st->memory = memory(f);
	}
	if (stitch)
		hw_stitch__stats(f->stitch, stitch);
}
