/* JSON writer for the ECS lines the agent prints: escaping, UTF-8 repair, integer formatting
 * and buffer growth. See json.h for the contract.
 *
 * Speed: strings are scanned eight bytes at a time while they are plain ASCII, valid UTF-8 is
 * validated in place, and each run of bytes that needs no change is copied with one memcpy.
 * The buffer grows by doubling, so appends are amortized O(1).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "output/json.h"

#define HW_JSON_MIN_CAP 256

/* Byte classes inside a string: what the scan stops at. */
enum {
	HW_JSON_PLAIN = 0, /* copied as is */
	HW_JSON_ESCAPE,	   /* '"', '\', 0x00-0x1f, 0x7f */
	HW_JSON_HIGH,	   /* 0x80-0xff: part of a UTF-8 sequence, checked by hw_json__utf8() */
};

/* clang-format off */
static const unsigned char hw_json__class[256] = {
	[0x00 ... 0x1f] = HW_JSON_ESCAPE,
	['"'] = HW_JSON_ESCAPE,
	['\\'] = HW_JSON_ESCAPE,
	[0x7f] = HW_JSON_ESCAPE,
	[0x80 ... 0xff] = HW_JSON_HIGH,
};
/* clang-format on */

static const char hw_json__hex[16] = "0123456789abcdef";

static const char hw_json__digits[200] = "00010203040506070809"
					 "10111213141516171819"
					 "20212223242526272829"
					 "30313233343536373839"
					 "40414243444546474849"
					 "50515253545556575859"
					 "60616263646566676869"
					 "70717273747576777879"
					 "80818283848586878889"
					 "90919293949596979899";

/* Records the first error and drops the document. */
static void hw_json__fail(struct hw_json *j, int err)
{
	if (j->error)
		return;
	j->error = err;
	j->len = 0;
	if (j->buf)
		j->buf[0] = '\0';
}

int hw_json__grow(struct hw_json *j, size_t n)
{
	size_t need, cap;
	char *buf;

	/* One byte more than asked for, always: the terminating NUL. */
	if (n > SIZE_MAX - 1 - j->len) {
		hw_json__fail(j, -ENOMEM);
		return -ENOMEM;
	}
	need = j->len + n + 1;
	cap = j->cap ? j->cap : HW_JSON_MIN_CAP;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	buf = realloc(j->buf, cap);
	if (!buf) {
		hw_json__fail(j, -ENOMEM);
		return -ENOMEM;
	}
	j->buf = buf;
	j->cap = cap;
	return 0;
}

/* True when none of the eight bytes at p needs attention: each is in 0x20..0x7e and none is '"'
 * or '\'. The classic "has a zero byte" and "has a byte less than n" word tests; they are exact
 * for whether any byte matches, which is all that is asked. */
static inline int hw_json__plain8(const unsigned char *p)
{
	const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
	uint64_t w, ctl, quote, bslash, top;

	memcpy(&w, p, sizeof(w));
	ctl = (w - ones * 0x20) & ~w;
	quote = w ^ (ones * '"');
	quote = (quote - ones) & ~quote;
	bslash = w ^ (ones * '\\');
	bslash = (bslash - ones) & ~bslash;
	top = ((w & ~high) + ones) | w; /* high bit set for bytes >= 0x7f */
	return !((ctl | quote | bslash | top) & high);
}

/* Length of the well-formed UTF-8 sequence starting at p (n bytes available, p[0] >= 0x80), or 0
 * when it is ill-formed; then *bad is the length of its maximal subpart (1 to 3 bytes), which is
 * replaced by a single U+FFFD. The ranges are those of Unicode Table 3-7. */
static inline size_t hw_json__utf8(const unsigned char *p, size_t n, size_t *bad)
{
	unsigned char c = p[0], lo = 0x80, hi = 0xbf;
	size_t len, i;

	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		if (c == 0xe0)
			lo = 0xa0; /* overlong below U+0800 */
		else if (c == 0xed)
			hi = 0x9f; /* surrogates U+D800-DFFF */
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		if (c == 0xf0)
			lo = 0x90; /* overlong below U+10000 */
		else if (c == 0xf4)
			hi = 0x8f; /* above U+10FFFF */
	} else {
		*bad = 1; /* continuation byte, 0xc0, 0xc1, 0xf5-0xff */
		return 0;
	}
	for (i = 1; i < len; i++) {
		if (i >= n || p[i] < lo || p[i] > hi) {
			*bad = i;
			return 0;
		}
		lo = 0x80;
		hi = 0xbf;
	}
	return len;
}

size_t hw_json__utf8_len(const unsigned char *p, size_t n)
{
	size_t bad;

	return hw_json__utf8(p, n, &bad);
}

/* Writes the escape for one byte of class HW_JSON_ESCAPE; room for 6 bytes is reserved. */
static inline void hw_json__put_escape(struct hw_json *j, unsigned char c)
{
	char *o = j->buf + j->len;

	o[0] = '\\';
	switch (c) {
	case '"':
	case '\\':
		o[1] = (char)c;
		break;
	case '\b':
		o[1] = 'b';
		break;
	case '\t':
		o[1] = 't';
		break;
	case '\n':
		o[1] = 'n';
		break;
	case '\f':
		o[1] = 'f';
		break;
	case '\r':
		o[1] = 'r';
		break;
	default:
		o[1] = 'u';
		o[2] = '0';
		o[3] = '0';
		o[4] = hw_json__hex[c >> 4];
		o[5] = hw_json__hex[c & 0xf];
		j->len += 6;
		return;
	}
	j->len += 2;
}

/* Writes s as a quoted JSON string (see json.h for what is escaped and replaced). */
void hw_json__put_string(struct hw_json *j, const unsigned char *s, size_t n)
{
	size_t i = 0, run = 0, len, bad = 1;

	/* The output is at least n + 2 bytes long: reserve that once, grow later for escapes. */
	if (n > SIZE_MAX - 2 || hw_json__reserve(j, n + 2))
		return;
	{
		/* the usual case, a string with nothing to change: copied while it is checked */
		unsigned char *o = (unsigned char *)j->buf + j->len + 1;

		while (n - i >= 8 && hw_json__plain8(s + i)) {
			memcpy(o + i, s + i, 8);
			i += 8;
		}
		while (i < n && hw_json__class[s[i]] == HW_JSON_PLAIN) {
			o[i] = s[i];
			i++;
		}
		if (i == n) {
			o[-1] = '"';
			o[n] = '"';
			j->len += n + 2;
			return;
		}
	}
	/* something to escape or check at s[i]: s[0..i) is plain, copied below with its run */
	hw_json__putc(j, '"');
	while (i < n) {
		while (n - i >= 8 && hw_json__plain8(s + i))
			i += 8;
		while (i < n && hw_json__class[s[i]] == HW_JSON_PLAIN)
			i++;
		if (i == n)
			break;
		if (hw_json__class[s[i]] == HW_JSON_HIGH) {
			len = hw_json__utf8(s + i, n - i, &bad);
			if (len) {
				i += len; /* well-formed: stays in the run */
				continue;
			}
		}
		/* Flush the run before s[i], then the escape or U+FFFD for s[i]. */
		if (hw_json__reserve(j, i - run + 6))
			return;
		hw_json__put(j, s + run, i - run);
		if (hw_json__class[s[i]] == HW_JSON_ESCAPE) {
			hw_json__put_escape(j, s[i]);
			i++;
		} else {
			hw_json__put(j, "\xef\xbf\xbd", 3);
			i += bad;
		}
		run = i;
	}
	if (hw_json__reserve(j, n - run + 1))
		return;
	hw_json__put(j, s + run, n - run);
	hw_json__putc(j, '"');
}

size_t hw_json__read_back(char *dst, size_t cap, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, o = 0, lim = cap - 1, len, bad = 1, k, m = n < lim ? n : lim;

	/* the usual case first: ASCII without NUL, eight bytes at a time */
	while (m - i >= 8) {
		const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
		uint64_t w;

		memcpy(&w, u + i, sizeof(w));
		if ((w | ((w - ones) & ~w)) & high)
			break; /* a byte >= 0x80 or a NUL */
		memcpy(dst + i, u + i, 8);
		i += 8;
	}
	o = i;
	while (i < n && o < lim) {
		if (u[i] < 0x80) {
			if (!u[i])
				break; /* read back as \u0000: the end of a C string */
			dst[o++] = (char)u[i++];
			continue;
		}
		len = hw_json__utf8(u + i, n - i, &bad);
		if (len) {
			for (k = 0; k < len && o < lim; k++)
				dst[o++] = (char)u[i + k];
			i += len;
		} else {
			for (k = 0; k < 3 && o < lim; k++)
				dst[o++] = "\xef\xbf\xbd"[k];
			i += bad;
		}
	}
	dst[o] = 0;
	return o;
}

/* The separator and key before a value, after checking that a key belongs (or not) where the
 * value goes. Returns 0 when the value may be written. */
static int hw_json__member(struct hw_json *j, const char *key)
{
	if (j->error)
		return -1;
	if (j->depth == 0) {
		/* One top-level value per line; hw_json__end_line() starts the next. */
		if (key || !j->first[0]) {
			hw_json__fail(j, -EINVAL);
			return -1;
		}
		j->first[0] = 0;
		return 0;
	}
	if (!key != !!(j->arrays & (1u << j->depth))) {
		hw_json__fail(j, -EINVAL);
		return -1;
	}
	if (!j->first[j->depth]) {
		if (hw_json__reserve(j, 1))
			return -1;
		hw_json__putc(j, ',');
	}
	j->first[j->depth] = 0;
	if (key) {
		hw_json__put_string(j, (const unsigned char *)key, strlen(key));
		if (j->error || hw_json__reserve(j, 1))
			return -1;
		hw_json__putc(j, ':');
	}
	return 0;
}

/* A value that needs no escaping: a literal, a number, a raw value. */
static void hw_json__value(struct hw_json *j, const char *key, const char *v, size_t n)
{
	if (hw_json__member(j, key) || hw_json__reserve(j, n))
		return;
	j->values++;
	hw_json__put(j, v, n);
	hw_json__terminate(j);
}

static void hw_json__begin(struct hw_json *j, const char *key, char open, int array)
{
	if (hw_json__member(j, key))
		return;
	if (j->depth >= HW_JSON_MAX_DEPTH) {
		hw_json__fail(j, -E2BIG);
		return;
	}
	if (hw_json__reserve(j, 1))
		return;
	hw_json__putc(j, open);
	j->depth++;
	j->first[j->depth] = 1;
	if (array)
		j->arrays |= 1u << j->depth;
	else
		j->arrays &= ~(1u << j->depth);
	hw_json__terminate(j);
}

static void hw_json__end(struct hw_json *j, char close, int array)
{
	if (j->error)
		return;
	if (j->depth == 0 || !array != !(j->arrays & (1u << j->depth))) {
		hw_json__fail(j, -EINVAL);
		return;
	}
	if (hw_json__reserve(j, 1))
		return;
	hw_json__putc(j, close);
	j->depth--;
	hw_json__terminate(j);
}

void hw_json__init(struct hw_json *j)
{
	memset(j, 0, sizeof(*j));
	j->first[0] = 1;
}

void hw_json__reset(struct hw_json *j)
{
	j->len = 0;
	j->values = 0;
	j->depth = 0;
	j->arrays = 0;
	j->error = 0;
	j->first[0] = 1;
	if (j->buf)
		j->buf[0] = '\0';
}

void hw_json__free(struct hw_json *j)
{
	free(j->buf);
	hw_json__init(j);
}

void hw_json__begin_object(struct hw_json *j, const char *key)
{
	hw_json__begin(j, key, '{', 0);
}

void hw_json__end_object(struct hw_json *j)
{
	hw_json__end(j, '}', 0);
}

void hw_json__begin_array(struct hw_json *j, const char *key)
{
	hw_json__begin(j, key, '[', 1);
}

void hw_json__end_array(struct hw_json *j)
{
	hw_json__end(j, ']', 1);
}

void hw_json__string_n(struct hw_json *j, const char *key, const char *s, size_t n)
{
	if (!s) {
		hw_json__null(j, key);
		return;
	}
	if (hw_json__member(j, key))
		return;
	j->values++;
	hw_json__put_string(j, (const unsigned char *)s, n);
	hw_json__terminate(j);
}

void hw_json__string(struct hw_json *j, const char *key, const char *s)
{
	hw_json__string_n(j, key, s, s ? strlen(s) : 0);
}

/* Decimal digits of v, written backwards two at a time ending at end; returns the first. */
char *hw_json__format_u64(char *end, unsigned long long v)
{
	char *p = end;

	while (v >= 100) {
		const char *d = hw_json__digits + (v % 100) * 2;

		v /= 100;
		*--p = d[1];
		*--p = d[0];
	}
	if (v >= 10) {
		*--p = hw_json__digits[v * 2 + 1];
		*--p = hw_json__digits[v * 2];
	} else {
		*--p = (char)('0' + v);
	}
	return p;
}

void hw_json__u64(struct hw_json *j, const char *key, unsigned long long v)
{
	char tmp[24], *end = tmp + sizeof(tmp), *p = hw_json__format_u64(end, v);

	hw_json__value(j, key, p, (size_t)(end - p));
}

void hw_json__i64(struct hw_json *j, const char *key, long long v)
{
	char tmp[24], *end = tmp + sizeof(tmp), *p;

	/* Negate in unsigned arithmetic: -LLONG_MIN does not fit in a long long. */
	p = hw_json__format_u64(end, v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v);
	if (v < 0)
		*--p = '-';
	hw_json__value(j, key, p, (size_t)(end - p));
}

void hw_json__bool(struct hw_json *j, const char *key, int v)
{
	if (v)
		hw_json__value(j, key, "true", 4);
	else
		hw_json__value(j, key, "false", 5);
}

void hw_json__null(struct hw_json *j, const char *key)
{
	hw_json__value(j, key, "null", 4);
}

void hw_json__raw(struct hw_json *j, const char *key, const char *raw_json)
{
	if (!raw_json || !*raw_json)
		hw_json__null(j, key);
	else
		hw_json__value(j, key, raw_json, strlen(raw_json));
}

void hw_json__end_line(struct hw_json *j)
{
	if (j->error)
		return;
	if (j->depth != 0) {
		hw_json__fail(j, -EINVAL);
		return;
	}
	if (j->first[0])
		return;
	if (hw_json__reserve(j, 1))
		return;
	hw_json__putc(j, '\n');
	j->first[0] = 1;
	hw_json__terminate(j);
}

void hw_json__rewind(struct hw_json *j, struct hw_json_mark m)
{
	if (j->error || m.len > j->len)
		return;
	j->len = m.len;
	j->values = m.values;
	j->depth = 0;
	j->arrays = 0;
	j->first[0] = 1;
	hw_json__terminate(j);
}

void hw_json__set_error(struct hw_json *j, int err)
{
	hw_json__fail(j, err);
}
