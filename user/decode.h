/* Checks raw ring-buffer records before anything reads them, and turns kernel paths into
 * strings. A record whose size does not match its type is rejected, never read past. */
#ifndef HW_DECODE_H
#define HW_DECODE_H

#include <stddef.h>

#include "hopwatch/events.h"

/* Returns the record's type (HW_EV_*) when data holds a well-formed record of size bytes,
 * or a negative errno (-EBADMSG for a malformed record, -ENOTSUP for an unknown type). */
int hw_decode_check(const void *data, size_t size);

/* Builds "/usr/bin/true" from the leaf-first names of p into out (always NUL-terminated).
 * A path cut short starts with ".../" instead of "/". Returns the length, or -EBADMSG when p
 * is inconsistent (then out is empty). */
int hw_decode_path(const struct hw_path *p, int cut, char *out, size_t outlen);

#endif
