/* The NATS JetStream sink: spooled lines are published in batches with a message id each
 * (Nats-Msg-Id: the server drops a repeat within the stream's duplicates window), and leave
 * the spool only once every message of the batch is acknowledged. libnats reconnects by
 * itself; while it is away nothing is published and the spool holds the lines. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nats/nats.h>

#include "stream/nats.h"
#include "stream/nats_opts.h"
#include "stream/spool.h"
#include "stream/url.h"

#define BATCH 2048		 /* messages per acknowledged batch */
#define BATCH_BYTES (4u << 20)
#define DUPLICATES_NS (120ULL * 1000000000ULL) /* the stream's duplicates window */

struct nats_sink {
	struct hw_stream s; /* first: the agent holds a struct hw_stream * */
	natsConnection *nc;
	jsCtx *js;
	char subj_events[300], subj_alerts[300];
	char stream[64], prefix[256];
	int stream_ok;
	int failed; /* set by libnats' thread when a publish of the batch failed */
	char id[128];
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

/* Messages published but neither acknowledged nor failed when a batch timed out: dropped
 * here, sent again with the same ids next round. */
static void forget_pending(struct nats_sink *n)
{
	natsMsgList list = {0};

	if (js_PublishAsyncGetPendingList(&list, n->js) == NATS_OK)
		natsMsgList_Destroy(&list);
}

/* One batch: published, then waited for; returns how many were delivered, 0 when none were
 * pending, -1 when the batch failed (it stays in the spool). */
static int pump_batch(struct hw_stream *s, int budget_ms);

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

	(void)now_ns;
	s->connected = n->nc && natsConnection_Status(n->nc) == NATS_CONN_STATUS_CONNECTED;
	if (!s->connected || ensure_stream(n))
		return;
	/* batches while there is time left: a backlog drains at the server's pace */
	do {
		if (pump_batch(s, budget_ms) <= 0)
			return;
		spent = mono_ms() - start;
	} while ((int)spent < budget_ms);
}

static int pump_batch(struct hw_stream *s, int budget_ms)
{
	struct nats_sink *n = (struct nats_sink *)s;
	const char *rec[BATCH];
	size_t len[BATCH];
	jsPubOptions po;
	natsStatus st;
	int got, sent = 0;

	got = hw_spool__peek(s->spool, BATCH, BATCH_BYTES, rec, len);
	if (got <= 0)
		return 0;
	__atomic_store_n(&n->failed, 0, __ATOMIC_RELEASE);
	for (int i = 0; i < got; i++) {
		const char *id, *line;
		size_t idlen, linelen;
		natsMsg *m = NULL;
		char kind;

		if (hw_stream__split(rec[i], len[i], &kind, &id, &idlen, &line, &linelen) ||
		    idlen >= sizeof(n->id)) {
			/* cannot happen with the agent's records; skip it rather than stall */
			break; /* not an agent record: cannot happen; the batch ends before it */
		}
		memcpy(n->id, id, idlen);
		n->id[idlen] = 0;
		st = natsMsg_Create(&m, kind == 'a' ? n->subj_alerts : n->subj_events, NULL, line,
				    (int)linelen);
		if (st == NATS_OK) {
			jsPubOptions_Init(&po);
			po.MsgId = n->id;
			st = js_PublishMsgAsync(n->js, &m, &po);
		}
		if (st != NATS_OK) {
			natsMsg_Destroy(m);
			set_error(n, "publish", st);
			break;
		}
		sent++;
	}
	if (!sent)
		return -1;
	jsPubOptions_Init(&po);
	po.MaxWait = budget_ms > 0 ? budget_ms : 1;
	st = js_PublishAsyncComplete(n->js, &po);
	if (st == NATS_OK && !__atomic_load_n(&n->failed, __ATOMIC_ACQUIRE)) {
		hw_spool__consume(s->spool, (size_t)sent);
		s->delivered += (unsigned long long)sent;
		return sent;
	}
	set_error(n, st == NATS_OK ? "a publish was refused" : "waiting for acks",
		  st == NATS_OK ? NATS_ERR : st);
	forget_pending(n);
	return -1;
}

static void close_sink(struct hw_stream *s, int budget_ms)
{
	struct nats_sink *n = (struct nats_sink *)s;

	/* what the spool still holds is sent now if the server is there, else at the next start */
	if (budget_ms > 0)
		pump(s, 0, budget_ms);
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
	jo.PublishAsync.MaxPending = BATCH * 2;
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
