/* The spool's cursor file (spool.c's own part): where delivery stands, written in place.
 *
 * DIR/cursor is two slots of HW_CURSOR_SLOT bytes, written in turn, each a line of text:
 *   "hwcursor SEQ SEG OFF N H1 .. HN SUM" then spaces up to the slot's last byte, a newline
 * where SEQ counts the writes, SEG and OFF name the first record not yet delivered, H1..HN
 * are the sizes of a hold (hw_spool__hold) and SUM is the FNV-1a 64 of the text before it,
 * in hex. The slot with the higher SEQ whose SUM is right is the cursor: a write torn by a
 * crash spoils only the slot it was writing, and the other still holds the cursor before it.
 * A slot is one disk sector, so the write of one is not torn on most disks.
 *
 * Before: the cursor was a new file renamed over the old on every batch, which on ext4 writes
 * the new file out and frees the old one's blocks (a discard, where the file system is
 * mounted with it) within the rename: a fifth of the agent's CPU with the JetStream sink on.
 * A cursor file of that older form ("SEG OFF H1 .. HN", one line) is still read, and is
 * replaced by the first write. */
#ifndef HW_STREAM_SPOOL_CURSOR_H
#define HW_STREAM_SPOOL_CURSOR_H

#include "stream/spool.h"

#define HW_CURSOR_SLOT 512

struct hw_spool_cursor {
	int fd;			/* DIR/cursor, open for reading and writing */
	unsigned long long seq; /* of the last slot read or written */
	int legacy;		/* the file holds the older form: both slots to be written */
};

struct hw_cursor_at {
	unsigned long long seg, off;
	int nhold;
	unsigned int hold[HW_SPOOL_HOLD_MAX];
};

/* Opens (creating) DIR/cursor through dfd, without following a link, and reads the cursor
 * into at: 1 when one was found, 0 when none (a new or spoiled file: at is zero), a negative
 * errno when the file cannot be opened. Hold sizes of 0 or over max_unit end the hold. */
int hw_spool_cursor__open(struct hw_spool_cursor *c, int dfd, unsigned int max_unit,
			  struct hw_cursor_at *at);
/* Writes at into the next slot. Returns 0 or a negative errno. */
int hw_spool_cursor__save(struct hw_spool_cursor *c, const struct hw_cursor_at *at);
void hw_spool_cursor__close(struct hw_spool_cursor *c);

/* Parses the text of one slot (len bytes at p): 1 with *seq and at set when it is whole and
 * its sum is right, else 0. Exposed for the tests. */
int hw_spool_cursor__parse_slot(const char *p, size_t len, unsigned int max_unit,
				unsigned long long *seq, struct hw_cursor_at *at);
/* Formats at as the slot of sequence seq: HW_CURSOR_SLOT bytes at out. The hold ends at its
 * first size of 0 or over HW_SPOOL_PEEK_MAX, as the reader's does. */
void hw_spool_cursor__format_slot(char *out, unsigned long long seq, const struct hw_cursor_at *at);

#endif
