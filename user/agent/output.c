/* The agent's line outputs (the output file or standard output, and the --record file): opening
 * them, and what happens when writing fails. The policy: the agent keeps tracing, a line is
 * written whole or counted lost (never cut), an 'output-resumed' event says how many lines
 * an output lost once writing works again, agent-stopped counts them in lost_output, and the
 * exit status is 1 with one line on stderr. Standard output closed by its reader (EPIPE:
 * 'hopwatch run | head') ends the run at once, with status 0. The lines themselves are written
 * by emit.c. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "agent/agent_int.h"
#include "output/sink.h"
#include "stream/spool.h"

int hw_agent__open_outputs(struct hw_agent *a, const char *out_path, const char *record, char *err,
			   size_t errlen)
{
	char why[4200];

	a->sink = hw_sink__open(out_path, why, sizeof(why));
	if (!a->sink) {
		snprintf(err, errlen, "output: %s", why);
		return -1;
	}
	if (record) {
		a->record = hw_sink__open(record, why, sizeof(why));
		if (!a->record) {
			snprintf(err, errlen, "--record: %s", why);
			return -1;
		}
	}
	return 0;
}

static void report_resumed(struct hw_agent *a, struct hw_sink *s)
{
	unsigned long long lost;
	int e;

	/* lost 0: only a line cut on a pipe, finished since */
	if (s && hw_sink__resumed(s, &lost, &e) && lost) {
		struct hw_agent_event v = {
		    .action = "output-resumed",
		    .ts_ns = hw_agent__now(),
		    .version = HW_VERSION,
		    .pid = (__u32)getpid(),
		    .netns = a->netns_path,
		    .output = hw_sink__name(s),
		    .output_lost = lost,
		    .output_error = strerror(e),
		};

		hw_emit__agent(a, &v);
	}
}

int hw_agent__output_round(struct hw_agent *a)
{
	hw_sink__flush(a->sink);
	if (a->record)
		hw_sink__flush(a->record);
	report_resumed(a, a->sink);
	report_resumed(a, a->record);
	if (hw_sink__closed(a->sink)) {
		a->output_closed = 1;
		return 1;
	}
	return 0;
}

void hw_agent__output_reopen(struct hw_agent *a)
{
	char why[4200];

	if (hw_sink__reopen_err(a->sink, why, sizeof(why)))
		fprintf(stderr, "hopwatch: reopening the output: %s, ignoring\n", why);
	if (a->record && hw_sink__reopen_err(a->record, why, sizeof(why)))
		fprintf(stderr, "hopwatch: reopening --record: %s, ignoring\n", why);
}

unsigned long long hw_agent__lost_writes(const struct hw_agent *a)
{
	unsigned long long n = hw_sink__lost(a->sink) + a->streams.lost;

	if (a->record)
		n += hw_sink__lost(a->record);
	for (int i = 0; i < a->streams.n; i++)
		n += hw_spool__lost(a->streams.v[i]->spool);
	return n;
}

int hw_agent__output_finish(struct hw_agent *a, char *err, size_t errlen)
{
	unsigned long long lost;
	struct hw_sink *s = a->sink;

	if (a->output_closed || hw_sink__closed(a->sink))
		return 0; /* the reader went away: nothing more to say to it */
	hw_sink__flush(a->sink);
	if (a->record)
		hw_sink__flush(a->record);
	lost = hw_agent__lost_writes(a);
	if (!lost)
		return 0;
	if (!hw_sink__lost(s) && a->record && hw_sink__lost(a->record))
		s = a->record;
	if (!hw_sink__lost(s))
		snprintf(err, errlen, "%llu lines could not be written to a streaming sink's spool",
			 lost);
	else
		snprintf(err, errlen, "%llu lines could not be written to '%s': %s", lost,
			 hw_sink__name(s), strerror(hw_sink__last_error(s)));
	return 1;
}
