/* Line sinks: standard output or an append-only file (reopened on SIGHUP for logrotate).
 * Lines are buffered and written in large writes; hw_sink__flush() is called by the agent at
 * the end of every poll round and at exit, so latency stays bounded by the poll interval. */
#ifndef HW_OUTPUT_SINK_H
#define HW_OUTPUT_SINK_H

#include <stddef.h>

struct hw_sink;

/* path NULL or "-" is standard output. Returns NULL and sets errno when the file cannot be
 * opened. */
struct hw_sink *hw_sink__new(const char *path);
void hw_sink__free(struct hw_sink *s); /* flushes first */

/* Returns 0, or a negative errno when the line could not be written (it is then counted as
 * lost by the caller). */
int hw_sink__write(struct hw_sink *s, const char *line, size_t len);
int hw_sink__flush(struct hw_sink *s);
int hw_sink__reopen(struct hw_sink *s); /* a file sink: close and open the path again */
const char *hw_sink__name(const struct hw_sink *s);

#endif
