/* The collector's input (see fleet.h). Each host's stream is handled as `hopwatch replay`
 * handles a file: its engine started afresh at each agent-started (and freed at agent-stopped),
 * and a stream without the agent's ticks ticked at its events' times — here at most once a
 * second, as the agent ticks (replay ticks at every event, and a tick looks at every open
 * connection: quadratic on a busy host). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect/fleet.h"
#include "detect/jsonread.h"
#include "detect/smap.h"

#define TICK_NS 1000000000ULL /* the agent's tick */

/* A host is its host.id and host.name together: agents on one machine scoped to network
 * namespaces (--netns, --host-name), or machines cloned from one image, share a machine-id. */
struct fhost {
	struct hw_snode node; /* a hash of host.id and host.name */
	struct hw_engine *e;
	char id[sizeof(((struct hw_fact *)0)->host_id)];
	char name[sizeof(((struct hw_fact *)0)->host_name)];
	int ticks_seen;		      /* its stream carries the agent's ticks */
	int started;		      /* an agent-started was fed: the next one is a new run */
	unsigned long long last_tick; /* of a stream without ticks: when its engine last had one */
};

struct hw_fleet {
	const struct hw_config *cfg;
	hw_alert_fn fn;
	void *ctx;
	struct hw_smap hosts;
	struct hw_stitch *stitch;
	struct hw_jdoc *doc;
	struct hw_fact *fact;
	unsigned long long now;
	struct hw_fleet_stats st;
	char token[256];
};

static void on_alert(const struct hw_alert *a, void *ctx)
{
	struct hw_fleet *f = ctx;

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
	f->doc = calloc(1, sizeof(*f->doc));
	f->fact = calloc(1, sizeof(*f->fact));
	f->stitch = hw_stitch__new(cfg, on_alert, f);
	if (!f->doc || !f->fact || !f->stitch) {
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
	if (f->doc)
		hw_jdoc__free(f->doc);
	free(f->doc);
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

/* PREFIX.HOST.events, HOST the token of host_name */
static int check_subject(struct hw_fleet *f, const char *subject, const char *host_name, char *err,
			 size_t errlen)
{
	const char *prefix = f->cfg->nats_subject;
	size_t plen = strlen(prefix), tlen;

	hw_fleet__subject_token(f->token, sizeof(f->token), host_name);
	tlen = strlen(f->token);
	if (strncmp(subject, prefix, plen) || subject[plen] != '.' ||
	    strncmp(subject + plen + 1, f->token, tlen) ||
	    strcmp(subject + plen + 1 + tlen, ".events")) {
		snprintf(err, errlen, "subject '%.120s' is not %s.%.80s.events (host.name '%.80s')",
			 subject, prefix, f->token, host_name);
		return -EINVAL;
	}
	return 0;
}

static struct fhost *host_for(struct hw_fleet *f, const struct hw_fact *fact, int *err)
{
	unsigned long long hash = 1469598103934665603ULL;
	const char *parts[2] = {fact->host_id, fact->host_name};
	struct fhost *h;
	char key[20];

	for (int i = 0; i < 2; i++) {
		for (const char *s = parts[i]; *s; s++)
			hash = (hash ^ (unsigned char)*s) * 1099511628211ULL;
		hash = (hash ^ 0xff) * 1099511628211ULL;
	}
	snprintf(key, sizeof(key), "%016llx", hash);
	h = (struct fhost *)hw_smap__get(&f->hosts, key);
	*err = 0;
	if (h) {
		if (strcmp(h->id, fact->host_id) || strcmp(h->name, fact->host_name)) {
			*err = -EEXIST; /* two hosts, one 64-bit hash: never seen */
			return NULL;
		}
		return h;
	}
	if (f->hosts.n >= HW_FLEET_HOSTS_MAX) {
		*err = -ENOSPC;
		return NULL;
	}
	h = calloc(1, sizeof(*h));
	if (h)
		h->e = hw_engine__new(f->cfg, on_alert, f);
	if (h) {
		snprintf(h->id, sizeof(h->id), "%s", fact->host_id);
		snprintf(h->name, sizeof(h->name), "%s", fact->host_name);
	}
	if (!h || !h->e || hw_smap__put(&f->hosts, &h->node, key)) {
		if (h)
			hw_engine__free(h->e);
		free(h);
		*err = -ENOMEM;
		return NULL;
	}
	f->st.hosts++;
	return h;
}

static void host_drop(struct hw_fleet *f, struct fhost *h)
{
	hw_smap__del(&f->hosts, &h->node);
	hw_engine__free(h->e);
	free(h);
}

int hw_fleet__feed(struct hw_fleet *f, const char *subject, const void *data, size_t len, char *err,
		   size_t errlen)
{
	const char *line = data;
	struct hw_fact *fact = f->fact;
	struct fhost *h;
	int r;

	f->st.messages++;
	while (len && (line[len - 1] == '\n' || line[len - 1] == '\r' || line[len - 1] == ' ' ||
		       line[len - 1] == '\t'))
		len--;
	if (!len && !subject) {
		f->st.skipped++; /* blank lines are not events */
		return 0;
	}
	r = hw_jdoc__parse(f->doc, line, len);
	if (r) {
		snprintf(err, errlen, "%s", f->doc->err);
		goto malformed;
	}
	r = hw_fact__from_json(fact, f->doc, err, errlen);
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
	if (subject && check_subject(f, subject, fact->host_name, err, errlen))
		goto malformed;
	h = host_for(f, fact, &r);
	if (!h) {
		if (r == -ENOSPC || r == -EEXIST) {
			if (r == -ENOSPC)
				snprintf(err, errlen, "more than %d hosts at once",
					 HW_FLEET_HOSTS_MAX);
			else
				snprintf(err, errlen,
					 "host.id and host.name collide with another host's");
			r = -EINVAL;
			goto malformed;
		}
		snprintf(err, errlen, "out of memory");
		f->st.failed++;
		return r;
	}
	if (fact->kind == HW_F_AGENT_STARTED && h->started) {
		/* another run of the agent (an appended recording): it started afresh */
		struct hw_engine *e = hw_engine__new(f->cfg, on_alert, f);

		if (!e) {
			snprintf(err, errlen, "out of memory");
			f->st.failed++;
			return -ENOMEM;
		}
		hw_engine__free(h->e);
		h->e = e;
		h->ticks_seen = 0;
		h->last_tick = 0;
		f->st.hosts++;
	}
	if (fact->kind == HW_F_AGENT_STARTED)
		h->started = 1;
	if (fact->kind == HW_F_TICK) {
		h->ticks_seen = 1;
	} else if (!h->ticks_seen && fact->kind != HW_F_AGENT_STARTED &&
		   (!h->last_tick || fact->ts >= h->last_tick + TICK_NS)) {
		/* a stream without the agent's ticks (NATS, an output file): its events' times, at
		 * most once a second as the agent ticks (a tick looks at every open connection) */
		struct hw_fact t = {.kind = HW_F_TICK, .ts = fact->ts};

		memcpy(t.host_id, fact->host_id, sizeof(t.host_id));
		memcpy(t.host_name, fact->host_name, sizeof(t.host_name));
		hw_engine__feed(h->e, &t);
		h->last_tick = fact->ts;
	}
	if (fact->ts > f->now)
		f->now = fact->ts;
	f->st.events++;
	hw_engine__feed(h->e, fact);
	hw_stitch__feed(f->stitch, fact);
	if (fact->kind == HW_F_AGENT_STOPPED)
		host_drop(f, h); /* its next run starts with an agent-started */
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

void hw_fleet__tick(struct hw_fleet *f, unsigned long long ts)
{
	hw_stitch__tick(f->stitch, ts);
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
	if (st)
		*st = f->st;
	if (stitch)
		hw_stitch__stats(f->stitch, stitch);
}
