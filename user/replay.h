/* hopwatch replay: recorded event streams through the detection engine, alerts out. */
#ifndef HW_REPLAY_H
#define HW_REPLAY_H

#include <stdio.h>

#include "config.h"

struct hw_replay_stats {
	unsigned long long lines, events, alerts, malformed, hosts;
};

/* Feeds every line of every file ("-" is standard input) to one engine per host.id and
 * writes the alerts to out (ECS JSON, or text). Malformed lines are reported on err as
 * "FILE:LINE: why" (the first 20; the count is in st) and skipped. Returns 0, or 2 when a
 * file cannot be read (message on err), 1 when out cannot be written. */
int hw_replay(const struct hw_config *cfg, int text, char *const *files, int nfiles, FILE *out,
	      FILE *err, struct hw_replay_stats *st);

#endif
