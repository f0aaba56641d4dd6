/* The pieces of JSON grammar the full reader (jsonread.c) and the replay's scanner (factscan.c)
 * share, so both accept exactly the same strings, escapes and numbers. */
#ifndef HW_DETECT_JSONREAD_INT_H
#define HW_DETECT_JSONREAD_INT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* The arena a line of len bytes is given. */
#define HW_JREAD_ARENA(len) (2 * (size_t)(len) + 64 * 1024)

/* How many of the bytes at s (up to end) a string copies as they are: all but '"', '\' and
 * the control characters. Sixteen at a time with SSE2, eight with word tests: the lowest byte
 * the classic "has a zero byte" / "has a byte below n" tests flag is exact (a borrow only runs
 * upward from a match). */
static inline size_t hw_jread__plain_run(const char *s, const char *end)
{
	const char *b = s;
#ifdef __SSE2__
	const __m128i q = _mm_set1_epi8('"'), bs = _mm_set1_epi8('\\'), c1f = _mm_set1_epi8(0x1f);

	while (end - s >= 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)s);
		/* v <= 0x1f unsigned: max(v, 0x1f) == 0x1f */
		__m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, q), _mm_cmpeq_epi8(v, bs)),
					 _mm_cmpeq_epi8(_mm_max_epu8(v, c1f), c1f));
		unsigned int mask = (unsigned int)_mm_movemask_epi8(m);

		if (mask)
			return (size_t)(s - b) + (size_t)__builtin_ctz(mask);
		s += 16;
	}
#endif
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	{
		const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;

		while (end - s >= 8) {
			uint64_t w, ctl, q8, bs8, m;

			memcpy(&w, s, sizeof(w));
			ctl = (w - ones * 0x20) & ~w;
			q8 = w ^ (ones * '"');
			q8 = (q8 - ones) & ~q8;
			bs8 = w ^ (ones * '\\');
			bs8 = (bs8 - ones) & ~bs8;
			m = (ctl | q8 | bs8) & high;
			if (m)
				return (size_t)(s - b) + ((size_t)__builtin_ctzll(m) >> 3);
			s += 8;
		}
	}
#endif
	while (s < end && (unsigned char)*s >= 0x20 && *s != '"' && *s != '\\')
		s++;
	return (size_t)(s - b);
}

static inline int hw_jread__hex4(const char *s, unsigned int *out)
{
	unsigned int v = 0;

	for (int i = 0; i < 4; i++) {
		char c = s[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned int)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned int)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned int)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

static inline size_t hw_jread__put_utf8(char *o, unsigned int cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* What is wrong with an escape (hw_jread__escape's negative results). */
enum {
	HW_JESC_BAD = -1,	/* "bad escape" */
	HW_JESC_BAD_U = -2,	/* "bad \\u escape" */
	HW_JESC_LONE_LOW = -3,	/* "lone low surrogate" */
	HW_JESC_LONE_HIGH = -4, /* "lone high surrogate" */
};

/* One escape at *ps (its backslash, with at least one byte after it before end), unescaped to
 * o (room for 4 bytes): the bytes written, or HW_JESC_*; *ps is moved past what was read, on an
 * error to where the error is named. */
static inline int hw_jread__escape(const char **ps, const char *end, char *o)
{
	const char *s = *ps;
	unsigned int cp, lo;
	char c = s[1];
	int n = 1;

	s += 2;
	switch (c) {
	case '"':
		*o = '"';
		break;
	case '\\':
		*o = '\\';
		break;
	case '/':
		*o = '/';
		break;
	case 'b':
		*o = '\b';
		break;
	case 'f':
		*o = '\f';
		break;
	case 'n':
		*o = '\n';
		break;
	case 'r':
		*o = '\r';
		break;
	case 't':
		*o = '\t';
		break;
	case 'u':
		if (end - s < 4 || hw_jread__hex4(s, &cp)) {
			*ps = s;
			return HW_JESC_BAD_U;
		}
		s += 4;
		if (cp >= 0xdc00 && cp <= 0xdfff) {
			*ps = s;
			return HW_JESC_LONE_LOW;
		}
		if (cp >= 0xd800 && cp <= 0xdbff) {
			if (end - s < 6 || s[0] != '\\' || s[1] != 'u' ||
			    hw_jread__hex4(s + 2, &lo) || lo < 0xdc00 || lo > 0xdfff) {
				*ps = s;
				return HW_JESC_LONE_HIGH;
			}
			s += 6;
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
		}
		n = (int)hw_jread__put_utf8(o, cp);
		break;
	default:
		*ps = s;
		return HW_JESC_BAD;
	}
	*ps = s;
	return n;
}

/* The end of the JSON number at s, or NULL with *bad where it goes wrong. */
static inline const char *hw_jread__number(const char *s, const char *end, const char **bad)
{
	if (s < end && *s == '-')
		s++;
	if (s >= end || *s < '0' || *s > '9')
		goto bad;
	if (*s == '0')
		s++;
	else
		while (s < end && *s >= '0' && *s <= '9')
			s++;
	if (s < end && *s == '.') {
		s++;
		if (s >= end || *s < '0' || *s > '9')
			goto bad;
		while (s < end && *s >= '0' && *s <= '9')
			s++;
	}
	if (s < end && (*s == 'e' || *s == 'E')) {
		s++;
		if (s < end && (*s == '+' || *s == '-'))
			s++;
		if (s >= end || *s < '0' || *s > '9')
			goto bad;
		while (s < end && *s >= '0' && *s <= '9')
			s++;
	}
	return s;
bad:
	*bad = s;
	return NULL;
}

#endif
