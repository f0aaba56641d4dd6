/* String-keyed intrusive hash map (see smap.h): chained buckets, FNV-1a. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect/smap.h"

static size_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return (size_t)h;
}

struct hw_snode *hw_smap__get(const struct hw_smap *m, const char *key)
{
	struct hw_snode *n;

	if (!m->nb)
		return NULL;
	for (n = m->b[hash(key) & (m->nb - 1)]; n; n = n->next)
		if (!strncmp(n->key, key, HW_SMAP_KEY_LEN - 1))
			return n;
	return NULL;
}

static int grow(struct hw_smap *m)
{
	size_t nb = m->nb ? m->nb * 2 : 64;
	struct hw_snode **b = calloc(nb, sizeof(*b));

	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < m->nb; i++) {
		struct hw_snode *n = m->b[i], *next;

		for (; n; n = next) {
			size_t h = hash(n->key) & (nb - 1);

			next = n->next;
			n->next = b[h];
			b[h] = n;
		}
	}
	free(m->b);
	m->b = b;
	m->nb = nb;
	return 0;
}

int hw_smap__put(struct hw_smap *m, struct hw_snode *node, const char *key)
{
	size_t h;

	if ((m->n + 1) * 4 > m->nb * 3 && grow(m))
		return -ENOMEM;
	snprintf(node->key, sizeof(node->key), "%s", key);
	h = hash(node->key) & (m->nb - 1);
	node->next = m->b[h];
	m->b[h] = node;
	m->n++;
	return 0;
}

void hw_smap__del(struct hw_smap *m, struct hw_snode *node)
{
	struct hw_snode **pp;

	if (!m->nb)
		return;
	for (pp = &m->b[hash(node->key) & (m->nb - 1)]; *pp; pp = &(*pp)->next)
		if (*pp == node) {
			*pp = node->next;
			m->n--;
			return;
		}
}

void hw_smap__each(struct hw_smap *m, void (*fn)(struct hw_snode *n, void *ctx), void *ctx)
{
	for (size_t i = 0; i < m->nb; i++) {
		struct hw_snode *n = m->b[i], *next;

		for (; n; n = next) {
			next = n->next;
			fn(n, ctx);
		}
	}
}

void hw_smap__free(struct hw_smap *m)
{
	free(m->b);
	m->b = NULL;
	m->nb = m->n = 0;
}
