/* The stitcher's hash multimap and FNV-1a hashes (see htab.h). */
#include <errno.h>
#include <stdlib.h>

#include "collect/htab.h"

int hw_htab__add(struct hw_htab *t, struct hw_hnode *node, uint64_t h)
{
	if (t->n + 1 > t->nb) {
		size_t nb = t->nb ? t->nb * 2 : 64;
		struct hw_hnode **b = calloc(nb, sizeof(*b));

		if (!b)
			return -ENOMEM;
		for (size_t i = 0; i < t->nb; i++) {
			for (struct hw_hnode *n = t->b[i], *next; n; n = next) {
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

void hw_htab__del(struct hw_htab *t, struct hw_hnode *node)
{
	for (struct hw_hnode **p = &t->b[node->h & (t->nb - 1)]; *p; p = &(*p)->next) {
		if (*p == node) {
			*p = node->next;
			t->n--;
			return;
		}
	}
}

struct hw_hnode *hw_htab__first(const struct hw_htab *t, uint64_t h)
{
	struct hw_hnode *n = t->nb ? t->b[h & (t->nb - 1)] : NULL;

	while (n && n->h != h)
		n = n->next;
	return n;
}

struct hw_hnode *hw_htab__next(const struct hw_hnode *n, uint64_t h)
{
	for (n = n->next; n && n->h != h; n = n->next)
		;
	return (struct hw_hnode *)n;
}

void hw_htab__each(struct hw_htab *t, void (*fn)(struct hw_hnode *n, void *ctx), void *ctx)
{
	for (size_t i = 0; i < t->nb; i++) {
		for (struct hw_hnode *n = t->b[i], *next; n; n = next) {
			next = n->next;
			fn(n, ctx);
		}
	}
}

uint64_t hw_fnv__str(uint64_t h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return (h ^ 0xff) * 1099511628211ULL;
}

uint64_t hw_fnv__u64(uint64_t h, unsigned long long v)
{
	for (int i = 0; i < 8; i++)
		h = (h ^ ((v >> (8 * i)) & 0xff)) * 1099511628211ULL;
	return h;
}
