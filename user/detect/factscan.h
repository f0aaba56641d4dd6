/* Event lines to facts at replay speed (replay and the collector). The full reader
 * (jsonread.c) makes a leaf of every value of a line; the rules read some forty
 * (detect/fact_fields.h). This scanner walks the
 * line once, checks it exactly as the full reader would, and keeps only those members. A line
 * it cannot vouch for (an error of any kind, a member name with an escape or a '.', the same
 * name twice in an object, an object in an array, a limit approached) goes to the full reader,
 * so the facts and the error messages are those of hw_jdoc__parse + hw_fact__from_json, line
 * for line (tests/unit/test_factscan.c, tests/fuzz/fuzz_factscan.c). */
#ifndef HW_DETECT_FACTSCAN_H
#define HW_DETECT_FACTSCAN_H

#include <stddef.h>

#include "detect/fact.h"
#include "detect/fact_fields.h"
#include "detect/jsonread.h"

struct hw_fsmemo;

struct hw_factscan {
	struct hw_jdoc *kept; /* the members the facts read, of the last line scanned */
	const struct hw_jleaf *by_field[HW_FF_COUNT]; /* kept->by_field */
	struct hw_jdoc *doc;	       /* the full reader's, for the lines the scan left */
	unsigned long long fast, full; /* lines read each way */
	struct hw_fsmemo *memo;	       /* objects read before (factscan_memo.h) */
	unsigned char field_of[HW_JREAD_MAX_LEAVES]; /* enum hw_fact_field of kept->leaves[i] */
};

int hw_factscan__init(struct hw_factscan *fs);
void hw_factscan__free(struct hw_factscan *fs);

/* One line (no newline) to f. Returns 0, or -EINVAL / -ENOMEM with err saying what, as
 * hw_jdoc__parse's d->err or hw_fact__from_json's err would. */
int hw_factscan__line(struct hw_factscan *fs, const char *line, size_t len, struct hw_fact *f,
		      char *err, size_t errlen);

/* The scan alone: 0 with fs->kept holding the members of the fact table (as hw_jdoc__parse
 * would have them, the rest left out; hw_fact__leaf() reads them), or 1 when the full reader
 * must read the line. */
int hw_factscan__scan(struct hw_factscan *fs, const char *line, size_t len);

#endif
