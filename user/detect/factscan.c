/* The replay's line scanner (see factscan.h). The names of the members the facts read form a
 * small tree (process -> parent -> pid), kept in one table keyed by (node, name); the scan
 * descends it while it walks the line and checks everything else as jsonread.c does.
 *
 * Why the full reader's duplicate check can be left out: with no '.' in any name, no empty name,
 * no name twice in one object and no object in an array, two leaves share a dotted path only as
 * the elements of one array, which the full reader allows too. Every other limit it enforces
 * (depth, leaf count, path length, arena) is counted here the same way or more strictly. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect/fact_fields.h"
#include "detect/factscan.h"
#include "detect/jsonread_int.h"

#define TABLE 512	/* (node, name) entries, a power of two */
#define MAX_MEMBERS 32	/* names of one object told apart; more: the full reader */
#define NO 1		/* the full reader reads this line */

struct entry {
	uint64_t key; /* mix of the name's hash and its node; 0: empty */
	const char *name;
	size_t len;
	short child; /* the node of an object value, -1 */
	short field; /* enum hw_fact_field of a scalar value, -1 */
};

static struct entry table[TABLE];
static unsigned int field_hash[HW_FF_COUNT];

static inline uint64_t mix(uint64_t h, uint64_t w)
{
	h = (h ^ w) * 0x9e3779b97f4a7c15ull;
	return h ^ (h >> 31);
}

/* The last n (1..7) bytes of a name at k as a little-endian word; end: where the line ends. */
static inline uint64_t tail_word(const char *k, size_t n, const char *end)
{
	uint64_t w = 0;

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	if (end - k >= 8) {
		memcpy(&w, k, sizeof(w));
		return w & ((1ull << (8 * n)) - 1);
	}
#endif
	for (size_t i = 0; i < n; i++)
		w |= (uint64_t)(unsigned char)k[i] << (8 * i);
	return w;
}

static inline uint64_t word(const char *k)
{
	uint64_t w;

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	memcpy(&w, k, sizeof(w));
#else
	w = tail_word(k, 8, k);
#endif
	return w;
}

/* Has w a '.' byte (bytes masked off are 0, never a dot). */
static inline int has_dot(uint64_t w)
{
	const uint64_t ones = 0x0101010101010101ull;
	uint64_t x = w ^ (ones * '.');

	return ((x - ones) & ~x & (ones << 7)) != 0;
}

/* The hash of the name k[0..n); -1 when it holds a '.'. */
static inline int name_hash(const char *k, size_t n, const char *end, uint64_t *out)
{
	uint64_t h = n, w;
	size_t left = n;

	for (; left >= 8; left -= 8, k += 8) {
		w = word(k);
		if (has_dot(w))
			return -1;
		h = mix(h, w);
	}
	if (left) {
		w = tail_word(k, left, end);
		if (has_dot(w))
			return -1;
		h = mix(h, w);
	}
	*out = h;
	return 0;
}

static inline uint64_t entry_key(int node, uint64_t h)
{
	return mix(h, (uint64_t)node + 1) | 1;
}

static const struct entry *lookup(int node, uint64_t h, const char *k, size_t n)
{
	uint64_t key = entry_key(node, h);

	for (size_t i = key & (TABLE - 1);; i = (i + 1) & (TABLE - 1)) {
		const struct entry *e = &table[i];

		if (!e->key)
			return NULL;
		if (e->key == key && e->len == n && !memcmp(e->name, k, n))
			return e;
	}
}

__attribute__((constructor)) static void build_table(void)
{
	int nodes = 1; /* node 0: the line's object */

	for (int f = 0; f < HW_FF_COUNT; f++) {
		const char *path = hw_fact_field_path[f], *k = path;
		int node = 0;

		field_hash[f] = hw_jread__hash(path);
		for (;;) {
			const char *dot = strchr(k, '.');
			size_t n = dot ? (size_t)(dot - k) : strlen(k);
			uint64_t h = 0, key;
			struct entry *e;
			size_t i;

			/* "@timestamp" has no dot; no name of the table has an escape */
			name_hash(k, n, k + n, &h);
			key = entry_key(node, h);
			for (i = key & (TABLE - 1); table[i].key; i = (i + 1) & (TABLE - 1))
				if (table[i].key == key && table[i].len == n &&
				    !memcmp(table[i].name, k, n))
					break;
			e = &table[i];
			if (!e->key) {
				*e = (struct entry){.key = key, .name = k, .len = n, .child = -1,
						    .field = -1};
			}
			if (!dot) {
				e->field = (short)f;
				break;
			}
			if (e->child < 0)
				e->child = (short)nodes++;
			node = e->child;
			k = dot + 1;
		}
	}
}

struct scan {
	const char *s, *end;
	struct hw_jdoc *d; /* the kept members */
	size_t plen;	   /* the full reader's path length here */
	size_t est;	   /* its arena use, at least */
	size_t cap;	   /* its arena */
	unsigned int leaves;
	int depth;
};

static inline void ws(struct scan *p)
{
	if (p->s < p->end && (unsigned char)*p->s > ' ')
		return;
	while (p->s < p->end && (*p->s == ' ' || *p->s == '\t' || *p->s == '\n' || *p->s == '\r'))
		p->s++;
}

/* A string at p->s (its opening quote): checked, and when keep unescaped into the arena. */
static inline int string(struct scan *p, int keep, const char **v, size_t *n)
{
	const char *s = p->s + 1, *b = s;
	struct hw_jdoc *d = p->d;
	char *o = d->arena + d->used, *o0 = o, tmp[4];

	for (;;) {
		size_t k = hw_jread__plain_run(s, p->end);
		int r;

		if (keep) {
			memcpy(o, s, k);
			o += k;
		}
		s += k;
		if (s >= p->end)
			return NO;
		if (*s == '"')
			break;
		if ((unsigned char)*s < 0x20 || s + 1 >= p->end)
			return NO;
		r = hw_jread__escape(&s, p->end, keep ? o : tmp);
		if (r < 0)
			return NO;
		if (keep)
			o += r;
	}
	p->est += (size_t)(s - b) + 1; /* the full reader's copy is no longer than the source */
	p->s = s + 1;
	if (keep) {
		*o = 0;
		*v = o0;
		*n = (size_t)(o - o0);
		d->used += *n + 1;
	}
	return 0;
}

/* A scalar leaf: counted as the full reader counts it, kept when its member is a field. */
static inline int leaf(struct scan *p, int field, int type, const char *v, size_t n,
		       int in_array, unsigned int index, int *first)
{
	if (++p->leaves > HW_JREAD_MAX_LEAVES)
		return NO;
	if (*first)
		p->est += p->plen + 1; /* the full reader's copy of the path */
	if (field >= 0 && hw_jdoc__put(p->d, hw_fact_field_path[field], field_hash[field], type, v,
				       n, in_array, index, *first))
		return NO;
	*first = 0;
	return 0;
}

static int object(struct scan *p, int node);
static int array(struct scan *p, int field, int *first);

static int value(struct scan *p, int node, int field, int in_array, unsigned int index,
		 int *first)
{
	const char *v = NULL, *e, *bad;
	size_t n = 0;

	if (p->s >= p->end)
		return NO;
	switch (*p->s) {
	case '{':
		/* the members of an object in an array share the array's path */
		return in_array ? NO : object(p, node);
	case '[':
		return array(p, field, first);
	case '"':
		if (string(p, field >= 0, &v, &n))
			return NO;
		return leaf(p, field, HW_J_STRING, v, n, in_array, index, first);
	case 't':
		if (p->end - p->s < 4 || memcmp(p->s, "true", 4))
			return NO;
		p->s += 4;
		return leaf(p, field, HW_J_TRUE, NULL, 0, in_array, index, first);
	case 'f':
		if (p->end - p->s < 5 || memcmp(p->s, "false", 5))
			return NO;
		p->s += 5;
		return leaf(p, field, HW_J_FALSE, NULL, 0, in_array, index, first);
	case 'n':
		if (p->end - p->s < 4 || memcmp(p->s, "null", 4))
			return NO;
		p->s += 4;
		return leaf(p, field, HW_J_NULL, NULL, 0, in_array, index, first);
	default:
		e = hw_jread__number(p->s, p->end, &bad);
		if (!e)
			return NO;
		n = (size_t)(e - p->s);
		p->est += n + 1;
		if (field >= 0) {
			char *o = p->d->arena + p->d->used;

			memcpy(o, p->s, n);
			o[n] = 0;
			p->d->used += n + 1;
			v = o;
		}
		p->s = e;
		return leaf(p, field, HW_J_NUMBER, v, n, in_array, index, first);
	}
}

static int array(struct scan *p, int field, int *first)
{
	unsigned int i = 0;

	if (++p->depth > HW_JREAD_MAX_DEPTH)
		return NO;
	p->s++;
	ws(p);
	if (p->s < p->end && *p->s == ']') {
		p->s++;
		p->depth--;
		return 0;
	}
	for (;;) {
		ws(p);
		if (value(p, -1, field, 1, i++, first))
			return NO;
		ws(p);
		if (p->s < p->end && *p->s == ',') {
			p->s++;
			continue;
		}
		if (p->s < p->end && *p->s == ']') {
			p->s++;
			break;
		}
		return NO;
	}
	p->depth--;
	return 0;
}

/* node: where the object's members are in the table, -1 nowhere (nothing below is kept). */
static int object(struct scan *p, int node)
{
	uint64_t seen[MAX_MEMBERS], bloom = 0;
	unsigned int nseen = 0;

	if (++p->depth > HW_JREAD_MAX_DEPTH)
		return NO;
	p->s++;
	ws(p);
	if (p->s < p->end && *p->s == '}') {
		p->s++;
		p->depth--;
		return 0;
	}
	for (;;) {
		const struct entry *e = NULL;
		const char *k;
		size_t klen, saved = p->plen;
		uint64_t h, bit;
		int first = 1;

		ws(p);
		if (p->s >= p->end || *p->s != '"')
			return NO;
		k = p->s + 1;
		klen = hw_jread__plain_run(k, p->end);
		/* a plain, non-empty name without a '.' */
		if (!klen || k + klen >= p->end || k[klen] != '"' || name_hash(k, klen, p->end, &h))
			return NO;
		p->s = k + klen + 1;
		bit = 1ull << (h >> 58);
		if (bloom & bit)
			for (unsigned int i = 0; i < nseen; i++)
				if (seen[i] == h)
					return NO; /* the same name twice (or two names, one hash) */
		if (nseen == MAX_MEMBERS)
			return NO;
		seen[nseen++] = h;
		bloom |= bit;
		if (p->plen + klen + 1 > HW_JREAD_PATH_MAX)
			return NO;
		p->plen += (p->plen ? 1 : 0) + klen;
		if (node >= 0)
			e = lookup(node, h, k, klen);
		ws(p);
		if (p->s >= p->end || *p->s != ':')
			return NO;
		p->s++;
		ws(p);
		if (value(p, e ? e->child : -1, e ? e->field : -1, 0, 0, &first))
			return NO;
		p->plen = saved;
		ws(p);
		if (p->s < p->end && *p->s == ',') {
			p->s++;
			continue;
		}
		if (p->s < p->end && *p->s == '}') {
			p->s++;
			break;
		}
		return NO;
	}
	p->depth--;
	return 0;
}

int hw_factscan__scan(struct hw_jdoc *d, const char *line, size_t len)
{
	struct scan p = {.s = line, .end = line + len, .d = d, .cap = HW_JREAD_ARENA(len)};
	/* the kept strings are no longer than their source, plus a NUL each */
	size_t need = len + HW_JREAD_MAX_LEAVES + 64;

	hw_jdoc__clear(d);
	if (len > HW_JREAD_MAX_LINE)
		return NO;
	if (d->cap < need) {
		char *a = realloc(d->arena, need);

		if (!a)
			return NO;
		d->arena = a;
		d->cap = need;
	}
	ws(&p);
	if (p.s >= p.end || *p.s != '{' || object(&p, 0))
		goto no;
	ws(&p);
	/* the full reader refuses at its arena's end: stay well inside it */
	if (p.s != p.end || p.est + 64 >= p.cap)
		goto no;
	return 0;
no:
	hw_jdoc__clear(d);
	return NO;
}

int hw_factscan__init(struct hw_factscan *fs)
{
	memset(fs, 0, sizeof(*fs));
	fs->kept = calloc(1, sizeof(*fs->kept));
	fs->doc = calloc(1, sizeof(*fs->doc));
	if (!fs->kept || !fs->doc) {
		hw_factscan__free(fs);
		return -ENOMEM;
	}
	return 0;
}

void hw_factscan__free(struct hw_factscan *fs)
{
	if (fs->kept)
		hw_jdoc__free(fs->kept);
	if (fs->doc)
		hw_jdoc__free(fs->doc);
	free(fs->kept);
	free(fs->doc);
	fs->kept = fs->doc = NULL;
}

int hw_factscan__line(struct hw_factscan *fs, const char *line, size_t len, struct hw_fact *f,
		      char *err, size_t errlen)
{
	int r;

	if (!hw_factscan__scan(fs->kept, line, len)) {
		fs->fast++;
		return hw_fact__from_json(f, fs->kept, err, errlen);
	}
	fs->full++;
	r = hw_jdoc__parse(fs->doc, line, len);
	if (r) {
		snprintf(err, errlen, "%s", fs->doc->err);
		return r;
	}
	return hw_fact__from_json(f, fs->doc, err, errlen);
}
