/* What several unit tests build the same way. */
#ifndef HW_TESTS_UNIT_FIXTURES_H
#define HW_TESTS_UNIT_FIXTURES_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect/fact.h"
#include "model/host.h"

/* Host "h1", id "mid", boot id "bid", booted at 2026-11-27T16:00:00Z, 100 ticks a second. */
static inline struct hw_host hw_test__host(void)
{
	struct hw_host h;

	memset(&h, 0, sizeof(h));
	snprintf(h.name, sizeof(h.name), "h1");
	snprintf(h.id, sizeof(h.id), "mid");
	snprintf(h.boot_id, sizeof(h.boot_id), "bid");
	h.ns_per_tick = 10000000;
	h.boot_to_real_ns = 1795795200000000000LL;
	return h;
}

/* A new directory /tmp/hw-TAG-test-XXXXXX (the caller frees the name), NULL on failure. */
static inline char *hw_test__new_dir(const char *tag)
{
	char tmpl[128];

	snprintf(tmpl, sizeof(tmpl), "/tmp/hw-%s-test-XXXXXX", tag);
	return mkdtemp(tmpl) ? strdup(tmpl) : NULL;
}

/* Removes dir and all it holds (a test's own directory, made by hw_test__new_dir). */
static inline void hw_test__rm_dir(const char *dir)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd)) {
	}
}

/* A fact of kind on host "a" (id "host-a"), sec seconds after 2025-11-27T10:00:00Z, the rest
 * zero. */
static inline void hw_test__fact(struct hw_fact *f, enum hw_fact_kind kind, double sec)
{
	memset(f, 0, sizeof(*f));
	f->kind = kind;
	f->ts = 1764237600000000000ULL + (unsigned long long)(sec * 1e9);
	snprintf(f->host_id, sizeof(f->host_id), "host-a");
	snprintf(f->host_name, sizeof(f->host_name), "a");
}

#endif
