/* Connection table: lib/htab.h by socket cookie, and a second one by both ends and network
 * namespace. The entry add() returns is indexed by address at the next call (its caller fills
 * the address in after add), so an entry is indexed once, at the cost of one hash. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/hash.h"
#include "lib/mem.h"
#include "model/conn_table.h"

#define container_of(p, type, member) ((type *)((char *)(p)-offsetof(type, member)))

struct hw_conn_table {
	const struct hw_host *host;
	struct hw_htab t;	 /* by cookie */
	struct hw_htab addrs;	 /* by addr and netns */
	struct hw_conn *pending; /* returned by the last add, not indexed yet */
	size_t unindexed;	 /* entries the index could not take (no memory): find_addr walks */
	size_t max;
};

void hw_host__conn_id(const struct hw_host *h, __u64 cookie, char out[HW_ENTITY_ID_LEN])
{
	hw_id__conn(h->key, cookie, out);
}

static uint64_t addr_hash(const struct hw_sock_addr *a, __u32 netns)
{
	uint64_t h = hw_fnv__bytes(HW_FNV0, a->saddr, sizeof(a->saddr));

	h = hw_fnv__bytes(h, a->daddr, sizeof(a->daddr));
	return hw_fnv__u64(h, (unsigned long long)a->sport << 48 |
				  (unsigned long long)a->dport << 32 | netns);
}

static int addr_eq(const struct hw_conn *c, const struct hw_sock_addr *a, __u32 netns)
{
	return c->netns == netns && c->addr.family == a->family && c->addr.sport == a->sport &&
	       c->addr.dport == a->dport && !memcmp(c->addr.saddr, a->saddr, sizeof(a->saddr)) &&
	       !memcmp(c->addr.daddr, a->daddr, sizeof(a->daddr));
}

static void unindex(struct hw_conn_table *t, struct hw_conn *c)
{
	if (t->pending == c)
		t->pending = NULL;
	else if (c->indexed)
		hw_htab__del(&t->addrs, &c->by_addr);
	else
		t->unindexed--;
	c->indexed = 0;
}

/* The last entry add() returned has its address now: index it. */
static void flush(struct hw_conn_table *t)
{
	struct hw_conn *c = t->pending;

	if (!c)
		return;
	t->pending = NULL;
	if (hw_htab__add(&t->addrs, &c->by_addr, addr_hash(&c->addr, c->netns)))
		t->unindexed++;
	else
		c->indexed = 1;
}

struct hw_conn_table *hw_conn_table__new(const struct hw_host *host, size_t max)
{
	struct hw_conn_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->host = host;
	t->max = max;
	t->t.nb0 = 1024;
	t->t.link_first = 1;
	t->addrs.nb0 = 1024;
	t->addrs.link_first = 1;
	return t;
}

static void conn_free(struct hw_conn *c)
{
	free(c->owner_exe);
	free(c);
}

static void free_one(struct hw_hnode *n, void *ctx)
{
	(void)ctx;
	conn_free(container_of(n, struct hw_conn, node));
}

void hw_conn_table__free(struct hw_conn_table *t)
{
	if (!t)
		return;
	hw_htab__each(&t->t, free_one, NULL);
	hw_htab__free(&t->t);
	hw_htab__free(&t->addrs);
	free(t);
}

struct hw_conn *hw_conn_table__get(struct hw_conn_table *t, __u64 cookie)
{
	uint64_t h = hw_hash__u64(cookie);

	for (struct hw_hnode *n = hw_htab__first(&t->t, h); n; n = hw_htab__next(n, h)) {
		struct hw_conn *c = container_of(n, struct hw_conn, node);

		if (c->cookie == cookie)
			return c;
	}
	return NULL;
}

struct hw_conn *hw_conn_table__add(struct hw_conn_table *t, __u64 cookie)
{
	struct hw_conn *c;

	flush(t);
	c = hw_conn_table__get(t, cookie);
	if (c) {
		/* the caller sets its address again: indexed anew at the next call */
		unindex(t, c);
		t->pending = c;
		return c;
	}
	if (t->t.n >= t->max)
		return NULL;
	c = hw_zalloc(sizeof(*c));
	if (!c || hw_htab__add(&t->t, &c->node, hw_hash__u64(cookie))) {
		free(c);
		return NULL;
	}
	c->cookie = cookie;
	c->seen = 1;
	hw_host__conn_id(t->host, cookie, c->id);
	t->pending = c;
	return c;
}

static void conn_remove(struct hw_conn_table *t, struct hw_conn *c)
{
	unindex(t, c);
	hw_htab__del(&t->t, &c->node);
	conn_free(c);
}

void hw_conn_table__remove(struct hw_conn_table *t, __u64 cookie)
{
	struct hw_conn *c;

	flush(t);
	c = hw_conn_table__get(t, cookie);
	if (c)
		conn_remove(t, c);
}

size_t hw_conn_table__count(const struct hw_conn_table *t)
{
	return t->t.n;
}

struct each_ctx {
	void (*fn)(struct hw_conn *c, void *ctx);
	void *ctx;
};

static void each_one(struct hw_hnode *n, void *ctx)
{
	struct each_ctx *x = ctx;

	x->fn(container_of(n, struct hw_conn, node), x->ctx);
}

void hw_conn_table__each(struct hw_conn_table *t, void (*fn)(struct hw_conn *c, void *ctx),
			 void *ctx)
{
	struct each_ctx x = {fn, ctx};

	hw_htab__each(&t->t, each_one, &x);
}

struct find_ctx {
	const struct hw_sock_addr *a;
	__u32 netns;
	struct hw_conn *found;
};

static void find_walk(struct hw_hnode *n, void *ctx)
{
	struct hw_conn *c = container_of(n, struct hw_conn, node);
	struct find_ctx *x = ctx;

	if (!x->found && addr_eq(c, x->a, x->netns))
		x->found = c;
}

struct hw_conn *hw_conn_table__find_addr(struct hw_conn_table *t, const struct hw_sock_addr *a,
					 __u32 netns)
{
	uint64_t h = addr_hash(a, netns);
	struct find_ctx x = {a, netns, NULL};

	flush(t);
	for (struct hw_hnode *n = hw_htab__first(&t->addrs, h); n; n = hw_htab__next(n, h)) {
		struct hw_conn *c = container_of(n, struct hw_conn, by_addr);

		if (addr_eq(c, a, netns))
			return c;
	}
	if (t->unindexed)
		hw_htab__each(&t->t, find_walk, &x);
	return x.found;
}

static void sweep_one(struct hw_hnode *n, void *ctx)
{
	struct hw_conn_table *t = ctx;
	struct hw_conn *c = container_of(n, struct hw_conn, node);

	if (c->seen) {
		c->seen = 0;
		return;
	}
	conn_remove(t, c);
}

size_t hw_conn_table__sweep(struct hw_conn_table *t)
{
	size_t before = t->t.n;

	flush(t);
	hw_htab__each(&t->t, sweep_one, t);
	return before - t->t.n;
}
