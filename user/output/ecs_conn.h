/* The fleet profile's loopback summary (docs/streaming.md "Profiles"): TCP connections between
 * processes of this host over a loopback address are not shipped one by one but counted per
 * (owner process, port, direction, network namespace) and written as one loopback_summary
 * line per key and interval. The table is bounded (HW_LOOPSUM_MAX keys): what does not fit is
 * counted in one overflow line without a process, so a flood of connections makes at most
 * HW_LOOPSUM_MAX + 1 lines per interval whatever its size. */
#ifndef HW_OUTPUT_ECS_CONN_H
#define HW_OUTPUT_ECS_CONN_H

#include <linux/types.h>

#include "lib/htab.h"
#include "model/host.h"
#include "output/event.h"
#include "output/json.h"

#define HW_LOOPSUM_MAX 1024

/* Both ends of a are loopback addresses (127.0.0.0/8, ::1, ::ffff:127.0.0.0/104): a connection
 * between two processes of the same network namespace of this host. */
int hw_addr__loopback_pair(const struct hw_sock_addr *a);

struct hw_loopsum_entry {
	struct hw_hnode node;
	struct hw_loopsum_entry *next;	  /* in the order they came */
	char entity_id[HW_ENTITY_ID_LEN]; /* "" for the overflow line */
	char *exe, *name;		  /* owned, NULL unknown */
	__u32 pid, netns;
	__u16
	    port; /* the server's port: the remote end's for egress, the local one's for ingress */
	__u16 family;
	__u8 direction;
	__u64 count, failed;
	__u64 bytes_sent, bytes_received;
	__u64 first_ns, last_ns; /* CLOCK_BOOTTIME of the first and last connection counted */
};

struct hw_loopsum {
	struct hw_htab keys;
	struct hw_loopsum_entry *head, **tail;
	struct hw_loopsum_entry overflow;
	size_t n, max; /* max 0: HW_LOOPSUM_MAX */
};

/* Counts the loopback connection of v (a disconnect, or a failed connection_attempted) in s. */
void hw_loopsum__add(struct hw_loopsum *s, const struct hw_net_view *v);
/* Calls fn with each entry's line (loopback_summary, at ts_ns) in the order they came, then
 * empties the table. Returns how many lines. */
size_t hw_loopsum__flush(struct hw_loopsum *s, const struct hw_host *h, __u64 ts_ns,
			 struct hw_json *j, void (*fn)(struct hw_json *j, void *ctx), void *ctx);
size_t hw_loopsum__count(const struct hw_loopsum *s); /* lines the next flush writes */
void hw_loopsum__free(struct hw_loopsum *s);

/* One loopback_summary line of e. */
void hw_ecs__loopback_summary(struct hw_json *j, const struct hw_host *h, __u64 ts_ns,
			      const struct hw_loopsum_entry *e);

#endif
