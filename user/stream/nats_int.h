/* The JetStream sink's state, shared by nats.c (the connection, the stream, pumping) and
 * nats_send.c (cutting batches, publishing them, their acks). Nothing else includes this. */
#ifndef HW_STREAM_NATS_INT_H
#define HW_STREAM_NATS_INT_H

#include <pthread.h>
#include <stddef.h>

#include <nats/nats.h>

#include "stream/batch.h"
#include "stream/sink.h"
#include "stream/spool.h"

#define PEEK_LINES  4096		   /* lines per round, at most (the spool's peek) */
#define PEEK_BYTES  (8u << 20)		   /* bytes of a round cut afresh after a loss */
#define ROUND_BYTES (2u << 20)		   /* bytes per round otherwise (or a batch's worth) */
#define HEADER_ROOM 1024		   /* a message's headers, subject and protocol line */
#define ACK_WAIT_NS (5ULL * 1000000000ULL) /* unacknowledged this long: sent again */
#define RETRY_NS    (100ULL * 1000000ULL)  /* after a refused publish */
/* bytes of lines in flight, at most (a first batch always goes): uncompressed, and
 * compressed (about 30 times smaller on the wire) */
#define INFLIGHT_PLAIN	(1u << 20)
#define INFLIGHT_PACKED (32u << 20)
/* bytes of the batches held, peeked again: all that can be in flight (INFLIGHT_PACKED, and the
 * batch that passed it, smaller than the largest max_payload a server allows, 64 MB), so a
 * held round is always sent again cut as it was. The spool reads a segment at a time and stops
 * at the one that holds the round's last line, so memory follows the round, not this bound. */
#define HELD_BYTES (INFLIGHT_PACKED + (64u << 20))

struct nats_sink {
	struct hw_stream s; /* first: the agent holds a struct hw_stream * */
	natsConnection *nc;
	jsCtx *js;
	char subj_events[300], subj_alerts[300];
	char stream[64], prefix[256];
	int stream_ok;
	int closing;
	unsigned int batch_lines;
	size_t batch_bytes;
	unsigned long long batch_delay_ns;
	unsigned long long wait_since; /* an open batch has waited since (CLOCK_MONOTONIC) */
	size_t wait_line;	       /* its lines' mean length */
	int codec;
	struct hw_buf body, packed;
	struct hw_batch_packer packer;
	const char *rec[PEEK_LINES];
	size_t len[PEEK_LINES];
	/* The batches in flight, oldest first (the spool's hold, and its peeked records, cover
	 * exactly them): published, not yet all acknowledged. mu guards them against libnats'
	 * thread, which marks them acknowledged (on_ack). */
	pthread_mutex_t mu;
	int nb;
	int failed;		     /* a publish of them was refused */
	unsigned long long sent_ns;  /* when the oldest unacknowledged were (last) published */
	unsigned long long retry_ns; /* after a refusal: nothing published before */
	struct batch {
		int first; /* while being cut: records first .. first + lines - 1 of the peek */
		unsigned int lines;
		size_t bytes; /* the lines with their newlines */
		char kind;
		int id_ok; /* id parsed: HOSTID.RUN.SEQ */
		int acked;
		struct hw_batch_id id;
		const char *rid; /* the first record's id as spooled (while being cut) */
		size_t rid_len;
		char msg_id[200];
	} b[HW_SPOOL_HOLD_MAX];
};

/* last_error and the error count */
void hw_nats__error(struct nats_sink *n, const char *what, natsStatus st);

/* libnats' thread: a batch's acknowledgement (or refusal), found by its message id */
void hw_nats__on_ack(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure);

/* The acknowledged batches, oldest first, leave the spool; refused ones, or none acknowledged
 * for ACK_WAIT_NS: all in flight are dropped, to be sent again cut as held. Returns the lines
 * that left. */
int hw_nats__settle(struct nats_sink *n, unsigned long long now_ns);

/* More batches in flight: those held (cut as they were), or new ones after those in flight.
 * Returns how many were published (0: nothing to do now), -1 on failure. */
int hw_nats__send_more(struct nats_sink *n, unsigned long long now_ns);

#endif
