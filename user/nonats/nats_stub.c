/* The static build has no libnats (Debian ships no libnats.a): the JetStream sink refuses. */
#include <stdio.h>

#include "stream/nats.h"

struct hw_stream *hw_nats__new(const struct hw_config *cfg, struct hw_spool *spool,
			       const char *host_name, char *err, size_t errlen)
{
	(void)cfg;
	(void)spool;
	(void)host_name;
	snprintf(err, errlen, "output.nats_url: the static build has no NATS support; use the "
			      "packaged binary");
	return NULL;
}
