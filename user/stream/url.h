/* Secrets out of NATS URLs before they are printed: the URL nats://user:pass@host is shown
 * as nats://user:(three stars)@host, and a token (nats://token@host) as three stars. Pure. */
#ifndef HW_STREAM_URL_H
#define HW_STREAM_URL_H

#include <stddef.h>

/* Copies in (a URL, a comma-separated list of them, or a message quoting them) into
 * out[len] with the password or token in the user part of every URL (SCHEME, colon, two
 * slashes, USERINFO, '@') replaced by three stars; truncated to len - 1 bytes. Returns out. */
char *hw_url__redact(const char *in, char *out, size_t len);

#endif
