/* The scanner's memory of objects (see factscan_memo.h). A set of a few objects per member name
 * (the set chosen by the name's hash: "event" is one of a few kinds, "process" one of a few
 * processes), replaced in turn. A name whose objects never come back ("source", with its
 * port) stops being kept but for one try in 32, so keeping costs little where it cannot pay. */
#include <stdlib.h>
#include <string.h>

#include "detect/fact_fields.h"
#include "detect/factscan_memo.h"

#define SETS	   16	/* a power of two; a line has about a dozen object members */
#define WAYS	   4	/* objects per set */
#define OBJ_BYTES  2048 /* longer objects (a process with a long argv) are read each time */
#define OBJ_NAME   32
#define OBJ_LEAVES 48
#define OBJ_VALS   1024

struct kept {
	unsigned short off, len; /* of its string in vals; off 0xffff: not a string ("") */
	unsigned short index;
	unsigned char field, type, in_array, first;
	unsigned int hash; /* of its path */
};

/* What a find compares, kept together: the ways of a set share a few cache lines. */
struct way {
	size_t len; /* of the object's bytes; 0: empty */
	uint64_t h;
	uint64_t w[2]; /* the name's first 16 bytes, as the scanner reads them */
	size_t klen;
	struct hw_fsmemo_counts c;
};

/* What a hit reads, apart: written when an object is kept, never cleared (len says). */
struct hw_fsmemo_obj {
	char name[OBJ_NAME];
	unsigned int nkept;
	size_t vals_len; /* bytes of vals used */
	struct kept kept[OBJ_LEAVES];
	char vals[OBJ_VALS];
	char bytes[OBJ_BYTES];
};

struct set {
	struct way way[WAYS];
	unsigned int next;   /* the way replaced next */
	unsigned int misses; /* finds that found nothing since the last that did */
	unsigned int last;   /* the way the last find found: looked at first */
};

struct hw_fsmemo {
	struct set set[SETS];
	struct hw_fsmemo_obj *obj; /* SETS * WAYS, set by set */
};

#define NO_STRING 0xffff

_Static_assert(OBJ_VALS < NO_STRING && OBJ_BYTES < NO_STRING, "offsets fit");
_Static_assert(HW_FF_COUNT < 256, "fields fit a byte");

struct hw_fsmemo *hw_fsmemo__new(void)
{
	struct hw_fsmemo *m = calloc(1, sizeof(*m));

	/* not cleared: a page of it is touched when an object is first kept there */
	if (m && !(m->obj = malloc(sizeof(*m->obj) * SETS * WAYS))) {
		free(m);
		m = NULL;
	}
	return m;
}

void hw_fsmemo__free(struct hw_fsmemo *m)
{
	if (m)
		free(m->obj);
	free(m);
}

static inline size_t set_of(uint64_t h)
{
	return (h ^ h >> 29) & (SETS - 1);
}

size_t hw_fsmemo__find(struct hw_fsmemo *m, const char *k, size_t klen, const uint64_t w[2],
		       uint64_t h, const char *s, const char *end, struct hw_fsmemo_counts *c,
		       const struct hw_fsmemo_obj **o)
{
	size_t si = set_of(h);
	struct set *st = &m->set[si];

	/* objects that never come back are kept once in 32 lines (hw_fsmemo__keep): looked for
	 * on that line and the next, not between */
	if (st->misses > WAYS && st->misses % 32 && (st->misses + 1) % 32) {
		st->misses++;
		return 0;
	}
	const uint64_t w0 = w[0], w1 = w[1];
	const struct hw_fsmemo_obj *objs = m->obj + si * WAYS;
	const unsigned int last = st->last;

	for (unsigned int i = 0; i < WAYS; i++) {
		unsigned int n = (last + i) % WAYS;
		const struct way *b = &st->way[n];

		if (!b->len || b->h != h || b->klen != klen || b->w[0] != w0 || b->w[1] != w1 ||
		    (size_t)(end - s) < b->len)
			continue;
		if ((klen > 16 && memcmp(objs[n].name, k, klen)) ||
		    memcmp(objs[n].bytes, s, b->len))
			continue;
		st->misses = 0;
		st->last = n;
		*c = b->c;
		*o = &objs[n];
		return b->len;
	}
	st->misses++;
	return 0;
}

void hw_fsmemo__apply(const struct hw_fsmemo_obj *o, struct hw_jdoc *d,
		      const struct hw_jleaf **by_field)
{
	/* the strings lie in vals as the scan would have copied them to the arena: at once */
	char *base = d->arena + d->used;

	memcpy(base, o->vals, o->vals_len);
	d->used += o->vals_len;
	for (unsigned int i = 0; i < o->nkept; i++) {
		const struct kept *k = &o->kept[i];
		struct hw_jleaf *l = &d->leaves[d->n++];

		l->path = hw_fact_field_path[k->field];
		l->val = k->off == NO_STRING ? "" : base + k->off;
		l->len = k->len;
		l->hash = k->hash;
		l->type = k->type;
		l->in_array = k->in_array;
		l->index = k->index;
		if (k->first)
			by_field[k->field] = l;
	}
}

void hw_fsmemo__keep(struct hw_fsmemo *m, const char *k, size_t klen, const uint64_t w[2],
		     uint64_t h, const char *s, size_t len, const struct hw_fsmemo_counts *c,
		     const struct hw_jdoc *d, size_t n0, const unsigned char *field,
		     const struct hw_jleaf *const *by_field)
{
	size_t si = set_of(h);
	struct set *st = &m->set[si];
	struct hw_fsmemo_obj *b;
	struct way *wy;
	size_t vals = 0;

	if (len > OBJ_BYTES || klen > OBJ_NAME || d->n - n0 > OBJ_LEAVES)
		return;
	if (st->misses > WAYS && st->misses % 32)
		return;
	wy = &st->way[st->next];
	b = &m->obj[si * WAYS + st->next];
	st->next = (st->next + 1) % WAYS;
	wy->len = 0;
	for (size_t i = n0; i < d->n; i++) {
		const struct hw_jleaf *l = &d->leaves[i];
		struct kept *e = &b->kept[i - n0];
		/* the scan copies a kept string or number to the arena; true, false, null: "" */
		int copied = l->type == HW_J_STRING || l->type == HW_J_NUMBER;

		if (copied) {
			if (vals + l->len + 1 > OBJ_VALS)
				return;
			memcpy(b->vals + vals, l->val, l->len + 1);
			e->off = (unsigned short)vals;
			vals += l->len + 1;
		} else {
			e->off = NO_STRING;
		}
		e->len = (unsigned short)l->len;
		e->index = l->index;
		e->hash = l->hash;
		e->field = field[i];
		e->type = l->type;
		e->in_array = l->in_array;
		e->first = by_field[field[i]] == l;
	}
	b->nkept = (unsigned int)(d->n - n0);
	b->vals_len = vals;
	memcpy(b->name, k, klen);
	memcpy(b->bytes, s, len);
	wy->c = *c;
	wy->h = h;
	wy->w[0] = w[0];
	wy->w[1] = w[1];
	wy->klen = klen;
	wy->len = len;
}
