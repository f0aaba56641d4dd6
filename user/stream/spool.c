/* The on-disk spool of a streaming sink (see spool.h). Every file is reached through the
 * directory's descriptor, opened without following links once the directory is checked
 * (spool_dir.c: the check and the lock). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stream/spool.h"
#include "stream/spool_cursor.h"

#define WBUF_MAX   (1u << 20)	     /* appended bytes kept: before a write, and to be peeked */
#define PEEK_MAX   HW_SPOOL_PEEK_MAX /* records per peek */
#define READ_SLACK (64u << 10)	     /* read past max_bytes: a record ending there is whole */

struct hw_spool {
	char dir[4096];
	int dfd;    /* the directory, checked */
	int lockfd; /* DIR/lock, write-locked while open */
	unsigned long long max_bytes, seg_size;
	unsigned long long first_seg, wseg, rseg;
	unsigned long long woff, roff; /* bytes of wseg on disk; read offset in rseg */
	unsigned long long total;      /* bytes in all segments, buffered included */
	unsigned long long pending, dropped;
	int wfd, rfd;
	unsigned long long rfd_seg; /* the segment rfd has open */
	char *wbuf;
	/* wbuf holds wseg's last wlen bytes (up to woff), of which the first wdone are written
	 * and wrecs records after them are not: written bytes stay there to be peeked without a
	 * read, until the buffer fills or the segment changes */
	size_t wlen, wdone, wrecs;
	unsigned long long lost; /* buffered records a failed write lost */
	char *rbuf;
	size_t rcap;
	unsigned long long reads; /* peeks' reads of the disk (the rest came from wbuf) */
	unsigned long long due_seg, due_off; /* where hw_spool__peek_due last said yes */
	/* what the last peek returned: where each record ends */
	size_t npeek;
	unsigned long long peek_seg[PEEK_MAX], peek_end[PEEK_MAX];
	int nhold; /* the hold (hw_spool__hold) */
	unsigned int hold[HW_SPOOL_HOLD_MAX];
	struct hw_spool_cursor cursor; /* DIR/cursor */
};

/* A segment's name in the directory. */
static void seg_path(const struct hw_spool *s, unsigned long long seg, char *out, size_t len)
{
	snprintf(out, len, "seg-%016llu", seg);
}

static int open_in(const struct hw_spool *s, const char *name, int flags)
{
	return openat(s->dfd, name, flags | O_CLOEXEC | O_NOFOLLOW, 0600);
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int save_cursor(struct hw_spool *s)
{
	struct hw_cursor_at at = {.seg = s->rseg, .off = s->roff, .nhold = s->nhold};

	memcpy(at.hold, s->hold, (size_t)s->nhold * sizeof(*s->hold));
	return hw_spool_cursor__save(&s->cursor, &at);
}

static int open_writer(struct hw_spool *s)
{
	char path[4200];
	struct stat st;
	int fd;

	seg_path(s, s->wseg, path, sizeof(path));
	fd = open_in(s, path, O_WRONLY | O_CREAT | O_APPEND);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		close(fd);
		return -errno;
	}
	if (s->wfd >= 0)
		close(s->wfd);
	s->wfd = fd;
	s->woff = (unsigned long long)st.st_size;
	return 0;
}

/* Walks the records of a segment from off; returns how many complete ones, and sets *end to
 * the end of the last complete one. */
static unsigned long long scan(int fd, unsigned long long off, unsigned long long size,
			       unsigned long long *end)
{
	unsigned long long n = 0;
	uint32_t len;

	while (off + 4 <= size && pread(fd, &len, 4, (off_t)off) == 4 &&
	       len <= HW_SPOOL_RECORD_MAX && off + 4 + len <= size) {
		off += 4 + len;
		n++;
	}
	*end = off;
	return n;
}

static int cmp_u64(const void *a, const void *b)
{
	unsigned long long x = *(const unsigned long long *)a, y = *(const unsigned long long *)b;

	return x < y ? -1 : x > y;
}

struct hw_spool *hw_spool__open(const char *dir, unsigned long long max_bytes, char *err,
				size_t errlen)
{
	struct hw_spool *s = calloc(1, sizeof(*s));
	unsigned long long *segs = NULL, end;
	size_t nseg = 0, cap = 0;
	struct dirent *de;
	char path[4200];
	DIR *d;
	int e;

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->wfd = s->rfd = s->dfd = s->lockfd = -1;
	s->cursor.fd = -1;
	snprintf(s->dir, sizeof(s->dir), "%s", dir);
	s->max_bytes = max_bytes;
	s->seg_size = max_bytes / 4 < HW_SPOOL_SEGMENT ? max_bytes / 4 : HW_SPOOL_SEGMENT;
	s->wbuf = malloc(WBUF_MAX + 8);
	if (!s->wbuf) {
		e = ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	s->dfd = hw_spool__open_dir(dir, err, errlen);
	if (s->dfd < 0) {
		e = -s->dfd;
		goto fail;
	}
	s->lockfd = hw_spool__lock(s->dfd, dir, err, errlen);
	if (s->lockfd < 0) {
		e = -s->lockfd;
		goto fail;
	}
	{
		int fd = openat(s->dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		d = fd >= 0 ? fdopendir(fd) : NULL;
		if (!d) {
			e = errno;
			if (fd >= 0)
				close(fd);
			snprintf(err, errlen, "cannot read spool directory '%s': %s", dir,
				 strerror(e));
			goto fail;
		}
	}
	while ((de = readdir(d))) {
		char *x;
		unsigned long long n;

		if (strncmp(de->d_name, "seg-", 4))
			continue;
		n = strtoull(de->d_name + 4, &x, 10);
		if (*x || !n)
			continue;
		if (nseg == cap) {
			unsigned long long *v = realloc(segs, (cap ? cap * 2 : 16) * sizeof(*v));

			if (!v)
				break;
			segs = v;
			cap = cap ? cap * 2 : 16;
		}
		segs[nseg++] = n;
	}
	closedir(d);
	if (nseg) {
		qsort(segs, nseg, sizeof(*segs), cmp_u64);
		s->first_seg = segs[0];
		s->wseg = segs[nseg - 1];
	} else {
		s->first_seg = s->wseg = 1;
	}
	free(segs);
	s->rseg = s->first_seg;
	{
		struct hw_cursor_at at;
		int found = hw_spool_cursor__open(&s->cursor, s->dfd, PEEK_MAX, &at);

		if (found < 0) {
			e = -found;
			snprintf(err, errlen, "cannot open spool '%s': cursor: %s", dir,
				 strerror(e));
			goto fail;
		}
		if (found && at.seg >= s->first_seg && at.seg <= s->wseg) {
			s->rseg = at.seg;
			s->roff = at.off;
			/* a hold: the sizes of the batches in flight when the last run ended */
			s->nhold = at.nhold;
			memcpy(s->hold, at.hold, (size_t)at.nhold * sizeof(*at.hold));
		}
	}
	e = -open_writer(s);
	if (e) {
		snprintf(err, errlen, "cannot open spool '%s': %s", dir, strerror(e));
		goto fail;
	}
	/* a record torn by a crash while appending: cut it off */
	{
		int fd;

		seg_path(s, s->wseg, path, sizeof(path));
		fd = open_in(s, path, O_RDONLY);
		if (fd >= 0) {
			scan(fd, 0, s->woff, &end);
			close(fd);
			if (end < s->woff && !ftruncate(s->wfd, (off_t)end))
				s->woff = end;
		}
	}
	/* count what is pending, and the bytes held */
	for (unsigned long long seg = s->first_seg; seg <= s->wseg; seg++) {
		struct stat st;
		int fd;

		seg_path(s, seg, path, sizeof(path));
		fd = open_in(s, path, O_RDONLY);
		if (fd < 0)
			continue;
		if (!fstat(fd, &st)) {
			s->total += (unsigned long long)st.st_size;
			if (seg >= s->rseg)
				s->pending += scan(fd, seg == s->rseg ? s->roff : 0,
						   (unsigned long long)st.st_size, &end);
		}
		close(fd);
	}
	return s;
fail:
	hw_spool__close(s);
	errno = e;
	return NULL;
}

/* Writes the buffered records. On a failure (a full disk) they are lost, counted, and the
 * segment is cut back to its last whole record, so that later records never follow a torn
 * one. */
int hw_spool__flush(struct hw_spool *s)
{
	size_t n = s->wlen - s->wdone;
	int err;

	if (!n)
		return 0;
	err = write_all(s->wfd, s->wbuf + s->wdone, n);
	if (err) {
		unsigned long long base = s->woff - n;

		if (s->wfd >= 0 && ftruncate(s->wfd, (off_t)base)) {
			/* the torn record stays; the reader stops at it until a new segment */
		}
		s->woff = base;
		s->total -= n < s->total ? n : s->total;
		s->pending -= s->wrecs < s->pending ? s->wrecs : s->pending;
		s->lost += s->wrecs;
		s->wlen = s->wdone;
	}
	s->wdone = s->wlen;
	s->wrecs = 0;
	return err;
}

/* Where the records not peeked yet begin in wseg: after those delivered and those peeked
 * (in flight), and not before what the buffer holds. */
static unsigned long long unpeeked_from(const struct hw_spool *s)
{
	unsigned long long from = s->woff - s->wlen;

	if (s->rseg == s->wseg && s->roff > from)
		from = s->roff;
	if (s->npeek && s->peek_seg[s->npeek - 1] == s->wseg && s->peek_end[s->npeek - 1] > from)
		from = s->peek_end[s->npeek - 1];
	return from < s->woff ? from : s->woff;
}

int hw_spool__peek_due(struct hw_spool *s)
{
	if (s->woff - unpeeked_from(s) < WBUF_MAX / 2)
		return 0;
	/* a sink that takes nothing (away, or its lines in flight at their bound) is not asked
	 * again at every line: once more per quarter of the buffer */
	if (s->due_seg == s->wseg && s->woff < s->due_off + WBUF_MAX / 4)
		return 0;
	s->due_seg = s->wseg;
	s->due_off = s->woff;
	return 1;
}

/* The buffer full: its records written, and of them only those not peeked yet kept (at
 * most half the buffer, and only when need bytes fit after them), moved to its start. What a
 * sink peeked is behind it (in flight or delivered): peeked again, it is read. */
static int make_room(struct hw_spool *s, size_t need)
{
	size_t keep;
	int err = hw_spool__flush(s);

	if (err)
		return err;
	keep = (size_t)(s->woff - unpeeked_from(s));
	if (keep > WBUF_MAX / 2 || keep + need > WBUF_MAX)
		keep = 0;
	memmove(s->wbuf, s->wbuf + (s->wlen - keep), keep);
	s->wlen = s->wdone = keep;
	return 0;
}

/* Writes the buffered records and empties the buffer (what follows starts it afresh). */
static int flush_all(struct hw_spool *s)
{
	int err = hw_spool__flush(s);

	s->wlen = s->wdone = 0;
	return err;
}

void hw_spool__close(struct hw_spool *s)
{
	if (!s)
		return;
	if (s->wfd >= 0) {
		hw_spool__flush(s);
		close(s->wfd);
	}
	if (s->rfd >= 0)
		close(s->rfd);
	hw_spool_cursor__close(&s->cursor);
	if (s->lockfd >= 0)
		close(s->lockfd); /* releases the lock */
	if (s->dfd >= 0)
		close(s->dfd);
	free(s->wbuf);
	free(s->rbuf);
	free(s);
}

/* Deletes the oldest segments while the spool, with incoming more bytes, is over its size. */
static void enforce_max(struct hw_spool *s, unsigned long long incoming)
{
	while (s->total + incoming > s->max_bytes && s->first_seg < s->wseg) {
		char path[4200];
		struct stat st;
		int fd;

		seg_path(s, s->first_seg, path, sizeof(path));
		fd = open_in(s, path, O_RDONLY);
		if (fd >= 0) {
			if (!fstat(fd, &st)) {
				s->total -= (unsigned long long)st.st_size < s->total
						? (unsigned long long)st.st_size
						: s->total;
				if (s->rseg == s->first_seg) {
					unsigned long long end,
					    n = scan(fd, s->roff, (unsigned long long)st.st_size,
						     &end);

					s->dropped += n;
					s->pending -= n < s->pending ? n : s->pending;
				}
			}
			close(fd);
		}
		unlinkat(s->dfd, path, 0);
		if (s->rseg == s->first_seg) {
			s->rseg++;
			s->roff = 0;
			s->npeek = 0;
			s->nhold = 0; /* its first records are gone */
			save_cursor(s);
		}
		s->first_seg++;
	}
}

int hw_spool__append(struct hw_spool *s, const void *data, size_t len)
{
	uint32_t l = (uint32_t)len;
	int err;

	if (len > HW_SPOOL_RECORD_MAX)
		return -E2BIG;
	if ((s->woff + 4 + len > s->seg_size || s->total + 4 + len > s->max_bytes) && s->woff > 0) {
		/* a new segment; the oldest go when the spool would grow past its size */
		err = flush_all(s);
		if (err)
			return err;
		s->wseg++;
		err = open_writer(s);
		if (err) {
			s->wseg--; /* still writing the old one */
			return err;
		}
	}
	enforce_max(s, 4 + len);
	if (s->wlen + 4 + len > WBUF_MAX) {
		err = make_room(s, 4 + len);
		if (err)
			return err;
	}
	if (4 + len > WBUF_MAX) {
		err = write_all(s->wfd, (const char *)&l, 4);
		if (!err)
			err = write_all(s->wfd, data, len);
		if (err) {
			if (s->wfd >= 0 && ftruncate(s->wfd, (off_t)s->woff)) {
				/* as in hw_spool__flush */
			}
			return err;
		}
	} else {
		memcpy(s->wbuf + s->wlen, &l, 4);
		memcpy(s->wbuf + s->wlen + 4, data, len);
		s->wlen += 4 + len;
		s->wrecs++;
	}
	s->woff += 4 + len;
	s->total += 4 + len;
	s->pending++;
	return 0;
}

static int reader_at(struct hw_spool *s, unsigned long long seg)
{
	char path[4200];

	if (s->rfd >= 0 && s->rfd_seg == seg)
		return 0;
	if (s->rfd >= 0)
		close(s->rfd);
	seg_path(s, seg, path, sizeof(path));
	s->rfd = open_in(s, path, O_RDONLY);
	if (s->rfd < 0)
		return -errno;
	s->rfd_seg = seg;
	return 0;
}

/* Records from (seg, off) on into the peek window after its first n0: up to max of them. */
static int peek_at(struct hw_spool *s, unsigned long long seg, unsigned long long off, size_t n0,
		   size_t max, size_t max_bytes, const char **rec, size_t *len)
{
	/* wbuf holds wseg's bytes from wbase to woff: a sink that keeps up peeks what was
	 * appended since its last peek, which is there (written or not) */
	unsigned long long used = 0, wbase, need = 0;
	size_t n = 0;
	int err;

	s->npeek = n0;
	if (s->pending <= n0)
		return 0;
	err = hw_spool__flush(s);
	if (err)
		return err;
	wbase = s->woff - s->wlen;
	if (max > PEEK_MAX - n0)
		max = PEEK_MAX - n0;
	/* whole runs of records in one read each; offsets into rbuf first, pointers once it
	 * stops moving */
	while (n < max && used < max_bytes) {
		unsigned long long size, want, pos = 0;
		int in_wbuf = seg == s->wseg && off >= wbase && off < s->woff;
		struct stat st;
		ssize_t got;

		if (in_wbuf)
			size = s->woff;
		else if (reader_at(s, seg) || fstat(s->rfd, &st))
			break;
		else
			size = (unsigned long long)st.st_size;
		if (off + 4 > size) {
			if (seg >= s->wseg)
				break;
			seg++; /* the rest is in the next segment */
			off = 0;
			continue;
		}
		/* up to max_bytes, and the first record whole, however long (read again when it
		 * was longer than the first read) */
		want = size - off;
		if (want > max_bytes - used + READ_SLACK && want > need)
			want = max_bytes - used + READ_SLACK > need ? max_bytes - used + READ_SLACK
								    : need;
		if (used + want + 1 > s->rcap) {
			/* doubled, not to the byte, up to what a peek of max_bytes may read: lines
			 * that pile up a little more each round must not have the buffer copied
			 * each round, and the largest buffer is what it was */
			size_t cap = s->rcap * 2, top = max_bytes + READ_SLACK + 1;

			if (cap > top)
				cap = top;
			if (cap < (size_t)(used + want + 1))
				cap = (size_t)(used + want + 1);
			char *b = realloc(s->rbuf, cap);

			if (!b)
				break;
			s->rbuf = b;
			s->rcap = cap;
		}
		if (in_wbuf) {
			memcpy(s->rbuf + used, s->wbuf + (off - wbase), (size_t)want);
			got = (ssize_t)want;
		} else {
			got = pread(s->rfd, s->rbuf + used, (size_t)want, (off_t)off);
			s->reads++;
		}
		if (got <= 0)
			break;
		while (n < max && pos + 4 <= (unsigned long long)got) {
			uint32_t l;

			memcpy(&l, s->rbuf + used + pos, 4);
			if (l > HW_SPOOL_RECORD_MAX || pos + 4 + l > (unsigned long long)got)
				break;
			if (n && used + pos + l > max_bytes)
				break;
			/* records are packed: move the payload over its length word */
			rec[n] = (const char *)(uintptr_t)(used + pos + 4);
			len[n] = l;
			pos += 4 + l;
			s->peek_seg[n0 + n] = seg;
			s->peek_end[n0 + n] = off + pos;
			n++;
		}
		if (!pos) {
			uint32_t l;

			if (!n && !need && got >= 4) {
				memcpy(&l, s->rbuf + used, 4);
				if (l <= HW_SPOOL_RECORD_MAX && off + 4 + l <= size) {
					need = 4 + (unsigned long long)l;
					continue; /* the first record, longer than that read */
				}
			}
			break; /* a torn or oversized record: wait for more */
		}
		used += pos;
		off += pos;
		if (n >= max || used >= max_bytes)
			break;
	}
	for (size_t i = 0; i < n; i++)
		rec[i] = s->rbuf + (uintptr_t)rec[i];
	s->npeek = n0 + n;
	return (int)n;
}

int hw_spool__peek(struct hw_spool *s, size_t max, size_t max_bytes, const char **rec, size_t *len)
{
	return peek_at(s, s->rseg, s->roff, 0, max, max_bytes, rec, len);
}

int hw_spool__peek_more(struct hw_spool *s, size_t max, size_t max_bytes, const char **rec,
			size_t *len)
{
	if (!s->npeek)
		return hw_spool__peek(s, max, max_bytes, rec, len);
	return peek_at(s, s->peek_seg[s->npeek - 1], s->peek_end[s->npeek - 1], s->npeek, max,
		       max_bytes, rec, len);
}

void hw_spool__unpeek(struct hw_spool *s, size_t keep)
{
	if (keep < s->npeek)
		s->npeek = keep;
}

int hw_spool__consume(struct hw_spool *s, size_t n)
{
	if (!n || n > s->npeek)
		return n ? -EINVAL : 0;
	s->rseg = s->peek_seg[n - 1];
	s->roff = s->peek_end[n - 1];
	s->pending -= n < s->pending ? n : s->pending;
	/* the earlier peeked records are gone: what is left of the batch shifts down */
	memmove(s->peek_seg, s->peek_seg + n, (s->npeek - n) * sizeof(s->peek_seg[0]));
	memmove(s->peek_end, s->peek_end + n, (s->npeek - n) * sizeof(s->peek_end[0]));
	s->npeek -= n;
	s->nhold = 0;
	/* fully delivered segments are deleted */
	while (s->first_seg < s->rseg) {
		char path[4200];
		struct stat st;

		seg_path(s, s->first_seg, path, sizeof(path));
		if (!fstatat(s->dfd, path, &st, AT_SYMLINK_NOFOLLOW))
			s->total -= (unsigned long long)st.st_size < s->total
					? (unsigned long long)st.st_size
					: s->total;
		unlinkat(s->dfd, path, 0);
		s->first_seg++;
	}
	return save_cursor(s);
}

int hw_spool__hold(struct hw_spool *s, const unsigned int *sizes, int n)
{
	if (n < 0 || n > HW_SPOOL_HOLD_MAX)
		return -EINVAL;
	for (int i = 0; i < n; i++)
		if (!sizes[i] || sizes[i] > PEEK_MAX)
			return -EINVAL;
	if (n == s->nhold && !memcmp(s->hold, sizes, (size_t)n * sizeof(*sizes)))
		return 0;
	memcpy(s->hold, sizes, (size_t)n * sizeof(*sizes));
	s->nhold = n;
	return save_cursor(s);
}

int hw_spool__held(const struct hw_spool *s, unsigned int *sizes, int max)
{
	int n = s->nhold < max ? s->nhold : max;

	memcpy(sizes, s->hold, (size_t)n * sizeof(*sizes));
	return n;
}

unsigned long long hw_spool__pending(const struct hw_spool *s)
{
	return s->pending;
}

unsigned long long hw_spool__dropped(const struct hw_spool *s)
{
	return s->dropped;
}

unsigned long long hw_spool__reads(const struct hw_spool *s)
{
	return s->reads;
}

unsigned long long hw_spool__lost(const struct hw_spool *s)
{
	return s->lost;
}
