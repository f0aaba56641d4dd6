/* The on-disk spool of a streaming sink (NATS JetStream, syslog): every line the agent sends
 * off the host is appended here first and leaves only once the sink has delivered it, so a
 * sink that is down or slow never blocks the ring buffer, lines are delivered in order when it
 * comes back, and they survive an agent restart (at least once: a line delivered just before
 * a crash may be sent again; the NATS sink's message ids let the server drop the repeat).
 *
 * Layout: DIR/seg-NNNNNNNNNNNNNNNN (segments of up to HW_SPOOL_SEGMENT bytes, numbered in
 * order) holding records [u32 length, little endian][bytes]; DIR/cursor holds the segment and
 * offset of the first record not yet delivered, then the sizes of a hold if any (two slots
 * written in turn, in place, each with its checksum, so a torn write leaves the one before:
 * spool_cursor.h); DIR/lock holds the pid of the agent using it (locked while in use). When
 * the segments exceed max_bytes the oldest segment is deleted, its undelivered records counted
 * as dropped. */
#ifndef HW_STREAM_SPOOL_H
#define HW_STREAM_SPOOL_H

#include <stddef.h>

#define HW_SPOOL_SEGMENT    (8u << 20) /* at most; max_bytes / 4 when smaller */
#define HW_SPOOL_RECORD_MAX (1u << 20) /* a longer record is refused (-E2BIG) */

struct hw_spool;

/* Opens (creating DIR, mode 0700, when missing) the spool in dir; max_bytes >= 1 MiB.
 * DIR must be a directory (not a symbolic link) of this user with mode 0700 (no access for
 * group or others), else EPERM; its files are opened without following links. One process
 * at a time: DIR/lock is write-locked while the spool is open, and a second open fails with
 * EBUSY, err naming the pid that holds it. A torn record at the end of the last segment (a
 * crash while appending) is cut off. Returns NULL with errno set and err saying what
 * failed. */
struct hw_spool *hw_spool__open(const char *dir, unsigned long long max_bytes, char *err,
				size_t errlen);
void hw_spool__close(struct hw_spool *s); /* writes what is buffered, releases the lock */

/* Opens dir (creating it with mode 0700 when missing) without following a symbolic link and
 * checks it as above; returns the descriptor or a negative errno (-EPERM: refused), err
 * saying why. */
int hw_spool__open_dir(const char *dir, char *err, size_t errlen);
/* The check alone, on an open directory. */
int hw_spool__check_dir(int fd, const char *dir, char *err, size_t errlen);
/* Write-locks dfd's "lock" file (spool_dir.c); returns its descriptor (closing it releases the
 * lock) or a negative errno: -EBUSY when another process holds it, err naming its pid. */
int hw_spool__lock(int dfd, const char *dir, char *err, size_t errlen);

/* Appends one record (buffered; written by hw_spool__flush or when the buffer fills).
 * Returns 0, -E2BIG, or a negative errno from the disk. */
int hw_spool__append(struct hw_spool *s, const void *data, size_t len);
int hw_spool__flush(struct hw_spool *s);

/* The next undelivered records, oldest first, without consuming them: up to max records and
 * max_bytes bytes (at least one record when any is pending). Each rec[i]/len[i] points into
 * memory owned by the spool, valid until the next call on s. Returns how many, or a negative
 * errno. */
int hw_spool__peek(struct hw_spool *s, size_t max, size_t max_bytes, const char **rec, size_t *len);
/* The records after those peeked and not yet consumed, as hw_spool__peek(), added to them
 * (HW_SPOOL_PEEK_MAX at most in all): the earlier ones stay peeked (hw_spool__consume), but
 * their pointers are no longer valid. Returns how many new ones, or a negative errno. */
int hw_spool__peek_more(struct hw_spool *s, size_t max, size_t max_bytes, const char **rec,
			size_t *len);
#define HW_SPOOL_PEEK_MAX 4096
/* Forgets the peeked records after the first keep (they are peeked again next time). */
void hw_spool__unpeek(struct hw_spool *s, size_t keep);
/* Marks the first n peeked records delivered (and persists the cursor). Ends a hold. */
int hw_spool__consume(struct hw_spool *s, size_t n);

/* A hold: the next records form these n units (a sink's batches: sizes[i] records each), kept
 * in DIR/cursor beside the read position until they are consumed, so that after a restart the
 * sink sends the same batches under the same message ids. At most HW_SPOOL_HOLD_MAX units.
 * hw_spool__held() copies the current hold (up to max units) and returns how many, 0 none.
 * A hold is forgotten when records it covers are dropped (max_bytes). */
#define HW_SPOOL_HOLD_MAX 64
int hw_spool__hold(struct hw_spool *s, const unsigned int *sizes, int n);
int hw_spool__held(const struct hw_spool *s, unsigned int *sizes, int max);

unsigned long long hw_spool__pending(const struct hw_spool *s); /* records not delivered */
unsigned long long hw_spool__dropped(const struct hw_spool *s); /* lost to max_bytes */
/* Buffered records a failed write lost (a full disk); the segment is cut back to its last
 * whole record. A failed hw_spool__append() loses its own record, which the caller counts. */
unsigned long long hw_spool__lost(const struct hw_spool *s);
/* Reads of the disk the peeks made. Records appended since the last write of the buffer are
 * peeked from memory (they are written first all the same): a sink that keeps up never reads
 * back what it just wrote. */
unsigned long long hw_spool__reads(const struct hw_spool *s);
/* Whether the records appended and not peeked yet fill half the buffer: a sink pumped now
 * peeks them from memory; later, the buffer may have to let them go (then they are read).
 * Says yes at most once per quarter of the buffer appended, so that a sink which takes
 * nothing is not pumped at every line. */
int hw_spool__peek_due(struct hw_spool *s);

#endif
