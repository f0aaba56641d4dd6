/* hopwatch collect: the fleet's events from NATS JetStream (a durable pull consumer shared by
 * every collector instance), or from recorded files, through one detection engine per host and
 * the cross-host stitcher (hop-chain); alerts to the output and to collect.subject
 * (docs/collector.md). */
#ifndef HW_COLLECT_COLLECT_H
#define HW_COLLECT_COLLECT_H

/* argv[0] is "collect". Returns the exit status: 0 success (also when stopped by SIGINT,
 * SIGTERM or --duration), 1 the system refused (NATS never reached, JetStream refused, the
 * output not writable), 2 bad usage (flags, config, unreadable files), 3 --replay found
 * malformed lines (and processed the rest). The static build's stub returns 2. */
int hw_collect_main(int argc, char **argv);

#endif
