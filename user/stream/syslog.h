/* The syslog streaming sink: spooled lines go to an RFC 5424 receiver (rsyslog, a SIEM) over
 * TCP, or TLS when output.syslog_ca is set, one message per line in RFC 6587 octet-counting
 * framing. A line leaves the spool once the receiver's TCP has acknowledged it (delivered
 * counts those). */
#ifndef HW_STREAM_SYSLOG_H
#define HW_STREAM_SYSLOG_H

#include <stddef.h>

#include "config.h"
#include "stream/sink.h"

#define HW_SYSLOG_FACILITY 3 /* daemon */
/* the frame's bytes besides the JSON line: "LEN SP" and the header, a 255-byte host name
 * included */
#define HW_SYSLOG_OVERHEAD 400

/* Sends to output.syslog ("host:port"), verifying the receiver's certificate against
 * output.syslog_ca and its name or address when that is set, and presenting output.syslog_cert
 * and output.syslog_key (mutual TLS) when those are. app_host is the HOSTNAME field. Takes
 * ownership of spool on success; close() delivers what it can, closes the spool and frees the
 * sink. A receiver that is down is not an error (the spool holds the lines and the sink
 * retries, 1 s doubling to 30 s). NULL with errno set and err saying why on bad settings
 * (unreadable CA, certificate or key, a certificate without its key). */
struct hw_stream *hw_syslog__new(const struct hw_config *cfg, struct hw_spool *spool,
				 const char *app_host, char *err, size_t errlen);

/* One frame: "LEN SP <PRI>1 TIMESTAMP HOSTNAME hopwatch PROCID MSGID - JSON" where LEN counts
 * the bytes after SP; PRI is facility daemon with severity info (6) for an event (kind 'e'),
 * warning (4) for an alert (kind 'a'), crit (2) for an alert whose event.severity is 99 or
 * more; TIMESTAMP the line's @timestamp, its fraction cut to the 6 digits RFC 5424 allows ("-"
 * when the line has none that is valid); HOSTNAME host with what RFC 5424 forbids (bytes
 * outside 33..126) replaced by '_' and cut to 255 bytes ("-" when empty); PROCID pid; MSGID
 * "event" or "alert". Pure: writes the frame and a NUL into out when outlen is larger than
 * the frame, else only an empty string (when outlen > 0); returns the frame's length. */
size_t hw_syslog__format(char kind, const char *line, size_t linelen, const char *host,
			 unsigned int pid, char *out, size_t outlen);

#endif
