/* Small string helpers every folder needs: a bounded copy into a fixed buffer, numbers
 * written without a format string, and the last component of a path. */
#ifndef HW_LIB_STR_H
#define HW_LIB_STR_H

#include <stddef.h>

/* Copies src (NULL is "") into dst of len bytes (len > 0), cut at len - 1 bytes and always
 * terminated. Returns the bytes copied. */
size_t hw_str__copy(char *dst, size_t len, const char *src);

/* Writes v in decimal at dst (dst must hold 21 bytes), NUL-terminated; returns its length.
 * For hot paths where snprintf's format parsing costs more than the number. */
size_t hw_str__u64(char *dst, unsigned long long v);

/* "a:b", the string a and the number b, into dst of len bytes (len > 0; cut at len - 1 bytes
 * and always terminated, as hw_str__copy cuts); returns the length written. A device as
 * major:minor, a key of device and inode. */
size_t hw_str__pair(char *dst, size_t len, const char *a, unsigned long long b);

/* What follows the last '/' of path (path itself when it has none; "" when it ends in '/'). */
const char *hw_str__base_name(const char *path);

#endif
