/* The JetStream sink's batches on the wire (docs/streaming.md "Wire format"), both ends: the
 * agent's sink packs lines into one message, the collector (or anyone's consumer) splits it.
 *
 * A batch is one NATS message on PREFIX.HOST.events (or .alerts) whose body is NDJSON: its
 * lines, each ended by '\n', optionally compressed as a whole (gzip or zstd), with the headers
 *   Nats-Msg-Id        HOSTID.RUN.FIRST.COUNT (JetStream drops a repeat of it)
 *   Hopwatch-Host      HOSTID (the agent's host.id)
 *   Hopwatch-Run       RUN (the agent run's id)
 *   Hopwatch-First-Seq FIRST (the sequence number of the first line in its run)
 *   Hopwatch-Count     COUNT (its lines: FIRST .. FIRST + COUNT - 1, in order)
 *   Content-Encoding   gzip or zstd, only when compressed
 * A message without Hopwatch-Count is one line (what agents before batching sent). */
#ifndef HW_STREAM_BATCH_H
#define HW_STREAM_BATCH_H

#include <stddef.h>

#define HW_BATCH_LINES_MAX 10000       /* lines a batch may say it holds */
#define HW_BATCH_BYTES_MAX (16u << 20) /* bytes of a batch, decompressed */

#define HW_BATCH_H_HOST	    "Hopwatch-Host"
#define HW_BATCH_H_RUN	    "Hopwatch-Run"
#define HW_BATCH_H_FIRST    "Hopwatch-First-Seq"
#define HW_BATCH_H_COUNT    "Hopwatch-Count"
#define HW_BATCH_H_ENCODING "Content-Encoding"

enum hw_batch_codec { HW_BATCH_NONE, HW_BATCH_GZIP, HW_BATCH_ZSTD };

/* A spooled line's message id, HOSTID.RUN.SEQ, in its parts (pointing into the id). Returns 0,
 * or -EINVAL when it is not one. */
struct hw_batch_id {
	const char *host, *run;
	size_t host_len, run_len;
	unsigned long long seq;
};
int hw_batch__parse_id(const char *id, size_t len, struct hw_batch_id *out);

/* The codec named by a configuration value or a Content-Encoding header ("none" or NULL,
 * "gzip", "zstd"); -EINVAL for anything else. */
int hw_batch__codec(const char *name);
const char *hw_batch__codec_name(enum hw_batch_codec c);

/* A growing buffer. */
struct hw_buf {
	char *p;
	size_t len, cap;
};
int hw_buf__reserve(struct hw_buf *b, size_t more); /* 0 or -ENOMEM */
void hw_buf__free(struct hw_buf *b);

/* A compressor: codec HW_BATCH_GZIP (level 1) or HW_BATCH_ZSTD (level 1), its state kept
 * between calls. */
struct hw_batch_packer {
	int codec;
	void *state; /* NULL until the first call */
};
/* in (len bytes) compressed into out (replacing what it held); 0 or -ENOMEM. */
int hw_batch__compress(struct hw_batch_packer *p, const void *in, size_t len, struct hw_buf *out);
void hw_batch__packer_free(struct hw_batch_packer *p);

/* Splitting a received message. */
struct hw_batch_reader {
	struct hw_buf plain; /* the decompressed body */
	void *z, *zstd;	     /* the decompressors' states, kept between messages */
	const char *p, *end; /* what is left */
	unsigned long count; /* lines, as checked */
	int single;	     /* a one-line message */
};

/* Opens one message: count and encoding are its headers' values (NULL: absent). A batch is
 * checked whole before a line of it is handed out: a count that is not 1..HW_BATCH_LINES_MAX
 * or not the number of lines, an unknown encoding, a body that does not decompress (truncated,
 * corrupt) or is over HW_BATCH_BYTES_MAX decompressed: -EINVAL with err (one printable line).
 * -ENOMEM when out of memory. */
int hw_batch__open(struct hw_batch_reader *r, const char *count, const char *encoding,
		   const void *data, size_t len, char *err, size_t errlen);
/* The next line (without its '\n'); 1, or 0 at the end. */
int hw_batch__next(struct hw_batch_reader *r, const char **line, size_t *len);
void hw_batch__free(struct hw_batch_reader *r);

#endif
