/* Sessions rebuilt from event facts (see sessions.h). Every process event carries its
 * session's id (hopwatch.session.id), and so does every network event of a process in one;
 * the session's own connection is found by its two ends (its accept and close are owned by
 * the service's listener, outside the session). Lookups go through one string-keyed table:
 * (host, kind, id) -> session and item. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ir/sessions_int.h"

/* the key of a forgotten entry: never equal to a real key, kept so probing goes on past it */
static char tomb[] = "";

/* --- the table ----------------------------------------------------------------------------- */

static unsigned long long key_hash(const char *k)
{
	unsigned long long h = 1469598103934665603ull;

	for (; *k; k++)
		h = (h ^ (unsigned char)*k) * 1099511628211ull;
	return h;
}

static void make_key(char *out, size_t n, const char *host, char kind, const char *id)
{
	snprintf(out, n, "%s\x1f%c%s", host, kind, id);
}

static struct slot *slot_find(struct hw_ir *ir, const char *key)
{
	size_t mask = ir->nslots - 1, i;

	if (!ir->nslots)
		return NULL;
	for (i = key_hash(key) & mask; ir->slots[i].key; i = (i + 1) & mask)
		if (!strcmp(ir->slots[i].key, key))
			return &ir->slots[i];
	return &ir->slots[i];
}

static int grow_table(struct hw_ir *ir)
{
	size_t n = ir->nslots ? ir->nslots * 2 : 1024;
	struct slot *old = ir->slots, *s = calloc(n, sizeof(*s));
	size_t on = ir->nslots;

	if (!s)
		return -ENOMEM;
	ir->slots = s;
	ir->nslots = n;
	ir->used = 0;
	for (size_t i = 0; i < on; i++) {
		if (old[i].key && old[i].key != tomb) {
			*slot_find(ir, old[i].key) = old[i];
			ir->used++;
		}
	}
	free(old);
	return 0;
}

struct slot *hw_ir__lookup(struct hw_ir *ir, const char *host, char kind, const char *id)
{
	char key[400];
	struct slot *s;

	make_key(key, sizeof(key), host, kind, id);
	s = slot_find(ir, key);
	return s && s->key ? s : NULL;
}

/* The entry of (host, kind, id) is forgotten. */
static void forget(struct hw_ir *ir, const char *host, char kind, const char *id)
{
	struct slot *s = id[0] ? hw_ir__lookup(ir, host, kind, id) : NULL;

	if (s) {
		free(s->key);
		s->key = tomb;
	}
}

static int insert(struct hw_ir *ir, const char *host, char kind, const char *id, unsigned int sess,
		  unsigned int item)
{
	char key[400];
	struct slot *s;

	if ((ir->used + 1) * 2 > ir->nslots && grow_table(ir))
		return -ENOMEM;
	make_key(key, sizeof(key), host, kind, id);
	s = slot_find(ir, key);
	if (!s->key) {
		s->key = strdup(key);
		if (!s->key)
			return -ENOMEM;
		ir->used++;
	}
	s->sess = sess;
	s->item = item;
	return 0;
}

/* --- sessions and their items -------------------------------------------------------------- */

void hw_ir__copy(char *dst, size_t n, const char *src)
{
	snprintf(dst, n, "%s", src ? src : "");
}

void *hw_ir__grow(void *v, size_t *cap, size_t n, size_t size)
{
	size_t c;
	void *nv;

	if (n < *cap)
		return v;
	if (n >= HW_IR_MAX_ITEMS)
		return NULL;
	c = *cap ? *cap * 2 : 8;
	nv = realloc(v, c * size);
	if (nv)
		*cap = c;
	return nv;
}

static struct hw_ir_session *session_get(struct hw_ir *ir, const struct hw_fact *f, const char *id,
					 int create, unsigned int *idx)
{
	struct slot *s = hw_ir__lookup(ir, f->host_id, 'S', id);
	struct hw_ir_session *x;
	unsigned int at;

	if (s) {
		*idx = s->sess;
		return ir->v[s->sess];
	}
	if (!create || !id[0])
		return NULL;
	if (ir->nfree) {
		at = ir->free_v[ir->nfree - 1];
		if (insert(ir, f->host_id, 'S', id, at, 0))
			return NULL;
		ir->nfree--;
		x = ir->v[at];
	} else {
		if (ir->n >= HW_IR_MAX_SESSIONS) {
			ir->dropped++;
			return NULL;
		}
		if (ir->n == ir->cap) {
			size_t c = ir->cap ? ir->cap * 2 : 16;
			struct hw_ir_session **v = realloc(ir->v, c * sizeof(*v));

			if (!v)
				return NULL;
			ir->v = v;
			ir->cap = c;
		}
		at = (unsigned int)ir->n;
		x = calloc(1, sizeof(*x));
		if (!x || insert(ir, f->host_id, 'S', id, at, 0)) {
			free(x);
			return NULL;
		}
		ir->v[ir->n++] = x;
	}
	hw_ir__copy(x->host_id, sizeof(x->host_id), f->host_id);
	hw_ir__copy(x->host_name, sizeof(x->host_name), f->host_name);
	hw_ir__copy(x->id, sizeof(x->id), id);
	x->start = x->last = f->ts;
	*idx = at;
	return x;
}

/* A connection that never logged in (a failed login, a scanner): forgotten, its place used
 * again, so that a flood of them cannot fill the table and hide a later session. */
static void forget_session(struct hw_ir *ir, unsigned int si)
{
	struct hw_ir_session *x = ir->v[si];
	unsigned int *v;

	if (ir->nfree == ir->cfree) {
		size_t c = ir->cfree ? ir->cfree * 2 : 64;

		v = realloc(ir->free_v, c * sizeof(*v));
		if (!v)
			return; /* kept: it costs memory, not correctness */
		ir->free_v = v;
		ir->cfree = c;
	}
	for (size_t i = 0; i < x->nprocs; i++)
		forget(ir, x->host_id, 'P', x->procs[i].eid);
	for (size_t i = 0; i < x->nconns; i++)
		forget(ir, x->host_id, 'C', x->conns[i].id);
	forget(ir, x->host_id, 'S', x->id);
	free(x->procs);
	free(x->conns);
	free(x->alerts);
	memset(x, 0, sizeof(*x));
	ir->free_v[ir->nfree++] = si;
}

static struct hw_ir_proc *proc_get(struct hw_ir *ir, struct hw_ir_session *x, unsigned int si,
				   const struct hw_fact *f)
{
	struct slot *s = hw_ir__lookup(ir, f->host_id, 'P', f->entity_id);
	struct hw_ir_proc *p, *v;

	if (s && s->sess == si)
		return &x->procs[s->item];
	v = hw_ir__grow(x->procs, &x->cprocs, x->nprocs, sizeof(*v));
	if (!v) {
		x->truncated = 1;
		ir->dropped++;
		return NULL;
	}
	x->procs = v;
	p = &v[x->nprocs];
	memset(p, 0, sizeof(*p));
	if (insert(ir, f->host_id, 'P', f->entity_id, si, (unsigned int)x->nprocs))
		return NULL;
	x->nprocs++;
	hw_ir__copy(p->eid, sizeof(p->eid), f->entity_id);
	p->start = f->ts;
	return p;
}

static void set_image(struct hw_ir_proc *p, const struct hw_fact *f)
{
	size_t len = 0;

	if ((f->kind == HW_F_EXEC || f->kind == HW_F_PROC_SNAPSHOT) && p->execs == 1 && p->cmd[0]) {
		memcpy(p->first, p->cmd, sizeof(p->first));
		memcpy(p->first_name, p->name, sizeof(p->first_name));
	}
	p->pid = f->pid;
	if (f->parent_entity_id[0])
		hw_ir__copy(p->parent_eid, sizeof(p->parent_eid), f->parent_entity_id);
	if (f->name[0])
		hw_ir__copy(p->name, sizeof(p->name), f->name);
	if (f->executable[0])
		hw_ir__copy(p->exe, sizeof(p->exe), f->executable);
	if (f->user[0])
		hw_ir__copy(p->user, sizeof(p->user), f->user);
	if (!f->nargs)
		return;
	if (f->kind == HW_F_EXEC || f->kind == HW_F_PROC_SNAPSHOT) {
		p->execs++;
	}
	p->cmd[0] = 0;
	for (unsigned int i = 0; i < f->nargs && i < HW_FACT_ARGS && len < sizeof(p->cmd); i++)
		len += (size_t)snprintf(p->cmd + len, sizeof(p->cmd) - len, "%s%s", i ? " " : "",
					f->args[i]);
	len = strlen(p->cmd);
	while (len && p->cmd[len - 1] == ' ')
		p->cmd[--len] = 0;
}

static int is_admin_port(const struct hw_config *cfg, unsigned int port)
{
	for (size_t i = 0; i < cfg->admin_ports.n; i++)
		if (cfg->admin_ports.v[i] == port)
			return 1;
	return 0;
}

void hw_ir__on_process(struct hw_ir *ir, const struct hw_fact *f, const struct hw_ir_extra *xt)
{
	unsigned int si;
	struct hw_ir_session *x = session_get(ir, f, f->session_id, 1, &si);
	struct hw_ir_proc *p;

	if (!x || !f->entity_id[0])
		return;
	p = proc_get(ir, x, si, f);
	if (!p)
		return;
	set_image(p, f);
	if (xt && xt->proc_start)
		p->start = xt->proc_start;
	if (f->kind == HW_F_EXIT)
		p->end = f->ts;
	if (f->kind != HW_F_PROC_SNAPSHOT && f->ts > x->last)
		x->last = f->ts;
}

/* The session whose own connection this is (client and server ends), by its two ends. */
static void session_bytes(struct hw_ir *ir, const struct hw_fact *f)
{
	char tuple[200];
	struct slot *s;
	struct hw_ir_session *x;

	if (f->egress || !f->src.have_bytes || !f->dst.have_bytes)
		return;
	snprintf(tuple, sizeof(tuple), "%s:%u-%s:%u", f->src.ip, f->src.port, f->dst.ip,
		 f->dst.port);
	s = hw_ir__lookup(ir, f->host_id, 'T', tuple);
	if (!s)
		return;
	x = ir->v[s->sess];
	if (x->end && f->ts > x->end)
		return; /* a later connection reusing the ports */
	x->bytes_from_client = f->src.bytes;
	x->bytes_to_client = f->dst.bytes;
	x->have_bytes = 1;
}

void hw_ir__on_network(struct hw_ir *ir, const struct hw_fact *f)
{
	struct slot *ps = f->entity_id[0] ? hw_ir__lookup(ir, f->host_id, 'P', f->entity_id) : NULL;
	unsigned int si = 0;
	struct hw_ir_session *x = NULL;
	struct hw_ir_conn *c = NULL, *v;
	struct slot *cs;

	session_bytes(ir, f);
	if (f->kind == HW_F_LISTEN)
		return;
	if (ps) {
		si = ps->sess;
		x = ir->v[si];
	} else if (f->session_id[0]) {
		x = session_get(ir, f, f->session_id, 0, &si);
	}
	if (!x)
		return;
	cs = f->conn_id[0] ? hw_ir__lookup(ir, f->host_id, 'C', f->conn_id) : NULL;
	if (cs && cs->sess == si) {
		c = &x->conns[cs->item];
	} else {
		v = hw_ir__grow(x->conns, &x->cconns, x->nconns, sizeof(*v));
		if (!v) {
			x->truncated = 1;
			ir->dropped++;
			return;
		}
		x->conns = v;
		c = &v[x->nconns];
		memset(c, 0, sizeof(*c));
		if (f->conn_id[0] &&
		    insert(ir, f->host_id, 'C', f->conn_id, si, (unsigned int)x->nconns))
			return;
		x->nconns++;
		hw_ir__copy(c->id, sizeof(c->id), f->conn_id);
		c->ts = f->conn_start ? f->conn_start : f->ts;
		c->egress = (unsigned char)f->egress;
		c->udp = (unsigned char)f->udp;
		hw_ir__copy(c->src_ip, sizeof(c->src_ip), f->src.ip);
		hw_ir__copy(c->dst_ip, sizeof(c->dst_ip), f->dst.ip);
		c->sport = f->src.port;
		c->dport = f->dst.port;
		c->hop = f->egress && !f->udp && is_admin_port(ir->cfg, f->dst.port);
	}
	if (f->entity_id[0])
		hw_ir__copy(c->owner_eid, sizeof(c->owner_eid), f->entity_id);
	if (f->failure)
		c->failure = 1;
	if (f->src.have_bytes && f->dst.have_bytes) {
		c->bytes_out = f->egress ? f->src.bytes : f->dst.bytes;
		c->bytes_in = f->egress ? f->dst.bytes : f->src.bytes;
		c->have_bytes = 1;
	}
	if (f->kind == HW_F_DISCONNECT || f->kind == HW_F_CONN_CLOSED)
		c->end = f->ts;
	if (f->kind != HW_F_CONN_SNAPSHOT && f->kind != HW_F_CONN_OPEN && f->ts > x->last)
		x->last = f->ts;
}

void hw_ir__on_session(struct hw_ir *ir, const struct hw_fact *f, const struct hw_ir_extra *xt)
{
	unsigned int si;
	struct hw_ir_session *x;
	char tuple[200];

	if (f->kind == HW_F_LOGIN && f->failure) {
		/* a failed login is no session (the brute-force rule counts them) */
		x = session_get(ir, f, f->session_id, 0, &si);
		if (x && !x->logged_in)
			forget_session(ir, si);
		return;
	}
	x = session_get(ir, f, f->session_id, f->kind != HW_F_LOGOUT, &si);
	if (!x)
		return;
	if (f->kind == HW_F_LOGOUT) {
		x->end = f->ts;
		x->end_unknown = 0;
		if (f->src.have_bytes && f->dst.have_bytes) {
			x->bytes_from_client = f->src.bytes;
			x->bytes_to_client = f->dst.bytes;
			x->have_bytes = 1;
		}
		if (xt && xt->ended_by)
			hw_ir__copy(x->ended_by, sizeof(x->ended_by), xt->ended_by);
		if (f->ts > x->last)
			x->last = f->ts;
		return;
	}
	x->logged_in = 1;
	if (f->kind == HW_F_SESSION_SNAPSHOT) {
		x->snapshot = 1;
		x->end = 0; /* still open at this run's start */
		x->end_unknown = 0;
	} else {
		x->login = f->ts;
	}
	x->start = f->session_start ? f->session_start : f->ts;
	if (!x->login)
		x->login = x->start;
	x->verified = (unsigned char)f->login_verified;
	hw_ir__copy(x->user, sizeof(x->user), f->user);
	hw_ir__copy(x->service, sizeof(x->service), f->service);
	hw_ir__copy(x->client_ip, sizeof(x->client_ip), f->src.ip);
	hw_ir__copy(x->server_ip, sizeof(x->server_ip), f->dst.ip);
	x->client_port = f->src.port;
	x->server_port = f->dst.port;
	if (xt && xt->auth_method)
		hw_ir__copy(x->auth_method, sizeof(x->auth_method), xt->auth_method);
	snprintf(tuple, sizeof(tuple), "%s:%u-%s:%u", f->src.ip, f->src.port, f->dst.ip,
		 f->dst.port);
	insert(ir, f->host_id, 'T', tuple, si, 0);
	/* the snapshot reports the connection before the session: its handler owns it */
	for (size_t i = 0; i < x->nconns && !x->have_bytes; i++) {
		const struct hw_ir_conn *c = &x->conns[i];

		if (!c->egress && c->have_bytes && c->sport == x->client_port &&
		    c->dport == x->server_port && !strcmp(c->src_ip, x->client_ip) &&
		    !strcmp(c->dst_ip, x->server_ip)) {
			x->bytes_from_client = c->bytes_in;
			x->bytes_to_client = c->bytes_out;
			x->have_bytes = 1;
		}
	}
}

struct hw_ir *hw_ir__new(const struct hw_config *cfg)
{
	struct hw_ir *ir = calloc(1, sizeof(*ir));

	if (ir)
		ir->cfg = cfg;
	return ir;
}

void hw_ir__free(struct hw_ir *ir)
{
	if (!ir)
		return;
	for (size_t i = 0; i < ir->n; i++) {
		free(ir->v[i]->procs);
		free(ir->v[i]->conns);
		free(ir->v[i]->alerts);
		free(ir->v[i]);
	}
	for (size_t i = 0; i < ir->nslots; i++)
		if (ir->slots[i].key != tomb)
			free(ir->slots[i].key);
	free(ir->free_v);
	for (size_t i = 0; i < ir->nhosts; i++) {
		hw_engine__free(ir->hosts[i]->e);
		free(ir->hosts[i]);
	}
	free(ir->hosts);
	free(ir->slots);
	free(ir->v);
	free(ir->sorted);
	free(ir);
}
