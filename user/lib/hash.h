/* Every hash hopwatch computes, in one place: FNV-1a 64 for table keys and short alert ids,
 * SipHash-2-4 (keyed) for entity ids, and Fibonacci hashing of integer keys (pids, socket
 * cookies). Pure functions: the same input gives the same value in the agent, replay and the
 * collector, so ids derived from them agree. */
#ifndef HW_LIB_HASH_H
#define HW_LIB_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>

/* The start value of every FNV-1a hash here. Not FNV's offset basis (14695981039346656037):
 * the first copy lost its last digit and every copy kept it. Alert ids and the order tables
 * visit entries in derive from it: it stays. */
#define HW_FNV0	     1469598103934665603ULL
#define HW_FNV_PRIME 1099511628211ULL

/* FNV-1a 64 of h followed by the n bytes at p. */
static inline uint64_t hw_fnv__bytes(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;

	while (n--)
		h = (h ^ *s++) * HW_FNV_PRIME;
	return h;
}

/* FNV-1a 64 of h followed by the characters of s (NULL is ""), without its NUL. */
static inline uint64_t hw_fnv__cstr(uint64_t h, const char *s)
{
	for (; s && *s; s++)
		h = (h ^ (unsigned char)*s) * HW_FNV_PRIME;
	return h;
}

/* One field of a composite key: the characters of s (NULL is "") and a 0xff separator after
 * them, so that ("ab", "c") and ("a", "bc") hash apart. */
static inline uint64_t hw_fnv__str(uint64_t h, const char *s)
{
	return (hw_fnv__cstr(h, s) ^ 0xff) * HW_FNV_PRIME;
}

/* The 8 bytes of v, least significant first (the same value on every host). */
static inline uint64_t hw_fnv__u64(uint64_t h, unsigned long long v)
{
	for (int i = 0; i < 8; i++)
		h = (h ^ ((v >> (8 * i)) & 0xff)) * HW_FNV_PRIME;
	return h;
}

/* Fibonacci hashing of integer keys: the low bits of the result spread well (a table takes
 * them with a mask). */
static inline uint64_t hw_hash__u32(uint32_t v)
{
	return (uint32_t)(v * 0x9E3779B1u);
}

static inline uint64_t hw_hash__u64(uint64_t v)
{
	return (v * 0x9E3779B97F4A7C15ULL) >> 20;
}

/* SipHash-2-4 of the len bytes at data under a 128-bit key. */
__u64 hw_siphash(const __u64 key[2], const void *data, size_t len);

#endif
