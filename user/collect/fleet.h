/* The collector's input: messages of many agents (a NATS subject and one ECS JSON line, or a
 * line of a recorded file), each checked, turned into a fact and fed to its host's detection
 * engine and to the stitcher (stitch.h). Hostile input is expected: a malformed message is
 * refused with its reason and counted, never fatal, and one host cannot blind the others.
 *
 * Identity: a host is the subject its messages came on (PREFIX.HOST.events: NATS permissions
 * let each host's user publish only there), or for a file line the subject token of its
 * host.name. Its host.name and host.id are pinned at first sight: later lines with another
 * host.id or host.name on that subject are refused. Engines are keyed by it, so one publisher
 * has one engine, whatever ids it writes.
 *
 * Budgets: each host's engine is held to collect.host_memory_max (over it, it starts afresh:
 * an eviction), all engines and the stitcher to collect.memory_max (over it, the largest
 * engine starts afresh), each host's alerts to collect.host_alerts a minute (more are counted
 * and dropped), and a host silent for collect.host_idle (by the collector's clock) is
 * forgotten. Its timed rules tick at its events' times, at most once a second and only as
 * often as the events since the last tick pay for what a tick looks at.
 *
 * Clocks: each host's events move only its own engine and its own halves in the stitcher; an
 * event time later than the collector's clock (hw_fleet__tick, hw_fleet__bound) plus
 * HW_STITCH_SKEW_NS is taken as that bound, and counted.
 *
 * Pure: no I/O; the collector's clock only as given. */
#ifndef HW_COLLECT_FLEET_H
#define HW_COLLECT_FLEET_H

#include <stddef.h>

#include "collect/stitch.h"
#include "config.h"
#include "detect/engine.h"

#define HW_FLEET_HOSTS_MAX 16384 /* hosts known at once (each with at most one engine) */

struct hw_fleet;

struct hw_fleet_stats {
	unsigned long long messages;   /* fed */
	unsigned long long events;     /* fed to an engine and the stitcher */
	unsigned long long skipped;    /* alert lines (the collector makes its own), blank lines */
	unsigned long long malformed;  /* refused (also those counted below) */
	unsigned long long identity;   /* refused: host.id or host.name not the pinned ones */
	unsigned long long hosts_full; /* refused: HW_FLEET_HOSTS_MAX hosts known */
	unsigned long long failed;     /* not processed: out of memory */
	unsigned long long hosts;      /* engines made (a restarted agent gets a new one) */
	unsigned long long idle;       /* hosts forgotten after collect.host_idle */
	unsigned long long evictions;  /* engines started afresh over host_memory_max */
	unsigned long long memory_evictions; /* engines started afresh over memory_max */
	unsigned long long alerts; /* raised by the engines and the stitcher, and passed on */
	unsigned long long alerts_dropped; /* over a host's collect.host_alerts a minute */
	unsigned long long clamped;	   /* event times later than the collector's clock allows */
	unsigned long long ticks;	   /* timed-rule ticks given to the engines */
	unsigned long long memory;	   /* bytes held now (engines and stitcher), about */
	unsigned long long muted;	   /* alerts not passed on while muted */
};

/* cfg must outlive the fleet; fn gets every alert (per-host rules and hop-chain). NULL with
 * errno set when out of memory. */
struct hw_fleet *hw_fleet__new(const struct hw_config *cfg, hw_alert_fn fn, void *ctx);
void hw_fleet__free(struct hw_fleet *f);

/* One message. subject: where NATS delivered it, which must be PREFIX.HOST.events (or
 * PREFIX.HOST.events.PARTITION; for a stitch-only fleet PREFIX.collector.stitch.HOST) with
 * PREFIX output.nats_subject and HOST the event's host.name as the agent spells it in a subject;
 * NULL for a line of a file (blank lines are then skipped). Returns 0 (fed, or skipped), or
 * -EINVAL when refused (err: why, one printable line; nothing was fed), -ENOMEM. */
int hw_fleet__feed(struct hw_fleet *f, const char *subject, const void *data, size_t len, char *err,
		   size_t errlen);

/* Scaling out (docs/collector.md): each instance's fleet runs the engines of its partitions'
 * hosts and hands the lines the stitcher takes (hw_stitch__wants) to fn, which publishes them
 * to PREFIX.collector.stitch.HOST; one instance's second fleet, stitch only, reads those from
 * there and stitches the whole fleet's hops. */
#define HW_FLEET_STITCH_TOKENS "collector.stitch"
typedef void (*hw_fleet_forward_fn)(const char *line, size_t len, void *ctx);
void hw_fleet__forward(struct hw_fleet *f, hw_fleet_forward_fn fn, void *ctx);
void hw_fleet__stitch_only(struct hw_fleet *f);
/* While muted, alerts are counted in muted and not passed on (input read again). */
void hw_fleet__mute(struct hw_fleet *f, int on);

/* A message refused before it could be fed (a line too long to read): counted. */
void hw_fleet__refuse(struct hw_fleet *f);

/* The collector's clock (ns since the epoch, never back), as messages come and while none
 * come: event times are bounded by it, silent hosts forgotten by it, alerts that waited for a
 * login fire by it. hw_fleet__bound only bounds event times (files). */
void hw_fleet__tick(struct hw_fleet *f, unsigned long long now);
void hw_fleet__bound(struct hw_fleet *f, unsigned long long now);
/* The end of the input. */
void hw_fleet__flush(struct hw_fleet *f);

/* ns since the epoch of the latest event fed (as bounded), 0 before the first */
unsigned long long hw_fleet__now(const struct hw_fleet *f);

void hw_fleet__stats(const struct hw_fleet *f, struct hw_fleet_stats *st,
		     struct hw_stitch_stats *stitch);

/* host as a NATS subject token, as the agent publishes it: [A-Za-z0-9_-] kept, any other byte
 * '_', at most len - 1 bytes, "unknown" when empty. */
void hw_fleet__subject_token(char *out, size_t len, const char *host);

#endif
