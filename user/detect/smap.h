/* A string-keyed map of intrusive nodes, for the engine's tables (processes, connections,
 * sessions by entity id; sources by address) and the collector's hosts: lib/htab.h keyed by
 * the FNV-1a of the key, which the node holds (cut at HW_SMAP_KEY_LEN - 1 bytes). Nodes are
 * embedded first in their records and owned by the caller; the map only links them. */
#ifndef HW_DETECT_SMAP_H
#define HW_DETECT_SMAP_H

#include <stddef.h>

#include "lib/htab.h"

#define HW_SMAP_KEY_LEN 64

struct hw_snode {
	struct hw_hnode h;
	char key[HW_SMAP_KEY_LEN];
};

/* A zero struct is an empty map (64 buckets at the first put, grown past 3/4 full). */
struct hw_smap {
	struct hw_htab t;
	struct hw_snode *hit; /* the node found last: one process's or connection's events come
			       * in runs, and its key is compared before any is hashed */
};

/* Returns the node with this key, or NULL. */
struct hw_snode *hw_smap__get(struct hw_smap *m, const char *key);
/* Links node under key (copied, cut at HW_SMAP_KEY_LEN - 1); the key must not be present.
 * Returns 0 or -ENOMEM. */
int hw_smap__put(struct hw_smap *m, struct hw_snode *node, const char *key);
/* Unlinks node (which must be in m). */
void hw_smap__del(struct hw_smap *m, struct hw_snode *node);
/* Calls fn for every node; fn may unlink and free the node it is given, nothing else. */
void hw_smap__each(struct hw_smap *m, void (*fn)(struct hw_snode *n, void *ctx), void *ctx);
/* Entries, and bytes of the bucket array. */
static inline size_t hw_smap__count(const struct hw_smap *m)
{
	return m->t.n;
}
static inline size_t hw_smap__memory(const struct hw_smap *m)
{
	return hw_htab__memory(&m->t);
}
/* Frees the bucket array (not the nodes). */
void hw_smap__free(struct hw_smap *m);

#endif
