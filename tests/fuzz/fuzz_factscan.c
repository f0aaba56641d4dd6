/* libFuzzer target for replay's line scanner (user/detect/factscan.c), differential: each line
 * of the input (and the whole input as one line) goes through hw_factscan__line and through
 * hw_jdoc__parse + hw_fact__from_json. The result, the error text and the fact must be the same
 * byte for byte; a line the scan takes must be one the full reader takes. Any difference
 * aborts. Seeds: the replay target's corpus (tests/fuzz/corpus/fuzz_factscan/). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect/fact.h"
#include "detect/factscan.h"

static struct hw_factscan fs;
static struct hw_jdoc *doc;

static void one(const char *s, size_t n)
{
	static struct hw_fact a, b;
	char ea[300], eb[300];
	int ra, rb, fast;

	memset(&a, 0x5a, sizeof(a));
	memset(&b, 0x5a, sizeof(b));
	ea[0] = eb[0] = 0;
	fast = !hw_factscan__scan(&fs, s, n);
	ra = hw_factscan__line(&fs, s, n, &a, ea, sizeof(ea));
	rb = hw_jdoc__parse(doc, s, n);
	if (fast && rb) {
		fprintf(stderr, "scan took a line the full reader refuses: %s\n", doc->err);
		abort();
	}
	if (rb)
		snprintf(eb, sizeof(eb), "%s", doc->err);
	else
		rb = hw_fact__from_json(&b, doc, eb, sizeof(eb));
	if (ra != rb || strcmp(ea, eb) || (!ra && memcmp(&a, &b, sizeof(a)))) {
		fprintf(stderr, "scan %d '%s', full %d '%s'\n", ra, ea, rb, eb);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data, *end = s + size;
	char *copy;

	if (!fs.kept && hw_factscan__init(&fs))
		abort();
	if (!doc && !(doc = calloc(1, sizeof(*doc))))
		abort();
	/* a copy of exactly size bytes: reading past a line's end is the sanitizer's to catch */
	copy = malloc(size ? size : 1);
	if (!copy)
		abort();
	memcpy(copy, data, size);
	one(copy, size);
	free(copy);
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t n = nl ? (size_t)(nl - s) : (size_t)(end - s);

		copy = malloc(n ? n : 1);
		if (!copy)
			abort();
		memcpy(copy, s, n);
		one(copy, n);
		free(copy);
		s += n + 1;
	}
	return 0;
}
