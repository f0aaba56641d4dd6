/* `hopwatch report`: one self-contained HTML page from recordings or the collector's output,
 * built on the sessions model (ir/sessions.h): a hop graph (hosts and addresses as nodes, each
 * session's login and each hop as an arrow), a timeline per session and the alert list, the
 * three linked. report_cmd.c reads the input and keeps every alert, report_data.c turns the
 * sessions and alerts into the page's data (one JSON object, ASCII only, escaped so it cannot
 * end its <script> element), report_page.c writes the page around it: its CSS and the script
 * that draws it, pinned by their SHA-256 in a Content-Security-Policy that allows no fetch. */
#ifndef HW_IR_REPORT_H
#define HW_IR_REPORT_H

#include <stddef.h>
#include <stdio.h>

#include "detect/jsonread.h"
#include "ir/sessions.h"

#define HW_RP_HOSTS	 16 /* hosts of a hop-chain or admin-fanout alert */
#define HW_RP_RELATED	 4
#define HW_RP_MAX_ALERTS 65536

/* One alert of the input or of the rules, with what places it in the graph. */
struct hw_rp_alert {
	char host_id[80], host_name[256];
	char sid[HW_FACT_ID_LEN], eid[HW_FACT_ID_LEN];
	char conn[HW_FACT_ID_LEN]; /* hopwatch.connection.id: lateral-movement's hop */
	char id[24], rule[40], severity[12];
	int sev;
	unsigned long long ts;
	char user[64];
	char message[640];
	char hosts[HW_RP_HOSTS][128]; /* hop-chain: the chain's hosts, the origin first */
	int nhosts;
	char related[HW_RP_RELATED][HW_FACT_ID_LEN]; /* hop-chain: the chain's sessions */
	int nrelated;
};

struct rp_map;

struct hw_report {
	struct hw_rp_alert *alerts;
	size_t nalerts, calerts;
	struct rp_map *seen;	    /* host, event.id, rule -> alert */
	unsigned long long dropped; /* alerts over HW_RP_MAX_ALERTS */
};

/* Adds a copy of a unless the report has it (the same host, event.id and rule: an alert of
 * the input the rules raised again). Returns 0 or -ENOMEM. */
int hw_report__add_alert(struct hw_report *r, const struct hw_rp_alert *a);
void hw_report__free(struct hw_report *r);

/* report_data.c: the page's data as one JSON object on out, every byte outside printable
 * ASCII and every one of < > & ' " \ written as a \u escape (invalid UTF-8 as U+FFFD).
 * Sorts r's alerts. Returns 0 or -ENOMEM. */
int hw_report__data(FILE *out, struct hw_ir_session *const *v, size_t n, struct hw_report *r);
/* s as a JSON string so escaped, quotes included. */
void hw_report__json_str(FILE *out, const char *s);

/* report_page.c: the whole page (calls hw_report__data). Returns 0, -ENOMEM, or -EIO when out
 * could not be written. */
int hw_report__page(FILE *out, struct hw_ir_session *const *v, size_t n, struct hw_report *r);
/* "sha256-BASE64" of len bytes of s, as a CSP source wants it (out: 60 bytes at least). */
void hw_report__csp_hash(const char *s, size_t len, char *out, size_t outlen);

/* report_cmd.c: an alert line of the input (d parsed, f its fact), an alert of the rules. */
void hw_report__alert_of_line(struct hw_rp_alert *a, const struct hw_fact *f,
			      const struct hw_jdoc *d);
void hw_report__alert_of_rule(struct hw_rp_alert *a, const struct hw_alert *al);

/* report_cmd.c: the command; argv[0] is "report". Returns the exit status. */
int hw_report_main(int argc, char **argv);

#endif
