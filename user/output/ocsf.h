/* OCSF output: every hopwatch line in the Open Cybersecurity Schema Framework (OCSF 1.8.0), for
 * the SIEMs and data lakes that read OCSF rather than ECS.
 *
 * The ECS JSON line stays the canonical form (recorded, streamed, replayed, read by the
 * engine); OCSF is a translation of that line, parsed back with the event reader
 * (detect/jsonread.h). One mapping (docs/events.md, "OCSF") then serves the live agent, replay
 * and the collector alike, and a replayed alert translates to the same OCSF line as the live
 * one. The cost, a parse per line, is paid only by an output that asks for OCSF.
 *
 * Classes: Process Activity (1007), Network Activity (4001), Authentication (3002), Detection
 * Finding (2004), Application Lifecycle (6002, the agent's and the collector's start and
 * stop), and Base Event (0) for a line of a kind this version does not know (its fields in
 * unmapped). Profiles claimed: host, datetime (every time in ms, and its *_dt twin with the
 * nanoseconds). Clock ticks (recordings only) have no OCSF form. */
#ifndef HW_OUTPUT_OCSF_H
#define HW_OUTPUT_OCSF_H

#include <stddef.h>

#define HW_OCSF_VERSION "1.8.0" /* metadata.version: the release of tests/schema/ocsf */

struct hw_ocsf;

struct hw_ocsf *hw_ocsf__new(void); /* NULL: out of memory */
void hw_ocsf__free(struct hw_ocsf *o);

/* Translates one ECS line (as hopwatch writes it: one JSON object, with or without its
 * newline) into one OCSF line ending in '\n', in a buffer of o's valid until the next call.
 * Returns 1 (*out, *outlen set), 0 when the line has no OCSF form (a clock tick), or -EINVAL
 * (not a JSON object the reader takes) / -ENOMEM. */
int hw_ocsf__translate(struct hw_ocsf *o, const char *line, size_t len, const char **out,
		       size_t *outlen);

/* For an output that writes ECS or OCSF: o NULL (ECS) leaves *line and *len as they are and
 * returns 1; else as hw_ocsf__translate, *line and *len then the OCSF line. */
int hw_ocsf__line(struct hw_ocsf *o, const char **line, size_t *len);

#endif
