/* The JetStream sink's batches on the wire (see batch.h): message ids, gzip and zstd, and splitting
 * a received batch with every check made before a line of it is used. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>
#include <zstd.h>

#include "stream/batch.h"

int hw_batch__parse_id(const char *id, size_t len, struct hw_batch_id *out)
{
	const char *d2 = NULL, *d1 = NULL;
	unsigned long long seq = 0;

	for (size_t i = len; i-- > 0;) {
		if (id[i] != '.')
			continue;
		if (!d2)
			d2 = id + i;
		else {
			d1 = id + i;
			break;
		}
	}
	if (!d1 || d1 == id || d2 == d1 + 1 || d2 + 1 == id + len || id + len - d2 > 20)
		return -EINVAL;
	for (const char *c = d2 + 1; c < id + len; c++) {
		if (*c < '0' || *c > '9')
			return -EINVAL;
		seq = seq * 10 + (unsigned long long)(*c - '0');
	}
	out->host = id;
	out->host_len = (size_t)(d1 - id);
	out->run = d1 + 1;
	out->run_len = (size_t)(d2 - d1 - 1);
	out->seq = seq;
	return 0;
}

int hw_batch__codec(const char *name)
{
	if (!name || !strcmp(name, "none"))
		return HW_BATCH_NONE;
	if (!strcmp(name, "gzip"))
		return HW_BATCH_GZIP;
	if (!strcmp(name, "zstd"))
		return HW_BATCH_ZSTD;
	return -EINVAL;
}

const char *hw_batch__codec_name(enum hw_batch_codec c)
{
	return c == HW_BATCH_GZIP ? "gzip" : c == HW_BATCH_ZSTD ? "zstd" : "none";
}

int hw_buf__reserve(struct hw_buf *b, size_t more)
{
	size_t cap;
	char *p;

	if (b->len + more <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 4096;
	while (cap < b->len + more)
		cap *= 2;
	p = realloc(b->p, cap);
	if (!p)
		return -ENOMEM;
	b->p = p;
	b->cap = cap;
	return 0;
}

void hw_buf__free(struct hw_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static int gzip(void **state, const void *in, size_t len, struct hw_buf *out)
{
	z_stream *z = *state;
	int r;

	if (!z) {
		z = calloc(1, sizeof(*z));
		if (!z)
			return -ENOMEM;
		/* 15 + 16: a gzip wrapper; level 1: JSON lines shrink well even at the fastest */
		if (deflateInit2(z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
			free(z);
			return -ENOMEM;
		}
		*state = z;
	} else if (deflateReset(z) != Z_OK) {
		return -ENOMEM;
	}
	out->len = 0;
	if (hw_buf__reserve(out, deflateBound(z, (uLong)len)))
		return -ENOMEM;
	z->next_in = (Bytef *)(uintptr_t)in;
	z->avail_in = (uInt)len;
	z->next_out = (Bytef *)out->p;
	z->avail_out = (uInt)out->cap;
	r = deflate(z, Z_FINISH);
	if (r != Z_STREAM_END)
		return -ENOMEM; /* deflateBound() is enough: cannot happen */
	out->len = out->cap - z->avail_out;
	return 0;
}

static int zstd(void **state, const void *in, size_t len, struct hw_buf *out)
{
	size_t r;

	if (!*state && !(*state = ZSTD_createCCtx()))
		return -ENOMEM;
	out->len = 0;
	if (hw_buf__reserve(out, ZSTD_compressBound(len)))
		return -ENOMEM;
	r = ZSTD_compressCCtx(*state, out->p, out->cap, in, len, 1);
	if (ZSTD_isError(r))
		return -ENOMEM;
	out->len = r;
	return 0;
}

int hw_batch__compress(struct hw_batch_packer *p, const void *in, size_t len, struct hw_buf *out)
{
	return p->codec == HW_BATCH_ZSTD ? zstd(&p->state, in, len, out)
					 : gzip(&p->state, in, len, out);
}

void hw_batch__packer_free(struct hw_batch_packer *p)
{
	if (!p->state)
		return;
	if (p->codec == HW_BATCH_ZSTD) {
		ZSTD_freeCCtx(p->state);
	} else {
		deflateEnd(p->state);
		free(p->state);
	}
	p->state = NULL;
}

/* The zstd body decompressed into r->plain, as gunzip() below. The frame's own size field is
 * not trusted: the output is bounded as it grows. */
static int unzstd(struct hw_batch_reader *r, const void *data, size_t len, char *err, size_t errlen)
{
	ZSTD_inBuffer in = {data, len, 0};
	size_t ret = 1;

	if (!r->zstd && !(r->zstd = ZSTD_createDCtx())) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	ZSTD_DCtx_reset(r->zstd, ZSTD_reset_session_only);
	/* at most 8 MiB of window (the sink's batches need far less): a frame asking for more is
	 * refused, not allocated */
	ZSTD_DCtx_setParameter(r->zstd, ZSTD_d_windowLogMax, 23);
	r->plain.len = 0;
	while (ret) {
		size_t room = len * 4 + 4096;
		ZSTD_outBuffer out;

		if (r->plain.len + room > HW_BATCH_BYTES_MAX + 1)
			room = HW_BATCH_BYTES_MAX + 1 - r->plain.len;
		if (!room) {
			snprintf(err, errlen, "batch over %u bytes decompressed",
				 HW_BATCH_BYTES_MAX);
			return -EINVAL;
		}
		if (hw_buf__reserve(&r->plain, room)) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
		out = (ZSTD_outBuffer){r->plain.p + r->plain.len, room, 0};
		ret = ZSTD_decompressStream(r->zstd, &out, &in);
		r->plain.len += out.pos;
		if (ZSTD_isError(ret)) {
			snprintf(err, errlen, "zstd body is corrupt: %s", ZSTD_getErrorName(ret));
			return -EINVAL;
		}
		if (ret && in.pos == in.size && out.pos < out.size) {
			snprintf(err, errlen, "zstd body is truncated");
			return -EINVAL;
		}
	}
	if (r->plain.len > HW_BATCH_BYTES_MAX) {
		snprintf(err, errlen, "batch over %u bytes decompressed", HW_BATCH_BYTES_MAX);
		return -EINVAL;
	}
	if (in.pos != in.size) {
		snprintf(err, errlen, "%zu bytes after the zstd frame", in.size - in.pos);
		return -EINVAL;
	}
	return 0;
}

/* The body decompressed into r->plain: whole, one gzip member, nothing after it, at most
 * HW_BATCH_BYTES_MAX. */
static int gunzip(struct hw_batch_reader *r, const void *data, size_t len, char *err, size_t errlen)
{
	z_stream *z = r->z;
	int ret;

	if (!z) {
		z = calloc(1, sizeof(*z));
		if (!z || inflateInit2(z, 15 + 16) != Z_OK) {
			free(z);
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
		r->z = z;
	} else if (inflateReset(z) != Z_OK) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	r->plain.len = 0;
	z->next_in = (Bytef *)(uintptr_t)data;
	z->avail_in = (uInt)len;
	do {
		size_t room = len * 4 + 4096;

		if (r->plain.len + room > HW_BATCH_BYTES_MAX + 1)
			room = HW_BATCH_BYTES_MAX + 1 - r->plain.len;
		if (!room) {
			snprintf(err, errlen, "batch over %u bytes decompressed",
				 HW_BATCH_BYTES_MAX);
			return -EINVAL;
		}
		if (hw_buf__reserve(&r->plain, room)) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
		z->next_out = (Bytef *)r->plain.p + r->plain.len;
		z->avail_out = (uInt)room;
		ret = inflate(z, Z_NO_FLUSH);
		r->plain.len += room - z->avail_out;
		if (ret == Z_MEM_ERROR) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
		if (ret != Z_OK && ret != Z_STREAM_END && ret != Z_BUF_ERROR) {
			snprintf(err, errlen, "gzip body is corrupt: %s", z->msg ? z->msg : "?");
			return -EINVAL;
		}
		if (ret == Z_BUF_ERROR && z->avail_out) {
			snprintf(err, errlen, "gzip body is truncated");
			return -EINVAL;
		}
	} while (ret != Z_STREAM_END);
	if (r->plain.len > HW_BATCH_BYTES_MAX) {
		snprintf(err, errlen, "batch over %u bytes decompressed", HW_BATCH_BYTES_MAX);
		return -EINVAL;
	}
	if (z->avail_in) {
		snprintf(err, errlen, "%u bytes after the gzip body", z->avail_in);
		return -EINVAL;
	}
	return 0;
}

static int parse_count(const char *s, unsigned long *out)
{
	unsigned long n = 0;

	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || n > HW_BATCH_LINES_MAX)
			return -EINVAL;
		n = n * 10 + (unsigned long)(*s - '0');
	}
	if (!n || n > HW_BATCH_LINES_MAX)
		return -EINVAL;
	*out = n;
	return 0;
}

static int open_batch(struct hw_batch_reader *r, const char *count, const char *encoding,
		      const void *data, size_t len, char *err, size_t errlen)
{
	const char *p, *end;
	unsigned long lines = 0;
	int codec, ret;

	r->p = r->end = NULL;
	r->count = 0;
	r->single = !count;
	if (!count) {
		if (encoding) {
			snprintf(err, errlen, "%s without %s", HW_BATCH_H_ENCODING,
				 HW_BATCH_H_COUNT);
			return -EINVAL;
		}
		r->p = data;
		r->end = r->p + len;
		r->count = 1;
		return 0;
	}
	if (parse_count(count, &r->count)) {
		snprintf(err, errlen, "%s '%.40s' is not 1..%d", HW_BATCH_H_COUNT, count,
			 HW_BATCH_LINES_MAX);
		return -EINVAL;
	}
	codec = hw_batch__codec(encoding);
	if (codec < 0 || (encoding && !strcmp(encoding, "none"))) {
		snprintf(err, errlen, "%s '%.40s' is not gzip or zstd", HW_BATCH_H_ENCODING,
			 encoding);
		return -EINVAL;
	}
	if (codec != HW_BATCH_NONE) {
		ret = codec == HW_BATCH_GZIP ? gunzip(r, data, len, err, errlen)
					     : unzstd(r, data, len, err, errlen);
		if (ret)
			return ret;
		p = r->plain.p;
		end = p + r->plain.len;
	} else {
		if (len > HW_BATCH_BYTES_MAX) {
			snprintf(err, errlen, "batch over %u bytes", HW_BATCH_BYTES_MAX);
			return -EINVAL;
		}
		p = data;
		end = p + len;
	}
	if (p == end || end[-1] != '\n') {
		snprintf(err, errlen, "batch does not end with a newline");
		return -EINVAL;
	}
	for (const char *c = p; c < end; c++) {
		c = memchr(c, '\n', (size_t)(end - c));
		lines++;
	}
	if (lines != r->count) {
		snprintf(err, errlen, "batch holds %lu lines, %s says %lu", lines, HW_BATCH_H_COUNT,
			 r->count);
		return -EINVAL;
	}
	r->p = p;
	r->end = end;
	return 0;
}

int hw_batch__open(struct hw_batch_reader *r, const char *count, const char *encoding,
		   const void *data, size_t len, char *err, size_t errlen)
{
	int ret = open_batch(r, count, encoding, data, len, err, errlen);

	/* the reason may quote a header: one printable line */
	if (ret)
		for (char *c = err; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				*c = '?';
	return ret;
}

int hw_batch__next(struct hw_batch_reader *r, const char **line, size_t *len)
{
	const char *nl;

	if (!r->p || r->p >= r->end) {
		if (r->single && r->p && r->p == r->end && r->count) {
			/* an empty one-line message: handed out once, as it came */
			r->count = 0;
			*line = r->p;
			*len = 0;
			return 1;
		}
		return 0;
	}
	if (r->single) {
		*line = r->p;
		*len = (size_t)(r->end - r->p);
		r->p = r->end;
		r->count = 0;
		return 1;
	}
	nl = memchr(r->p, '\n', (size_t)(r->end - r->p));
	*line = r->p;
	*len = (size_t)(nl - r->p);
	r->p = nl + 1;
	return 1;
}

void hw_batch__free(struct hw_batch_reader *r)
{
	hw_buf__free(&r->plain);
	if (r->z) {
		inflateEnd(r->z);
		free(r->z);
		r->z = NULL;
	}
	ZSTD_freeDCtx(r->zstd);
	r->zstd = NULL;
}
