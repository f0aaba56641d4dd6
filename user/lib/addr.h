/* Network addresses, parsed, formatted and compared in one place. An IPv4 address seen
 * through a dual-stack IPv6 socket is spelt ::ffff:198.18.0.2; it is the IPv4 host
 * 198.18.0.2, and everything here treats it as that: parsing unmaps it, so two spellings of
 * one host compare equal and format alike. */
#ifndef HW_LIB_ADDR_H
#define HW_LIB_ADDR_H

#include <stddef.h>

#define HW_ADDR_TEXT_LEN 48 /* the longest text form (INET6_ADDRSTRLEN) and a margin */

struct hw_addr {
	int family;	     /* AF_INET or AF_INET6 */
	unsigned char a[16]; /* network order; AF_INET uses the first 4 bytes */
};

/* The 16 bytes are an IPv4-mapped IPv6 address (::ffff:0:0/96). */
int hw_addr__v4_mapped(const unsigned char a[16]);

/* Text to address, an IPv4-mapped IPv6 address as the IPv4 one. Returns 0 or -EINVAL. */
int hw_addr__parse(struct hw_addr *a, const char *text);

/* The text form (inet_ntop's). Returns 0, or -EINVAL with out "". */
int hw_addr__format(const struct hw_addr *a, char *out, size_t len);

/* The 4 or 16 bytes at bytes in the text form of family (AF_INET6, anything else as AF_INET),
 * as the encoders write an address the kernel gave: "" when it cannot be formatted. */
void hw_addr__ntop(int family, const void *bytes, char *out, size_t len);

/* text in the one spelling hw_addr__format gives (IPv4-mapped unmapped, IPv6 compressed and
 * lowercase). Returns 0, or -EINVAL when text is not an address (out is then untouched). */
int hw_addr__canon(const char *text, char *out, size_t len);

/* Same host: equal after unmapping. */
int hw_addr__eq(const struct hw_addr *x, const struct hw_addr *y);

/* An address in canonical text that is no other host: none (""), loopback (127.0.0.0/8,
 * ::1) or unspecified (0.0.0.0, ::). */
int hw_addr__local(const char *canon);

#endif
