/* JSON event lines into dotted-path leaves (see jsonread.h). Recursive descent bounded by
 * HW_JREAD_MAX_DEPTH; the arena is sized once per line so pointers into it stay valid. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect/jsonread.h"
#include "detect/jsonread_int.h"

#define PATH_MAX_LEN HW_JREAD_PATH_MAX

struct parser {
	struct hw_jdoc *d;
	const char *s, *end, *start;
	char path[PATH_MAX_LEN + 1];
	size_t plen;
	unsigned int phash; /* hash_path(path), kept as keys are pushed and popped */
	int depth;
};

static int fail(struct parser *p, const char *what)
{
	snprintf(p->d->err, sizeof(p->d->err), "%s at byte %zu", what, (size_t)(p->s - p->start));
	return -EINVAL;
}

static inline void skip_ws(struct parser *p)
{
	if (p->s < p->end && (unsigned char)*p->s > ' ')
		return; /* the usual case: no whitespace at all */
	while (p->s < p->end && (*p->s == ' ' || *p->s == '\t' || *p->s == '\n' || *p->s == '\r'))
		p->s++;
}

static inline char *arena_put(struct hw_jdoc *d, const char *s, size_t n)
{
	char *r;

	if (d->used + n + 1 > d->cap)
		return NULL;
	r = d->arena + d->used;
	memcpy(r, s, n);
	r[n] = 0;
	d->used += n + 1;
	return r;
}

#define HASH_BASIS 2166136261u

/* FNV-1a, byte by byte: so the hash of "a.b" continues the hash of "a" (push_key). */
static inline unsigned int hash_more(unsigned int h, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

static unsigned int hash_path(const char *s)
{
	return hash_more(HASH_BASIS, s, strlen(s));
}

unsigned int hw_jread__hash(const char *path)
{
	return hash_path(path);
}

static const char *const esc_error[] = {
    [-HW_JESC_BAD] = "bad escape",
    [-HW_JESC_BAD_U] = "bad \\u escape",
    [-HW_JESC_LONE_LOW] = "lone low surrogate",
    [-HW_JESC_LONE_HIGH] = "lone high surrogate",
};

/* A string at p->s (the opening quote), unescaped into the arena; *esc says whether it had
 * escapes (only an escape can put a NUL in it). Runs of plain bytes are copied at once. */
static inline int string(struct parser *p, const char **out, size_t *outlen, int *esc)
{
	struct hw_jdoc *d = p->d;
	char *o = d->arena + d->used, *o0 = o;

	*esc = 0;
	p->s++;
	for (;;) {
		size_t k = hw_jread__plain_run(p->s, p->end), used = (size_t)(o - d->arena), room;
		unsigned char c;

		/* the unescaped text is never longer than its source, and the arena holds twice the
		 * line, so only the path copies can run it out: room for the run and 5 more bytes,
		 * refused at the byte where it runs out (an unterminated string is named first) */
		room = used + 5 < d->cap ? d->cap - 5 - used : 0;
		if (room <= k && !(room == k && p->s + k >= p->end)) {
			p->s += room;
			return fail(p, "line too complex");
		}
		memcpy(o, p->s, k);
		o += k;
		p->s += k;
		if (p->s >= p->end)
			return fail(p, "unterminated string");
		c = (unsigned char)*p->s;
		if (c == '"') {
			p->s++;
			break;
		}
		if (c < 0x20)
			return fail(p, "control character in string");
		/* c is '\\' */
		*esc = 1;
		if (p->s + 1 >= p->end)
			return fail(p, "unterminated escape");
		{
			int r = hw_jread__escape(&p->s, p->end, o);

			if (r < 0)
				return fail(p, esc_error[-r]);
			o += r;
		}
	}
	*o = 0;
	*out = o0;
	*outlen = (size_t)(o - o0);
	d->used += (size_t)(o - o0) + 1;
	return 0;
}

static int number(struct parser *p, const char **out, size_t *outlen)
{
	const char *b = p->s, *bad = NULL, *e = hw_jread__number(p->s, p->end, &bad);
	char *r;

	if (!e) {
		p->s = bad;
		return fail(p, "bad number");
	}
	p->s = e;
	r = arena_put(p->d, b, (size_t)(p->s - b));
	if (!r)
		return fail(p, "line too complex");
	*out = r;
	*outlen = (size_t)(p->s - b);
	return 0;
}

static int literal(struct parser *p, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(p->end - p->s) < n || memcmp(p->s, word, n))
		return fail(p, "unexpected character");
	p->s += n;
	return 0;
}

static int add_leaf(struct parser *p, const char *path, unsigned int full, int type,
		    const char *val, size_t len, int in_array, unsigned int index)
{
	struct hw_jdoc *d = p->d;
	struct hw_jleaf *l;
	unsigned int h;

	if (d->n >= HW_JREAD_MAX_LEAVES)
		return fail(p, "too many values");
	l = &d->leaves[d->n];
	l->path = path;
	l->val = val ? val : "";
	l->len = len;
	l->type = (unsigned char)type;
	l->in_array = (unsigned char)in_array;
	l->index = (unsigned short)(index > 65535 ? 65535 : index);
	l->hash = full; /* hash_path(path), kept by the parser as it went */
	h = full & (HW_JREAD_SLOTS - 1);
	while (d->slot[h]) {
		const struct hw_jleaf *o = &d->leaves[d->slot[h] - 1];

		if (o->hash == full && !strcmp(o->path, path)) {
			if (!in_array || !o->in_array || o->path != path) {
				snprintf(d->err, sizeof(d->err), "duplicate member '%.64s'", path);
				hw_jread__printable(d->err);
				return -EINVAL;
			}
			d->n++; /* another element of the same array: the slot keeps the first */
			return 0;
		}
		h = (h + 1) & (HW_JREAD_SLOTS - 1);
	}
	d->slot[h] = (unsigned short)(d->n + 1);
	d->n++;
	return 0;
}

static int value(struct parser *p, const char **path, int in_array, unsigned int index);

/* esc: the key had escapes (without, it cannot hold a NUL). */
static int push_key(struct parser *p, const char *key, size_t klen, int esc, size_t *saved)
{
	*saved = p->plen;
	if (esc && memchr(key, 0, klen))
		return fail(p, "NUL in member name");
	if (p->plen + klen + 1 > PATH_MAX_LEN)
		return fail(p, "member path too long");
	{
		char *o = p->path + p->plen;
		unsigned int h = p->phash;

		if (p->plen) {
			*o++ = '.';
			h = (h ^ '.') * 16777619u;
		}
		/* copied and hashed in one pass: keys are short */
		for (size_t i = 0; i < klen; i++) {
			o[i] = key[i];
			h = (h ^ (unsigned char)key[i]) * 16777619u;
		}
		o[klen] = 0;
		p->plen = (size_t)(o + klen - p->path);
		p->phash = h;
	}
	return 0;
}

static int object(struct parser *p)
{
	int err;

	if (++p->depth > HW_JREAD_MAX_DEPTH)
		return fail(p, "nested too deep");
	p->s++;
	skip_ws(p);
	if (p->s < p->end && *p->s == '}') {
		p->s++;
		p->depth--;
		return 0;
	}
	for (;;) {
		const char *key, *path;
		size_t klen, saved;
		unsigned int saved_hash = p->phash;
		int esc;

		skip_ws(p);
		if (p->s >= p->end || *p->s != '"')
			return fail(p, "expected a member name");
		klen = hw_jread__plain_run(p->s + 1, p->end);
		if (p->s + 1 + klen < p->end && p->s[1 + klen] == '"') {
			/* the usual key, nothing to unescape: read where it is */
			key = p->s + 1;
			esc = 0;
			p->s += klen + 2;
		} else {
			err = string(p, &key, &klen, &esc);
			if (err)
				return err;
		}
		err = push_key(p, key, klen, esc, &saved);
		if (err)
			return err;
		skip_ws(p);
		if (p->s >= p->end || *p->s != ':')
			return fail(p, "expected ':'");
		p->s++;
		skip_ws(p);
		path = NULL; /* stored by the first scalar value: objects and arrays need none */
		err = value(p, &path, 0, 0);
		if (err)
			return err;
		p->plen = saved;
		p->path[p->plen] = 0;
		p->phash = saved_hash;
		skip_ws(p);
		if (p->s < p->end && *p->s == ',') {
			p->s++;
			continue;
		}
		if (p->s < p->end && *p->s == '}') {
			p->s++;
			break;
		}
		return fail(p, "expected ',' or '}'");
	}
	p->depth--;
	return 0;
}

static int array(struct parser *p, const char **path)
{
	unsigned int i = 0;
	int err;

	if (++p->depth > HW_JREAD_MAX_DEPTH)
		return fail(p, "nested too deep");
	p->s++;
	skip_ws(p);
	if (p->s < p->end && *p->s == ']') {
		p->s++;
		p->depth--;
		return 0;
	}
	for (;;) {
		skip_ws(p);
		err = value(p, path, 1, i++);
		if (err)
			return err;
		skip_ws(p);
		if (p->s < p->end && *p->s == ',') {
			p->s++;
			continue;
		}
		if (p->s < p->end && *p->s == ']') {
			p->s++;
			break;
		}
		return fail(p, "expected ',' or ']'");
	}
	p->depth--;
	return 0;
}

/* The leaf of a scalar value at p->path; *path is that path in the arena, stored on first use
 * (the elements of an array share it). */
static int leaf(struct parser *p, const char **path, unsigned int h, int type, const char *v,
		size_t n, int in_array, unsigned int index)
{
	if (!*path) {
		*path = arena_put(p->d, p->path, p->plen);
		if (!*path)
			return fail(p, "line too complex");
	}
	return add_leaf(p, *path, h, type, v, n, in_array, index);
}

static int value(struct parser *p, const char **path, int in_array, unsigned int index)
{
	const char *v = NULL;
	size_t n = 0;
	unsigned int h = p->phash; /* path is p->path, or the array's path p->path still holds */
	int err, esc;

	if (p->s >= p->end)
		return fail(p, "unexpected end");
	switch (*p->s) {
	case '{':
		/* members of an object inside an array take the array's path: p->path is still
		 * that path here */
		return object(p);
	case '[':
		return array(p, path);
	case '"':
		err = string(p, &v, &n, &esc);
		if (err)
			return err;
		return leaf(p, path, h, HW_J_STRING, v, n, in_array, index);
	case 't':
		err = literal(p, "true");
		return err ? err : leaf(p, path, h, HW_J_TRUE, NULL, 0, in_array, index);
	case 'f':
		err = literal(p, "false");
		return err ? err : leaf(p, path, h, HW_J_FALSE, NULL, 0, in_array, index);
	case 'n':
		err = literal(p, "null");
		return err ? err : leaf(p, path, h, HW_J_NULL, NULL, 0, in_array, index);
	default:
		err = number(p, &v, &n);
		if (err)
			return err;
		return leaf(p, path, h, HW_J_NUMBER, v, n, in_array, index);
	}
}

void hw_jread__printable(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

void hw_jdoc__free(struct hw_jdoc *d)
{
	free(d->arena);
	d->arena = NULL;
	d->cap = d->used = 0;
}

void hw_jdoc__clear(struct hw_jdoc *d)
{
	d->err[0] = 0;
	for (size_t i = 0; i < d->n; i++) {
		/* clear only the slots in use: the table is large, lines are small */
		unsigned int h = d->leaves[i].hash & (HW_JREAD_SLOTS - 1);

		while (d->slot[h]) {
			d->slot[h] = 0;
			h = (h + 1) & (HW_JREAD_SLOTS - 1);
		}
	}
	d->n = 0;
	d->used = 0;
}

int hw_jdoc__parse(struct hw_jdoc *d, const char *s, size_t len)
{
	struct parser p = {.d = d, .s = s, .end = s + len, .start = s, .phash = HASH_BASIS};
	size_t need = HW_JREAD_ARENA(len);
	int err;

	hw_jdoc__clear(d);
	d->by_field = NULL; /* a parsed document is looked up by path */
	if (len > HW_JREAD_MAX_LINE) {
		snprintf(d->err, sizeof(d->err), "line longer than %u bytes", HW_JREAD_MAX_LINE);
		return -EINVAL;
	}
	if (d->cap < need) {
		char *a = realloc(d->arena, need);

		if (!a) {
			snprintf(d->err, sizeof(d->err), "out of memory");
			return -ENOMEM;
		}
		d->arena = a;
		d->cap = need;
	}
	skip_ws(&p);
	if (p.s >= p.end || *p.s != '{')
		return fail(&p, "expected a JSON object");
	err = object(&p);
	if (err) {
		memset(d->slot, 0, sizeof(d->slot));
		d->n = 0;
		return err;
	}
	skip_ws(&p);
	if (p.s != p.end) {
		memset(d->slot, 0, sizeof(d->slot));
		d->n = 0;
		return fail(&p, "trailing characters");
	}
	return 0;
}

const struct hw_jleaf *hw_jdoc__get(const struct hw_jdoc *d, const char *path)
{
	return hw_jdoc__get_h(d, path, hash_path(path));
}

const struct hw_jleaf *hw_jdoc__get_h(const struct hw_jdoc *d, const char *path, unsigned int full)
{
	unsigned int h = full & (HW_JREAD_SLOTS - 1);

	while (d->slot[h]) {
		const struct hw_jleaf *l = &d->leaves[d->slot[h] - 1];

		if (l->hash == full && (l->path == path || !strcmp(l->path, path)))
			return l;
		h = (h + 1) & (HW_JREAD_SLOTS - 1);
	}
	return NULL;
}

const char *hw_jdoc__str(const struct hw_jdoc *d, const char *path)
{
	const struct hw_jleaf *l = hw_jdoc__get(d, path);

	return l && l->type == HW_J_STRING ? l->val : NULL;
}

int hw_jleaf__u64(const struct hw_jleaf *l, unsigned long long *out)
{
	unsigned long long v = 0;

	if (!l)
		return -ENOENT;
	if ((l->type != HW_J_NUMBER && l->type != HW_J_STRING) || !l->len || l->len > 20)
		return -EINVAL;
	for (size_t i = 0; i < l->len; i++) {
		unsigned int c = (unsigned char)l->val[i] - '0';

		if (c > 9)
			return -EINVAL;
		/* 19 digits never overflow: only the 20th is checked, with constants (a division
		 * a digit was a tenth of reading a number) */
		if (i == 19 && (v > ~0ULL / 10 || (v == ~0ULL / 10 && c > ~0ULL % 10)))
			return -EINVAL;
		v = v * 10 + c;
	}
	*out = v;
	return 0;
}

int hw_jdoc__u64(const struct hw_jdoc *d, const char *path, unsigned long long *out)
{
	return hw_jleaf__u64(hw_jdoc__get(d, path), out);
}
