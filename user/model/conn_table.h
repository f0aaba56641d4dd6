/* The connection table: every open TCP connection the agent knows, keyed by socket cookie
 * (the same key the BPF events and sock_diag give), with its owner process, and indexed by
 * its two ends and network namespace (an exec with a socket on its stdio names the connection
 * by address). Entries leave at close; the table is bounded (agent.conn_table_max), and what
 * does not fit is counted. */
#ifndef HW_CONN_TABLE_H
#define HW_CONN_TABLE_H

#include <stddef.h>
#include <linux/types.h>

#include "hopwatch/events.h"
#include "lib/htab.h"
#include "model/host.h"

struct hw_conn {
	struct hw_hnode node;	 /* by cookie */
	struct hw_hnode by_addr; /* by addr and netns, once indexed */
	__u64 cookie;
	/* addr and netns are set by the caller right after hw_conn_table__add returned the entry
	 * (before its next call on the table) and not changed later: the address index takes
	 * them in at that next call */
	struct hw_sock_addr addr;
	__u64 start_ns;			  /* CLOCK_BOOTTIME when it began; 0 unknown */
	__u64 owner_start_ns;		  /* owner process start, with owner_pid its identity */
	__u64 last_report_ns;		  /* last connection_open report */
	__u64 bytes_sent, bytes_received; /* as last read (sock_diag) */
	__u32 owner_pid;
	__u32 netns;
	__u8 direction;
	__u8 from_snapshot;
	__u8 seen;		   /* mark for the periodic sweep */
	__u8 indexed;		   /* in the address index */
	char id[HW_ENTITY_ID_LEN]; /* hopwatch.connection.id */
	/* the owner as it was when the connection began: it names the owner at the close even
	 * when the process has exited and left the process table */
	char owner_entity_id[HW_ENTITY_ID_LEN];
	char *owner_exe; /* owned; NULL when unknown */
};

struct hw_conn_table;

struct hw_conn_table *hw_conn_table__new(const struct hw_host *host, size_t max);
void hw_conn_table__free(struct hw_conn_table *t);
struct hw_conn *hw_conn_table__get(struct hw_conn_table *t, __u64 cookie);
/* Adds (or finds) the connection of cookie; NULL when the table is full or out of memory. The
 * caller then sets (or sets again) its addr and netns. */
struct hw_conn *hw_conn_table__add(struct hw_conn_table *t, __u64 cookie);
void hw_conn_table__remove(struct hw_conn_table *t, __u64 cookie);
size_t hw_conn_table__count(const struct hw_conn_table *t);
/* The connection with both ends a (local saddr:sport, remote daddr:dport) in netns, NULL when
 * none; of two with the same ends (a reused port), the one added last. A lookup in the
 * address index: an exec storm with sockets on stdio costs no walk of the table. */
struct hw_conn *hw_conn_table__find_addr(struct hw_conn_table *t, const struct hw_sock_addr *a,
					 __u32 netns);
/* Calls fn for every connection; fn may not add or remove. */
void hw_conn_table__each(struct hw_conn_table *t, void (*fn)(struct hw_conn *c, void *ctx),
			 void *ctx);
/* Removes every connection whose seen mark is clear, then clears the marks: the sweep after
 * a sock_diag pass drops connections whose close was lost. Returns how many went. */
size_t hw_conn_table__sweep(struct hw_conn_table *t);

/* hopwatch.connection.id: from the host keys and the cookie, so the agent, a replay and the
 * collector name a connection alike. */
void hw_host__conn_id(const struct hw_host *h, __u64 cookie, char out[HW_ENTITY_ID_LEN]);

#endif
