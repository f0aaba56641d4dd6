/* What the files of user/ir/sessions*.c share: the model's record and its lookup table
 * (sessions.c), fed by sessions_feed.c. Not for other folders: they use ir/sessions.h. */
#ifndef HW_IR_SESSIONS_INT_H
#define HW_IR_SESSIONS_INT_H

#include "ir/sessions.h"

#define MAX_HOSTS 4096 /* hosts of one input, as replay allows */

struct slot {
	char *key; /* NULL: empty */
	unsigned int sess, item;
};

struct ir_host {
	char id[80], name[256];
	unsigned long long last; /* the latest time seen */
	int started, ticks_seen;
	struct hw_engine *e;
	struct hw_ir *ir;
};

struct hw_ir {
	const struct hw_config *cfg;
	struct hw_ir_session **v;
	size_t n, cap;
	struct slot *slots;
	size_t nslots, used;
	struct ir_host **hosts;
	size_t nhosts;
	unsigned long long dropped;
	struct hw_ir_session **sorted;
	unsigned int *free_v; /* sessions forgotten (failed logins), to be used again */
	size_t nfree, cfree;
	hw_alert_fn alert_fn; /* hw_ir__on_alert */
	void *alert_ctx;
};

/* (host, kind, id) -> session and item; kind 'S' session, 'P' process, 'C' connection, 'T' a
 * session's own connection by its two ends. NULL when unknown. */
struct slot *hw_ir__lookup(struct hw_ir *ir, const char *host, char kind, const char *id);
/* v grown to hold n + 1 items of size (cap doubled), NULL at HW_IR_MAX_ITEMS or no memory. */
void *hw_ir__grow(void *v, size_t *cap, size_t n, size_t size);
void hw_ir__copy(char *dst, size_t n, const char *src);
/* The events of each kind, into the sessions. */
void hw_ir__on_process(struct hw_ir *ir, const struct hw_fact *f, const struct hw_ir_extra *xt);
void hw_ir__on_network(struct hw_ir *ir, const struct hw_fact *f);
void hw_ir__on_session(struct hw_ir *ir, const struct hw_fact *f, const struct hw_ir_extra *xt);

#endif
