/* Spooled records of the streaming sinks (see sink.h). */
#include <errno.h>
#include <string.h>

#include "stream/sink.h"

int hw_stream__split(const char *rec, size_t len, char *kind, const char **id, size_t *idlen,
		     const char **line, size_t *linelen)
{
	const char *nl;

	if (len < 3 || (rec[0] != 'e' && rec[0] != 'a'))
		return -EINVAL;
	nl = memchr(rec + 1, '\n', len - 1);
	if (!nl || nl == rec + 1)
		return -EINVAL;
	*kind = rec[0];
	*id = rec + 1;
	*idlen = (size_t)(nl - rec - 1);
	*line = nl + 1;
	*linelen = len - (size_t)(nl + 1 - rec);
	return 0;
}
