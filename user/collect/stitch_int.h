/* The stitcher's records, shared by stitch.c (halves, hosts, matching, the facts) and
 * stitch_chain.c (chains and their alerts). Nothing else includes this. */
#ifndef HW_COLLECT_STITCH_INT_H
#define HW_COLLECT_STITCH_INT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "collect/stitch.h"
#include "lib/hash.h"
#include "lib/htab.h"

#define NS_PER_SEC 1000000000ULL

#define container_of(p, type, member) ((type *)((char *)(p)-offsetof(type, member)))

struct st_in;

struct st_host {
	struct hw_hnode node;	 /* by id and name */
	struct st_in *ins;	 /* its inbound halves */
	unsigned long long last; /* its latest fact: its clock, that its halves age by */
	unsigned long long seen; /* the collector's clock at its latest fact, 0 unknown */
	unsigned int halves;	 /* held now: at most HW_STITCH_HOST_HALVES */
	int gone;		 /* being forgotten (a sweep) */
	int naddrs;		 /* addresses it showed as its own (listeners, accepts) */
	char addrs[HW_STITCH_HOST_ADDRS][HW_FACT_IP_LEN];
	char id[sizeof(((struct hw_fact *)0)->host_id)];
	char name[sizeof(((struct hw_fact *)0)->host_name)];
};

/* The first host that showed an address as its own: it wins a hop over later claimants. */
struct st_owner {
	struct hw_hnode node;
	struct st_host *host;
	char ip[HW_FACT_IP_LEN];
};

/* client -> server, addresses in canonical text (IPv4-mapped IPv6 as IPv4) */
struct tuple {
	char cip[HW_FACT_IP_LEN], sip[HW_FACT_IP_LEN];
	unsigned int cport, sport;
};

struct st_in;

/* An outbound connection of a watched host. */
struct st_out {
	struct hw_hnode by_tuple, by_session; /* by_session only when session[0] */
	struct st_host *host;
	struct st_in *in; /* the inbound half: then it is a hop */
	struct tuple t;
	unsigned long long ts;
	unsigned long long arrived; /* the collector's clock when it came, 0 unknown */
	int approx;   /* ts is when the agent found it (a snapshot), not when it was made */
	int borrowed; /* session is the one whose ssh agent its process used (agent_socket_used),
		       * not the process's own */
	unsigned int pid;
	char session[HW_FACT_ID_LEN];
	char entity[HW_FACT_ID_LEN];
	char conn[HW_FACT_ID_LEN];
	char exe[HW_FACT_PATH_LEN];
	char user[64];
};

/* An inbound connection of a watched host: a remote session, an accepted connection on an
 * admin port, or both (sshd's accept, then the login on it). */
struct st_in {
	struct hw_hnode by_tuple, by_session;
	struct st_host *host;
	struct st_out *out;
	struct st_in *pending_prev, *pending_next; /* waiting for a login to alert */
	struct st_in *host_prev, *host_next;	   /* its host's list */
	struct tuple t;
	unsigned long long ts;		 /* the accept, or the session's start */
	unsigned long long ended;	 /* logout or close; 0 open */
	unsigned long long pending;	 /* since when its alert waits (its host's clock); 0 none */
	unsigned long long pending_tick; /* and by the collector's clock, 0 unknown */
	unsigned long long arrived;	 /* the collector's clock when it came, 0 unknown */
	int approx, have_session, allowed;
	int fired; /* hops in the last alert of the chain that ends here */
	unsigned int visit, walk;
	char session[HW_FACT_ID_LEN];
	char user[64];
	char service[32];
	char handler[HW_FACT_ID_LEN]; /* the session's service process, or the acceptor */
	char handler_exe[HW_FACT_PATH_LEN];
	unsigned int handler_pid;
	char conn[HW_FACT_ID_LEN];
};

struct hw_stitch {
	const struct hw_config *cfg;
	hw_alert_fn fn;
	void *ctx;
	struct hw_htab hosts, owners, outs, outs_by_session, ins, ins_by_session;
	struct st_in *pending; /* list of halves whose alert waits for a login */
	/* the collector's clock (hw_stitch__tick), not any host's: 0 until ticked */
	unsigned long long now, last_sweep;
	unsigned long long facts, swept_at, room_at; /* facts fed; at the last sweeps */
	unsigned long long gone;		     /* hosts being forgotten by a sweep */
	unsigned int gen, walk;
	struct hw_stitch_stats st;
};

static inline uint64_t tuple_hash(const struct tuple *t)
{
	return hw_fnv__u64(hw_fnv__u64(hw_fnv__str(hw_fnv__str(HW_FNV0, t->cip), t->sip), t->cport),
			   t->sport);
}

static inline uint64_t session_hash(const struct st_host *h, const char *session)
{
	return hw_fnv__str(hw_fnv__str(hw_fnv__str(HW_FNV0, h->id), h->name), session);
}

/* chains and alerts (stitch_chain.c) */
struct st_in *hw_chain__session_in(const struct hw_stitch *s, const struct st_host *host,
				   const char *session);
/* in changed (linked, or a session now): its chain, and every chain through it */
void hw_chain__changed(struct hw_stitch *s, struct st_in *in);
/* the chain ending at end: alerts when it grew (an accepted end waits for its login unless
 * force) */
void hw_chain__evaluate(struct hw_stitch *s, struct st_in *end, int force);
/* alerts that waited for a login and waited enough (all of them when force) */
void hw_chain__pending_run(struct hw_stitch *s, int force);
void hw_chain__pending_drop(struct hw_stitch *s, struct st_in *in);
/* agent_socket_used on host: a process used the ssh agent of a session not its own; its
 * outbound halves become hops out of that session (the chain names the session whose keys
 * opened the next host) */
void hw_chain__borrow(struct hw_stitch *s, struct st_host *host, const struct hw_fact *f);

#endif
