/* The scanner's memory of the objects it read as members of a line's object (factscan.c).
 *
 * An agent writes the same "host", "event" and "process" object over and over: every network
 * event of one process repeats its process object byte for byte. Once the scanner has read such
 * an object, it keeps its bytes and what reading them gave (the kept leaves and the counts the
 * scan checks against its limits). When the next line has a member of the same name whose value
 * starts with the same bytes, those bytes are that same object (a complete JSON object ends at
 * its own closing brace, and reading it never looks past it) and reading it again would give
 * the same leaves: they are copied instead of read.
 *
 * What depends on the rest of the line is checked again at each use: the leaf count and the
 * number of open names against their limits, from the counts the object added. The path of
 * each leaf, the object's depth and its estimate of the full reader's arena depend only on the
 * member's name, which is part of the key. */
#ifndef HW_DETECT_FACTSCAN_MEMO_H
#define HW_DETECT_FACTSCAN_MEMO_H

#include <stddef.h>
#include <stdint.h>

#include "detect/jsonread.h"

struct hw_fsmemo;     /* opaque: a few dozen objects */
struct hw_fsmemo_obj; /* one of them */

/* What reading one object added to the scan. */
struct hw_fsmemo_counts {
	unsigned int leaves; /* scalar values (the full reader's leaves) */
	unsigned int names;  /* the most names open at once inside it */
	size_t est;	     /* the estimate of the full reader's arena */
};

struct hw_fsmemo *hw_fsmemo__new(void);
void hw_fsmemo__free(struct hw_fsmemo *m);

/* The object kept for the member name k[0..klen) (w: its first 16 bytes as two zero-padded
 * words, the scanner's; h: its hash) when the line at s (s < end, at its '{') starts with its
 * bytes: its length, *c what it added and *o the object; 0 when none. A name of at most 16
 * bytes is compared by its words. */
size_t hw_fsmemo__find(struct hw_fsmemo *m, const char *k, size_t klen, const uint64_t w[2],
		       uint64_t h, const char *s, const char *end, struct hw_fsmemo_counts *c,
		       const struct hw_fsmemo_obj **o);

/* Appends the kept leaves of o to d (their strings to its arena, as the scan copies them), and
 * sets by_field for those that were their member's first. */
void hw_fsmemo__apply(const struct hw_fsmemo_obj *o, struct hw_jdoc *d,
		      const struct hw_jleaf **by_field);

/* Keeps the object just read: s[0..len) under the name k[0..klen) (words w, hash h), its counts,
 * and the leaves d->leaves[n0..d->n) with their fields (field[i] of leaf i) and whether by_field
 * points to them. Objects too large to keep are not. */
void hw_fsmemo__keep(struct hw_fsmemo *m, const char *k, size_t klen, const uint64_t w[2],
		     uint64_t h, const char *s, size_t len, const struct hw_fsmemo_counts *c,
		     const struct hw_jdoc *d, size_t n0, const unsigned char *field,
		     const struct hw_jleaf *const *by_field);

#endif
