/* The spool's cursor file: two slots written in turn, in place (see spool_cursor.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/hash.h"
#include "stream/spool_cursor.h"

#define MAGIC "hwcursor "

/* Reads an unsigned decimal at *p (no sign, at least one digit, no overflow) and the one
 * space after it; 0 when there is none. */
static int num(const char **p, const char *end, unsigned long long *v)
{
	const char *s = *p;
	unsigned long long n = 0;

	if (s >= end || *s < '0' || *s > '9')
		return 0;
	for (; s < end && *s >= '0' && *s <= '9'; s++) {
		unsigned long long d = (unsigned long long)(*s - '0');

		if (n > (~0ULL - d) / 10)
			return 0;
		n = n * 10 + d;
	}
	if (s >= end || *s != ' ')
		return 0;
	*p = s + 1;
	*v = n;
	return 1;
}

int hw_spool_cursor__parse_slot(const char *p, size_t len, unsigned int max_unit,
				unsigned long long *seq, struct hw_cursor_at *at)
{
	const char *s = p, *end = p + len, *sum_at;
	unsigned long long n, v, sum = 0;
	struct hw_cursor_at a = {0};

	if (len < sizeof(MAGIC) - 1 || memcmp(p, MAGIC, sizeof(MAGIC) - 1))
		return 0;
	s += sizeof(MAGIC) - 1;
	if (!num(&s, end, seq) || !num(&s, end, &a.seg) || !num(&s, end, &a.off) ||
	    !num(&s, end, &n) || n > HW_SPOOL_HOLD_MAX)
		return 0;
	for (unsigned long long i = 0; i < n; i++) {
		if (!num(&s, end, &v))
			return 0;
		/* a size the spool cannot have ends the hold where it is */
		if (a.nhold == (int)i && v && v <= max_unit)
			a.hold[a.nhold++] = (unsigned int)v;
	}
	sum_at = s;
	for (int i = 0; i < 16; i++, s++) {
		int d;

		if (s >= end)
			return 0;
		d = *s >= '0' && *s <= '9' ? *s - '0' : *s >= 'a' && *s <= 'f' ? *s - 'a' + 10 : -1;
		if (d < 0)
			return 0;
		sum = sum << 4 | (unsigned long long)d;
	}
	if (s >= end || (*s != ' ' && *s != '\n'))
		return 0;
	if (sum != hw_fnv__bytes(HW_FNV0, p, (size_t)(sum_at - p)))
		return 0;
	*at = a;
	return 1;
}

/* The longest slot: the magic, three 20-digit numbers, the count, HW_SPOOL_HOLD_MAX sizes of
 * at most 4 digits, the sum, the newline. */
_Static_assert(sizeof(MAGIC) - 1 + 3 * 21 + 3 + HW_SPOOL_HOLD_MAX * 5 + 16 + 1 <= HW_CURSOR_SLOT,
	       "a cursor slot holds the longest cursor");
_Static_assert(HW_SPOOL_PEEK_MAX <= 9999, "a hold size has at most 4 digits");

void hw_spool_cursor__format_slot(char *out, unsigned long long seq, const struct hw_cursor_at *at)
{
	int nhold = 0, n;

	/* the hold as the reader takes it: it ends at a size the spool cannot have */
	while (nhold < at->nhold && nhold < HW_SPOOL_HOLD_MAX && at->hold[nhold] &&
	       at->hold[nhold] <= HW_SPOOL_PEEK_MAX)
		nhold++;
	n = snprintf(out, HW_CURSOR_SLOT, MAGIC "%llu %llu %llu %d ", seq, at->seg, at->off, nhold);
	for (int i = 0; i < nhold; i++)
		n += snprintf(out + n, HW_CURSOR_SLOT - (size_t)n, "%u ", at->hold[i]);
	n += snprintf(out + n, HW_CURSOR_SLOT - (size_t)n, "%016llx",
		      (unsigned long long)hw_fnv__bytes(HW_FNV0, out, (size_t)n));
	memset(out + n, ' ', HW_CURSOR_SLOT - 1 - (size_t)n);
	out[HW_CURSOR_SLOT - 1] = '\n';
}

/* The older form: "SEG OFF H1 .. HN" on one line. */
static int parse_legacy(const char *p, size_t len, unsigned int max_unit, struct hw_cursor_at *at)
{
	char line[HW_CURSOR_SLOT * 2 + 1];
	char *s, *e;
	unsigned long long v;

	if (!len || *p < '0' || *p > '9')
		return 0;
	memcpy(line, p, len);
	line[len] = 0;
	*at = (struct hw_cursor_at){0};
	at->seg = strtoull(line, &s, 10);
	if (*s != ' ')
		return 0;
	at->off = strtoull(s, &s, 10);
	if (*s != ' ' && *s != '\n' && *s)
		return 0;
	while (at->nhold < HW_SPOOL_HOLD_MAX && *s == ' ') {
		v = strtoull(s, &e, 10);
		if (e == s || !v || v > max_unit)
			break;
		at->hold[at->nhold++] = (unsigned int)v;
		s = e;
	}
	return 1;
}

int hw_spool_cursor__open(struct hw_spool_cursor *c, int dfd, unsigned int max_unit,
			  struct hw_cursor_at *at)
{
	char buf[HW_CURSOR_SLOT * 2];
	ssize_t n;
	int found = 0;

	*c = (struct hw_spool_cursor){.fd = -1};
	*at = (struct hw_cursor_at){0};
	/* a temporary file of the older way of writing, left by a crash */
	unlinkat(dfd, "cursor.tmp", 0);
	c->fd = openat(dfd, "cursor", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (c->fd < 0)
		return -errno;
	do
		n = pread(c->fd, buf, sizeof(buf), 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return 0;
	for (int i = 0; i < 2; i++) {
		size_t off = (size_t)i * HW_CURSOR_SLOT, len;
		unsigned long long seq;
		struct hw_cursor_at a;

		if ((size_t)n <= off)
			break;
		len = (size_t)n - off < HW_CURSOR_SLOT ? (size_t)n - off : HW_CURSOR_SLOT;
		if (hw_spool_cursor__parse_slot(buf + off, len, max_unit, &seq, &a) &&
		    (!found || seq > c->seq)) {
			*at = a;
			c->seq = seq;
			found = 1;
		}
	}
	if (!found && parse_legacy(buf, (size_t)n, max_unit, at)) {
		c->legacy = 1;
		found = 1;
	}
	return found;
}

int hw_spool_cursor__save(struct hw_spool_cursor *c, const struct hw_cursor_at *at)
{
	char slot[HW_CURSOR_SLOT];

	if (c->fd < 0)
		return -EBADF;
	/* over the older form: the second slot first, so that until both are written the file
	 * still reads as a cursor (the older one, then the new) */
	for (int k = c->legacy ? 2 : 1; k > 0; k--) {
		ssize_t w;

		c->seq++;
		if (c->legacy && k == 2 && !(c->seq & 1))
			c->seq++; /* slot 1 (odd) first */
		hw_spool_cursor__format_slot(slot, c->seq, at);
		do
			w = pwrite(c->fd, slot, sizeof(slot), (off_t)(c->seq & 1) * HW_CURSOR_SLOT);
		while (w < 0 && errno == EINTR);
		if (w != (ssize_t)sizeof(slot))
			return w < 0 ? -errno : -EIO;
	}
	c->legacy = 0;
	return 0;
}

void hw_spool_cursor__close(struct hw_spool_cursor *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}
