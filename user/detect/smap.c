/* String-keyed intrusive map (see smap.h) on lib/htab.h. */
#include <stdint.h>
#include <string.h>

#include "detect/smap.h"
#include "lib/hash.h"
#include "lib/str.h"

#define container_of(p, type, member) ((type *)((char *)(p)-offsetof(type, member)))

/* the key as the node holds it: cut at HW_SMAP_KEY_LEN - 1 bytes */
static uint64_t hash(const char *key)
{
	return hw_fnv__bytes(HW_FNV0, key, strnlen(key, HW_SMAP_KEY_LEN - 1));
}

struct hw_snode *hw_smap__get(struct hw_smap *m, const char *key)
{
	uint64_t h;

	if (m->hit && !strncmp(m->hit->key, key, HW_SMAP_KEY_LEN - 1))
		return m->hit;
	h = hash(key);
	for (struct hw_hnode *n = hw_htab__first(&m->t, h); n; n = hw_htab__next(n, h)) {
		struct hw_snode *s = container_of(n, struct hw_snode, h);

		if (!strncmp(s->key, key, HW_SMAP_KEY_LEN - 1))
			return m->hit = s;
	}
	return NULL;
}

int hw_smap__put(struct hw_smap *m, struct hw_snode *node, const char *key)
{
	m->t.load = 3;
	hw_str__copy(node->key, sizeof(node->key), key);
	return hw_htab__add(&m->t, &node->h, hash(node->key));
}

void hw_smap__del(struct hw_smap *m, struct hw_snode *node)
{
	if (m->hit == node)
		m->hit = NULL;
	hw_htab__del(&m->t, &node->h);
}

struct each_ctx {
	void (*fn)(struct hw_snode *n, void *ctx);
	void *ctx;
};

static void each_one(struct hw_hnode *n, void *ctx)
{
	struct each_ctx *c = ctx;

	c->fn(container_of(n, struct hw_snode, h), c->ctx);
}

void hw_smap__each(struct hw_smap *m, void (*fn)(struct hw_snode *n, void *ctx), void *ctx)
{
	struct each_ctx c = {fn, ctx};

	hw_htab__each(&m->t, each_one, &c);
}

void hw_smap__free(struct hw_smap *m)
{
	m->hit = NULL;
	hw_htab__free(&m->t);
}
