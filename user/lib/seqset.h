/* Which numbers were seen lately: a set of nonzero 64-bit numbers (NATS stream sequences) that
 * remembers each for at least window_ns and at most twice that, by the clock its caller gives.
 * Two generations of an open-addressed table: numbers go into the current one; when it is
 * window_ns old the previous one is dropped and the current one becomes it. Nothing is removed
 * one by one, so the table needs no tombstones; memory is about 16 bytes per number of the last
 * two windows. Used by the collector's second stage to feed each source message's lines once
 * (collect/collect_part.c). */
#ifndef HW_LIB_SEQSET_H
#define HW_LIB_SEQSET_H

#include <stddef.h>
#include <stdint.h>

struct hw_seqgen {
	uint64_t *slot; /* cap slots, 0 empty */
	size_t cap, n;	/* cap a power of two (0 before the first add) */
};

struct hw_seqset {
	struct hw_seqgen gen[2]; /* [cur], [!cur] the previous window's */
	int cur;
	unsigned long long window_ns, started_ns; /* the current generation's start */
};

/* An empty set that keeps numbers for window_ns (> 0). */
void hw_seqset__init(struct hw_seqset *s, unsigned long long window_ns);
/* 1 when v was added within the window (by now_ns, which never goes back); else v is added:
 * 0, or -ENOMEM (not added: it will not be known as seen). v == 0 is never seen nor added. */
int hw_seqset__seen(struct hw_seqset *s, uint64_t v, unsigned long long now_ns);
/* numbers held (both generations), bytes of their tables */
size_t hw_seqset__count(const struct hw_seqset *s);
size_t hw_seqset__memory(const struct hw_seqset *s);
void hw_seqset__free(struct hw_seqset *s);

#endif
