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

#include "lib/clock.h"
#include "stream/batch.h"
#include "stream/nats.h"
#include "stream/nats_int.h"
#include "stream/nats_opts.h"
#include "stream/spool.h"
#include "stream/url.h"

#define DUPLICATES_NS	  (120ULL * 1000000000ULL) /* the stream's duplicates window */
#define WRITE_DEADLINE_MS 1000 /* a server that stops reading: the connection is dropped */

/* Given to libnats so that a first connect to a server that is down does not block: it
 * carries on in the background. */
static void on_connected(natsConnection *nc, void *closure)
{
	(void)nc;
	(void)closure;
}

/* HOST as a subject token: [A-Za-z0-9_-], anything else '_' */
static void token(char *out, size_t len, const char *host)
{
	size_t i = 0;

	for (; host[i] && i + 1 < len; i++) {
		char c = host[i];

		out[i] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
				 (c >= '0' && c <= '9') || c == '_' || c == '-'
			     ? c
			     : '_';
	}
	out[i] = 0;
	if (!i)
		snprintf(out, len, "unknown");
}

void hw_nats__error(struct nats_sink *n, const char *what, natsStatus st)
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
		hw_nats__error(n, "stream info", st);
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
		hw_nats__error(n, "creating the stream", st);
		return -1;
	}
	if (si)
		jsStreamInfo_Destroy(si);
	n->stream_ok = 1;
	return 0;
}

/* Never waits for the server: what was acknowledged since the last round leaves the spool,
 * then more is published while there is room in flight and time left. */
static void pump(struct hw_stream *s, unsigned long long now_ns, int budget_ms)
{
	struct nats_sink *n = (struct nats_sink *)s;
	unsigned long long start = hw_clock__mono_ms();

	s->connected = n->nc && natsConnection_Status(n->nc) == NATS_CONN_STATUS_CONNECTED;
	if (!now_ns)
		now_ns = hw_clock__mono_ns();
	hw_nats__settle(n, now_ns);
	s->behind = 0;
	if (!s->connected || ensure_stream(n))
		return;
	while (hw_nats__send_more(n, now_ns) > 0 && (int)(hw_clock__mono_ms() - start) < budget_ms)
		;
	/* more could go now: lines beyond those in flight, room for them, and no batch
	 * waiting to fill */
	if (n->nb < HW_SPOOL_HOLD_MAX && !n->wait_since) {
		unsigned long long inflight = 0;

		for (int i = 0; i < n->nb; i++)
			inflight += n->b[i].lines;
		s->behind = hw_spool__pending(s->spool) > inflight;
	}
}

static void close_sink(struct hw_stream *s, int budget_ms)
{
	struct nats_sink *n = (struct nats_sink *)s;

	/* what the spool still holds is sent now if the server is there, else at the next start */
	n->closing = 1;
	if (budget_ms > 0) {
		unsigned long long end = hw_clock__mono_ms() + (unsigned long long)budget_ms;

		do {
			pump(s, 0, budget_ms);
			if (!n->nb && !hw_spool__pending(s->spool))
				break;
			nats_Sleep(5);
		} while (hw_clock__mono_ms() < end && s->connected);
		hw_nats__settle(n, hw_clock__mono_ns());
	}
	/* closed before the context's reply subscription is freed: libnats before 3.6 can
	 * deliver a late acknowledgement to a subscription being freed (nats.c #637) */
	if (n->nc)
		natsConnection_Close(n->nc);
	if (n->js)
		jsCtx_Destroy(n->js);
	n->js = NULL;
	if (n->nc)
		natsConnection_Destroy(n->nc);
	n->nc = NULL;
	hw_buf__free(&n->body);
	hw_buf__free(&n->packed);
	hw_batch__packer_free(&n->packer);
	pthread_mutex_destroy(&n->mu);
	hw_spool__close(s->spool);
	free(n);
}

natsStatus hw_nats__options(const struct hw_config *cfg, const char *client_name, natsOptions **out)
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
	jo.PublishAsync.AckHandler = hw_nats__on_ack;
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
