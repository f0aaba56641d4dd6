/* The stitcher's chains (see stitch.h): a hop's chain walked back through the sessions its
 * hops left, and the hop-chain alert of every chain that grew; an accepted last hop waits for
 * its login. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "collect/stitch_int.h"
#include "lib/attack.h"

void hw_chain__pending_drop(struct hw_stitch *s, struct st_in *in)
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

struct st_in *hw_chain__session_in(const struct hw_stitch *s, const struct st_host *host,
				   const char *session)
{
	uint64_t h = session_hash(host, session);

	for (struct hw_hnode *n = hw_htab__first(&s->ins_by_session, h); n;
	     n = hw_htab__next(n, h)) {
		struct st_in *in = container_of(n, struct st_in, by_session);

		if (in->host == host && !strcmp(in->session, session))
			return in;
	}
	return NULL;
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
		snprintf(buf, len, "%s (%s%svia %s%s, %s)", h->host->name, user, user[0] ? " " : "",
			 o->exe[0] ? o->exe : "an unknown program",
			 o->borrowed ? " with that session's ssh agent" : "", when);
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
	hw_alert__severity(&a, HW_SEV_HIGH);
	hw_alert__technique(&a, "T1021");
	for (int i = n - 1; i >= 0; i--)
		hw_alert__technique(&a, hw_attack__port_technique(v[i]->t.sport));
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
	h = hw_fnv__str(hw_fnv__str(hw_fnv__str(HW_FNV0, end->host->id), end->host->name),
			"hop-chain");
	h = hw_fnv__u64(tuple_hash(&end->t) ^ h, end->ts);
	h = hw_fnv__u64(h, (unsigned long long)n);
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
void hw_chain__evaluate(struct hw_stitch *s, struct st_in *end, int force)
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
		prev = hw_chain__session_in(s, o->host, o->session);
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
	hw_chain__pending_drop(s, end);
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
	hw_chain__evaluate(s, in, 0);
	if (!in->have_session || depth >= HW_STITCH_MAX_HOPS)
		return;
	h = session_hash(in->host, in->session);
	for (struct hw_hnode *n = hw_htab__first(&s->outs_by_session, h); n;
	     n = hw_htab__next(n, h)) {
		struct st_out *o = container_of(n, struct st_out, by_session);

		if (o->in && o->host == in->host && !strcmp(o->session, in->session))
			update(s, o->in, depth + 1);
	}
}

void hw_chain__changed(struct hw_stitch *s, struct st_in *in)
{
	s->gen++;
	update(s, in, 0);
}

void hw_chain__pending_run(struct hw_stitch *s, int force)
{
	struct st_in *in = s->pending, *next;

	for (; in; in = next) {
		next = in->pending_next;
		if (force || in->ended || login_waited(s, in)) {
			hw_chain__evaluate(s, in, 1);
			hw_chain__pending_drop(s, in); /* also when its chain broke meanwhile */
		}
	}
}

/* --- borrowed agents ----------------------------------------------------------------------- */

struct borrow_ctx {
	struct hw_stitch *s;
	const struct st_host *host;
	const struct hw_fact *f;
	struct st_in *changed[8];
	int n;
};

/* An outbound half of the borrowing process, made up to a minute before it used the agent
 * (ssh connects first, then signs): now a hop out of the borrowed session. */
static void borrow_out(struct hw_hnode *n, void *ctx)
{
	struct borrow_ctx *b = ctx;
	struct st_out *o = container_of(n, struct st_out, by_tuple);
	const struct hw_fact *f = b->f;

	if (o->host != b->host || strcmp(o->entity, f->entity_id) || o->borrowed ||
	    o->ts > f->ts + HW_STITCH_SKEW_NS || o->ts + 60 * NS_PER_SEC < f->ts)
		return;
	if (o->session[0])
		hw_htab__del(&b->s->outs_by_session, &o->by_session);
	snprintf(o->session, sizeof(o->session), "%s", f->sock_session);
	if (hw_htab__add(&b->s->outs_by_session, &o->by_session, session_hash(o->host, o->session)))
		o->session[0] = 0; /* no room: a hop of no session */
	o->borrowed = 1;
	if (o->in && b->n < (int)(sizeof(b->changed) / sizeof(b->changed[0])))
		b->changed[b->n++] = o->in;
}

void hw_chain__borrow(struct hw_stitch *s, struct st_host *host, const struct hw_fact *f)
{
	struct borrow_ctx b = {.s = s, .host = host, .f = f};

	if (!f->sock_session[0] || !f->entity_id[0] || !strcmp(f->session_id, f->sock_session))
		return;
	hw_htab__each(&s->outs, borrow_out, &b);
	for (int i = 0; i < b.n; i++) {
		b.changed[i]->fired = 0; /* a chain through another session now: say it again */
		hw_chain__changed(s, b.changed[i]);
	}
}
