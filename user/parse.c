/* Value parsers: see parse.h. Strict on purpose: a value the agent cannot read exactly is an
 * error the user sees at start-up, not a guess. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "parse.h"

struct unit {
	const char *name;
	unsigned long long mul;
};

static const struct unit duration_units[] = {
    {"ms", HW_NSEC_PER_MSEC},	   {"s", HW_NSEC_PER_SEC},	   {"m", 60 * HW_NSEC_PER_SEC},
    {"h", 3600 * HW_NSEC_PER_SEC}, {"d", 86400 * HW_NSEC_PER_SEC},
};

/* Reads the decimal digits at the start of s into *v. Returns how many there were; *ovf is set
 * when the value does not fit in 64 bits (the digits are still counted). */
static size_t scan_u64(const char *s, unsigned long long *v, bool *ovf)
{
	size_t i;

	*v = 0;
	*ovf = false;
	for (i = 0; s[i] >= '0' && s[i] <= '9'; i++) {
		unsigned int d = s[i] - '0';

		if (*v > (ULLONG_MAX - d) / 10)
			*ovf = true;
		else
			*v = *v * 10 + d;
	}
	return i;
}

int hw_parse_duration(const char *s, unsigned long long *ns)
{
	unsigned long long v, r;
	bool ovf;
	size_t n, i;

	if (!s || !ns)
		return -EINVAL;
	n = scan_u64(s, &v, &ovf);
	if (!n)
		return -EINVAL;
	for (i = 0; i < sizeof(duration_units) / sizeof(duration_units[0]); i++) {
		if (strcmp(s + n, duration_units[i].name))
			continue;
		if (ovf || __builtin_mul_overflow(v, duration_units[i].mul, &r))
			return -ERANGE;
		*ns = r;
		return 0;
	}
	return -EINVAL;
}

int hw_parse_size(const char *s, unsigned long long *bytes)
{
	static const char letters[] = "KMGT";
	unsigned long long v;
	const char *rest, *l;
	unsigned int shift = 0;
	bool ovf;
	size_t n;

	if (!s || !bytes)
		return -EINVAL;
	n = scan_u64(s, &v, &ovf);
	if (!n)
		return -EINVAL;
	rest = s + n;
	if (*rest && (l = strchr(letters, toupper((unsigned char)*rest)))) {
		shift = 10 * (unsigned int)(l - letters + 1);
		rest++;
		if (!strcmp(rest, "iB"))
			rest += 2;
	}
	if (!strcmp(rest, "B"))
		rest++;
	if (*rest)
		return -EINVAL;
	if (ovf || (v && v > ULLONG_MAX >> shift))
		return -ERANGE;
	*bytes = v << shift;
	return 0;
}

int hw_parse_u32(const char *s, unsigned int min, unsigned int max, unsigned int *out)
{
	unsigned long long v;
	bool ovf;
	size_t n;

	if (!s || !out)
		return -EINVAL;
	n = scan_u64(s, &v, &ovf);
	if (!n || s[n])
		return -EINVAL;
	if (ovf || v < min || v > max)
		return -ERANGE;
	*out = (unsigned int)v;
	return 0;
}

int hw_parse_bool(const char *s, int *out)
{
	static const char *const yes[] = {"true", "yes", "on", "1"};
	static const char *const no[] = {"false", "no", "off", "0"};
	size_t i;

	if (!s || !out)
		return -EINVAL;
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!strcasecmp(s, yes[i])) {
			*out = 1;
			return 0;
		}
		if (!strcasecmp(s, no[i])) {
			*out = 0;
			return 0;
		}
	}
	return -EINVAL;
}

/* Whether the first bits bits of a and b are equal. */
static bool prefix_equal(const unsigned char *a, const unsigned char *b, unsigned int bits)
{
	unsigned int full = bits / 8, rest = bits % 8;

	if (memcmp(a, b, full))
		return false;
	return !rest || !((a[full] ^ b[full]) & (unsigned char)(0xff << (8 - rest)));
}

static void mask_host_bits(unsigned char *addr, unsigned int bits, unsigned int len)
{
	for (unsigned int i = bits / 8; i < len; i++)
		addr[i] &= i == bits / 8 ? (unsigned char)(0xff << (8 - bits % 8)) : 0;
}

#define WHY(...)                                                                                   \
	do {                                                                                       \
		if (why && len)                                                                    \
			snprintf(why, len, __VA_ARGS__);                                           \
	} while (0)

int hw_parse_cidr_why(const char *s, struct hw_cidr *c, char *why, size_t len)
{
	char text[INET6_ADDRSTRLEN + 1], net[INET6_ADDRSTRLEN + 8];
	unsigned char written[16];
	struct hw_cidr out = {0};
	unsigned int max_prefix;
	unsigned long long v;
	const char *slash;
	size_t alen, n;
	bool ovf;

	if (!s || !c) {
		WHY("no value");
		return -EINVAL;
	}
	slash = strchr(s, '/');
	alen = slash ? (size_t)(slash - s) : strlen(s);
	if (!alen || alen >= sizeof(text))
		goto bad_addr;
	memcpy(text, s, alen);
	text[alen] = '\0';
	out.family = memchr(text, ':', alen) ? AF_INET6 : AF_INET;
	if (inet_pton(out.family, text, out.addr) != 1)
		goto bad_addr;
	max_prefix = out.family == AF_INET ? 32 : 128;
	out.prefix = max_prefix;
	if (slash) {
		n = scan_u64(slash + 1, &v, &ovf);
		if (!n || slash[1 + n]) {
			WHY("the prefix length after '/' must be a number");
			return -EINVAL;
		}
		if (ovf || v > max_prefix) {
			WHY("the prefix length must be 0..%u", max_prefix);
			return -ERANGE;
		}
		out.prefix = (unsigned char)v;
	}
	memcpy(written, out.addr, sizeof(written));
	mask_host_bits(out.addr, out.prefix, max_prefix / 8);
	if (memcmp(out.addr, written, sizeof(written))) {
		hw_format_cidr(&out, net, sizeof(net));
		WHY("host bits are set after the /%u prefix (the network is %s)", out.prefix, net);
		return -EINVAL;
	}
	*c = out;
	return 0;

bad_addr:
	WHY("not an IPv4 or IPv6 address");
	return -EINVAL;
}

int hw_parse_cidr(const char *s, struct hw_cidr *c)
{
	return hw_parse_cidr_why(s, c, NULL, 0);
}

static const unsigned char v4mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

int hw_cidr_contains(const struct hw_cidr *c, int family, const void *addr)
{
	const unsigned char *a = addr;
	unsigned char mapped[16];

	if (!c || !a)
		return 0;
	if (c->family == AF_INET && c->prefix <= 32) {
		if (family == AF_INET)
			return prefix_equal(c->addr, a, c->prefix);
		if (family == AF_INET6 && !memcmp(a, v4mapped_prefix, sizeof(v4mapped_prefix)))
			return prefix_equal(c->addr, a + 12, c->prefix);
	} else if (c->family == AF_INET6 && c->prefix <= 128) {
		if (family == AF_INET6)
			return prefix_equal(c->addr, a, c->prefix);
		if (family == AF_INET) {
			memcpy(mapped, v4mapped_prefix, sizeof(v4mapped_prefix));
			memcpy(mapped + 12, a, 4);
			return prefix_equal(c->addr, mapped, c->prefix);
		}
	}
	return 0;
}

int hw_cidrs_contain(const struct hw_cidr *v, size_t n, int family, const void *addr)
{
	for (size_t i = 0; v && i < n; i++)
		if (hw_cidr_contains(&v[i], family, addr))
			return 1;
	return 0;
}

/* A DNS name or an IPv4 address: letters, digits, '-', '_' and '.', at most 253 bytes. */
static bool valid_host_name(const char *s, size_t n)
{
	if (!n || n > 253)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("-_.", s[i]))
			return false;
	return true;
}

int hw_parse_host_port(const char *s, char *host, size_t hostlen, unsigned short *port)
{
	unsigned char a6[16];
	char text[INET6_ADDRSTRLEN + 1];
	const char *h, *colon;
	unsigned int p;
	size_t n;

	if (!s)
		return -EINVAL;
	if (*s == '[') {
		colon = strstr(s, "]:");
		h = s + 1;
		n = colon ? (size_t)(colon - h) : 0;
		if (!colon || !n || n >= sizeof(text))
			return -EINVAL;
		memcpy(text, h, n);
		text[n] = '\0';
		if (inet_pton(AF_INET6, text, a6) != 1)
			return -EINVAL;
		colon++;
	} else {
		colon = strchr(s, ':');
		h = s;
		n = colon ? (size_t)(colon - s) : 0;
		if (!colon || !valid_host_name(h, n))
			return -EINVAL;
	}
	if (hw_parse_u32(colon + 1, 1, 65535, &p))
		return -EINVAL;
	if (host) {
		if (n >= hostlen)
			return -ERANGE;
		memcpy(host, h, n);
		host[n] = '\0';
	}
	if (port)
		*port = (unsigned short)p;
	return 0;
}

int hw_parse_nats_subject(const char *s)
{
	bool token = false;

	if (!s || strlen(s) > 255)
		return -EINVAL;
	for (; *s; s++) {
		if (*s == '.' && token)
			token = false;
		else if (isalnum((unsigned char)*s) || *s == '_' || *s == '-')
			token = true;
		else
			return -EINVAL;
	}
	return token ? 0 : -EINVAL;
}

int hw_parse_nats_urls(const char *s)
{
	static const char *const schemes[] = {"nats://", "tls://", "ws://", "wss://"};
	struct hw_parse_list it;
	const char *item, *sep;
	size_t n, i;
	int ret;

	hw_parse_list_init(&it, s);
	if (!it.next)
		return -EINVAL;
	while ((ret = hw_parse_list_next(&it, &item, &n)) > 0) {
		for (i = 0; i < n; i++)
			if (!isgraph((unsigned char)item[i]))
				return -EINVAL;
		sep = memmem(item, n, "://", 3);
		for (i = 0; sep && i < sizeof(schemes) / sizeof(schemes[0]); i++)
			if (sep + 3 - item == (long)strlen(schemes[i]) && sep + 3 < item + n &&
			    !strncmp(item, schemes[i], strlen(schemes[i])))
				sep = NULL;
		if (sep)
			return -EINVAL;
	}
	return ret;
}

static const char *skip_space(const char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	return s;
}

void hw_parse_list_init(struct hw_parse_list *it, const char *s)
{
	it->next = s && *skip_space(s) ? s : NULL;
}

int hw_parse_list_next(struct hw_parse_list *it, const char **item, size_t *len)
{
	const char *s, *end, *comma;

	if (!it->next)
		return 0;
	s = skip_space(it->next);
	comma = strchr(s, ',');
	end = comma ? comma : s + strlen(s);
	it->next = comma ? comma + 1 : NULL;
	while (end > s && isspace((unsigned char)end[-1]))
		end--;
	if (end == s) {
		it->next = NULL;
		return -EINVAL;
	}
	*item = s;
	*len = (size_t)(end - s);
	return 1;
}

int hw_format_duration(unsigned long long ns, char *buf, size_t len)
{
	for (size_t i = sizeof(duration_units) / sizeof(duration_units[0]); i-- > 0;) {
		if (ns && !(ns % duration_units[i].mul))
			return snprintf(buf, len, "%llu%s", ns / duration_units[i].mul,
					duration_units[i].name);
	}
	if (!ns)
		return snprintf(buf, len, "0s");
	return snprintf(buf, len, "%lluns", ns);
}

int hw_format_size(unsigned long long bytes, char *buf, size_t len)
{
	static const char letters[] = "TGMK";

	for (unsigned int i = 0; i < 4; i++) {
		unsigned int shift = 10 * (4 - i);

		if (bytes && !(bytes & ((1ULL << shift) - 1)))
			return snprintf(buf, len, "%llu%c", bytes >> shift, letters[i]);
	}
	return snprintf(buf, len, "%llu", bytes);
}

int hw_format_cidr(const struct hw_cidr *c, char *buf, size_t len)
{
	char text[INET6_ADDRSTRLEN];

	if (!c || (c->family != AF_INET && c->family != AF_INET6) ||
	    !inet_ntop(c->family, c->addr, text, sizeof(text)))
		return snprintf(buf, len, "?");
	return snprintf(buf, len, "%s/%u", text, c->prefix);
}
