/* A string-keyed hash map of intrusive nodes, for the engine's tables (processes, connections,
 * sessions by entity id; sources by address). Nodes are embedded first in their records and
 * owned by the caller; the map only links them. Grows by doubling; never shrinks. */
#ifndef HW_DETECT_SMAP_H
#define HW_DETECT_SMAP_H

#include <stddef.h>

#define HW_SMAP_KEY_LEN 64

struct hw_snode {
	struct hw_snode *next;
	char key[HW_SMAP_KEY_LEN];
};

struct hw_smap {
	struct hw_snode **b;
	size_t nb, n;
};

/* Returns the node with this key, or NULL. */
struct hw_snode *hw_smap__get(const struct hw_smap *m, const char *key);
/* Links node under key (copied, cut at HW_SMAP_KEY_LEN - 1); the key must not be present.
 * Returns 0 or -ENOMEM. */
int hw_smap__put(struct hw_smap *m, struct hw_snode *node, const char *key);
/* Unlinks node (which must be in m). */
void hw_smap__del(struct hw_smap *m, struct hw_snode *node);
/* Calls fn for every node; fn may unlink and free the node it is given, nothing else. */
void hw_smap__each(struct hw_smap *m, void (*fn)(struct hw_snode *n, void *ctx), void *ctx);
/* Frees the bucket array (not the nodes). */
void hw_smap__free(struct hw_smap *m);

#endif
