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

#include <stddef.h>
#include <stdint.h>

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

/* Records err (sticky, as the writer's own errors: the document is dropped). */
void hw_json__set_error(struct hw_json *j, int err);

/* The document so far as a C string ("" before anything was written). */
static inline const char *hw_json__cstr(const struct hw_json *j)
{
	return j->buf ? j->buf : "";
}

#endif
