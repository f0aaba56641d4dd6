/* The input of `hopwatch sessions FILE...` and `hopwatch report FILE...` (input.c): hopwatch
 * JSON lines (recordings, outputs, the collector's alerts) read line by line, each parsed into
 * its fact and fed to the sessions model; malformed lines reported on stderr (the first 20) and
 * counted; progress on a terminal. Alert lines are kept until every file is in and then put on
 * their sessions, so the order of the files does not matter. */
#ifndef HW_IR_INPUT_H
#define HW_IR_INPUT_H

#include <stdio.h>

#include "detect/fact.h"
#include "detect/jsonread.h"
#include "ir/sessions.h"

struct hw_ir_input {
	struct hw_ir *ir;
	struct hw_jdoc *doc;
	struct hw_fact *f;
	unsigned long long malformed, events;
	unsigned long long dropped; /* alert lines not kept (more than HW_IR_INPUT_ALERTS) */
	/* called with every line's fact before the model gets it (an alert's too); non-zero
	 * (-ENOMEM) stops the reading */
	int (*on_fact)(void *ctx, const struct hw_fact *f, const struct hw_jdoc *d);
	void *ctx;
	char **alerts; /* alert lines, put on their sessions at the end */
	size_t nalerts, calerts;
};

#define HW_IR_INPUT_ALERTS 100000

/* 0, or -ENOMEM. */
int hw_ir_input__init(struct hw_ir_input *in, struct hw_ir *ir);
void hw_ir_input__free(struct hw_ir_input *in);
/* One stream, name for the messages. Returns 0 or an exit status (the line printed):
 * HW_EXIT_USAGE when it cannot be read, HW_EXIT_REFUSED out of memory. */
int hw_ir_input__read(struct hw_ir_input *in, const char *name, FILE *f);
/* The files ('-' standard input), then the alert lines onto their sessions. */
int hw_ir_input__files(struct hw_ir_input *in, char *const *files, int nfiles);
/* The alert lines kept so far onto their sessions (hw_ir_input__files does it). */
void hw_ir_input__alerts(struct hw_ir_input *in);

#endif
