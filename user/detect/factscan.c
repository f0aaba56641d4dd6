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
#include "detect/factscan_memo.h"
#include "detect/jsonread_int.h"

#define TABLE 256 /* (node, name) entries, a power of two (about 70 used): 8 KiB */
#define NO    1	  /* the full reader reads this line */

struct entry {
	uint64_t key;  /* mix of the name's hash and its node; 0: empty */
	uint64_t w[2]; /* the name, zero-padded: names of the table are 16 bytes at most */
	unsigned char len;
	signed char child; /* the node of an object value, -1 */
	signed char field; /* enum hw_fact_field of a scalar value, -1 */
};

_Static_assert(HW_FF_COUNT < 128, "fields fit a signed char");

static struct entry table[TABLE];
static unsigned int field_hash[HW_FF_COUNT];
static int table_ok = 1;

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

/* The node's part is multiplied apart from the name's hash: the lookup waits for one
 * multiplication of the name, not three in a row. */
static inline uint64_t entry_key(int node, uint64_t h)
{
	return (h ^ ((uint64_t)node + 1) * 0xc2b2ae3d27d4eb4full) | 1;
}

/* A member name: its first 16 bytes as two zero-padded little-endian words (all of it: the
 * table's names are no longer), and its hash. */
struct name {
	uint64_t w[2], h;
};

/* name_read() of a name over 16 bytes (never one of the table's). */
static __attribute__((noinline)) int long_name_read(const char *k, size_t n, const char *end,
						    struct name *nm)
{
	uint64_t h = n, w;

	nm->w[0] = nm->w[1] = 0;
	for (; n >= 8; n -= 8, k += 8) {
		w = word(k);
		if (has_dot(w))
			return -1;
		h = mix(h, w);
	}
	if (n) {
		w = tail_word(k, n, end);
		if (has_dot(w))
			return -1;
		h = mix(h, w);
	}
	nm->h = h;
	return 0;
}

/* The name k[0..n) (n >= 1) into *nm; -1 when it holds a '.'. */
static inline __attribute__((always_inline)) int name_read(const char *k, size_t n, const char *end,
							   struct name *nm)
{
	uint64_t w0, w1;

	if (n > 16)
		return long_name_read(k, n, end, nm);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	if (end - k >= 16) {
		/* two loads, the bytes past the name masked off */
		w0 = word(k);
		w1 = word(k + 8);
		if (n < 8) {
			w0 &= (1ull << (8 * n)) - 1;
			w1 = 0;
		} else if (n < 16) {
			w1 &= (1ull << (8 * (n - 8))) - 1; /* n == 8: 0 */
		}
	} else
#endif
	{
		w0 = n >= 8 ? word(k) : tail_word(k, n, end);
		w1 = n > 8 ? (n == 16 ? word(k + 8) : tail_word(k + 8, n - 8, end)) : 0;
	}
	if (has_dot(w0) | has_dot(w1))
		return -1;
	nm->w[0] = w0;
	nm->w[1] = w1;
	/* both words multiplied at once; the shift brings the high bits down to the table's
	 * index and the memo's sets */
	nm->h = (w0 * 0x9e3779b97f4a7c15ull) ^ (w1 * 0xff51afd7ed558ccdull) ^ n;
	nm->h ^= nm->h >> 29;
	return 0;
}

static const struct entry *lookup(int node, const struct name *nm, size_t n)
{
	uint64_t key = entry_key(node, nm->h);

	if (n > 16)
		return NULL; /* no name of the table is that long */
	for (size_t i = key & (TABLE - 1);; i = (i + 1) & (TABLE - 1)) {
		const struct entry *e = &table[i];

		if (!e->key)
			return NULL;
		if (e->key == key && e->len == n && e->w[0] == nm->w[0] && e->w[1] == nm->w[1])
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
			uint64_t key;
			struct entry *e;
			size_t i;

			struct name nm;

			/* a name over 16 bytes: every line to the full reader (no name of the
			 * table has one; tests/unit/test_factscan.c reads every field back) */
			if (n > 16 || name_read(k, n, k + n, &nm)) {
				table_ok = 0;
				return;
			}
			key = entry_key(node, nm.h);
			for (i = key & (TABLE - 1); table[i].key; i = (i + 1) & (TABLE - 1))
				if (table[i].key == key && table[i].len == n &&
				    table[i].w[0] == nm.w[0] && table[i].w[1] == nm.w[1])
					break;
			e = &table[i];
			if (!e->key) {
				*e = (struct entry){.key = key,
						    .w = {nm.w[0], nm.w[1]},
						    .len = (unsigned char)n,
						    .child = -1,
						    .field = -1};
			}
			if (!dot) {
				e->field = (signed char)f;
				break;
			}
			if (e->child < 0) {
				if (nodes == 127) {
					table_ok = 0;
					return;
				}
				e->child = (signed char)nodes++;
			}
			node = e->child;
			k = dot + 1;
		}
	}
}

#define MAX_NAMES 256 /* names of the open objects told apart; more: the full reader */

/* An open object or array. */
struct level {
	uint64_t bloom;	    /* object: a bit per name hash seen */
	unsigned int seen0; /* object: its names from seen[seen0] */
	int node;	    /* object: its node in the table, -1 none */
	int field;	    /* object: the field of the member being read; array: its field */
	int first;    /* object: the member has no leaf yet (the full reader copies its path) */
	size_t mplen; /* object: the path length before the member's name */
	unsigned int index; /* array: the next element's index */
	int is_array;
};

/* The kept string at s (after its opening quote), unescaped to o: the end of the source string
 * (its closing quote) and *on the end of the copy, or NULL. Only escapes are checked here: the
 * plain runs were checked by the caller's scan. */
static const char *copy_string(const char *s, const char *end, char *o, char **on)
{
	for (;;) {
		size_t k = hw_jread__plain_run(s, end);
		int r;

		memcpy(o, s, k);
		o += k;
		s += k;
		if (s >= end || (unsigned char)*s < 0x20 || (*s == '\\' && s + 1 >= end))
			return NULL;
		if (*s == '"')
			break;
		r = hw_jread__escape(&s, end, o);
		if (r < 0)
			return NULL;
		o += r;
	}
	*on = o;
	return s;
}

/* The end of a string at s (after its opening quote; its closing quote), or NULL. */
static inline const char *skip_string(const char *s, const char *end)
{
	char tmp[4];

	for (;;) {
		s += hw_jread__plain_run(s, end);
		if (s >= end)
			return NULL;
		if (*s == '"')
			return s;
		if ((unsigned char)*s < 0x20 || s + 1 >= end || hw_jread__escape(&s, end, tmp) < 0)
			return NULL;
	}
}

#define WS()                                                                                       \
	do {                                                                                       \
		while (s < end && (unsigned char)*s <= ' ') {                                      \
			if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')                   \
				goto no;                                                           \
			s++;                                                                       \
		}                                                                                  \
	} while (0)

int hw_factscan__scan(struct hw_factscan *fs, const char *line, size_t len)
{
	struct hw_jdoc *d = fs->kept;
	const struct hw_jleaf **by_field = fs->by_field;
	const char *s = line, *end = line + len;
	struct level st[HW_JREAD_MAX_DEPTH + 1], *lv;
	uint64_t seen[MAX_NAMES];
	unsigned int nseen = 0, leaves = 0;
	size_t plen = 0, est = 0, cap = HW_JREAD_ARENA(len);
	/* the kept strings are no longer than their source, plus a NUL each */
	size_t need = len + HW_JREAD_MAX_LEAVES + 64;
	int depth = 0, field, type, in_array;
	unsigned int index;
	const char *v, *e;
	size_t n;
	/* the object member of the line's object being read, to be kept (factscan_memo.h) */
	const char *rec = NULL, *rec_k = NULL;
	size_t rec_klen = 0, rec_n = 0, rec_est = 0;
	uint64_t rec_h = 0, rec_w[2] = {0, 0};
	unsigned int rec_leaves = 0, rec_names = 0, peak = 0;

	d->n = d->used = 0;
	memset(fs->by_field, 0, sizeof(fs->by_field));
	d->by_field = by_field;
	if (len > HW_JREAD_MAX_LINE || !table_ok)
		return NO;
	if (d->cap < need) {
		char *a = realloc(d->arena, need);

		if (!a)
			return NO;
		d->arena = a;
		d->cap = need;
	}
	WS();
	if (s >= end || *s != '{')
		goto no;
	field = -1;
	in_array = 0;
	lv = NULL;
	goto open_object;

member:
	/* lv: an object, s after '{' or ',' */
	{
		const struct entry *en = NULL;
		const char *k;
		size_t klen;
		struct name nm;
		uint64_t bit;

		if (s >= end || *s != '"') {
			WS();
			if (s >= end || *s != '"')
				goto no;
		}
		k = s + 1;
		klen = hw_jread__plain_run(k, end);
		/* a plain, non-empty name without a '.' */
		if (!klen || k + klen >= end || k[klen] != '"' || name_read(k, klen, end, &nm))
			goto no;
		s = k + klen + 1;
		bit = 1ull << (nm.h >> 58);
		if (lv->bloom & bit)
			for (unsigned int i = lv->seen0; i < nseen; i++)
				if (seen[i] == nm.h)
					goto no; /* the same name twice (or two names, one hash) */
		if (nseen == MAX_NAMES)
			goto no;
		seen[nseen++] = nm.h;
		if (nseen > peak)
			peak = nseen;
		lv->bloom |= bit;
		if (plen + klen + 1 > HW_JREAD_PATH_MAX)
			goto no;
		lv->mplen = plen;
		plen += (plen ? 1 : 0) + klen;
		if (lv->node >= 0)
			en = lookup(lv->node, &nm, klen);
		if (s < end && *s == ':') {
			s++;
		} else {
			WS();
			if (s >= end || *s != ':')
				goto no;
			s++;
		}
		if (s < end && (unsigned char)*s <= ' ')
			WS();
		lv->first = 1;
		lv->field = en ? en->field : -1;
		field = lv->field;
		in_array = 0;
		index = 0;
		if (s < end && *s == '{') {
			/* the members of an object in an array share the array's path: not here */
			field = en ? en->child : -1; /* the new object's node */
			if (lv == st && fs->memo) {
				struct hw_fsmemo_counts c;
				const struct hw_fsmemo_obj *o;
				size_t olen =
				    hw_fsmemo__find(fs->memo, k, klen, nm.w, nm.h, s, end, &c, &o);

				/* an object read before: its leaves, if the limits allow them here
				 */
				if (olen && leaves + c.leaves <= HW_JREAD_MAX_LEAVES &&
				    nseen + c.names <= MAX_NAMES) {
					hw_fsmemo__apply(o, d, by_field);
					leaves += c.leaves;
					est += c.est;
					s += olen;
					goto after;
				}
				rec = s;
				rec_k = k;
				rec_klen = klen;
				rec_h = nm.h;
				rec_w[0] = nm.w[0];
				rec_w[1] = nm.w[1];
				rec_leaves = leaves;
				rec_est = est;
				rec_n = d->n;
				rec_names = peak = nseen;
			}
			goto open_object;
		}
	}

value:
	/* s at a value; field: its member's field; in_array, index: where it is */
	if (s >= end)
		goto no;
	switch (*s) {
	case '{':
		goto no; /* an object in an array */
	case '[':
		if (depth >= HW_JREAD_MAX_DEPTH)
			goto no;
		lv = &st[depth++];
		lv->is_array = 1;
		lv->field = field;
		lv->index = 0;
		s++;
		WS();
		if (s < end && *s == ']') {
			s++;
			goto close;
		}
		goto element;
	case '"':
		if (field >= 0) {
			char *o = d->arena + d->used, *oe;

			e = copy_string(s + 1, end, o, &oe);
			if (!e)
				goto no;
			*oe = 0;
			v = o;
			n = (size_t)(oe - o);
			d->used += n + 1;
		} else {
			e = skip_string(s + 1, end);
			if (!e)
				goto no;
			v = NULL;
			n = 0;
		}
		est += (size_t)(e - s); /* the full reader's copy: no longer than the source */
		s = e + 1;
		type = HW_J_STRING;
		break;
	case 't':
		if (end - s < 4 || memcmp(s, "true", 4))
			goto no;
		s += 4;
		type = HW_J_TRUE;
		v = NULL;
		n = 0;
		break;
	case 'f':
		if (end - s < 5 || memcmp(s, "false", 5))
			goto no;
		s += 5;
		type = HW_J_FALSE;
		v = NULL;
		n = 0;
		break;
	case 'n':
		if (end - s < 4 || memcmp(s, "null", 4))
			goto no;
		s += 4;
		type = HW_J_NULL;
		v = NULL;
		n = 0;
		break;
	default: {
		const char *bad;

		e = hw_jread__number(s, end, &bad);
		if (!e)
			goto no;
		n = (size_t)(e - s);
		est += n + 1;
		v = NULL;
		if (field >= 0) {
			char *o = d->arena + d->used;

			memcpy(o, s, n);
			o[n] = 0;
			d->used += n + 1;
			v = o;
		}
		s = e;
		type = HW_J_NUMBER;
		break;
	}
	}
	/* a scalar leaf: counted as the full reader counts it, kept when its member is a field */
	{
		struct level *owner = lv;

		while (owner->is_array)
			owner--;
		if (++leaves > HW_JREAD_MAX_LEAVES)
			goto no;
		if (owner->first)
			est += plen + 1; /* the full reader's copy of the path */
		if (field >= 0) {
			struct hw_jleaf *l = &d->leaves[d->n]; /* leaves <= HW_JREAD_MAX_LEAVES */

			fs->field_of[d->n++] = (unsigned char)field;

			l->path = hw_fact_field_path[field];
			l->val = v ? v : "";
			l->len = n;
			l->hash = field_hash[field];
			l->type = (unsigned char)type;
			l->in_array = (unsigned char)in_array;
			l->index = (unsigned short)(index > 65535 ? 65535 : index);
			if (owner->first)
				by_field[field] = l;
		}
		owner->first = 0;
	}

after:
	/* a value of lv ended at s */
	WS();
	if (lv->is_array) {
		if (s < end && *s == ',') {
			s++;
			WS();
			goto element;
		}
		if (s < end && *s == ']') {
			s++;
			goto close;
		}
		goto no;
	}
	plen = lv->mplen;
	if (s < end && *s == ',') {
		s++;
		goto member;
	}
	if (s < end && *s == '}') {
		s++;
		goto close;
	}
	goto no;

element:
	field = lv->field;
	in_array = 1;
	index = lv->index++;
	goto value;

open_object:
	/* s at '{'; field: the node of its members (-1 none) */
	if (depth >= HW_JREAD_MAX_DEPTH)
		goto no;
	lv = &st[depth++];
	lv->is_array = 0;
	lv->bloom = 0;
	lv->seen0 = nseen;
	lv->node = lv == st ? 0 : field;
	lv->first = 0;
	s++;
	WS();
	if (s < end && *s == '}') {
		s++;
		goto close;
	}
	goto member;

close:
	/* lv ended at s: it was a value of the level below */
	if (!lv->is_array)
		nseen = lv->seen0;
	depth--;
	if (!depth)
		goto done;
	if (depth == 1 && rec) {
		/* an object member of the line's object, read whole: kept for the next lines */
		struct hw_fsmemo_counts c = {
		    .leaves = leaves - rec_leaves, .names = peak - rec_names, .est = est - rec_est};

		hw_fsmemo__keep(fs->memo, rec_k, rec_klen, rec_w, rec_h, rec, (size_t)(s - rec), &c,
				d, rec_n, fs->field_of, by_field);
		rec = NULL;
	}
	lv = &st[depth - 1];
	goto after;

done:
	WS();
	/* the full reader refuses at its arena's end: stay well inside it */
	if (s != end || est + 64 >= cap)
		goto no;
	return 0;
no:
	d->n = d->used = 0;
	memset(fs->by_field, 0, sizeof(fs->by_field));
	return NO;
}

int hw_factscan__init(struct hw_factscan *fs)
{
	memset(fs, 0, sizeof(*fs));
	fs->kept = calloc(1, sizeof(*fs->kept));
	fs->doc = calloc(1, sizeof(*fs->doc));
	fs->memo = hw_fsmemo__new();
	if (!fs->kept || !fs->doc || !fs->memo) {
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
	hw_fsmemo__free(fs->memo);
	fs->kept = fs->doc = NULL;
	fs->memo = NULL;
}

int hw_factscan__line(struct hw_factscan *fs, const char *line, size_t len, struct hw_fact *f,
		      char *err, size_t errlen)
{
	int r;

	if (!hw_factscan__scan(fs, line, len)) {
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
