/* Bounded line reading: a line longer than the limit is never held in memory whole. Reading
 * stops at the limit, the rest of the line is skipped up to its newline, and the caller is
 * told (-E2BIG) so it can report FILE:LINE and go on with the next line. Used by replay; the
 * collector's --replay reader can use it too. */
#ifndef HW_LIB_LINEREAD_H
#define HW_LIB_LINEREAD_H

#include <stddef.h>
#include <stdio.h>

struct hw_lineread {
	FILE *f;
	size_t max; /* bytes of a line, its newline not counted */
	char *buf;
	size_t cap, start, end;
	int eof;
	int err; /* the errno of a failed read */
};

/* Reads lines of at most max bytes from f (not owned; read through its descriptor when it has
 * one, so f must not have been read with stdio before). Returns 0 or -ENOMEM. */
int hw_lineread__init(struct hw_lineread *r, FILE *f, size_t max);
void hw_lineread__free(struct hw_lineread *r);
/* The next line, without its newline, in line and len (valid until the next call). Returns 1,
 * 0 at the end, -E2BIG for a line over max bytes (skipped: the next call reads the line after
 * it), or -EIO when reading failed (r->err holds the errno). */
int hw_lineread__next(struct hw_lineread *r, const char **line, size_t *len);

#endif
