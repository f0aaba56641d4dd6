/* Bounded line reading (see lineread.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/lineread.h"

#define CHUNK (64u << 10)

int hw_lineread__init(struct hw_lineread *r, FILE *f, size_t max)
{
	memset(r, 0, sizeof(*r));
	r->f = f;
	r->max = max;
	r->cap = max + 1 + CHUNK;
	r->buf = malloc(r->cap);
	return r->buf ? 0 : -ENOMEM;
}

void hw_lineread__free(struct hw_lineread *r)
{
	free(r->buf);
	r->buf = NULL;
}

/* Reads more into the buffer (moving what is left to its start); returns bytes read, 0 at
 * the end or on an error (r->err). read(), not fread(): a pipe's lines are handed on as they
 * come. */
static size_t fill(struct hw_lineread *r)
{
	ssize_t got;

	if (r->start) {
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->end -= r->start;
		r->start = 0;
	}
	if (r->eof || r->end == r->cap)
		return 0;
	if (fileno(r->f) < 0) {
		/* a stream without a descriptor (fmemopen) */
		got = (ssize_t)fread(r->buf + r->end, 1, r->cap - r->end, r->f);
		if (!got && ferror(r->f))
			got = -1;
	} else {
		do
			got = read(fileno(r->f), r->buf + r->end, r->cap - r->end);
		while (got < 0 && errno == EINTR);
	}
	if (got <= 0) {
		r->eof = 1;
		r->err = got < 0 ? errno : 0;
		return 0;
	}
	r->end += (size_t)got;
	return (size_t)got;
}

int hw_lineread__next(struct hw_lineread *r, const char **line, size_t *len)
{
	size_t scanned = 0; /* bytes after start known to hold no newline */

	for (;;) {
		char *nl = memchr(r->buf + r->start + scanned, '\n', r->end - r->start - scanned);
		size_t n;

		if (nl) {
			n = (size_t)(nl - (r->buf + r->start));
			if (n > r->max) {
				r->start += n + 1;
				return -E2BIG;
			}
			*line = r->buf + r->start;
			*len = n;
			r->start += n + 1;
			return 1;
		}
		scanned = r->end - r->start;
		if (scanned > r->max) {
			/* too long: drop what is held, skip to the next newline */
			for (;;) {
				r->start = r->end;
				if (!fill(r)) {
					if (r->err)
						return -EIO;
					return -E2BIG; /* ended without a newline */
				}
				nl = memchr(r->buf, '\n', r->end);
				if (nl) {
					r->start = (size_t)(nl - r->buf) + 1;
					return -E2BIG;
				}
			}
		}
		if (!fill(r)) {
			if (r->err)
				return -EIO;
			if (r->end == r->start)
				return 0;
			/* the last line, without a newline */
			*line = r->buf + r->start;
			*len = r->end - r->start;
			r->start = r->end;
			return 1;
		}
	}
}
