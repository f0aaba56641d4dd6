/* The NATS JetStream streaming sink (see nats.c). Not in the static build, which has no
 * libnats: there hw_nats__new refuses with a clear message. */
#ifndef HW_STREAM_NATS_H
#define HW_STREAM_NATS_H

#include <stddef.h>

#include "config.h"
#include "stream/sink.h"

/* Events go to PREFIX.HOST.events, alerts to PREFIX.HOST.alerts (output.nats_subject,
 * host_name as a subject token); the stream output.nats_stream (subjects PREFIX.>) is
 * created when missing. Takes ownership of spool on success. Connecting happens in the
 * background: a server that is down is not an error. NULL with err on bad settings. */
struct hw_stream *hw_nats__new(const struct hw_config *cfg, struct hw_spool *spool,
			       const char *host_name, char *err, size_t errlen);

#endif
