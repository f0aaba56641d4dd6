/* A small JSON reader for one event line (recordings, replay, collector messages): parses an
 * object into a flat list of leaves named by their dotted path ("process.parent.entity_id"),
 * strings unescaped. Elements of an array share the array's path and carry their index.
 *
 * Hostile input is expected: every limit is checked (depth, leaves, line length), duplicate
 * members are refused, strings must be valid JSON (escapes, no raw control characters) and
 * the error names what is wrong and the byte offset. */
#ifndef HW_DETECT_JSONREAD_H
#define HW_DETECT_JSONREAD_H

#include <stddef.h>

#define HW_JREAD_MAX_DEPTH  32
#define HW_JREAD_MAX_LEAVES 1024
#define HW_JREAD_MAX_LINE   (1u << 20)
#define HW_JREAD_PATH_MAX   512 /* the longest member path (dotted) */

enum hw_jtype {
	HW_J_NULL,
	HW_J_FALSE,
	HW_J_TRUE,
	HW_J_NUMBER, /* val: the number's text */
	HW_J_STRING, /* val: unescaped bytes, NUL-terminated (may hold NULs from \u0000) */
};

struct hw_jleaf {
	const char *path;     /* NUL-terminated */
	const char *val;      /* NUL-terminated */
	size_t len;	      /* of val */
	unsigned int hash;    /* of path */
	unsigned short index; /* position in its array, 0 outside arrays */
	unsigned char type;   /* enum hw_jtype */
	unsigned char in_array;
};

#define HW_JREAD_SLOTS 2048 /* path hash slots, a power of two > 2 * HW_JREAD_MAX_LEAVES */

struct hw_jdoc {
	char *arena; /* paths and unescaped strings */
	size_t used, cap;
	struct hw_jleaf leaves[HW_JREAD_MAX_LEAVES];
	size_t n;
	unsigned short slot[HW_JREAD_SLOTS]; /* 1 + leaf index of the first leaf of a path, 0 */
	char err[128];
	/* NULL for a parsed document. A reader that keeps only the members of the fact table
	 * (detect/factscan.c) indexes its leaves by enum hw_fact_field here instead of by path
	 * (slot is empty then: such a document answers hw_fact__leaf() only). */
	const struct hw_jleaf **by_field;
};

/* d must be zeroed before the first parse; free with hw_jdoc__free. */
void hw_jdoc__free(struct hw_jdoc *d);

/* Parses one JSON object (surrounding whitespace allowed). Returns 0, or -EINVAL (bad JSON,
 * limits) / -ENOMEM with d->err saying what, e.g. "duplicate member 'process.pid'" or
 * "unexpected character 'x' at byte 17". */
int hw_jdoc__parse(struct hw_jdoc *d, const char *s, size_t len);

/* Empties d (the slots in use only: the table is large, lines are small). */
void hw_jdoc__clear(struct hw_jdoc *d);
/* Replaces control characters in s by '?': messages that quote the input stay one printable
 * line. */
void hw_jread__printable(char *s);

/* The first leaf at path, or NULL. */
const struct hw_jleaf *hw_jdoc__get(const struct hw_jdoc *d, const char *path);
/* The same with hash = hw_jread__hash(path) computed once by the caller (a fixed path read
 * from every line). */
unsigned int hw_jread__hash(const char *path);
const struct hw_jleaf *hw_jdoc__get_h(const struct hw_jdoc *d, const char *path, unsigned int hash);
/* The string at path, or NULL when absent or not a string. */
const char *hw_jdoc__str(const struct hw_jdoc *d, const char *path);
/* An unsigned integer at path (a number without sign, fraction or exponent, or a string of
 * digits: ECS ids such as user.id are strings). Returns 0, -ENOENT absent, -EINVAL other. */
int hw_jdoc__u64(const struct hw_jdoc *d, const char *path, unsigned long long *out);
/* The same for a leaf found already (NULL: -ENOENT). */
int hw_jleaf__u64(const struct hw_jleaf *l, unsigned long long *out);

#endif
