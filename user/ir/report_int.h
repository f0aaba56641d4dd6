/* What the files of user/ir/report*.c share: the graph built by report_data.c and written as
 * JSON by report_json.c. Not for other files: they use ir/report.h. */
#ifndef HW_IR_REPORT_INT_H
#define HW_IR_REPORT_INT_H

#include "ir/report.h"
#include "ir/sessions_int.h" /* hw_ir__copy, hw_ir__grow */

#define RP_EVENTS 5000 /* timeline entries of one session; the earliest are kept */

struct rp_node {
	char host_id[80]; /* "" for an address without a host in the input */
	char label[256];  /* the host's name, or the address */
};

struct rp_edge {
	int from, to; /* nodes */
	int sess;     /* the session it opened (index into v), -1 none in the input */
	int src_sess; /* the session it left, -1 none in the input */
	size_t conn;  /* src_sess's connection that made it (valid when src_sess >= 0) */
	unsigned long long ts;
	char user[64];
	char method[64];	   /* "sshd publickey", "ssh", "port 8022", "hop-chain" */
	char via[HW_FACT_ARG_LEN]; /* the program that made the hop */
	unsigned char alerted, failed;
};

struct rp_tuple {
	char key[2 * HW_FACT_IP_LEN + 24];
	size_t sess;
};

/* string -> index (report_map.c) */
struct rp_map {
	char **keys;
	int *vals;
	size_t cap, n;
};

/* The value of key, -1 when absent. */
int hw_rp_map__get(const struct rp_map *m, const char *key);
/* Sets key to val. Returns 0 or -ENOMEM. */
int hw_rp_map__put(struct rp_map *m, const char *key, int val);
void hw_rp_map__free(struct rp_map *m);

#define RP_KEY 400 /* a map key: two ids, a host id, a rule, a few numbers */

struct rp_alert_place {
	int sess; /* -1: about no session of the input */
	int *edges;
	size_t nedges;
};

struct rp {
	struct hw_ir_session *const *v;
	size_t n;
	struct hw_report *r;
	struct rp_node *nodes;
	size_t nnodes, cnodes;
	struct rp_edge *edges;
	size_t nedges, cedges;
	int *sess_edge;		   /* each session's login edge */
	struct rp_alert_place *al; /* parallel to r->alerts */
	struct rp_map node_m;	   /* host id, label -> node */
	struct rp_map ip_m;	   /* an address of a host -> its node */
	struct rp_map name_m;	   /* a host's name -> its (first) node */
	struct rp_map hop_m;	   /* session, connection index -> the edge its hop drew */
	struct rp_map conn_m;	   /* host id, connection id -> the edge its hop drew */
	struct rp_map pair_m;	   /* from, to [, session id] -> an edge */
	struct rp_map proc_m;	   /* session, entity id -> process index */
	/* the alerts of each session, and of each edge: indexes into r->alerts, grouped */
	size_t *sess_first, *sess_alerts; /* sess_first[i]..sess_first[i + 1] */
	size_t *edge_first, *edge_alerts;
};

/* report_data.c: the name of session si's process eid, "" unknown. */
const char *hw_report__proc_name(const struct rp *g, size_t si, const char *eid);

/* report_json.c: g as the page's JSON object. Returns 0 or -ENOMEM. */
int hw_report__emit(FILE *out, const struct rp *g);

#endif
