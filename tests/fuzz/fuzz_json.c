/* libFuzzer target for the JSON writer (user/output/json.c).
 *
 * Each input is used four ways: as one string value; split in two as a key and a value; as a
 * program of writer calls, checked against a model that predicts which calls are misuse; and as
 * integers compared with snprintf. Every document must parse with the strict validator below,
 * and each decoded string must equal the input repaired by a reference UTF-8 decoder written
 * differently from the writer's (by code-point range rather than by the table of lead bytes).
 * Any violation aborts.
 *
 * The validator is RFC 8259 made stricter to match what the writer emits: no whitespace, and in
 * strings no raw control character or 0x7f, only valid UTF-8, and only the escapes the writer
 * uses (\" \\ \b \t \n \f \r, and \u00xx in lowercase for the other control characters and
 * 0x7f).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output/json.h"

#define MAX_STRINGS 4 /* decoded strings kept for comparison; more are only validated */

struct bytes {
	unsigned char *p;
	size_t len, cap;
};

static void bytes_put(struct bytes *b, const void *p, size_t n)
{
	if (b->cap - b->len < n) {
		b->cap = (b->len + n) * 2 + 16;
		b->p = realloc(b->p, b->cap);
		if (!b->p)
			abort();
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

/* Can [lo, hi] contain a Unicode scalar value within [min, max]? Surrogates are not scalars. */
static int ref_possible(uint32_t lo, uint32_t hi, uint32_t min, uint32_t max)
{
	uint32_t a = lo > min ? lo : min, b = hi < max ? hi : max;

	if (a > b)
		return 0;
	return !(a >= 0xd800 && b <= 0xdfff);
}

/* Length of the well-formed sequence at p, or 0 with *bad = the longest prefix that could still
 * begin one (at least 1): a prefix is viable while the code points it can still become include
 * a scalar value that needs exactly this many bytes. */
static size_t ref_utf8(const unsigned char *p, size_t n, size_t *bad)
{
	static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
	static const uint32_t max[5] = {0, 0x7f, 0x7ff, 0xffff, 0x10ffff};
	size_t need, k;
	uint32_t cp;

	if (p[0] < 0x80)
		return 1;
	if ((p[0] & 0xe0) == 0xc0) {
		need = 2;
		cp = p[0] & 0x1f;
	} else if ((p[0] & 0xf0) == 0xe0) {
		need = 3;
		cp = p[0] & 0x0f;
	} else if ((p[0] & 0xf8) == 0xf0) {
		need = 4;
		cp = p[0] & 0x07;
	} else {
		*bad = 1;
		return 0;
	}
	for (k = 1;; k++) {
		unsigned int rem = 6 * (unsigned int)(need - k);
		uint32_t lo = cp << rem, hi = lo | ((1u << rem) - 1);

		if (!ref_possible(lo, hi, min[need], max[need])) {
			*bad = k > 1 ? k - 1 : 1;
			return 0;
		}
		if (k == need)
			return need;
		if (k >= n || (p[k] & 0xc0) != 0x80) {
			*bad = k;
			return 0;
		}
		cp = cp << 6 | (p[k] & 0x3f);
	}
}

/* What a string should decode to: the input with each maximal ill-formed subpart replaced. */
static void ref_repair(struct bytes *out, const unsigned char *p, size_t n)
{
	size_t i = 0, len, bad = 1;

	while (i < n) {
		len = ref_utf8(p + i, n - i, &bad);
		if (len) {
			bytes_put(out, p + i, len);
			i += len;
		} else {
			bytes_put(out, "\xef\xbf\xbd", 3);
			i += bad;
		}
	}
}

struct parser {
	const unsigned char *p, *end;
	int nstrings;
	struct bytes strings[MAX_STRINGS]; /* the first strings decoded, keys included */
};

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1; /* uppercase is valid JSON, but the writer uses lowercase */
}

static int short_escape(unsigned char c)
{
	return c == '\b' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

static int parse_value(struct parser *ps, int depth);

static int parse_string(struct parser *ps)
{
	struct bytes scratch = {0}, *out;
	size_t len, bad;

	out = ps->nstrings < MAX_STRINGS ? &ps->strings[ps->nstrings] : &scratch;
	ps->nstrings++;
	if (ps->p >= ps->end || *ps->p != '"')
		goto fail;
	ps->p++;
	for (;;) {
		unsigned char c, e;

		if (ps->p >= ps->end)
			goto fail;
		c = *ps->p;
		if (c == '"') {
			ps->p++;
			break;
		}
		if (c < 0x20 || c == 0x7f)
			goto fail;
		if (c >= 0x80) {
			len = ref_utf8(ps->p, (size_t)(ps->end - ps->p), &bad);
			if (!len)
				goto fail;
			bytes_put(out, ps->p, len);
			ps->p += len;
			continue;
		}
		if (c != '\\') {
			bytes_put(out, &c, 1);
			ps->p++;
			continue;
		}
		if (ps->end - ps->p < 2)
			goto fail;
		switch (ps->p[1]) {
		case '"':
		case '\\':
			e = ps->p[1];
			break;
		case 'b':
			e = '\b';
			break;
		case 't':
			e = '\t';
			break;
		case 'n':
			e = '\n';
			break;
		case 'f':
			e = '\f';
			break;
		case 'r':
			e = '\r';
			break;
		case 'u': {
			int h2, h3;

			if (ps->end - ps->p < 6 || ps->p[2] != '0' || ps->p[3] != '0')
				goto fail;
			h2 = hexval(ps->p[4]);
			h3 = hexval(ps->p[5]);
			if (h2 < 0 || h3 < 0)
				goto fail;
			e = (unsigned char)(h2 << 4 | h3);
			/* Only for what has no short escape. */
			if (!(e < 0x20 || e == 0x7f) || short_escape(e))
				goto fail;
			ps->p += 4;
			break;
		}
		default:
			goto fail;
		}
		bytes_put(out, &e, 1);
		ps->p += 2;
	}
	free(scratch.p);
	return 0;
fail:
	free(scratch.p);
	return -1;
}

static int parse_number(struct parser *ps)
{
	const unsigned char *p = ps->p, *end = ps->end;

	if (p < end && *p == '-')
		p++;
	if (p >= end || *p < '0' || *p > '9')
		return -1;
	if (*p == '0') {
		p++;
	} else {
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < end && *p == '.') {
		p++;
		if (p >= end || *p < '0' || *p > '9')
			return -1;
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		if (p >= end || *p < '0' || *p > '9')
			return -1;
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	}
	ps->p = p;
	return 0;
}

static int parse_literal(struct parser *ps, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, lit, n))
		return -1;
	ps->p += n;
	return 0;
}

/* open '{' or '[': members until close, separated by ','; object members are key ':' value. */
static int parse_container(struct parser *ps, int depth, int object)
{
	unsigned char close = object ? '}' : ']';

	ps->p++;
	if (ps->p < ps->end && *ps->p == close) {
		ps->p++;
		return 0;
	}
	for (;;) {
		if (object) {
			if (parse_string(ps))
				return -1;
			if (ps->p >= ps->end || *ps->p != ':')
				return -1;
			ps->p++;
		}
		if (parse_value(ps, depth + 1))
			return -1;
		if (ps->p >= ps->end)
			return -1;
		if (*ps->p == close) {
			ps->p++;
			return 0;
		}
		if (*ps->p != ',')
			return -1;
		ps->p++;
	}
}

static int parse_value(struct parser *ps, int depth)
{
	if (depth > HW_JSON_MAX_DEPTH + 8 || ps->p >= ps->end)
		return -1;
	switch (*ps->p) {
	case '{':
		return parse_container(ps, depth, 1);
	case '[':
		return parse_container(ps, depth, 0);
	case '"':
		return parse_string(ps);
	case 't':
		return parse_literal(ps, "true");
	case 'f':
		return parse_literal(ps, "false");
	case 'n':
		return parse_literal(ps, "null");
	default:
		return parse_number(ps);
	}
}

static void parser_free(struct parser *ps)
{
	for (int i = 0; i < MAX_STRINGS; i++)
		free(ps->strings[i].p);
}

/* The buffer is NUL-terminated at len and holds no other NUL (NULs in strings are escaped). */
static void check_buffer(const struct hw_json *j)
{
	const char *s = hw_json__cstr(j);

	if (strlen(s) != j->len)
		abort();
}

/* Checks that [p, p + n) is exactly one JSON value; fills ps->strings. */
static void check_document(struct parser *ps, const char *p, size_t n)
{
	memset(ps, 0, sizeof(*ps));
	ps->p = (const unsigned char *)p;
	ps->end = ps->p + n;
	if (parse_value(ps, 0) || ps->p != ps->end)
		abort();
}

static void check_decoded(const struct parser *ps, int i, const unsigned char *in, size_t n)
{
	struct bytes want = {0};

	ref_repair(&want, in, n);
	if (i >= ps->nstrings || ps->strings[i].len != want.len ||
	    (want.len && memcmp(ps->strings[i].p, want.p, want.len)))
		abort();
	free(want.p);
}

/* The whole input as one string value, and inside an array. */
static void fuzz_string(const uint8_t *data, size_t size)
{
	struct hw_json j;
	struct parser ps;

	hw_json__init(&j);
	hw_json__begin_object(&j, NULL);
	hw_json__string_n(&j, "v", (const char *)data, size);
	hw_json__begin_array(&j, "a");
	hw_json__string_n(&j, NULL, (const char *)data, size);
	hw_json__end_array(&j);
	hw_json__end_object(&j);
	if (j.error || j.depth)
		abort();
	check_buffer(&j);
	check_document(&ps, j.buf, j.len);
	if (ps.nstrings != 4)
		abort();
	check_decoded(&ps, 0, (const unsigned char *)"v", 1);
	check_decoded(&ps, 1, data, size);
	check_decoded(&ps, 3, data, size);
	parser_free(&ps);
	hw_json__free(&j);
}

/* The input split at a point its first byte picks: a NUL-terminated key and value. */
static void fuzz_key_value(const uint8_t *data, size_t size)
{
	struct hw_json j;
	struct parser ps;
	size_t split;
	char *key, *value;

	if (size < 1)
		return;
	split = 1 + data[0] % size;
	key = strndup((const char *)data + 1, split - 1);
	value = strndup((const char *)data + split, size - split);
	if (!key || !value)
		abort();

	hw_json__init(&j);
	hw_json__begin_object(&j, NULL);
	hw_json__string(&j, key, value);
	hw_json__u64(&j, key, split);
	hw_json__end_object(&j);
	hw_json__end_line(&j);
	if (j.error || j.len < 1 || j.buf[j.len - 1] != '\n')
		abort();
	check_buffer(&j);
	check_document(&ps, j.buf, j.len - 1);
	if (ps.nstrings != 3)
		abort();
	check_decoded(&ps, 0, (const unsigned char *)key, strlen(key));
	check_decoded(&ps, 1, (const unsigned char *)value, strlen(value));
	check_decoded(&ps, 2, (const unsigned char *)key, strlen(key));
	parser_free(&ps);
	hw_json__free(&j);
	free(key);
	free(value);
}

/* Integers from the input's first 8 bytes against snprintf. */
static void fuzz_numbers(const uint8_t *data, size_t size)
{
	unsigned long long u = 0;
	long long i;
	char want[64];
	struct hw_json j;

	memcpy(&u, data, size < sizeof(u) ? size : sizeof(u));
	memcpy(&i, &u, sizeof(i));
	snprintf(want, sizeof(want), "[%llu,%lld]", u, i);
	hw_json__init(&j);
	hw_json__begin_array(&j, NULL);
	hw_json__u64(&j, NULL, u);
	hw_json__i64(&j, NULL, i);
	hw_json__end_array(&j);
	if (j.error || strcmp(hw_json__cstr(&j), want))
		abort();
	hw_json__free(&j);
}

/* What the writer should accept, tracked independently of its own state. */
struct model {
	int depth;
	int top_written; /* a top-level value is on the current line */
	unsigned char array[HW_JSON_MAX_DEPTH + 2];
};

/* The error a value (or container start) with or without a key should cause here. */
static int model_member(const struct model *m, int has_key)
{
	if (m->depth == 0)
		return has_key || m->top_written ? -EINVAL : 0;
	return has_key == m->array[m->depth] ? -EINVAL : 0;
}

static const char *const raw_values[] = {
    "0", "-1.5e+3", "\"r\"", "{}", "[]", "{\"a\":[1,true,null]}", "[[],{}]", "",
};

static const char *const keys[] = {"k", "process.args", "a\"b\\c", "\x01\x7f\xff"};

/* Runs the input as a program of writer calls; see the opcodes in the switch. */
static void fuzz_program(const uint8_t *data, size_t size)
{
	struct hw_json j;
	struct model m = {0};
	struct parser ps;
	size_t pc = 0;

	hw_json__init(&j);
	while (pc < size) {
		uint8_t op = data[pc++];
		int wrong = (op & 0xe0) == 0xe0; /* one in eight: misplace the key on purpose */
		int want_key = m.depth > 0 && !m.array[m.depth];
		int has_key = want_key != wrong;
		const char *key = has_key ? keys[(op >> 4) & 3] : NULL;
		int err = 0, value = 0;
		size_t n;

		switch (op & 0x0f) {
		case 0:
		case 1:
		case 14:
		case 15: {
			int array = op & 1;

			err = model_member(&m, has_key);
			if (!err && m.depth >= HW_JSON_MAX_DEPTH)
				err = -E2BIG;
			if (array)
				hw_json__begin_array(&j, key);
			else
				hw_json__begin_object(&j, key);
			if (!err) {
				if (m.depth == 0)
					m.top_written = 1;
				m.depth++;
				m.array[m.depth] = (unsigned char)array;
			}
			break;
		}
		case 2:
		case 3: {
			int array = op & 1;

			if (m.depth == 0 || m.array[m.depth] != array)
				err = -EINVAL;
			if (array)
				hw_json__end_array(&j);
			else
				hw_json__end_object(&j);
			if (!err)
				m.depth--;
			break;
		}
		case 4:
		case 5:
			n = pc < size ? data[pc++] % 48 : 0;
			if (n > size - pc)
				n = size - pc;
			if ((op & 0x0f) == 4) {
				hw_json__string_n(&j, key, (const char *)data + pc, n);
			} else {
				char *s = strndup((const char *)data + pc, n);

				if (!s)
					abort();
				hw_json__string(&j, key, s);
				free(s);
			}
			pc += n;
			value = 1;
			break;
		case 6:
		case 7: {
			unsigned long long v = 0;

			n = size - pc < sizeof(v) ? size - pc : sizeof(v);
			memcpy(&v, data + pc, n);
			pc += n;
			if ((op & 0x0f) == 6)
				hw_json__u64(&j, key, v);
			else
				hw_json__i64(&j, key, (long long)v);
			value = 1;
			break;
		}
		case 8:
			hw_json__bool(&j, key, op & 0x10);
			value = 1;
			break;
		case 9:
			hw_json__null(&j, key);
			value = 1;
			break;
		case 10:
			hw_json__raw(&j, key, raw_values[(op >> 4) & 7]);
			value = 1;
			break;
		case 11:
			if (m.depth)
				err = -EINVAL;
			hw_json__end_line(&j);
			if (!err)
				m.top_written = 0;
			break;
		case 12:
			hw_json__reset(&j);
			memset(&m, 0, sizeof(m));
			break;
		case 13:
			hw_json__string(&j, key, NULL);
			value = 1;
			break;
		}
		if (value) {
			err = model_member(&m, has_key);
			if (!err && m.depth == 0)
				m.top_written = 1;
		}
		if (j.error != err)
			abort();
		check_buffer(&j);
		if (err) {
			if (j.len != 0)
				abort();
			hw_json__free(&j);
			return;
		}
	}

	/* Close what is open, end the line: every line must then be one JSON value. */
	while (m.depth) {
		if (m.array[m.depth])
			hw_json__end_array(&j);
		else
			hw_json__end_object(&j);
		m.depth--;
	}
	hw_json__end_line(&j);
	if (j.error || j.depth)
		abort();
	check_buffer(&j);
	for (const char *line = hw_json__cstr(&j), *end = line + j.len; line < end;) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));

		if (!nl || nl == line)
			abort();
		check_document(&ps, line, (size_t)(nl - line));
		parser_free(&ps);
		line = nl + 1;
	}
	hw_json__free(&j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_string(data, size);
	fuzz_key_value(data, size);
	fuzz_numbers(data, size);
	fuzz_program(data, size);
	return 0;
}
