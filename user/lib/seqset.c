/* A set of recently seen numbers in two generations (see seqset.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/hash.h"
#include "lib/seqset.h"

#define CAP0 1024 /* slots of a generation's first table */

void hw_seqset__init(struct hw_seqset *s, unsigned long long window_ns)
{
	memset(s, 0, sizeof(*s));
	s->window_ns = window_ns ? window_ns : 1;
}

static int has(const struct hw_seqgen *g, uint64_t v)
{
	if (!g->cap)
		return 0;
	for (size_t i = hw_hash__u64(v) & (g->cap - 1);; i = (i + 1) & (g->cap - 1)) {
		if (g->slot[i] == v)
			return 1;
		if (!g->slot[i])
			return 0;
	}
}

static void put(struct hw_seqgen *g, uint64_t v)
{
	size_t i = hw_hash__u64(v) & (g->cap - 1);

	while (g->slot[i])
		i = (i + 1) & (g->cap - 1);
	g->slot[i] = v;
	g->n++;
}

/* room for one more at a load of at most a half; 0 or -ENOMEM */
static int room(struct hw_seqgen *g)
{
	struct hw_seqgen bigger;

	if ((g->n + 1) * 2 <= g->cap)
		return 0;
	bigger.cap = g->cap ? g->cap * 2 : CAP0;
	bigger.n = 0;
	bigger.slot = calloc(bigger.cap, sizeof(*bigger.slot));
	if (!bigger.slot)
		return -ENOMEM;
	for (size_t i = 0; i < g->cap; i++)
		if (g->slot[i])
			put(&bigger, g->slot[i]);
	free(g->slot);
	*g = bigger;
	return 0;
}

static void drop(struct hw_seqgen *g)
{
	free(g->slot);
	memset(g, 0, sizeof(*g));
}

/* the generations moved on to now */
static void age(struct hw_seqset *s, unsigned long long now)
{
	if (now < s->started_ns + s->window_ns)
		return;
	drop(&s->gen[!s->cur]);
	if (now >= s->started_ns + 2 * s->window_ns)
		drop(&s->gen[s->cur]); /* both are older than the window */
	s->cur = !s->cur;
	s->started_ns = now;
}

int hw_seqset__seen(struct hw_seqset *s, uint64_t v, unsigned long long now_ns)
{
	struct hw_seqgen *g;

	if (!v)
		return 0;
	age(s, now_ns);
	g = &s->gen[s->cur];
	if (has(g, v) || has(&s->gen[!s->cur], v))
		return 1;
	if (room(g))
		return -ENOMEM;
	put(g, v);
	return 0;
}

size_t hw_seqset__count(const struct hw_seqset *s)
{
	return s->gen[0].n + s->gen[1].n;
}

size_t hw_seqset__memory(const struct hw_seqset *s)
{
	return (s->gen[0].cap + s->gen[1].cap) * sizeof(uint64_t);
}

void hw_seqset__free(struct hw_seqset *s)
{
	drop(&s->gen[0]);
	drop(&s->gen[1]);
}
