/* Address parsing, formatting and comparison (see addr.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/addr.h"

static const unsigned char v4_mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

int hw_addr__v4_mapped(const unsigned char a[16])
{
	return !memcmp(a, v4_mapped_prefix, sizeof(v4_mapped_prefix));
}

int hw_addr__parse(struct hw_addr *a, const char *text)
{
	memset(a, 0, sizeof(*a));
	if (!text)
		return -EINVAL;
	if (inet_pton(AF_INET, text, a->a) == 1) {
		a->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, text, a->a) != 1) {
		memset(a->a, 0, sizeof(a->a));
		return -EINVAL;
	}
	a->family = AF_INET6;
	if (hw_addr__v4_mapped(a->a)) {
		memmove(a->a, a->a + 12, 4);
		memset(a->a + 4, 0, 12);
		a->family = AF_INET;
	}
	return 0;
}

int hw_addr__format(const struct hw_addr *a, char *out, size_t len)
{
	if ((a->family != AF_INET && a->family != AF_INET6) ||
	    !inet_ntop(a->family, a->a, out, (socklen_t)len)) {
		if (len)
			out[0] = 0;
		return -EINVAL;
	}
	return 0;
}

void hw_addr__ntop(int family, const void *bytes, char *out, size_t len)
{
	if (!inet_ntop(family == AF_INET6 ? AF_INET6 : AF_INET, bytes, out, (socklen_t)len) && len)
		out[0] = 0;
}

/* The length of text when it is an IPv4 address as inet_ntop writes it (four decimal
 * numbers up to 255, no leading zero, nothing else), 0 otherwise. */
static size_t v4_canonical(const char *text)
{
	const char *s = text;

	for (int part = 0; part < 4; part++) {
		unsigned int v = 0;
		int n = 0;

		if (part && *s++ != '.')
			return 0;
		while (*s >= '0' && *s <= '9' && n < 4) {
			v = v * 10 + (unsigned int)(*s++ - '0');
			n++;
		}
		if (!n || n > 3 || v > 255 || (n > 1 && s[-n] == '0'))
			return 0;
	}
	return *s ? 0 : (size_t)(s - text);
}

int hw_addr__canon(const char *text, char *out, size_t len)
{
	char buf[HW_ADDR_TEXT_LEN];
	struct hw_addr a;
	size_t n = text ? v4_canonical(text) : 0;

	/* the usual case, a connection's end as the agent writes it: already canonical */
	if (n && n < len) {
		memcpy(out, text, n + 1);
		return 0;
	}
	if (hw_addr__parse(&a, text) || hw_addr__format(&a, buf, sizeof(buf)) || strlen(buf) >= len)
		return -EINVAL;
	memcpy(out, buf, strlen(buf) + 1);
	return 0;
}

int hw_addr__eq(const struct hw_addr *x, const struct hw_addr *y)
{
	return x->family == y->family &&
	       !memcmp(x->a, y->a, x->family == AF_INET ? 4 : sizeof(x->a));
}

int hw_addr__local(const char *ip)
{
	return !ip[0] || !strncmp(ip, "127.", 4) || !strcmp(ip, "::1") || !strcmp(ip, "0.0.0.0") ||
	       !strcmp(ip, "::");
}
