/* The syslog sink's frame (user/stream/syslog_fmt.c): RFC 5424 message, RFC 6587
 * octet-counting framing. Pure, no OpenSSL: the connection is syslog.c's, TLS syslog_tls.c's. */
#ifndef HW_STREAM_SYSLOG_FMT_H
#define HW_STREAM_SYSLOG_FMT_H

#include <stddef.h>

#define HW_SYSLOG_FACILITY 3 /* daemon */
/* the frame's bytes besides the JSON line: "LEN SP" and the header, a 255-byte host name
 * included */
#define HW_SYSLOG_OVERHEAD 400

/* One frame: "LEN SP <PRI>1 TIMESTAMP HOSTNAME hopwatch PROCID MSGID - JSON" where LEN counts
 * the bytes after SP; PRI is facility daemon with severity info (6) for an event (kind 'e'),
 * warning (4) for an alert (kind 'a'), crit (2) for an alert whose event.severity is 99 or
 * more (an OCSF line: severity_id 5 or 6); TIMESTAMP the line's @timestamp (an OCSF line's
 * time_dt), its fraction cut to the 6 digits RFC 5424 allows ("-"
 * when the line has none that is valid); HOSTNAME host with what RFC 5424 forbids (bytes
 * outside 33..126) replaced by '_' and cut to 255 bytes ("-" when empty); PROCID pid; MSGID
 * "event" or "alert". Pure: writes the frame and a NUL into out when outlen is larger than
 * the frame, else only an empty string (when outlen > 0); returns the frame's length. */
size_t hw_syslog__format(char kind, const char *line, size_t linelen, const char *host,
			 unsigned int pid, char *out, size_t outlen);

#endif
