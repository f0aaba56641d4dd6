/* The syslog streaming sink: spooled lines go to an RFC 5424 receiver (rsyslog, a SIEM) over
 * TCP, or TLS when output.syslog_ca is set, one message per line in RFC 6587 octet-counting
 * framing. A line leaves the spool once the receiver's TCP has acknowledged it (delivered
 * counts those). The sink's three files: syslog_fmt.c formats a frame, syslog.c (this header's)
 * owns the sink and its connection state machine, syslog_tls.c the TLS context and session. */
#ifndef HW_STREAM_SYSLOG_H
#define HW_STREAM_SYSLOG_H

#include <stddef.h>

#include "config.h"
#include "stream/sink.h"
#include "stream/syslog_fmt.h" /* the frame */

/* Sends to output.syslog ("host:port"), verifying the receiver's certificate against
 * output.syslog_ca and its name or address when that is set, and presenting output.syslog_cert
 * and output.syslog_key (mutual TLS) when those are. app_host is the HOSTNAME field. Takes
 * ownership of spool on success; close() delivers what it can, closes the spool and frees the
 * sink. A receiver that is down is not an error (the spool holds the lines and the sink
 * retries, 1 s doubling to 30 s). NULL with errno set and err saying why on bad settings
 * (unreadable CA, certificate or key, a certificate without its key). */
struct hw_stream *hw_syslog__new(const struct hw_config *cfg, struct hw_spool *spool,
				 const char *app_host, char *err, size_t errlen);

#endif
