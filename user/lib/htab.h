/* The hash table every table of hopwatch sits on: the agent's processes and connections
 * (model/), the engine's string-keyed maps (detect/smap.h), the stitcher's halves and hosts
 * (collect/). Intrusive and chained: callers embed a struct hw_hnode in their records (a
 * record in two tables embeds two), hash their key with lib/hash.h and compare the full key
 * themselves while walking hw_htab__first/__next, so one table serves any key and holds
 * duplicates when asked to. The table allocates nothing but its bucket array (one pointer per
 * bucket, at most about 2 per node with the default load), grows by doubling, never shrinks,
 * and holds at most max nodes: memory stays bounded by what the owner bounds.
 *
 * A zero struct is an empty table with the defaults; set the fields below before the first
 * add to choose otherwise. The order each() visits nodes in is a function of the hashes, the
 * order of adds and these fields, nothing else (no seed): the same stream gives the same
 * order, and so the same output, everywhere. */
#ifndef HW_LIB_HTAB_H
#define HW_LIB_HTAB_H

#include <stddef.h>
#include <stdint.h>

struct hw_hnode {
	struct hw_hnode *next;
	uint64_t h; /* the hash it was added under */
};

struct hw_htab {
	struct hw_hnode **b;
	size_t nb, n;		  /* buckets (a power of two, 0 before the first add), nodes */
	size_t max;		  /* nodes at most; 0 unbounded */
	size_t nb0;		  /* buckets of the first array, a power of two; 0: 64 */
	unsigned char load;	  /* grow when nodes would exceed load/4 per bucket; 0: 4 */
	unsigned char link_first; /* grow after linking the node that passes the load, not
				   * before: the node then sits elsewhere in its chain (only
				   * the visiting order differs; kept per table as it was) */
};

/* Links node under hash h (duplicates allowed). Returns 0, -ENOSPC when the table holds max
 * nodes, -ENOMEM when it has no bucket array and none could be allocated (a failed growth is
 * not an error: chains get longer). */
int hw_htab__add(struct hw_htab *t, struct hw_hnode *node, uint64_t h);
/* Unlinks node, which must be in t. */
void hw_htab__del(struct hw_htab *t, struct hw_hnode *node);
/* The first node added under hash h that is still there, last added first; then the next
 * one after n; NULL when no more. */
struct hw_hnode *hw_htab__first(const struct hw_htab *t, uint64_t h);
struct hw_hnode *hw_htab__next(const struct hw_hnode *n, uint64_t h);
/* Calls fn for every node; fn may unlink (from t) and free the node it is given, nothing
 * else of t. */
void hw_htab__each(struct hw_htab *t, void (*fn)(struct hw_hnode *n, void *ctx), void *ctx);
/* No room for another node (max reached). */
static inline int hw_htab__full(const struct hw_htab *t)
{
	return t->max && t->n >= t->max;
}
/* Bytes of the bucket array (the nodes are the caller's). */
static inline size_t hw_htab__memory(const struct hw_htab *t)
{
	return t->nb * sizeof(*t->b);
}
/* Frees the bucket array, not the nodes; t is then empty, its settings kept. */
void hw_htab__free(struct hw_htab *t);

#endif
