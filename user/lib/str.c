/* Bounded copy and base name (see str.h). */
#include <string.h>

#include "lib/str.h"

size_t hw_str__copy(char *dst, size_t len, const char *src)
{
	size_t n = src ? strnlen(src, len - 1) : 0;

	memcpy(dst, src ? src : "", n);
	dst[n] = 0;
	return n;
}

const char *hw_str__base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}
