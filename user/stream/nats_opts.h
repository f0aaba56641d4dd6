/* libnats connection options from the configuration, shared by the JetStream sink and the
 * collector: the servers of output.nats_url, endless reconnects every 500 ms, a 2 s connect
 * timeout, a first connect that does not block when the servers are down, and TLS from
 * output.nats_ca / nats_cert / nats_key (or a tls:// URL). Only for code built with libnats. */
#ifndef HW_STREAM_NATS_OPTS_H
#define HW_STREAM_NATS_OPTS_H

#include <nats/nats.h>

#include "config.h"

/* Returns NATS_OK and *out (the caller destroys it), or a libnats status. */
natsStatus hw_nats__options(const struct hw_config *cfg, const char *client_name,
			    natsOptions **out);

#endif
