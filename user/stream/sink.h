/* Streaming sinks: what the agent (and the collector) send off the host, beside the line sink
 * (stdout/file). Each is fed every ECS JSON line through its own spool (spool.h) and pumped
 * once per poll round: it delivers what it can without blocking for long, and keeps the rest.
 *
 * A record in the spool is: one kind byte ('e' an event, 'a' an alert), the message id
 * (unique per line: "HOSTID.RUNID.SEQ", NATS dedups on it), '\n', then the JSON line
 * (without its newline). */
#ifndef HW_STREAM_SINK_H
#define HW_STREAM_SINK_H

#include <stddef.h>

struct hw_spool;

struct hw_stream {
	const char *name; /* "nats", "syslog" */
	struct hw_spool *spool;
	/* Delivers spooled records (hw_spool__peek / hw_spool__consume), connecting or
	 * reconnecting as needed; returns quickly (within about budget_ms) when the peer is
	 * slow or away. now_ns: CLOCK_MONOTONIC. */
	void (*pump)(struct hw_stream *s, unsigned long long now_ns, int budget_ms);
	/* Best effort delivery of what is left, for at most budget_ms, then closes. */
	void (*close)(struct hw_stream *s, int budget_ms);
	unsigned long long delivered; /* records the peer took */
	unsigned long long errors;    /* failed attempts (connect, send, acks) */
	int connected;
	/* set by pump: it has lines it could deliver at once (the agent pumps it again soon),
	 * not only lines waiting for a batch to fill or acks to come */
	int behind;
	char last_error[160];
};

/* Splits a spooled record into its kind, message id and JSON line. Returns 0 or -EINVAL. */
int hw_stream__split(const char *rec, size_t len, char *kind, const char **id, size_t *idlen,
		     const char **line, size_t *linelen);

#endif
