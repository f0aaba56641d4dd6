/* jsdump URL STREAM [count|info|msgs]: prints every line of a JetStream stream, oldest first,
 * batches split (stream/batch.h, gzip undone), one per output line:
 *   SEQ TAB SUBJECT TAB ID TAB DATA
 * ID is the message's Nats-Msg-Id, for a batch's lines followed by "#INDEX" (0, 1, ...).
 * "count": how many lines it holds; "info": its messages and bytes (the server's figures);
 * "msgs": one output line per message: SEQ TAB SUBJECT TAB ID TAB COUNT TAB BYTES TAB
 * ENCODING TAB HOST TAB RUN TAB FIRST (COUNT "-" for a one-line message, absent headers "-").
 * A batch that does not split is an error (exit 1). For the tests and benchmarks (no NATS
 * client in Python here). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nats/nats.h>

#include "stream/batch.h"

static const char *hdr(natsMsg *m, const char *name)
{
	const char *v = NULL;

	return natsMsgHeader_Get(m, name, &v) == NATS_OK && v ? v : NULL;
}

int main(int argc, char **argv)
{
	natsConnection *nc = NULL;
	jsCtx *js = NULL;
	jsStreamInfo *si = NULL;
	jsErrCode jerr = 0;
	natsStatus st;
	struct hw_batch_reader r = {0};
	const char *mode = argc == 4 ? argv[3] : "";
	unsigned long long lines = 0;
	int ret = 0;

	if (argc != 3 && !(argc == 4 && (!strcmp(mode, "count") || !strcmp(mode, "info") ||
					 !strcmp(mode, "msgs")))) {
		fprintf(stderr, "usage: jsdump URL STREAM [count|info|msgs]\n");
		return 2;
	}
	/* TLS from the environment: HW_NATS_CA, HW_NATS_CERT, HW_NATS_KEY */
	{
		natsOptions *o = NULL;
		const char *ca = getenv("HW_NATS_CA"), *cert = getenv("HW_NATS_CERT"),
			   *key = getenv("HW_NATS_KEY");

		const char *servers[8];
		char *urls = strdup(argv[1]), *save = NULL, *tok;
		int ns = 0;

		/* a cluster: URLs separated by ',' */
		for (tok = strtok_r(urls, ",", &save); tok && ns < 8;
		     tok = strtok_r(NULL, ",", &save))
			servers[ns++] = tok;
		st = natsOptions_Create(&o);
		if (st == NATS_OK)
			st = natsOptions_SetServers(o, servers, ns);
		if (st == NATS_OK && ca)
			st = natsOptions_SetSecure(o, true);
		if (st == NATS_OK && ca)
			st = natsOptions_LoadCATrustedCertificates(o, ca);
		if (st == NATS_OK && cert && key)
			st = natsOptions_LoadCertificatesChain(o, cert, key);
		if (st == NATS_OK)
			st = natsConnection_Connect(&nc, o);
		natsOptions_Destroy(o);
		free(urls);
	}
	if (st == NATS_OK)
		st = natsConnection_JetStream(&js, nc, NULL);
	if (st == NATS_OK)
		st = js_GetStreamInfo(&si, js, argv[2], NULL, &jerr);
	if (st != NATS_OK) {
		fprintf(stderr, "jsdump: %s\n", natsStatus_GetText(st));
		return 1;
	}
	if (!strcmp(mode, "info")) {
		printf("%llu %llu\n", (unsigned long long)si->State.Msgs,
		       (unsigned long long)si->State.Bytes);
		return 0;
	}
	for (uint64_t seq = si->State.FirstSeq; si->State.Msgs && seq <= si->State.LastSeq; seq++) {
		natsMsg *m = NULL;
		const char *id, *count, *enc, *line;
		char err[300];
		size_t len;
		int i = 0;

		if (js_GetMsg(&m, js, argv[2], seq, NULL, &jerr) != NATS_OK)
			continue; /* deleted */
		id = hdr(m, "Nats-Msg-Id");
		count = hdr(m, HW_BATCH_H_COUNT);
		enc = hdr(m, HW_BATCH_H_ENCODING);
		if (!strcmp(mode, "msgs")) {
			printf("%llu\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", (unsigned long long)seq,
			       natsMsg_GetSubject(m), id ? id : "", count ? count : "-",
			       natsMsg_GetDataLength(m), enc ? enc : "-",
			       hdr(m, HW_BATCH_H_HOST) ? hdr(m, HW_BATCH_H_HOST) : "-",
			       hdr(m, HW_BATCH_H_RUN) ? hdr(m, HW_BATCH_H_RUN) : "-",
			       hdr(m, HW_BATCH_H_FIRST) ? hdr(m, HW_BATCH_H_FIRST) : "-");
			natsMsg_Destroy(m);
			continue;
		}
		if (hw_batch__open(&r, count, enc, natsMsg_GetData(m),
				   (size_t)natsMsg_GetDataLength(m), err, sizeof(err))) {
			fprintf(stderr, "jsdump: message %llu: %s\n", (unsigned long long)seq, err);
			ret = 1;
			natsMsg_Destroy(m);
			continue;
		}
		while (hw_batch__next(&r, &line, &len)) {
			lines++;
			if (!strcmp(mode, "count"))
				continue;
			if (count)
				printf("%llu\t%s\t%s#%d\t%.*s\n", (unsigned long long)seq,
				       natsMsg_GetSubject(m), id ? id : "", i++, (int)len, line);
			else
				printf("%llu\t%s\t%s\t%.*s\n", (unsigned long long)seq,
				       natsMsg_GetSubject(m), id ? id : "", (int)len, line);
		}
		natsMsg_Destroy(m);
	}
	if (!strcmp(mode, "count"))
		printf("%llu\n", lines);
	hw_batch__free(&r);
	jsStreamInfo_Destroy(si);
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
	return ret;
}
