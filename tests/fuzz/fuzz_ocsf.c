/* libFuzzer target: the OCSF translator (user/output/ocsf.c) on any line the event reader takes.
 * It translates only hopwatch's own ECS lines, but those carry what hosts and users chose
 * (argv, names, paths) and a future kind of line it has no class for. For any input:
 *   - it returns 1, 0 (a tick) or -EINVAL (not a hopwatch line), never anything else;
 *   - a translated line is one line ending in '\n' that parses as JSON with unique members
 *     (hw_jdoc__parse refuses duplicates), unless it is beyond the reader's own limits (an
 *     input near them grows by the OCSF attributes) or a list of objects repeats a member
 *     path the reader flattens (attacks, evidences: distinct objects, not duplicates);
 *   - it carries the class, its metadata.version and the time.
 * Any violation aborts. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect/jsonread.h"
#include "output/ocsf.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_ocsf: check failed at line %d: %s\n", __LINE__,      \
				#cond);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

static struct hw_ocsf *o;
static struct hw_jdoc *doc;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *out;
	size_t len;
	int r;

	if (!o) {
		o = hw_ocsf__new();
		doc = calloc(1, sizeof(*doc));
		CHECK(o && doc);
	}
	r = hw_ocsf__translate(o, (const char *)data, size, &out, &len);
	CHECK(r == 1 || r == 0 || r == -EINVAL);
	if (r != 1)
		return 0;
	CHECK(len > 1 && out[len - 1] == '\n' && memchr(out, '\n', len) == out + len - 1);
	r = hw_jdoc__parse(doc, out, len);
	if (r) {
		/* the reader flattens paths: the members of the objects of a list (attacks,
		 * evidences) repeat their path, which it takes for a duplicate; anywhere else
		 * (unmapped above all) a duplicate is one */
		CHECK(strstr(doc->err, "too many values") || strstr(doc->err, "line too complex") ||
		      strstr(doc->err, "member path too long") ||
		      strstr(doc->err, "duplicate member 'finding_info.attacks.") ||
		      strstr(doc->err, "duplicate member 'evidences."));
		return 0;
	}
	CHECK(hw_jdoc__get(doc, "class_uid") && hw_jdoc__get(doc, "time"));
	CHECK(hw_jdoc__str(doc, "metadata.version") &&
	      !strcmp(hw_jdoc__str(doc, "metadata.version"), HW_OCSF_VERSION));
	return 0;
}
