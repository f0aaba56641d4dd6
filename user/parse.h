/* Parsers for the values of configuration keys and command-line flags: durations, sizes,
 * integers, booleans, CIDRs, host:port, NATS subjects and URLs, and comma-separated lists.
 *
 * Every parser accepts any NUL-terminated string (NULL too), never allocates, and returns 0,
 * -EINVAL (malformed) or -ERANGE (well formed but too large or outside the bounds). On error
 * the output is left untouched. No parser accepts leading or trailing whitespace or a sign.
 */
#ifndef HW_PARSE_H
#define HW_PARSE_H

#include <stddef.h>

#define HW_NSEC_PER_MSEC 1000000ULL
#define HW_NSEC_PER_SEC	 1000000000ULL

/* "500ms", "30s", "10m", "8h", "2d": a decimal integer and a unit, which is required. */
int hw_parse_duration(const char *s, unsigned long long *ns);

/* "100" bytes, or "64K", "512M", "1G", "2T" (powers of 1024, the letter in either case),
 * optionally followed by "B" or "iB": "1GiB", "512MB", "100B". */
int hw_parse_size(const char *s, unsigned long long *bytes);

/* A decimal integer in [min, max]; -ERANGE outside. */
int hw_parse_u32(const char *s, unsigned int min, unsigned int max, unsigned int *out);

/* true/false, yes/no, on/off, 1/0, in any case. */
int hw_parse_bool(const char *s, int *out);

struct hw_cidr {
	unsigned char addr[16]; /* network address; IPv4 in the first 4 bytes, the rest zero */
	unsigned char prefix;	/* 0..32 or 0..128 */
	unsigned char family;	/* AF_INET or AF_INET6 */
};

/* "10.0.0.0/8", "fc00::/7"; a bare address is a /32 or /128. Host bits set after the prefix
 * ("10.0.0.1/8") are an error: -EINVAL. A prefix longer than the address is -ERANGE. */
int hw_parse_cidr(const char *s, struct hw_cidr *c);

/* As hw_parse_cidr(), and on error writes why into why[len] as a phrase for a message, e.g.
 * "host bits are set after the /8 prefix (the network is 10.0.0.0/8)". why may be NULL. */
int hw_parse_cidr_why(const char *s, struct hw_cidr *c, char *why, size_t len);

/* Whether addr (4 bytes for AF_INET, 16 for AF_INET6) is inside c. An IPv4 address and its
 * IPv4-mapped IPv6 form (::ffff:a.b.c.d) are the same host and always give the same answer:
 * the mapped form matches IPv4 CIDRs, and an IPv4 address matches IPv6 CIDRs that contain its
 * mapped form (such as ::/0). Returns 1 or 0; 0 for an unknown family or NULL. */
int hw_cidr_contains(const struct hw_cidr *c, int family, const void *addr);

/* Whether any of the n CIDRs in v contains addr. */
int hw_cidrs_contain(const struct hw_cidr *v, size_t n, int family, const void *addr);

/* "host:port" with a DNS name or IPv4 address, or "[IPv6]:port"; port 1..65535. The host,
 * without brackets, is copied into host[hostlen] (-ERANGE when it does not fit). host and port
 * may be NULL to only validate. */
int hw_parse_host_port(const char *s, char *host, size_t hostlen, unsigned short *port);

/* Validators, 0 or -EINVAL. A NATS subject: tokens of A-Z a-z 0-9 _ - separated by single dots
 * ("corp.hopwatch"), at most 255 bytes. NATS server URLs: a comma-separated list of
 * "[scheme://]host:port" (schemes nats, tls, ws, wss), no spaces inside an item. */
int hw_parse_nats_subject(const char *s);
int hw_parse_nats_urls(const char *s);

/* Iterates over a comma-separated list. Items are trimmed of whitespace; an empty or
 * all-whitespace string is a list of no items; an empty item ("a,,b", "a,") is an error.
 *
 *	struct hw_parse_list it;
 *	hw_parse_list_init(&it, s);
 *	while ((ret = hw_parse_list_next(&it, &item, &len)) > 0)
 *		use item[0..len), which is not NUL-terminated
 *	ret is 0 at the end, -EINVAL on an empty item
 */
struct hw_parse_list {
	const char *next; /* NULL after the last item */
};
void hw_parse_list_init(struct hw_parse_list *it, const char *s);
int hw_parse_list_next(struct hw_parse_list *it, const char **item, size_t *len);

/* The inverse of the parsers, for messages: the largest unit that divides the value exactly
 * ("90s", "4M", "10.0.0.0/8"). snprintf semantics: returns the length it needed. */
int hw_format_duration(unsigned long long ns, char *buf, size_t len);
int hw_format_size(unsigned long long bytes, char *buf, size_t len);
int hw_format_cidr(const struct hw_cidr *c, char *buf, size_t len);

#endif
