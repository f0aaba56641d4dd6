/* The raw_socket_opened fact: from its view (live agent) and from its ECS line (replay, the
 * collector), the same either way (HW_FACT_CHECK=1 and tests/unit/test_fact_raw.c check it),
 * and the names hopwatch.socket.family and .type are written with. */
#ifndef HW_DETECT_FACT_RAW_H
#define HW_DETECT_FACT_RAW_H

#include "detect/fact.h"
#include "output/ecs_raw.h"

void hw_fact__raw_event(struct hw_fact *f, const struct hw_host *h, const struct hw_raw_view *v);
/* The hopwatch.socket members of a raw_socket_opened line (hw_fact__from_json read the rest). */
void hw_fact__raw_from_json(struct hw_fact *f, const struct hw_jdoc *d);

/* "packet", "inet", "inet6", ... or "" for a family without a name here (written as its
 * number); and back (0 for an unknown name). */
const char *hw_raw_family_name(unsigned int family);
unsigned int hw_raw_family_parse(const char *name);
/* "raw", "dgram", ... for SOCK_* (flags masked), "" when unnamed; and back. */
const char *hw_raw_type_name(unsigned int type);
unsigned int hw_raw_type_parse(const char *name);

#endif
