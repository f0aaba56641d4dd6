/* hopwatch run: wires the loader, the model and the output together and runs the poll loop
 * until a signal or --duration stops it. */
#ifndef HW_AGENT_H
#define HW_AGENT_H

#include <linux/types.h>

#include "config.h"

struct hw_run_opts {
	const struct hw_config *cfg;
	const char *output; /* --output PATH or "-", NULL = output.file or stdout */
	const char *record; /* --record PATH: the raw event stream for replay, NULL = none */
	unsigned long long duration_ns; /* 0 = until a signal */
	int verbose;
};

/* Runs the agent. Returns 0 after a clean stop; on a failure writes one line into err and
 * returns 1 (the kernel or the system refused something) or 2 (a bad setting, e.g. --netns
 * that is not a network namespace, an output file that cannot be opened). */
int hw_agent_run(const struct hw_run_opts *o, char *err, size_t errlen);

#endif
