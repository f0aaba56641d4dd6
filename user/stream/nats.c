/* The NATS JetStream sink: spooled lines are packed into batches (batch.h: many lines per
 * message, one message id per batch: the server drops a repeat within the stream's duplicates
 * window), a round of batches is published, and its lines leave the spool only once every
 * batch is acknowledged. How a round was cut is held in the spool until then, so a round sent
 * again (after a lost ack, a server or an agent restart) is cut the same way, under the same
 * ids. libnats reconnects by itself; while it is away nothing is published and the spool
 * holds the lines. */
#include <errno.h>
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

struct nats_sink {
	struct hw_stream s; /* first: the agent holds a struct hw_stream * */
	natsConnection *nc;
	jsCtx *js;
	char subj_events[300], subj_alerts[300];
	char stream[64], prefix[256];
	int stream_ok;
	int failed; /* set by libnats' thread when a publish of the round failed */
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
	/* the round's batches: records first .. first + lines - 1 of the peek */
	struct batch {
		int first;
		unsigned int lines;
		size_t bytes; /* the lines with their newlines */
		char kind;
		int id_ok; /* id parsed: HOSTID.RUN.SEQ */
		struct hw_batch_id id;
		const char *rid; /* the first record's id as spooled */
		size_t rid_len;
	} b[HW_SPOOL_HOLD_MAX];
};

/* Given to libnats so that a first connect to a server that is down does not block: it
 * carries on in the background. */
static void on_connected(natsConnection *nc, void *closure)
{
	(void)nc;
	(void)closure;
}

static void on_pub_error(jsCtx *js, jsPubAckErr *pae, void *closure)
{
	struct nats_sink *n = closure;

	(void)js;
	(void)pae;
	__atomic_store_n(&n->failed, 1, __ATOMIC_RELEASE);
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

/* The peeked records cut into batches (n->b): one kind, host and run each, consecutive
 * sequence numbers, at most output.nats_batch_lines lines and `limit` bytes; when sizes
 * is given (a hold), exactly those. Returns how many; *open: the last one could still grow
 * (the records ran out, and the spool holds no more). */
static int form(struct nats_sink *n, const char **rec, const size_t *len, int got,
		const unsigned int *sizes, int nsizes, size_t limit, int *open)
{
	int nb = 0, i;

	*open = 0;
	for (i = 0; i < got; i++) {
		struct batch *b = nb ? &n->b[nb - 1] : NULL;
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
			if (nb == HW_SPOOL_HOLD_MAX || (sizes && nb == nsizes))
				break;
			b = &n->b[nb++];
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
	*open = !sizes && i == got && nb && n->b[nb - 1].lines < n->batch_lines &&
		hw_spool__pending(n->s.spool) == (unsigned long long)got;
	return nb;
}

/* One batch as a message, published (acknowledged later). 0, 1 when it was not sent (a line
 * over the server's payload limit: dropped, counted), -1 on failure. */
static int publish(struct nats_sink *n, const struct batch *b, const char **rec,
		   const size_t *len, long long max_payload)
{
	struct hw_buf *body = &n->body;
	char id[200], num[24];
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
		return 1;
	}
	if (b->id_ok)
		snprintf(id, sizeof(id), "%.*s.%.*s.%llu.%u", (int)b->id.host_len, b->id.host,
			 (int)b->id.run_len, b->id.run, b->id.seq, b->lines);
	else
		snprintf(id, sizeof(id), "%.*s.%u", (int)(b->rid_len < 160 ? b->rid_len : 160),
			 b->rid, b->lines);
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

static int pump_round(struct nats_sink *n, unsigned long long now_ns, int budget_ms)
{
	struct hw_stream *s = &n->s;
	const char **rec = n->rec;
	size_t *len = n->len, limit;
	unsigned int sizes[HW_SPOOL_HOLD_MAX];
	long long max_payload = natsConnection_GetMaxPayload(n->nc);
	int got, nb, held, open, total = 0;
	jsPubOptions po;
	natsStatus st;

	if (max_payload <= HEADER_ROOM)
		max_payload = 1 << 20; /* the server's default */
	limit = n->batch_bytes;
	if ((long long)limit > max_payload - HEADER_ROOM)
		limit = (size_t)(max_payload - HEADER_ROOM);
	/* the batches of a round that was not acknowledged (in this run or the last) go again,
	 * cut as they were: their message ids let the server drop what it already stored */
	held = hw_spool__held(s->spool, sizes, HW_SPOOL_HOLD_MAX);
	if (!held && n->wait_since && !n->closing && now_ns - n->wait_since < n->batch_delay_ns) {
		/* an open batch waits: not read again until it may be full */
		unsigned long long pending = hw_spool__pending(s->spool);

		if (pending < n->batch_lines && pending * n->wait_line < limit)
			return 0;
	}
	for (int i = 0; i < held; i++)
		total += (int)sizes[i];
	got = hw_spool__peek(s->spool, held ? (size_t)total : PEEK_LINES,
			     held ? PEEK_BYTES + HW_SPOOL_RECORD_MAX : PEEK_BYTES, rec, len);
	if (got <= 0) {
		n->wait_since = 0;
		return got < 0 ? -1 : 0;
	}
	if (held && got != total) {
		held = 0; /* the spool lost some (max_bytes): cut afresh */
		got = hw_spool__peek(s->spool, PEEK_LINES, PEEK_BYTES, rec, len);
		if (got <= 0)
			return got < 0 ? -1 : 0;
	}
	nb = form(n, rec, len, got, held ? sizes : NULL, held, limit, &open);
	if (open && !n->closing) {
		/* the last batch may still fill: it waits, at most output.nats_batch_delay */
		if (!n->wait_since)
			n->wait_since = now_ns ? now_ns : 1;
		n->wait_line = n->b[nb - 1].bytes / n->b[nb - 1].lines;
		if (nb > 1)
			nb--;
		else if (now_ns - n->wait_since < n->batch_delay_ns)
			return 0;
		else
			n->wait_since = 0;
	} else {
		n->wait_since = 0;
	}
	total = 0;
	for (int i = 0; i < nb; i++) {
		sizes[i] = n->b[i].lines;
		total += (int)sizes[i];
	}
	if (hw_spool__hold(s->spool, sizes, nb))
		set_error(n, "saving the batches in the spool", NATS_IO_ERROR);
	__atomic_store_n(&n->failed, 0, __ATOMIC_RELEASE);
	for (int i = 0; i < nb; i++) {
		if (publish(n, &n->b[i], rec, len, max_payload) < 0) {
			forget_pending(n);
			return -1;
		}
	}
	jsPubOptions_Init(&po);
	po.MaxWait = budget_ms > 0 ? budget_ms : 1;
	st = js_PublishAsyncComplete(n->js, &po);
	if (st == NATS_OK && !__atomic_load_n(&n->failed, __ATOMIC_ACQUIRE)) {
		hw_spool__consume(s->spool, (size_t)total);
		s->delivered += (unsigned long long)total;
		return total;
	}
	set_error(n, st == NATS_OK ? "a publish was refused" : "waiting for acks",
		  st == NATS_OK ? NATS_ERR : st);
	forget_pending(n);
	return -1;
}

static unsigned long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000ULL + (unsigned long long)ts.tv_nsec / 1000000;
}

static void pump(struct hw_stream *s, unsigned long long now_ns, int budget_ms)
{
	struct nats_sink *n = (struct nats_sink *)s;
	unsigned long long start = mono_ms(), spent;

	s->connected = n->nc && natsConnection_Status(n->nc) == NATS_CONN_STATUS_CONNECTED;
	if (!s->connected || ensure_stream(n))
		return;
	/* rounds while there is time left: a backlog drains at the server's pace */
	do {
		if (pump_round(n, now_ns, budget_ms) <= 0)
			return;
		spent = mono_ms() - start;
	} while ((int)spent < budget_ms);
}

static void close_sink(struct hw_stream *s, int budget_ms)
{
	struct nats_sink *n = (struct nats_sink *)s;

	/* what the spool still holds is sent now if the server is there, else at the next start */
	n->closing = 1;
	if (budget_ms > 0)
		pump(s, 0, budget_ms);
	hw_buf__free(&n->body);
	hw_buf__free(&n->packed);
	hw_batch__packer_free(&n->packer);
	if (n->js)
		jsCtx_Destroy(n->js);
	if (n->nc) {
		natsConnection_Close(n->nc);
		natsConnection_Destroy(n->nc);
	}
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
	jo.PublishAsync.ErrHandler = on_pub_error;
	jo.PublishAsync.ErrHandlerClosure = n;
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
	free(n);
	return NULL;
}
