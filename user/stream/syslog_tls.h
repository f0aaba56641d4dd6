/* TLS for the syslog sink (user/stream/syslog_tls.c): the client context output.syslog_ca,
 * output.syslog_cert and output.syslog_key describe, and one session on a connected
 * non-blocking socket. The only file of the sink that uses OpenSSL; the connection state
 * machine that drives these calls is syslog.c's. */
#ifndef HW_STREAM_SYSLOG_TLS_H
#define HW_STREAM_SYSLOG_TLS_H

#include <stddef.h>
#include <sys/types.h>

#include "config.h"

struct hw_syslog_tls;	   /* a client context: CAs to verify with, our certificate */
struct hw_syslog_tls_conn; /* a session on one socket */

/* The context of cfg into *ctx: NULL (plain TCP) when output.syslog_ca is not set. TLS 1.2 at
 * least, the receiver's certificate verified against output.syslog_ca (a file or a directory),
 * output.syslog_cert and output.syslog_key presented when set. 0, or -errno with err saying
 * why (a certificate or key without the CA, one without the other, unreadable files, a key
 * that does not match the certificate). */
int hw_syslog_tls__new(const struct hw_config *cfg, struct hw_syslog_tls **ctx, char *err,
		       size_t errlen);
void hw_syslog_tls__free(struct hw_syslog_tls *ctx);

/* A session on fd (connected, non-blocking; the session never closes it and sends with
 * MSG_NOSIGNAL) whose receiver's certificate must name host, an address or a name. NULL with
 * why set ("cannot start TLS: ...", "cannot set the TLS host name: ...") on an error. */
struct hw_syslog_tls_conn *hw_syslog_tls_conn__new(struct hw_syslog_tls *ctx, int fd,
						   const char *host, char *why, size_t whylen);
/* The handshake, moved on: 1 done, 0 to be called again once fd is ready for *want (POLLIN
 * or POLLOUT), -1 failed with why set (the certificate's verification error when it failed). */
int hw_syslog_tls_conn__handshake(struct hw_syslog_tls_conn *c, short *want, char *why,
				  size_t whylen);
/* Writes up to n bytes of buf: bytes written (*pending = 0), 0 when the socket is full
 * (*want: what to wait for; *pending = 1: call again with the same bytes), or -1 with the
 * reason in why. */
ssize_t hw_syslog_tls_conn__write(struct hw_syslog_tls_conn *c, const char *buf, size_t n,
				  int *pending, short *want, char *why, size_t whylen);
/* Reads and ignores what the receiver sent (session tickets): 0 the session is up, 1 the
 * receiver closed it (close_notify), -1 it failed. */
int hw_syslog_tls_conn__drain(struct hw_syslog_tls_conn *c);
/* Sends close_notify. */
void hw_syslog_tls_conn__shutdown(struct hw_syslog_tls_conn *c);
/* Frees the session (NULL: none) without close_notify, and empties OpenSSL's error queue. */
void hw_syslog_tls_conn__free(struct hw_syslog_tls_conn *c);

#endif
