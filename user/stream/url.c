/* Redacting NATS URLs for messages (see url.h). */
#include <string.h>

#include "stream/url.h"

/* The bytes that end a URL's authority: its userinfo is what comes before an '@' in it. */
static int authority_end(char c)
{
	return !c || c == '/' || c == ',' || c == ' ' || c == '\t' || c == '\'' || c == '"' ||
	       c == '?' || c == '#' || c == '\n';
}

char *hw_url__redact(const char *in, char *out, size_t len)
{
	size_t o = 0;

	if (!len)
		return out;
	while (*in && o + 1 < len) {
		const char *auth, *at = NULL, *colon = NULL, *p;

		if (strncmp(in, "://", 3)) {
			out[o++] = *in++;
			continue;
		}
		auth = in + 3;
		for (p = auth; !authority_end(*p); p++) {
			if (*p == '@')
				at = p; /* the last '@': a password may hold one */
		}
		for (p = auth; at && p < at; p++) {
			if (*p == ':') {
				colon = p;
				break;
			}
		}
		/* "://", then the user and ':' when there is a password, then "***@" */
		for (p = in; p < (at ? (colon ? colon + 1 : auth) : auth) && o + 1 < len; p++)
			out[o++] = *p;
		if (at) {
			for (p = "***"; *p && o + 1 < len; p++)
				out[o++] = *p;
			in = at;
		} else {
			in = auth;
		}
	}
	out[o] = 0;
	return out;
}
