/* The intrusive chained hash table (see htab.h). */
#include <errno.h>
#include <stdlib.h>

#include "lib/htab.h"

static void grow(struct hw_htab *t)
{
	size_t nb = t->nb ? t->nb * 2 : t->nb0 ? t->nb0 : 64;
	struct hw_hnode **b = calloc(nb, sizeof(*b));

	if (!b)
		return; /* longer chains, still correct */
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

/* n nodes are more than the load allows */
static int over(const struct hw_htab *t, size_t n)
{
	return n * 4 > t->nb * (t->load ? t->load : 4);
}

int hw_htab__add(struct hw_htab *t, struct hw_hnode *node, uint64_t h)
{
	if (hw_htab__full(t))
		return -ENOSPC;
	if (!t->nb || (!t->link_first && over(t, t->n + 1)))
		grow(t);
	if (!t->nb)
		return -ENOMEM;
	node->h = h;
	node->next = t->b[h & (t->nb - 1)];
	t->b[h & (t->nb - 1)] = node;
	t->n++;
	if (t->link_first && over(t, t->n))
		grow(t);
	return 0;
}

void hw_htab__del(struct hw_htab *t, struct hw_hnode *node)
{
	if (!t->nb)
		return;
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

void hw_htab__free(struct hw_htab *t)
{
	free(t->b);
	t->b = NULL;
	t->nb = t->n = 0;
}
