/* Small string helpers every folder needs: a bounded copy into a fixed buffer and the last
 * component of a path. */
#ifndef HW_LIB_STR_H
#define HW_LIB_STR_H

#include <stddef.h>

/* Copies src (NULL is "") into dst of len bytes (len > 0), cut at len - 1 bytes and always
 * terminated. Returns the bytes copied. */
size_t hw_str__copy(char *dst, size_t len, const char *src);

/* What follows the last '/' of path (path itself when it has none; "" when it ends in '/'). */
const char *hw_str__base_name(const char *path);

#endif
