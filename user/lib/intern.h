/* Interned strings: one copy of each string, shared by the records that hold it and counted.
 * The engine keeps thousands of processes (the exited ones for their children's sake) whose
 * executables are a few paths: a pointer each instead of a 256-byte array each.
 *
 * A zero struct is an empty table. "" is never copied (hw_intern__get gives a static ""), so a
 * record can start with exe = "" without a reference. */
#ifndef HW_LIB_INTERN_H
#define HW_LIB_INTERN_H

#include <stddef.h>

#include "lib/htab.h"

struct hw_intern {
	struct hw_htab t;
	size_t bytes; /* of the copies, with their headers */
};

/* A reference to the copy of s (cut at max - 1 bytes, as a copy into char[max] would be),
 * made when there is none: drop it with hw_intern__put. NULL when out of memory. */
const char *hw_intern__get(struct hw_intern *in, const char *s, size_t max);
/* A copy: the string is its last member, so a reference finds its node by subtraction. */
struct hw_intern_str {
	struct hw_hnode node;
	size_t refs, len;
	char s[];
};

/* Another reference to s, a reference hw_intern__get gave (or the static ""): no lookup. */
static inline const char *hw_intern__dup(const char *s)
{
	if (s && s[0])
		((struct hw_intern_str *)(s - offsetof(struct hw_intern_str, s)))->refs++;
	return s;
}
/* Drops a reference hw_intern__get gave (the static "" and NULL are ignored); the copy goes
 * with its last one. */
void hw_intern__put(struct hw_intern *in, const char *s);
/* Distinct strings held. */
static inline size_t hw_intern__count(const struct hw_intern *in)
{
	return in->t.n;
}
/* Frees every copy (references still held dangle) and the table. */
void hw_intern__free(struct hw_intern *in);

#endif
