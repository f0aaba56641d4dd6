/* sessions_feed.c: the events into the sessions model (sessions.c) and through one detection
 * engine per host, as replay runs them; the alerts, the engines' and the input's, onto their
 * sessions; the sessions sorted for printing. */
#include <stdlib.h>
#include <string.h>

#include "ir/sessions_int.h"

/* --- alerts -------------------------------------------------------------------------------- */

static void add_alert(struct hw_ir *ir, const char *host_id, const char *sid, const char *eid,
		      const struct hw_ir_alert *a)
{
	struct slot *s = sid && sid[0] ? hw_ir__lookup(ir, host_id, 'S', sid) : NULL;
	struct hw_ir_session *x;
	struct hw_ir_alert *v;

	if (!s && eid && eid[0])
		s = hw_ir__lookup(ir, host_id, 'P', eid);
	if (!s)
		return;
	x = ir->v[s->sess];
	for (size_t i = 0; i < x->nalerts; i++)
		if (!strcmp(x->alerts[i].id, a->id) && !strcmp(x->alerts[i].rule, a->rule))
			return; /* raised again by the rules: the same alert */
	v = hw_ir__grow(x->alerts, &x->calerts, x->nalerts, sizeof(*v));
	if (!v) {
		x->truncated = 1;
		ir->dropped++;
		return;
	}
	x->alerts = v;
	v[x->nalerts++] = *a;
}

static void on_engine_alert(const struct hw_alert *al, void *ctx)
{
	struct ir_host *h = ctx;
	struct hw_ir_alert a = {.sev = al->severity, .ts = al->ts};

	if (h->ir->alert_fn)
		h->ir->alert_fn(al, h->ir->alert_ctx);
	hw_ir__copy(a.id, sizeof(a.id), al->id);
	hw_ir__copy(a.rule, sizeof(a.rule), al->rule_id);
	hw_ir__copy(a.severity, sizeof(a.severity), al->severity_name);
	hw_ir__copy(a.eid, sizeof(a.eid), al->entity_id);
	hw_ir__copy(a.message, sizeof(a.message), al->message);
	add_alert(h->ir, h->id, al->session_id, al->entity_id, &a);
}

void hw_ir__alert_line(struct hw_ir *ir, const struct hw_fact *f, const struct hw_jdoc *d)
{
	/* an alert's fact holds its time only; the rest is read from the line */
	const char *host = hw_jdoc__str(d, "host.id");
	const char *sid = hw_jdoc__str(d, "hopwatch.session.id");
	const char *eid = hw_jdoc__str(d, "process.entity_id");
	struct hw_ir_alert a = {.ts = f->ts};
	unsigned long long sev = 0;

	hw_ir__copy(a.id, sizeof(a.id), hw_jdoc__str(d, "event.id"));
	hw_ir__copy(a.rule, sizeof(a.rule), hw_jdoc__str(d, "event.action"));
	hw_ir__copy(a.severity, sizeof(a.severity), hw_jdoc__str(d, "hopwatch.alert.severity"));
	hw_ir__copy(a.message, sizeof(a.message), hw_jdoc__str(d, "message"));
	hw_ir__copy(a.eid, sizeof(a.eid), eid);
	if (!hw_jdoc__u64(d, "event.severity", &sev) && sev <= 100)
		a.sev = (int)sev;
	hw_jread__printable(a.message);
	hw_jread__printable(a.rule);
	if (host)
		add_alert(ir, host, sid, eid, &a);
}

void hw_ir__on_alert(struct hw_ir *ir, hw_alert_fn fn, void *ctx)
{
	ir->alert_fn = fn;
	ir->alert_ctx = ctx;
}

/* --- hosts and their engines --------------------------------------------------------------- */

static struct ir_host *host_of(struct hw_ir *ir, const struct hw_fact *f)
{
	struct ir_host *h, **v;

	/* host.id and name: hosts cloned from one image (and the test lab's namespaces) share
	 * the machine id, and one's agent-started is not the other's restart */
	for (size_t i = 0; i < ir->nhosts; i++)
		if (!strcmp(ir->hosts[i]->id, f->host_id) &&
		    !strcmp(ir->hosts[i]->name, f->host_name))
			return ir->hosts[i];
	if (ir->nhosts >= MAX_HOSTS)
		return NULL;
	v = realloc(ir->hosts, (ir->nhosts + 1) * sizeof(*v));
	if (!v)
		return NULL;
	ir->hosts = v;
	h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	hw_ir__copy(h->id, sizeof(h->id), f->host_id);
	hw_ir__copy(h->name, sizeof(h->name), f->host_name);
	h->ir = ir;
	h->e = hw_engine__new(ir->cfg, on_engine_alert, h);
	if (!h->e) {
		free(h);
		return NULL;
	}
	v[ir->nhosts++] = h;
	return h;
}

/* Another run of the agent on this host: sessions it left open ended unseen in between,
 * unless its snapshot finds them again (existing_session revives them). */
static void host_restarted(struct hw_ir *ir, struct ir_host *h)
{
	for (size_t i = 0; i < ir->n; i++) {
		struct hw_ir_session *x = ir->v[i];

		if (!x->end && !strcmp(x->host_id, h->id) && !strcmp(x->host_name, h->name)) {
			x->end = h->last;
			x->end_unknown = 1;
		}
	}
	hw_engine__free(h->e);
	h->e = hw_engine__new(ir->cfg, on_engine_alert, h);
	h->ticks_seen = 0;
}

void hw_ir__feed(struct hw_ir *ir, const struct hw_fact *f, const struct hw_ir_extra *xt)
{
	struct ir_host *h = host_of(ir, f);

	if (!h) {
		ir->dropped++;
		return;
	}
	if (f->kind == HW_F_AGENT_STARTED) {
		if (h->started)
			host_restarted(ir, h);
		h->started = 1;
	}
	if (f->ts > h->last)
		h->last = f->ts;
	switch (f->kind) {
	case HW_F_EXEC:
	case HW_F_FORK:
	case HW_F_EXIT:
	case HW_F_PROC_SNAPSHOT:
		if (f->session_id[0])
			hw_ir__on_process(ir, f, xt);
		break;
	case HW_F_CONNECT:
	case HW_F_ACCEPT:
	case HW_F_DISCONNECT:
	case HW_F_LISTEN:
	case HW_F_CONN_SNAPSHOT:
	case HW_F_CONN_OPEN:
		hw_ir__on_network(ir, f);
		break;
	case HW_F_LOGIN:
	case HW_F_LOGOUT:
	case HW_F_SESSION_SNAPSHOT:
		hw_ir__on_session(ir, f, xt);
		break;
	default:
		break;
	}
	if (!h->e)
		return;
	/* the rules, as replay runs them: a stream without ticks is ticked at each event */
	if (f->kind == HW_F_TICK) {
		h->ticks_seen = 1;
	} else if (!h->ticks_seen && f->kind != HW_F_AGENT_STARTED) {
		struct hw_fact t = {.kind = HW_F_TICK, .ts = f->ts};

		memcpy(t.host_id, f->host_id, sizeof(t.host_id));
		memcpy(t.host_name, f->host_name, sizeof(t.host_name));
		hw_engine__feed(h->e, &t);
	}
	hw_engine__feed(h->e, f);
}

/* --- results ------------------------------------------------------------------------------- */

static int by_host_start(const void *a, const void *b)
{
	const struct hw_ir_session *x = *(struct hw_ir_session *const *)a;
	const struct hw_ir_session *y = *(struct hw_ir_session *const *)b;
	int c = strcmp(x->host_name, y->host_name);

	if (!c)
		c = strcmp(x->host_id, y->host_id);
	if (!c)
		c = x->start < y->start ? -1 : x->start > y->start;
	return c ? c : strcmp(x->id, y->id);
}

struct hw_ir_session **hw_ir__sessions(struct hw_ir *ir, unsigned long long now_ns, size_t *n)
{
	size_t k = 0;

	*n = 0;
	free(ir->sorted);
	ir->sorted = ir->n ? malloc(ir->n * sizeof(*ir->sorted)) : NULL;
	if (!ir->sorted)
		return NULL;
	for (size_t i = 0; i < ir->n; i++) {
		struct hw_ir_session *x = ir->v[i];

		if (!x->logged_in)
			continue;
		x->now = now_ns;
		for (size_t j = 0; !now_ns && j < ir->nhosts; j++)
			if (!strcmp(ir->hosts[j]->id, x->host_id) &&
			    !strcmp(ir->hosts[j]->name, x->host_name))
				x->now = ir->hosts[j]->last;
		ir->sorted[k++] = x;
	}
	qsort(ir->sorted, k, sizeof(*ir->sorted), by_host_start);
	*n = k;
	return ir->sorted;
}

unsigned long long hw_ir__dropped(const struct hw_ir *ir)
{
	return ir->dropped;
}
