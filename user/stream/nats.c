/* The NATS JetStream sink: spooled lines are packed into batches (batch.h: many lines per
 * message, one message id per batch: the server drops a repeat within the stream's duplicates
 * window). Up to HW_SPOOL_HOLD_MAX batches are in flight; the pump never waits for the
 * server: acks are counted by libnats' thread, and the acknowledged batches leave the spool
 * oldest first. How the batches in flight were cut is held in the spool until then, so
 * batches sent again (refused, unacknowledged for ACK_WAIT_NS, after a server or an agent
 * restart) are cut the same way, under the same ids. libnats reconnects by itself; while it is
 * away nothing is published and the spool holds the lines. docs/streaming.md */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nats/nats.h>

#include "stream/batch.h"
#include "stream/nats.h"
#include "stream/nats_opts.h"
#include "stream/spool.h"
#include "stream/url.h"

#define PEEK_LINES  4096	    /* lines per round, at most (the spool's peek) */
#define PEEK_BYTES  (8u << 20) /* bytes per round, at most */
#define HEADER_ROOM 1024	    /* a message's headers, subject and protocol line */
#define DUPLICATES_NS (120ULL * 1000000000ULL) /* the stream's duplicates window */
#define ACK_WAIT_NS   (5ULL * 1000000000ULL)   /* unacknowledged this long: sent again */
#define RETRY_NS      (100ULL * 1000000ULL)    /* after a refused publish */
#define WRITE_DEADLINE_MS 1000 /* a server that stops reading: the connection is dropped */

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
	int failed; /* a publish of them was refused */
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

/* Given to libnats so that a first connect to a server that is down does not block: it
 * carries on in the background. */
static void on_connected(natsConnection *nc, void *closure)
{
	(void)nc;
	(void)closure;
}

/* libnats' thread: a batch's acknowledgement (or refusal), found by its message id */
static void on_ack(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure)
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

/* HOST as a subject token: [A-Za-z0-9_-], anything else '_' */
static void token(char *out, size_t len, const char *host)
{
	size_t i = 0;

	for (; host[i] && i + 1 < len; i++) {
		char c = host[i];

		out[i] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
				 c == '_' || c == '-'
			     ? c
			     : '_';
	}
	out[i] = 0;
	if (!i)
		snprintf(out, len, "unknown");
}

static void set_error(struct nats_sink *n, const char *what, natsStatus st)
{
	snprintf(n->s.last_error, sizeof(n->s.last_error), "%s: %s", what, natsStatus_GetText(st));
	n->s.errors++;
}

/* The stream exists, or is created (file storage, duplicates window, subjects PREFIX.>). */
static int ensure_stream(struct nats_sink *n)
{
	jsStreamInfo *si = NULL;
	jsErrCode jerr = 0;
	natsStatus st;
	jsStreamConfig cfg;
	char subj[300];
	const char *subjects[1] = {subj};

	if (n->stream_ok)
		return 0;
	st = js_GetStreamInfo(&si, n->js, n->stream, NULL, &jerr);
	if (st == NATS_OK) {
		jsStreamInfo_Destroy(si);
		n->stream_ok = 1;
		return 0;
	}
	if (st != NATS_NOT_FOUND) {
		set_error(n, "stream info", st);
		return -1;
	}
	snprintf(subj, sizeof(subj), "%s.>", n->prefix);
	jsStreamConfig_Init(&cfg);
	cfg.Name = n->stream;
	cfg.Subjects = subjects;
	cfg.SubjectsLen = 1;
	cfg.Storage = js_FileStorage;
	cfg.Duplicates = (int64_t)DUPLICATES_NS;
	st = js_AddStream(&si, n->js, &cfg, NULL, &jerr);
	if (st != NATS_OK && jerr != JSStreamNameExistErr) {
		set_error(n, "creating the stream", st);
		return -1;
	}
	if (si)
		jsStreamInfo_Destroy(si);
	n->stream_ok = 1;
	return 0;
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
static int form(struct nats_sink *n, struct batch *out, int max, const char **rec,
		const size_t *len, int got, const unsigned int *sizes, int nsizes, size_t limit,
		unsigned long long pending, int *open)
{
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
			if (nb == max || (sizes && nb == nsizes))
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
		set_error(n, "batch", NATS_NO_MEMORY);
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
			set_error(n, "compressing", NATS_NO_MEMORY);
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
		set_error(n, "publish", st);
		return -1;
	}
	return 0;
}

/* The batches acknowledged from the oldest on leave the spool; the rest stay held. A refused
 * one, or none acknowledged for ACK_WAIT_NS: all of them are dropped here, to be sent again
 * (cut as held). Returns how many lines left. */
static int settle(struct nats_sink *n, unsigned long long now_ns)
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
				set_error(n, "saving the batches in the spool", NATS_IO_ERROR);
		}
	}
	if (rest && !failed && now_ns - n->sent_ns > ACK_WAIT_NS) {
		set_error(n, "waiting for acks", NATS_TIMEOUT);
		failed = 1;
	} else if (failed) {
		set_error(n, "a publish was refused", NATS_ERR);
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
static int send_more(struct nats_sink *n, unsigned long long now_ns)
{
	struct hw_stream *s = &n->s;
	const char **rec = n->rec;
	size_t *len = n->len, limit;
	unsigned int sizes[HW_SPOOL_HOLD_MAX];
	long long max_payload = natsConnection_GetMaxPayload(n->nc);
	unsigned long long pending;
	int got, nb, held = 0, open, total = 0, inflight = 0, room;
	struct batch *out;

	if (n->nb >= HW_SPOOL_HOLD_MAX || now_ns < n->retry_ns)
		return 0;
	if (max_payload <= HEADER_ROOM)
		max_payload = 1 << 20; /* the server's default */
	limit = n->batch_bytes;
	if ((long long)limit > max_payload - HEADER_ROOM)
		limit = (size_t)(max_payload - HEADER_ROOM);
	for (int i = 0; i < n->nb; i++)
		inflight += (int)n->b[i].lines;
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
		got = hw_spool__peek(s->spool, (size_t)total, PEEK_BYTES + HW_SPOOL_RECORD_MAX, rec,
				     len);
		if (got != total) {
			held = 0; /* the spool lost some (spool_max): cut afresh */
			got = hw_spool__peek(s->spool, PEEK_LINES, PEEK_BYTES, rec, len);
		}
	} else {
		got = n->nb ? hw_spool__peek_more(s->spool, PEEK_LINES, PEEK_BYTES, rec, len)
			    : hw_spool__peek(s->spool, PEEK_LINES, PEEK_BYTES, rec, len);
	}
	if (got <= 0) {
		if (!n->nb)
			n->wait_since = 0;
		hw_spool__unpeek(s->spool, (size_t)inflight);
		return got < 0 ? -1 : 0;
	}
	out = n->b + n->nb;
	room = HW_SPOOL_HOLD_MAX - n->nb;
	nb = form(n, out, room, rec, len, got, held ? sizes : NULL, held, limit, pending, &open);
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
		set_error(n, "saving the batches in the spool", NATS_IO_ERROR);
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

static unsigned long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000ULL + (unsigned long long)ts.tv_nsec / 1000000;
}

static unsigned long long mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ULL + (unsigned long long)ts.tv_nsec;
}

/* Never waits for the server: what was acknowledged since the last round leaves the spool,
 * then more is published while there is room in flight and time left. */
static void pump(struct hw_stream *s, unsigned long long now_ns, int budget_ms)
{
	struct nats_sink *n = (struct nats_sink *)s;
	unsigned long long start = mono_ms();

	s->connected = n->nc && natsConnection_Status(n->nc) == NATS_CONN_STATUS_CONNECTED;
	if (!now_ns)
		now_ns = mono_ns();
	settle(n, now_ns);
	if (!s->connected || ensure_stream(n))
		return;
	while (send_more(n, now_ns) > 0 && (int)(mono_ms() - start) < budget_ms)
		;
}

static void close_sink(struct hw_stream *s, int budget_ms)
{
	struct nats_sink *n = (struct nats_sink *)s;

	/* what the spool still holds is sent now if the server is there, else at the next start */
	n->closing = 1;
	if (budget_ms > 0) {
		unsigned long long end = mono_ms() + (unsigned long long)budget_ms;

		do {
			pump(s, 0, budget_ms);
			if (!n->nb && !hw_spool__pending(s->spool))
				break;
			nats_Sleep(5);
		} while (mono_ms() < end && s->connected);
		settle(n, mono_ns());
	}
	if (n->js)
		jsCtx_Destroy(n->js);
	n->js = NULL;
	if (n->nc) {
		natsConnection_Close(n->nc);
		natsConnection_Destroy(n->nc);
	}
	n->nc = NULL;
	hw_buf__free(&n->body);
	hw_buf__free(&n->packed);
	hw_batch__packer_free(&n->packer);
	pthread_mutex_destroy(&n->mu);
	hw_spool__close(s->spool);
	free(n);
}

natsStatus hw_nats__options(const struct hw_config *cfg, const char *client_name,
			    natsOptions **out)
{
	const char *servers[16];
	char *urls = strdup(cfg->nats_url), *save = NULL, *tok;
	natsOptions *o = NULL;
	natsStatus st;
	int ns = 0;

	*out = NULL;
	if (!urls)
		return NATS_NO_MEMORY;
	for (tok = strtok_r(urls, ", ", &save); tok && ns < 16; tok = strtok_r(NULL, ", ", &save))
		servers[ns++] = tok;
	st = natsOptions_Create(&o);
	if (st == NATS_OK)
		st = natsOptions_SetServers(o, servers, ns);
	if (st == NATS_OK)
		st = natsOptions_SetName(o, client_name);
	if (st == NATS_OK)
		st = natsOptions_SetMaxReconnect(o, -1);
	if (st == NATS_OK)
		st = natsOptions_SetReconnectWait(o, 500);
	if (st == NATS_OK)
		st = natsOptions_SetTimeout(o, 2000);
	/* a server that is down at start is retried in the background, like a lost one */
	if (st == NATS_OK)
		st = natsOptions_SetRetryOnFailedConnect(o, true, on_connected, NULL);
	if (st == NATS_OK && (cfg->nats_ca || !strncmp(cfg->nats_url, "tls://", 6)))
		st = natsOptions_SetSecure(o, true);
	if (st == NATS_OK && cfg->nats_ca)
		st = natsOptions_LoadCATrustedCertificates(o, cfg->nats_ca);
	if (st == NATS_OK && (cfg->nats_cert || cfg->nats_key))
		st = natsOptions_LoadCertificatesChain(o, cfg->nats_cert ? cfg->nats_cert : "",
						       cfg->nats_key ? cfg->nats_key : "");
	free(urls);
	if (st != NATS_OK) {
		natsOptions_Destroy(o);
		return st;
	}
	*out = o;
	return NATS_OK;
}

struct hw_stream *hw_nats__new(const struct hw_config *cfg, struct hw_spool *spool,
			       const char *host_name, char *err, size_t errlen)
{
	struct nats_sink *n = calloc(1, sizeof(*n));
	natsOptions *o = NULL;
	char host[256];
	jsOptions jo;
	natsStatus st;

	if (!n) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&n->mu, NULL);
	n->s.name = "nats";
	n->s.spool = spool;
	n->s.pump = pump;
	n->s.close = close_sink;
	n->batch_lines = cfg->nats_batch_lines ? cfg->nats_batch_lines : 1;
	if (n->batch_lines > PEEK_LINES)
		n->batch_lines = PEEK_LINES;
	n->batch_bytes = cfg->nats_batch_bytes ? (size_t)cfg->nats_batch_bytes : 4096;
	n->batch_delay_ns = cfg->nats_batch_delay_ns;
	n->codec = hw_batch__codec(cfg->nats_compress);
	if (n->codec < 0) {
		snprintf(err, errlen, "output.nats_compress: '%s' is not none, gzip or zstd",
			 cfg->nats_compress);
		pthread_mutex_destroy(&n->mu);
		free(n);
		return NULL;
	}
	n->packer.codec = n->codec;
	snprintf(n->prefix, sizeof(n->prefix), "%s", cfg->nats_subject);
	snprintf(n->stream, sizeof(n->stream), "%s", cfg->nats_stream);
	token(host, sizeof(host), host_name);
	snprintf(n->subj_events, sizeof(n->subj_events), "%s.%s.events", n->prefix, host);
	snprintf(n->subj_alerts, sizeof(n->subj_alerts), "%s.%s.alerts", n->prefix, host);
	st = hw_nats__options(cfg, "hopwatch agent", &o);
	/* nothing is buffered by libnats while away: the spool is the buffer */
	if (st == NATS_OK)
		st = natsOptions_SetReconnectBufSize(o, 0);
	/* a server that stops reading (stalled, a black hole) never blocks the agent's loop
	 * for long: the write fails, libnats reconnects, the lines wait in the spool */
	if (st == NATS_OK)
		st = natsOptions_SetWriteDeadline(o, WRITE_DEADLINE_MS);
	if (st != NATS_OK) {
		char why[512];

		/* libnats may quote the URL, password included */
		hw_url__redact(nats_GetLastError(NULL) ? nats_GetLastError(NULL)
						      : natsStatus_GetText(st),
			       why, sizeof(why));
		snprintf(err, errlen, "output.nats_url: %s", why);
		goto fail;
	}
	st = natsConnection_Connect(&n->nc, o);
	if (st != NATS_OK && st != NATS_NOT_YET_CONNECTED) {
		snprintf(err, errlen, "output.nats_url: %s", natsStatus_GetText(st));
		goto fail;
	}
	jsOptions_Init(&jo);
	jo.PublishAsync.MaxPending = HW_SPOOL_HOLD_MAX * 2;
	jo.PublishAsync.AckHandler = on_ack;
	jo.PublishAsync.AckHandlerClosure = n;
	jo.PublishAsync.StallWait = 50;
	st = natsConnection_JetStream(&n->js, n->nc, &jo);
	if (st != NATS_OK) {
		snprintf(err, errlen, "JetStream: %s", natsStatus_GetText(st));
		goto fail;
	}
	natsOptions_Destroy(o);
	return &n->s;
fail:
	natsOptions_Destroy(o);
	if (n->nc)
		natsConnection_Destroy(n->nc);
	pthread_mutex_destroy(&n->mu);
	free(n);
	return NULL;
}
