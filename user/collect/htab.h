/* A hash multimap of intrusive nodes by a 64-bit hash, for the stitcher's tables: callers
 * embed a struct hw_hnode in their records, hash their key (FNV-1a 64, below) and compare the
 * full key themselves. Grows by doubling; never shrinks. */
#ifndef HW_COLLECT_HTAB_H
#define HW_COLLECT_HTAB_H

#include <stddef.h>
#include <stdint.h>

struct hw_hnode {
	struct hw_hnode *next;
	uint64_t h;
};

struct hw_htab {
	struct hw_hnode **b;
	size_t nb, n;
};

/* Links node under h. Returns 0 or -ENOMEM. */
int hw_htab__add(struct hw_htab *t, struct hw_hnode *node, uint64_t h);
/* Unlinks node (which must be in t). */
void hw_htab__del(struct hw_htab *t, struct hw_hnode *node);
/* The first node of hash h, and the next one after n; NULL when no more. */
struct hw_hnode *hw_htab__first(const struct hw_htab *t, uint64_t h);
struct hw_hnode *hw_htab__next(const struct hw_hnode *n, uint64_t h);
/* Calls fn for every node; fn may unlink (from t) and free the node it is given, nothing
 * else of t. */
void hw_htab__each(struct hw_htab *t, void (*fn)(struct hw_hnode *n, void *ctx), void *ctx);

#define HW_FNV0 1469598103934665603ULL

/* FNV-1a 64 of h and a string (and a separator after it), or of h and the 8 bytes of v */
uint64_t hw_fnv__str(uint64_t h, const char *s);
uint64_t hw_fnv__u64(uint64_t h, unsigned long long v);

#endif
