/* jsdump URL STREAM [count]: prints every message of a JetStream stream, oldest first, one per
 * line: SEQ TAB SUBJECT TAB Nats-Msg-Id TAB DATA; with "count", only how many it holds. For
 * the tests and benchmarks (no NATS client in Python here). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nats/nats.h>

int main(int argc, char **argv)
{
	natsConnection *nc = NULL;
	jsCtx *js = NULL;
	jsStreamInfo *si = NULL;
	jsErrCode jerr = 0;
	natsStatus st;

	if (argc != 3 && !(argc == 4 && !strcmp(argv[3], "count"))) {
		fprintf(stderr, "usage: jsdump URL STREAM [count]\n");
		return 2;
	}
	/* TLS from the environment: HW_NATS_CA, HW_NATS_CERT, HW_NATS_KEY */
	{
		natsOptions *o = NULL;
		const char *ca = getenv("HW_NATS_CA"), *cert = getenv("HW_NATS_CERT"),
			   *key = getenv("HW_NATS_KEY");

		st = natsOptions_Create(&o);
		if (st == NATS_OK)
			st = natsOptions_SetURL(o, argv[1]);
		if (st == NATS_OK && ca)
			st = natsOptions_SetSecure(o, true);
		if (st == NATS_OK && ca)
			st = natsOptions_LoadCATrustedCertificates(o, ca);
		if (st == NATS_OK && cert && key)
			st = natsOptions_LoadCertificatesChain(o, cert, key);
		if (st == NATS_OK)
			st = natsConnection_Connect(&nc, o);
		natsOptions_Destroy(o);
	}
	if (st == NATS_OK)
		st = natsConnection_JetStream(&js, nc, NULL);
	if (st == NATS_OK)
		st = js_GetStreamInfo(&si, js, argv[2], NULL, &jerr);
	if (st != NATS_OK) {
		fprintf(stderr, "jsdump: %s\n", natsStatus_GetText(st));
		return 1;
	}
	if (argc == 4) {
		printf("%llu\n", (unsigned long long)si->State.Msgs);
		return 0;
	}
	for (uint64_t seq = si->State.FirstSeq; si->State.Msgs && seq <= si->State.LastSeq;
	     seq++) {
		natsMsg *m = NULL;
		const char *id = "";

		if (js_GetMsg(&m, js, argv[2], seq, NULL, &jerr) != NATS_OK)
			continue; /* deleted */
		natsMsgHeader_Get(m, "Nats-Msg-Id", &id);
		printf("%llu\t%s\t%s\t%.*s\n", (unsigned long long)seq, natsMsg_GetSubject(m), id,
		       natsMsg_GetDataLength(m), natsMsg_GetData(m));
		natsMsg_Destroy(m);
	}
	jsStreamInfo_Destroy(si);
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
	return 0;
}
