/* The JetStream sink's sending side (see nats_int.h): the spooled lines cut into batches, each
 * published as one message with its headers (batch.h), the acks counted as libnats' thread
 * delivers them, and what was acknowledged taken off the spool. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "stream/nats_int.h"

/* libnats' thread: a batch's acknowledgement (or refusal), found by its message id */
void hw_nats__on_ack(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure)
{
	struct nats_sink *n = closure;
	const char *id = NULL;

	(void)js;
	(void)pae;
	if (natsMsgHeader_Get(msg, "Nats-Msg-Id", &id) == NATS_OK && id) {
		pthread_mutex_lock(&n->mu);
		for (int i = 0; i < n->nb; i++) {
			if (strcmp(n->b[i].msg_id, id))
				continue;
			if (pa)
				n->b[i].acked = 1;
			else
				n->failed = 1;
			break;
		}
		pthread_mutex_unlock(&n->mu);
	}
	natsMsg_Destroy(msg);
}

/* Messages published but neither acknowledged nor failed when a round timed out: dropped
 * here, sent again with the same ids next round. */
static void forget_pending(struct nats_sink *n)
{
	natsMsgList list = {0};

	if (js_PublishAsyncGetPendingList(&list, n->js) == NATS_OK)
		natsMsgList_Destroy(&list);
}

/* Whether record r (kind, id parts) may follow the batch b has so far. */
static int same_batch(const struct batch *b, char kind, const struct hw_batch_id *id, int id_ok)
{
	return id_ok && b->id_ok && kind == b->kind && id->host_len == b->id.host_len &&
	       id->run_len == b->id.run_len && !memcmp(id->host, b->id.host, id->host_len) &&
	       !memcmp(id->run, b->id.run, id->run_len) && id->seq == b->id.seq + b->lines;
}

/* The peeked records cut into batches (out, at most max): one kind, host and run each,
 * consecutive sequence numbers, at most output.nats_batch_lines lines and `limit` bytes; when
 * sizes is given (a hold), exactly those. Returns how many; *open: the last one could still
 * grow (the records ran out, and the spool holds no more than `pending`). */
static int form(struct nats_sink *n, struct batch *out, int max, size_t max_bytes, const char **rec,
		const size_t *len, int got, const unsigned int *sizes, int nsizes, size_t limit,
		unsigned long long pending, int *open)
{
	size_t used = 0;
	int nb = 0, i;

	*open = 0;
	for (i = 0; i < got; i++) {
		struct batch *b = nb ? &out[nb - 1] : NULL;
		struct hw_batch_id id = {0};
		const char *rid, *line;
		size_t idlen, linelen;
		char kind = 'e';
		int id_ok;

		if (hw_stream__split(rec[i], len[i], &kind, &rid, &idlen, &line, &linelen)) {
			rid = "unknown";
			idlen = 7;
			line = rec[i];
			linelen = 0; /* not an agent record: cannot happen; sent empty */
		}
		id_ok = !hw_batch__parse_id(rid, idlen, &id);
		if (sizes ? !b || b->lines == sizes[nb - 1]
			  : !b || !same_batch(b, kind, &id, id_ok) || b->lines >= n->batch_lines ||
				b->bytes + linelen + 1 > limit) {
			if (nb == max || (sizes && nb == nsizes) ||
			    (!sizes && nb && used >= max_bytes))
				break;
			b = &out[nb++];
			memset(b, 0, sizeof(*b));
			b->first = i;
			b->kind = kind;
			b->id = id;
			b->id_ok = id_ok;
			b->rid = rid;
			b->rid_len = idlen;
		}
		b->lines++;
		b->bytes += linelen + 1;
		used += linelen + 1;
	}
	*open = !sizes && i == got && nb && out[nb - 1].lines < n->batch_lines &&
		pending == (unsigned long long)got;
	return nb;
}

/* One batch as a message, published (acknowledged later). 0, 1 when it was not sent (a line
 * over the server's payload limit: dropped, counted), -1 on failure. */
/* b's message id: HOSTID.RUN.FIRST.COUNT */
static void name_batch(struct batch *b)
{
	if (b->id_ok)
		snprintf(b->msg_id, sizeof(b->msg_id), "%.*s.%.*s.%llu.%u", (int)b->id.host_len,
			 b->id.host, (int)b->id.run_len, b->id.run, b->id.seq, b->lines);
	else
		snprintf(b->msg_id, sizeof(b->msg_id), "%.*s.%u",
			 (int)(b->rid_len < 160 ? b->rid_len : 160), b->rid, b->lines);
}

static int publish(struct nats_sink *n, struct batch *b, const char **rec, const size_t *len,
		   long long max_payload)
{
	struct hw_buf *body = &n->body;
	char *id = b->msg_id, num[24];
	jsPubOptions po;
	natsMsg *m = NULL;
	natsStatus st;

	body->len = 0;
	if (hw_buf__reserve(body, b->bytes)) {
		hw_nats__error(n, "batch", NATS_NO_MEMORY);
		return -1;
	}
	for (unsigned int i = 0; i < b->lines; i++) {
		const char *rid, *line;
		size_t idlen, linelen = 0;
		char kind;

		if (hw_stream__split(rec[b->first + i], len[b->first + i], &kind, &rid, &idlen,
				     &line, &linelen))
			linelen = 0;
		memcpy(body->p + body->len, line, linelen);
		body->len += linelen;
		body->p[body->len++] = '\n';
	}
	if (n->codec != HW_BATCH_NONE) {
		if (hw_batch__compress(&n->packer, body->p, body->len, &n->packed)) {
			hw_nats__error(n, "compressing", NATS_NO_MEMORY);
			return -1;
		}
		body = &n->packed;
	}
	if ((long long)body->len + HEADER_ROOM > max_payload) {
		/* only a single line can be this long (batches are cut below the limit) */
		snprintf(n->s.last_error, sizeof(n->s.last_error),
			 "a line of %zu bytes is over the server's max_payload (%lld): dropped",
			 b->bytes, max_payload);
		n->s.errors++;
		b->acked = 1; /* leaves the spool with its round */
		return 1;
	}
	st = natsMsg_Create(&m, b->kind == 'a' ? n->subj_alerts : n->subj_events, NULL, body->p,
			    (int)body->len);
	if (st == NATS_OK && b->id_ok) {
		char host[128], run[64];

		snprintf(host, sizeof(host), "%.*s", (int)b->id.host_len, b->id.host);
		snprintf(run, sizeof(run), "%.*s", (int)b->id.run_len, b->id.run);
		snprintf(num, sizeof(num), "%llu", b->id.seq);
		st = natsMsgHeader_Set(m, HW_BATCH_H_HOST, host);
		if (st == NATS_OK)
			st = natsMsgHeader_Set(m, HW_BATCH_H_RUN, run);
		if (st == NATS_OK)
			st = natsMsgHeader_Set(m, HW_BATCH_H_FIRST, num);
	}
	snprintf(num, sizeof(num), "%u", b->lines);
	if (st == NATS_OK)
		st = natsMsgHeader_Set(m, HW_BATCH_H_COUNT, num);
	if (st == NATS_OK && n->codec != HW_BATCH_NONE)
		st = natsMsgHeader_Set(m, HW_BATCH_H_ENCODING, hw_batch__codec_name(n->codec));
	if (st == NATS_OK) {
		jsPubOptions_Init(&po);
		po.MsgId = id;
		st = js_PublishMsgAsync(n->js, &m, &po);
	}
	if (st != NATS_OK) {
		natsMsg_Destroy(m);
		hw_nats__error(n, "publish", st);
		return -1;
	}
	return 0;
}

/* The batches acknowledged from the oldest on leave the spool; the rest stay held. A refused
 * one, or none acknowledged for ACK_WAIT_NS: all of them are dropped here, to be sent again
 * (cut as held). Returns how many lines left. */
int hw_nats__settle(struct nats_sink *n, unsigned long long now_ns)
{
	struct hw_stream *s = &n->s;
	unsigned int sizes[HW_SPOOL_HOLD_MAX];
	int k = 0, lines = 0, failed, rest;

	pthread_mutex_lock(&n->mu);
	while (k < n->nb && n->b[k].acked)
		lines += (int)n->b[k++].lines;
	failed = n->failed;
	if (k) {
		memmove(n->b, n->b + k, (size_t)(n->nb - k) * sizeof(n->b[0]));
		n->nb -= k;
	}
	rest = n->nb;
	for (int i = 0; i < rest; i++)
		sizes[i] = n->b[i].lines;
	pthread_mutex_unlock(&n->mu);
	if (lines) {
		if (hw_spool__consume(s->spool, (size_t)lines)) {
			rest = 0; /* the spool dropped them (spool_max): cut afresh */
			failed = 1;
		} else {
			s->delivered += (unsigned long long)lines;
			n->sent_ns = now_ns;
			if (rest && hw_spool__hold(s->spool, sizes, rest))
				hw_nats__error(n, "saving the batches in the spool", NATS_IO_ERROR);
		}
	}
	if (rest && !failed && now_ns - n->sent_ns > ACK_WAIT_NS) {
		hw_nats__error(n, "waiting for acks", NATS_TIMEOUT);
		failed = 1;
	} else if (failed) {
		hw_nats__error(n, "a publish was refused", NATS_ERR);
	}
	if (failed) {
		forget_pending(n);
		pthread_mutex_lock(&n->mu);
		n->nb = 0;
		n->failed = 0;
		pthread_mutex_unlock(&n->mu);
		n->retry_ns = now_ns + RETRY_NS;
	}
	return lines;
}

/* More batches in flight: those held from an unacknowledged round (in this run or the last),
 * cut as they were, or new ones after those in flight. Returns how many were published, -1
 * on failure. */
int hw_nats__send_more(struct nats_sink *n, unsigned long long now_ns)
{
	struct hw_stream *s = &n->s;
	const char **rec = n->rec;
	size_t *len = n->len, limit;
	unsigned int sizes[HW_SPOOL_HOLD_MAX];
	long long max_payload = natsConnection_GetMaxPayload(n->nc);
	unsigned long long pending;
	int got, nb, held = 0, open, total = 0, inflight = 0, room;
	size_t inflight_bytes = 0, room_bytes,
	       inflight_max = n->codec == HW_BATCH_NONE ? INFLIGHT_PLAIN : INFLIGHT_PACKED;
	struct batch *out;

	if (n->nb >= HW_SPOOL_HOLD_MAX || now_ns < n->retry_ns)
		return 0;
	if (max_payload <= HEADER_ROOM)
		max_payload = 1 << 20; /* the server's default */
	limit = n->batch_bytes;
	if ((long long)limit > max_payload - HEADER_ROOM)
		limit = (size_t)(max_payload - HEADER_ROOM);
	for (int i = 0; i < n->nb; i++) {
		inflight += (int)n->b[i].lines;
		inflight_bytes += n->b[i].bytes;
	}
	/* what a server that stops reading can hold back stays within the sockets' buffers, so
	 * a write never has to wait for it */
	if (inflight_bytes >= inflight_max)
		return 0;
	room_bytes = inflight_max - inflight_bytes;
	pending = hw_spool__pending(s->spool) - (unsigned long long)inflight;
	if (!n->nb) {
		held = hw_spool__held(s->spool, sizes, HW_SPOOL_HOLD_MAX);
		for (int i = 0; i < held; i++)
			total += (int)sizes[i];
	}
	if (!held && n->wait_since && !n->closing && now_ns - n->wait_since < n->batch_delay_ns &&
	    pending < n->batch_lines && pending * n->wait_line < limit)
		return 0; /* an open batch waits: not read again until it may be full */
	if (held) {
		got = hw_spool__peek(s->spool, (size_t)total, HELD_BYTES + HW_SPOOL_RECORD_MAX, rec,
				     len);
		if (got != total) {
			held = 0; /* the spool lost some (spool_max): cut afresh */
			got = hw_spool__peek(s->spool, PEEK_LINES, PEEK_BYTES, rec, len);
		}
	} else {
		/* a round's worth (what the spool reads into memory at once), at least a batch */
		size_t round = n->batch_bytes > ROUND_BYTES ? n->batch_bytes : ROUND_BYTES;

		got = n->nb ? hw_spool__peek_more(s->spool, PEEK_LINES, round, rec, len)
			    : hw_spool__peek(s->spool, PEEK_LINES, round, rec, len);
	}
	if (got <= 0) {
		if (!n->nb)
			n->wait_since = 0;
		hw_spool__unpeek(s->spool, (size_t)inflight);
		return got < 0 ? -1 : 0;
	}
	out = n->b + n->nb;
	room = HW_SPOOL_HOLD_MAX - n->nb;
	nb = form(n, out, room, room_bytes, rec, len, got, held ? sizes : NULL, held, limit,
		  pending, &open);
	if (open && !n->closing) {
		/* the last batch may still fill: it waits, at most output.nats_batch_delay */
		if (!n->wait_since)
			n->wait_since = now_ns ? now_ns : 1;
		n->wait_line = out[nb - 1].bytes / out[nb - 1].lines;
		if (nb > 1) {
			nb--;
		} else if (now_ns - n->wait_since < n->batch_delay_ns) {
			hw_spool__unpeek(s->spool, (size_t)inflight);
			return 0;
		} else {
			n->wait_since = 0;
		}
	} else {
		n->wait_since = 0;
	}
	/* the spool's peeked records: exactly those in flight and those sent now */
	total = inflight;
	for (int i = 0; i < nb; i++)
		total += (int)out[i].lines;
	hw_spool__unpeek(s->spool, (size_t)total);
	for (int i = 0; i < n->nb; i++)
		sizes[i] = n->b[i].lines;
	for (int i = 0; i < nb; i++) {
		out[i].acked = 0;
		name_batch(&out[i]);
		sizes[n->nb + i] = out[i].lines;
	}
	if (hw_spool__hold(s->spool, sizes, n->nb + nb))
		hw_nats__error(n, "saving the batches in the spool", NATS_IO_ERROR);
	if (!n->nb)
		n->sent_ns = now_ns;
	for (int i = 0; i < nb; i++) {
		/* ids first: an ack may come before the next one is published */
		pthread_mutex_lock(&n->mu);
		n->nb++;
		pthread_mutex_unlock(&n->mu);
		if (publish(n, &out[i], rec, len, max_payload) < 0) {
			pthread_mutex_lock(&n->mu);
			n->failed = 1;
			pthread_mutex_unlock(&n->mu);
			return -1;
		}
	}
	return nb;
}
