/* Line sinks: standard output or an append-only file (reopened on SIGHUP for logrotate).
 * Lines are buffered and written in large writes; hw_sink__flush() is called by the agent at
 * the end of every poll round and at exit, so latency stays bounded by the poll interval.
 *
 * A line is written whole or counted lost, never cut: when a write stops short (a full
 * filesystem), a regular file is truncated back to the end of the last whole line and the
 * lines that did not fit are counted in hw_sink__lost(); on a pipe or terminal, which cannot
 * be truncated, the rest of the cut line is kept and written first next time. Writing goes
 * on at the next flush (the caller keeps tracing). A file is opened without following a
 * symbolic link, and an existing file owned by another user, or with other hard links, is
 * refused. */
#ifndef HW_OUTPUT_SINK_H
#define HW_OUTPUT_SINK_H

#include <stddef.h>

struct hw_sink;

/* path NULL or "-" is standard output. Returns NULL with errno set and err saying why (one
 * line, the path quoted) when the file cannot be opened or is refused. */
struct hw_sink *hw_sink__open(const char *path, char *err, size_t errlen);
/* The same without the message (errno only). */
struct hw_sink *hw_sink__new(const char *path);
void hw_sink__free(struct hw_sink *s); /* flushes first */

/* Returns 0, or a negative errno when lines were lost (counted by the sink). */
int hw_sink__write(struct hw_sink *s, const char *line, size_t len);
int hw_sink__flush(struct hw_sink *s);
/* A file sink: close and open the path again (with the same checks); on failure it keeps
 * writing to the old file and returns a negative errno, err saying why. */
int hw_sink__reopen_err(struct hw_sink *s, char *err, size_t errlen);
int hw_sink__reopen(struct hw_sink *s);
const char *hw_sink__name(const struct hw_sink *s);

/* Lines lost to write errors since the sink was made. */
unsigned long long hw_sink__lost(const struct hw_sink *s);
/* When a flush has just written again after lost lines: returns 1 and how many lines were
 * lost since writing last worked and the error that lost them (once per outage). */
int hw_sink__resumed(struct hw_sink *s, unsigned long long *lost, int *err);
int hw_sink__last_error(const struct hw_sink *s); /* positive errno of the last failure */
/* Whether the reader of a pipe or socket output has gone (EPIPE, or poll says so). */
int hw_sink__closed(struct hw_sink *s);

#endif
