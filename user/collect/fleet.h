/* The collector's input: messages of many agents (a NATS subject and one ECS JSON line, or a
 * line of a recorded file), each checked, turned into a fact and fed to its host's detection
 * engine and to the stitcher (stitch.h). A host is host.id and host.name together (agents
 * scoped to network namespaces of one machine, and machines cloned from one image, share a
 * machine-id: `hopwatch replay` keys by host.id alone). Hostile
 * input is expected: a malformed message is refused with its reason and counted, never fatal.
 * Pure: no I/O, no clock. */
#ifndef HW_COLLECT_FLEET_H
#define HW_COLLECT_FLEET_H

#include <stddef.h>

#include "collect/stitch.h"
#include "config.h"
#include "detect/engine.h"

#define HW_FLEET_HOSTS_MAX 16384 /* engines at once (one per host), about 40 KiB each */

struct hw_fleet;

struct hw_fleet_stats {
	unsigned long long messages;  /* fed */
	unsigned long long events;    /* fed to an engine and the stitcher */
	unsigned long long skipped;   /* alert lines (the collector makes its own), blank lines */
	unsigned long long malformed; /* refused */
	unsigned long long failed;    /* not processed: out of memory */
	unsigned long long hosts;     /* engines made (a restarted agent gets a new one) */
	unsigned long long alerts;    /* raised by the engines and the stitcher */
};

/* cfg must outlive the fleet; fn gets every alert (per-host rules and hop-chain). NULL with
 * errno set when out of memory. */
struct hw_fleet *hw_fleet__new(const struct hw_config *cfg, hw_alert_fn fn, void *ctx);
void hw_fleet__free(struct hw_fleet *f);

/* One message. subject: where NATS delivered it, which must be PREFIX.HOST.events with
 * PREFIX output.nats_subject and HOST the event's host.name as the agent spells it in a subject;
 * NULL for a line of a file (blank lines are then skipped). Returns 0 (fed, or skipped), or
 * -EINVAL when malformed (err: why, one printable line; nothing was fed), -ENOMEM. */
int hw_fleet__feed(struct hw_fleet *f, const char *subject, const void *data, size_t len, char *err,
		   size_t errlen);

/* The fleet's clock while no events come (see hw_stitch__tick), and the end of the input. */
void hw_fleet__tick(struct hw_fleet *f, unsigned long long ts);
void hw_fleet__flush(struct hw_fleet *f);

/* ns since the epoch of the latest event fed, 0 before the first */
unsigned long long hw_fleet__now(const struct hw_fleet *f);

void hw_fleet__stats(const struct hw_fleet *f, struct hw_fleet_stats *st,
		     struct hw_stitch_stats *stitch);

/* host as a NATS subject token, as the agent publishes it: [A-Za-z0-9_-] kept, any other byte
 * '_', at most len - 1 bytes, "unknown" when empty. */
void hw_fleet__subject_token(char *out, size_t len, const char *host);

#endif
