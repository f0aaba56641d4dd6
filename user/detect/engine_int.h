/* The engine's model and the rules' entry points, shared by engine.c (the model, fed by facts)
 * and rules.c (the rules). Nothing else includes this. */
#ifndef HW_DETECT_ENGINE_INT_H
#define HW_DETECT_ENGINE_INT_H

#include "detect/engine.h"
#include "detect/smap.h"
#include "lib/intern.h"

#define NS_PER_SEC	   1000000000ULL
#define HW_RELAY_WINDOW_NS NS_PER_SEC /* accept, then connect on within this: a relay */
#define HW_EXITED_KEPT	   8192	      /* exited processes kept for the lineage of late events */
#define HW_TABLE_MAX	   262144     /* entries per table at most (memory bound) */
#define HW_FANOUT_MAX	   256	      /* hosts remembered per key: detect.fanout_hosts at most */
#define HW_BRUTE_MAX	   256	      /* failures remembered per source: bruteforce_failures max */
#define HW_LATERAL_MAX	   64	      /* destinations alerted per session; then it stops */

/* hw_eproc.flags */
#define EP_EXITED	 (1u << 0)
#define EP_LISTENER	 (1u << 1) /* holds a listening TCP socket (listen, existing_listener) */
#define EP_FIRED_REVERSE (1u << 2)
#define EP_FIRED_SERVICE (1u << 3) /* service-shell fired for this service process */
#define EP_FIRED_TUNNEL	 (1u << 4)
#define EP_FIRED_RELAY	 (1u << 5)
#define EP_UNLINKED	 (1u << 6)
#define EP_JUDGE_LATER                                                                             \
	(1u << 7)		   /* found by the snapshot: judged at the next tick, once the     \
				    * snapshot's listeners, connections and sessions are known */
#define EP_TRUSTED	(1u << 8)  /* its executable is root-owned in root-owned directories */
#define EP_ROOT		(1u << 9)  /* runs as root (real and effective uid 0) */
#define EP_FIRED_HIJACK (1u << 10) /* agent-hijack fired for this process */

struct hw_eproc {
	struct hw_snode node;	      /* entity id */
	struct hw_eproc *exited_next; /* the exited FIFO */
	char parent[HW_FACT_ID_LEN];
	const char *exe; /* its executable, "" unknown: shared (e->strs: a few paths for all) */
	char name[HW_FACT_ARG_LEN];
	char session[HW_FACT_ID_LEN];
	unsigned int pid;
	unsigned int flags;
	unsigned char stdio[3];	 /* at its exec (or the snapshot) */
	unsigned int open_conns; /* open TCP connections to another host it owns */
	unsigned int open_egress;
	/* what it did on the network with another host; NULL until it did (most processes
	 * never do, and the engine keeps thousands: a record of its own keeps theirs small) */
	struct hw_eproc_net *net;
};

struct hw_eproc_net {
	unsigned long long accepted_ts; /* its last accept from another host, 0 none */
	char accepted_peer[HW_FACT_IP_LEN];
	char accepted_conn[HW_FACT_ID_LEN];
	/* its latest connection to another host: the far end of a shell it relays (a pty) */
	struct hw_fact_ep last_local, last_remote;
	char last_conn[HW_FACT_ID_LEN];
	int last_ingress;
};

struct hw_econn {
	struct hw_snode node; /* connection id */
	char owner[HW_FACT_ID_LEN];
	char exe[HW_FACT_PATH_LEN];
	char session[HW_FACT_ID_LEN];
	struct hw_fact_ep local, remote;
	unsigned long long start, last_seen;
	unsigned int pid;
	int egress, remote_host; /* remote_host: the peer is not this host (not loopback) */
	int exe_trusted;	 /* the owner's executable, when the connection was first seen */
	int fired_long;
};

struct hw_esession {
	struct hw_snode node; /* session id */
	char user[64];
	char service[32];
	char handler[HW_FACT_ID_LEN];
	struct hw_fact_ep client, server;
	unsigned long long start, last_activity;
	unsigned long long bytes_in, bytes_out; /* from and to the client, as last reported */
	int have_bytes;
	int allowed;  /* from detect.allow_sources */
	int verified; /* hopwatch.login.verified: the kernel confirmed the login */
	int fired_long;
	/* "ip:port" alerted, nlateral of them in room for cap (grown as they come, to
	 * HW_LATERAL_MAX: most sessions never have one) */
	int nlateral, cap_lateral;
	char (*lateral)[HW_FACT_IP_LEN + 8];
};

struct hw_efanout_host {
	unsigned long long ts;
	char ip[HW_FACT_IP_LEN];
};

struct hw_efanout {
	struct hw_snode node; /* session id or process entity id */
	/* the hosts reached, oldest first: n of them in room for cap (grown as they come, to
	 * HW_FANOUT_MAX) */
	struct hw_efanout_host *hosts;
	int n, cap, failures, fired;
};

struct hw_ebrute {
	struct hw_snode node;		     /* source ip */
	unsigned long long ts[HW_BRUTE_MAX]; /* failure times, oldest first */
	int n;
	unsigned long long last;
	int fired, fired_success;
	char users[256]; /* users tried, comma-separated, for the message */
};

/* A file a network-facing process wrote (transfer-exec, rules_file.c), by inode */
struct hw_etransfer {
	struct hw_snode node; /* "major:minor:inode" */
	unsigned long long ts, chmod_ts;
	char writer[HW_FACT_ID_LEN];
	char writer_name[HW_FACT_ARG_LEN];
	char path[HW_FACT_PATH_LEN];
	char session[HW_FACT_ID_LEN];
	int fired;
};

struct hw_engine {
	const struct hw_config *cfg;
	hw_alert_fn fn;
	void *ctx;
	struct hw_smap procs, conns, sessions, fanout, brute;
	struct hw_smap raw;	  /* raw-socket holders (rules_bridge.c) */
	struct hw_smap transfers; /* struct hw_etransfer (rules_file.c) */
	struct hw_eproc *exited_head, *exited_tail;
	size_t nexited;
	unsigned long long now, last_sweep;
	unsigned long long alerts, table_full;
	unsigned long long judge_later; /* processes flagged EP_JUDGE_LATER */
	size_t grown;			/* bytes of the records' grown arrays (hw_engine__grow) */
	struct hw_intern strs;		/* the processes' executables */
	char host_id[80], host_name[256];
	int one_host; /* hw_engine__one_host: the first host id and name are every fact's */
	/* hw_engine__feed_line()'s document and fact, made at its first line: the collector has
	 * an engine per host and never feeds it lines, so an engine is small (under 1 KB) until
	 * it models something. */
	struct hw_engine_line *line;
	enum hw_fact_kind last_kind;
};

/* model lookups (engine.c) */
struct hw_eproc *hw_engine__proc(struct hw_engine *e, const char *entity_id);
/* When p last accepted a connection from another host, 0 never. */
static inline unsigned long long hw_eproc__accepted_ts(const struct hw_eproc *p)
{
	return p->net ? p->net->accepted_ts : 0;
}
struct hw_esession *hw_engine__session(struct hw_engine *e, const char *id);
int hw_engine__internal(const struct hw_engine *e, const char *ip);
int hw_engine__loopback(const char *ip);
int hw_engine__admin_port(const struct hw_engine *e, unsigned int port);
/* exe is in the list (a full path, or a bare name for its last component) and trusted: the
 * kernel said it is a root-owned file in root-owned directories (hopwatch.exe.trusted). A
 * lookalike anywhere else matches nothing. */
int hw_engine__match(const struct hw_str_list *l, const char *exe, int trusted);
void hw_engine__emit(struct hw_engine *e, struct hw_alert *a, const char *key);
/* Room for one more of *n elements of size bytes in *arr (cap of them), the array doubled
 * from 4 up to max: 0, or -1 when it is full (cap == max) or out of memory. */
int hw_engine__grow(struct hw_engine *e, void **arr, int *cap, int n, size_t size, int max);
/* Frees a session or a fan-out record with its array (unlinked from its map first). */
void hw_engine__free_session(struct hw_engine *e, struct hw_esession *s);
void hw_engine__free_fanout(struct hw_engine *e, struct hw_efanout *fo);

/* rules (rules.c): each is called after the model took the fact in */
void hw_rules__exec(struct hw_engine *e, const struct hw_fact *f, struct hw_eproc *p);
void hw_rules__connect(struct hw_engine *e, const struct hw_fact *f, struct hw_eproc *p);
void hw_rules__listen(struct hw_engine *e, const struct hw_fact *f, struct hw_eproc *p);
void hw_rules__login(struct hw_engine *e, const struct hw_fact *f);
void hw_rules__tick(struct hw_engine *e);
/* What the rule files share (rules.c): a process's name for messages; the alert's process p
 * and its ancestors, oldest first, into a (with p's entity, executable and pid) and as
 * "a → b → c" into buf (may be NULL); an age as "2d 3h", "4h 5m", "6m 7s" or "8s". */
const char *hw_rules__pname(const struct hw_eproc *p);
void hw_rules__chain(struct hw_engine *e, struct hw_alert *a, struct hw_eproc *p, char *buf,
		     size_t len);
void hw_rules__format_age(unsigned long long ns, char *buf, size_t len);
/* raw-socket-bridge (rules_bridge.c): a raw socket opened by p; the tick judges the holders'
 * connections; the bytes its records take (e->raw's nodes, freed with the engine) */
void hw_rules__raw_socket(struct hw_engine *e, const struct hw_fact *f, struct hw_eproc *p);
void hw_rules__bridge_tick(struct hw_engine *e);
size_t hw_rules__bridge_memory(const struct hw_engine *e);
/* agent-hijack (rules_hijack.c): p connected to an sshd session's agent socket */
void hw_rules__agent_socket(struct hw_engine *e, const struct hw_fact *f, struct hw_eproc *p);
/* file facts (rules_file.c) */
void hw_rules__file(struct hw_engine *e, const struct hw_fact *f, struct hw_eproc *p);
void hw_rules__file_exec(struct hw_engine *e, const struct hw_fact *f, struct hw_eproc *p);
void hw_rules__file_tick(struct hw_engine *e); /* forgets transfers past the window */

#endif
