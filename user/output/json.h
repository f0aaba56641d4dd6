/* A small, fast JSON writer: builds one document (or a run of JSON lines) in a growable buffer,
 * for the ECS events the agent prints.
 *
 * Usage: hw_json__begin_object(j, NULL), then one call per member with its key, nested
 * begin/end pairs, hw_json__end_object(j), hw_json__end_line(j); check j->error once at the
 * end, then write j->buf[0..len). Keys are NULL at the top level and inside arrays, non-NULL
 * inside objects.
 *
 * Strings are arbitrary bytes (argv, paths) and the output is always valid UTF-8 and valid
 * JSON: '"' and '\' are escaped, control characters 0x00-0x1f become \b \t \n \f \r or
 * \u00xx, 0x7f becomes \u007f (lowercase hex), '/' is left alone. Valid UTF-8 passes through
 * unchanged; every ill-formed sequence is replaced by U+FFFD (EF BF BD), one replacement per
 * maximal subpart (Unicode ch. 3, "U+FFFD Substitution of Maximal Subparts", the practice the
 * WHATWG decoder follows). So a truncated "\xe2\x82" becomes one U+FFFD, while an overlong
 * "\xc0\xaf" (0xc0 is never a valid lead), a surrogate "\xed\xa0\x80" or "\xf4\x90\x80\x80"
 * (above U+10FFFF) become one U+FFFD per byte.
 *
 * Errors are sticky: the first one is kept in j->error, the document is dropped (len 0) and
 * every later call does nothing until hw_json__reset(). -ENOMEM: a buffer growth failed.
 * -EINVAL: misuse (a key where none belongs or none where one does, an end that does not match
 * the open container, a second top-level value on one line). -E2BIG: more than
 * HW_JSON_MAX_DEPTH nested containers. buf, when not NULL, is NUL-terminated at len.
 */
#ifndef HW_OUTPUT_JSON_H
#define HW_OUTPUT_JSON_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define HW_JSON_MAX_DEPTH 31 /* open containers at most; first[] has one slot per depth */

struct hw_json {
	char *buf; /* the document, NUL-terminated at len; NULL until the first write */
	size_t len, cap;
	int depth;	 /* open containers */
	int error;	 /* 0, or the first error (-ENOMEM, -EINVAL, -E2BIG) */
	size_t values;	 /* scalar values written (strings, numbers, literals): what a reader
			  * that keeps one leaf per value (detect/jsonread.h) will count */
	uint32_t arrays; /* bit d set: the container at depth d is an array */
	/* per depth: no element written yet, so no comma before the next one */
	unsigned char first[HW_JSON_MAX_DEPTH + 1];
};

/* Records err (sticky, as the writer's own errors: the document is dropped). */
void hw_json__set_error(struct hw_json *j, int err);

void hw_json__init(struct hw_json *j);
void hw_json__reset(struct hw_json *j); /* empty document, no error; keeps the memory */
void hw_json__free(struct hw_json *j);	/* safe on a zeroed or initialized struct */

/* key: NULL at the top level and inside arrays, the member name inside objects. */
void hw_json__begin_object(struct hw_json *j, const char *key);
void hw_json__end_object(struct hw_json *j);
void hw_json__begin_array(struct hw_json *j, const char *key);
void hw_json__end_array(struct hw_json *j);

/* s NULL writes null. string_n takes arbitrary bytes, NULs included (written \u0000). */
void hw_json__string(struct hw_json *j, const char *key, const char *s);
void hw_json__string_n(struct hw_json *j, const char *key, const char *s, size_t n);
void hw_json__u64(struct hw_json *j, const char *key, unsigned long long v);
void hw_json__i64(struct hw_json *j, const char *key, long long v);
void hw_json__bool(struct hw_json *j, const char *key, int v);
void hw_json__null(struct hw_json *j, const char *key);
/* raw_json: one complete pre-encoded JSON value from our own code, copied unchecked; NULL or
 * "" writes null. */
void hw_json__raw(struct hw_json *j, const char *key, const char *raw_json);

/* The same members, faster, for keys that are string literals of our own code (plain ASCII,
 * nothing to escape): HW_JK("name") passes the key already quoted with its ':' and its length
 * known at compile time, so writing it is one copy. Only inside objects (a key is required).
 * E.g. hw_json__kstring(j, HW_JK("name"), s) writes what hw_json__string(j, "name", s) does. */
#define HW_JK(k) "\"" k "\":", (sizeof("\"" k "\":") - 1)

/* Internals the inline functions below share with json.c. */
int hw_json__grow(struct hw_json *j, size_t n);
void hw_json__put_string(struct hw_json *j, const unsigned char *s, size_t n); /* room: n + 2 */
char *hw_json__format_u64(char *end, unsigned long long v); /* digits ending at end */

/* Makes room for n more bytes and the NUL after them (0, or -ENOMEM recorded). */
static inline int hw_json__reserve(struct hw_json *j, size_t n)
{
	if (j->cap - j->len > n)
		return 0;
	return hw_json__grow(j, n);
}

/* The put helpers need their room reserved by the caller. */
static inline void hw_json__put(struct hw_json *j, const void *p, size_t n)
{
	memcpy(j->buf + j->len, p, n);
	j->len += n;
}

static inline void hw_json__putc(struct hw_json *j, char c)
{
	j->buf[j->len++] = c;
}

static inline void hw_json__terminate(struct hw_json *j)
{
	if (j->buf && !j->error)
		j->buf[j->len] = '\0';
}

/* The separator and the quoted key of a member of the object open at j->depth, with room for
 * extra bytes of value after them. Inline, so that the key's copy has a constant size. */
static inline int hw_json__kmember(struct hw_json *j, const char *qkey, size_t qlen, size_t extra)
{
	int d = j->depth;

	if (j->error)
		return -1;
	if (!d || j->arrays & (1u << d)) {
		hw_json__set_error(j, -EINVAL);
		return -1;
	}
	if (extra > SIZE_MAX - 1 - qlen || hw_json__reserve(j, qlen + 1 + extra))
		return -1;
	if (!j->first[d])
		hw_json__putc(j, ',');
	j->first[d] = 0;
	hw_json__put(j, qkey, qlen);
	return 0;
}

/* A value that needs no escaping after a literal key. */
static inline void hw_json__kvalue(struct hw_json *j, const char *qkey, size_t qlen, const char *v,
				   size_t n)
{
	if (hw_json__kmember(j, qkey, qlen, n))
		return;
	j->values++;
	hw_json__put(j, v, n);
	hw_json__terminate(j);
}

static inline void hw_json__kbegin(struct hw_json *j, const char *qkey, size_t qlen, char open,
				   int array)
{
	if (hw_json__kmember(j, qkey, qlen, 1))
		return;
	if (j->depth >= HW_JSON_MAX_DEPTH) {
		hw_json__set_error(j, -E2BIG);
		return;
	}
	hw_json__putc(j, open);
	j->depth++;
	j->first[j->depth] = 1;
	if (array)
		j->arrays |= 1u << j->depth;
	else
		j->arrays &= ~(1u << j->depth);
	hw_json__terminate(j);
}

static inline void hw_json__kbegin_object(struct hw_json *j, const char *qkey, size_t qlen)
{
	hw_json__kbegin(j, qkey, qlen, '{', 0);
}

static inline void hw_json__kbegin_array(struct hw_json *j, const char *qkey, size_t qlen)
{
	hw_json__kbegin(j, qkey, qlen, '[', 1);
}

static inline void hw_json__kstring_n(struct hw_json *j, const char *qkey, size_t qlen,
				      const char *s, size_t n)
{
	if (!s) {
		hw_json__kvalue(j, qkey, qlen, "null", 4);
		return;
	}
	if (n > SIZE_MAX - 2 || hw_json__kmember(j, qkey, qlen, n + 2))
		return;
	j->values++;
	hw_json__put_string(j, (const unsigned char *)s, n);
	hw_json__terminate(j);
}

static inline void hw_json__kstring(struct hw_json *j, const char *qkey, size_t qlen, const char *s)
{
	hw_json__kstring_n(j, qkey, qlen, s, s ? strlen(s) : 0);
}

/* s[0..n) the caller knows needs no escaping (printable ASCII but '"' and '\': a time, an
 * address, one of our ids): copied as is between quotes. */
static inline void hw_json__kplain(struct hw_json *j, const char *qkey, size_t qlen, const char *s,
				   size_t n)
{
	if (n > SIZE_MAX - 2 || hw_json__kmember(j, qkey, qlen, n + 2))
		return;
	j->values++;
	hw_json__putc(j, '"');
	hw_json__put(j, s, n);
	hw_json__putc(j, '"');
	hw_json__terminate(j);
}

static inline void hw_json__ku64(struct hw_json *j, const char *qkey, size_t qlen,
				 unsigned long long v)
{
	char tmp[24], *end = tmp + sizeof(tmp), *p = hw_json__format_u64(end, v);

	hw_json__kvalue(j, qkey, qlen, p, (size_t)(end - p));
}

static inline void hw_json__ki64(struct hw_json *j, const char *qkey, size_t qlen, long long v)
{
	char tmp[24], *end = tmp + sizeof(tmp), *p;

	/* negated in unsigned arithmetic: -LLONG_MIN does not fit in a long long */
	p = hw_json__format_u64(end, v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v);
	if (v < 0)
		*--p = '-';
	hw_json__kvalue(j, qkey, qlen, p, (size_t)(end - p));
}

static inline void hw_json__kbool(struct hw_json *j, const char *qkey, size_t qlen, int v)
{
	if (v)
		hw_json__kvalue(j, qkey, qlen, "true", 4);
	else
		hw_json__kvalue(j, qkey, qlen, "false", 5);
}

/* Members this writer wrote before into an object (a run of "key":value without a leading
 * comma, holding values scalar values), written again as they are. */
static inline void hw_json__members(struct hw_json *j, const char *m, size_t n, size_t values)
{
	int d = j->depth;

	if (j->error)
		return;
	if (!d || j->arrays & (1u << d)) {
		hw_json__set_error(j, -EINVAL);
		return;
	}
	if (n > SIZE_MAX - 1 || hw_json__reserve(j, n + 1))
		return;
	if (!j->first[d])
		hw_json__putc(j, ',');
	j->first[d] = 0;
	hw_json__put(j, m, n);
	j->values += values;
	hw_json__terminate(j);
}

/* What a reader gets back for the string s[0..n) written by hw_json__string_n: the same bytes
 * with every ill-formed UTF-8 sequence replaced by U+FFFD as above (escapes read back as the
 * byte they stand for). Written to dst as a C string (up to a NUL in s), cut to cap - 1 bytes
 * (possibly inside a character), as the engine's facts keep strings (detect/fact_view.h).
 * Returns the length written. cap must be at least 1. */
size_t hw_json__read_back(char *dst, size_t cap, const char *s, size_t n);

/* Ends a top-level value with '\n' (JSON lines); the next top-level value starts a new line.
 * Does nothing when no top-level value was written since the last line. */
void hw_json__end_line(struct hw_json *j);

/* A place between two lines: hw_json__rewind() drops everything written after it (encoders
 * that must fit a line into a reader's limits try again with less). */
struct hw_json_mark {
	size_t len, values;
};

static inline struct hw_json_mark hw_json__mark(const struct hw_json *j)
{
	return (struct hw_json_mark){.len = j->len, .values = j->values};
}

/* Back to m, taken at the top level between lines; the line begun since m is gone. Does
 * nothing after an error. */
void hw_json__rewind(struct hw_json *j, struct hw_json_mark m);

/* The document so far as a C string ("" before anything was written). */
static inline const char *hw_json__cstr(const struct hw_json *j)
{
	return j->buf ? j->buf : "";
}

/* Length of the well-formed UTF-8 sequence at p (n bytes available, p[0] >= 0x80), or 0 when
 * it is ill-formed (the writers put U+FFFD in its place). */
size_t hw_json__utf8_len(const unsigned char *p, size_t n);

#endif
