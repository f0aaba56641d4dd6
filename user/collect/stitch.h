/* Cross-host stitching: the collector's hop-chain rule (docs/collector.md).
 *
 * A hop is one TCP connection seen from both ends: the outbound half on host X (a successful
 * connection_attempted, egress, or an egress existing_connection; its process and that
 * process's hopwatch.session.id) and the inbound half on host Y with the same 4-tuple (client
 * a:pa -> server b:pb): a remote session (successful user_login, existing_session) or a
 * connection accepted on an admin port. A session whose client has no agent (no outbound half
 * ever arrives) still counts as a hop: the first of a chain. Hops chain when the process that
 * makes the next hop runs inside the session the previous hop opened; a session whose client is
 * in detect.allow_sources (a jump host) starts chains afresh, as it silences lateral-movement.
 * Every chain of two or more hops raises one `hop-chain` alert for its last hop, and one more
 * each time it grows. A chain whose last hop is an accepted connection without a session yet
 * waits up to HW_STITCH_LOGIN_NS for the login, so that the alert names the user.
 *
 * Hosts are not trusted with each other's connections: a host may claim a session (the inbound
 * half of a hop) only on an address it showed as its own before (a listener on it, a connection
 * accepted on it: the agent reports those before the session), and when two hosts claim one
 * connection, the host that showed the address first wins the hop (also from a claim that came
 * before its own).
 * Each host has its own clock, its facts' times (the caller bounds them): its halves age by it
 * and no other host's facts move it. The caller's clock (hw_stitch__tick: the collector's, when
 * it reads NATS) ages every half too, so that a host that went quiet keeps nothing for ever.
 *
 * Pure: fed facts of many hosts in any interleaving (either half of a hop may come first), no
 * clock but the facts' times and the caller's ticks, no I/O. Memory is bounded: halves that
 * found no partner are forgotten after HW_STITCH_WAIT_NS, ended sessions after
 * HW_STITCH_ENDED_NS, each table holds at most HW_STITCH_TABLE_MAX entries and at most
 * HW_STITCH_HOST_HALVES of one host. */
#ifndef HW_COLLECT_STITCH_H
#define HW_COLLECT_STITCH_H

#include "config.h"
#include "detect/engine.h"
#include "detect/fact.h"

#define HW_STITCH_MAX_HOPS    15 /* hops named in one alert (with the origin: 16 hosts) */
#define HW_STITCH_WAIT_NS     (600ULL * 1000000000ULL)	     /* an unmatched half waits 10 min */
#define HW_STITCH_ENDED_NS    (1800ULL * 1000000000ULL)	     /* an ended session is kept 30 min */
#define HW_STITCH_OPEN_NS     (7ULL * 86400 * 1000000000ULL) /* a session never ended: 7 days */
#define HW_STITCH_SKEW_NS     (120ULL * 1000000000ULL) /* two hosts' clocks may differ this much */
#define HW_STITCH_LOGIN_NS    (60ULL * 1000000000ULL) /* an accepted last hop waits for its login */
#define HW_STITCH_TABLE_MAX   65536 /* outbound halves, and inbound halves, at most */
#define HW_STITCH_HOSTS_MAX   65536
#define HW_STITCH_HOST_HALVES 8192 /* halves of one host at most: no host fills the tables */
#define HW_STITCH_HOST_ADDRS  16   /* addresses a host owns, the last ones it showed */

struct hw_stitch;

struct hw_stitch_stats {
	unsigned long long outbound, inbound; /* halves held now */
	unsigned long long hosts;	      /* hosts seen */
	unsigned long long
	    forgotten;		 /* hosts forgotten: no halves, silent 30 min (collector's clock) */
	unsigned long long hops; /* halves matched into hops, in all */
	unsigned long long alerts;     /* hop-chain alerts raised */
	unsigned long long expired;    /* halves forgotten by age */
	unsigned long long table_full; /* halves not followed: a table or hosts full */
	unsigned long long host_full;  /* not followed: their host holds its maximum */
	unsigned long long refused;    /* claims on an address the host does not own (or lost) */
};

/* cfg (detect.admin_ports, detect.allow_sources) must outlive it; fn gets every alert, during
 * feed, tick and flush. NULL with errno set when out of memory. */
struct hw_stitch *hw_stitch__new(const struct hw_config *cfg, hw_alert_fn fn, void *ctx);
void hw_stitch__free(struct hw_stitch *s);

/* One fact of any host (host_id set). Facts that are not about connections, sessions or an
 * agent start only move the clock. */
void hw_stitch__feed(struct hw_stitch *s, const struct hw_fact *f);

/* Whether feed does more with f than move a host's clock: the facts a stitcher elsewhere (with
 * s's settings) needs, the second stage of collectors that scale out. */
int hw_stitch__wants(const struct hw_stitch *s, const struct hw_fact *f);

/* Moves the caller's clock to ts (ns since the epoch; never back): alerts that waited a minute
 * of it for a login fire, halves that came longer ago than their age are forgotten. The
 * collector calls it with its own clock as messages come and while none come. */
void hw_stitch__tick(struct hw_stitch *s, unsigned long long ts);

/* End of the input: alerts still waiting for a login fire now. */
void hw_stitch__flush(struct hw_stitch *s);

void hw_stitch__stats(const struct hw_stitch *s, struct hw_stitch_stats *st);

/* Bytes held, about (the records and the tables' buckets). */
size_t hw_stitch__memory(const struct hw_stitch *s);

#endif
