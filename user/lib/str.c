/* Bounded copy, numbers and base name (see str.h). */
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

size_t hw_str__u64(char *dst, unsigned long long v)
{
	char tmp[21];
	size_t n = 0, i;

	do
		tmp[n++] = (char)('0' + v % 10);
	while ((v /= 10));
	for (i = 0; i < n; i++)
		dst[i] = tmp[n - 1 - i];
	dst[n] = 0;
	return n;
}

/* appends n bytes of src at dst[*at], as far as len - 1 allows */
static void append(char *dst, size_t len, size_t *at, const char *src, size_t n)
{
	if (n > len - 1 - *at)
		n = len - 1 - *at;
	memcpy(dst + *at, src, n);
	*at += n;
}

size_t hw_str__pair(char *dst, size_t len, const char *a, unsigned long long b)
{
	char num[21];
	size_t nb = hw_str__u64(num, b), at = 0;

	append(dst, len, &at, a ? a : "", a ? strlen(a) : 0);
	append(dst, len, &at, ":", 1);
	append(dst, len, &at, num, nb);
	dst[at] = 0;
	return at;
}
