/* The fact check (HW_FACT_CHECK=1 in the agent's environment, read once at start): every fact
 * the agent feeds its engine straight from a view (detect/fact_view.h) is compared field by
 * field with the fact the engine would read back from the line written for it, as `replay`
 * and the collector do. The first differences are said on stderr; at the end one line says how
 * many events were checked and how many differed, and any difference makes the exit status 1.
 * A debugging and test aid (tests/lib/hw.py runs every test agent with it), off by default. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent_int.h"
#include "detect/jsonread.h"

#define HW_CHECK_SAID 10 /* differences described on stderr at most */

struct hw_fact_check {
	struct hw_jdoc doc;
	struct hw_fact line;
	unsigned long long checked, differ;
};

int hw_agent__check_start(struct hw_agent *a, char *err, size_t errlen)
{
	const char *v = getenv("HW_FACT_CHECK");

	if (!v || strcmp(v, "1"))
		return 0;
	a->check = calloc(1, sizeof(*a->check));
	if (!a->check) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

void hw_agent__check_fact(struct hw_agent *a, const char *buf, size_t len, const struct hw_fact *f)
{
	struct hw_fact_check *c = a->check;
	char why[400];
	int differ;

	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	c->checked++;
	if (hw_jdoc__parse(&c->doc, buf, len)) {
		snprintf(why, sizeof(why), "the line does not read back: %s", c->doc.err);
		differ = 1;
	} else if (hw_fact__from_json(&c->line, &c->doc, why, sizeof(why))) {
		differ = 1; /* why: what the reader refused */
	} else {
		differ = hw_fact__diff(f, &c->line, why, sizeof(why)) != 0;
	}
	if (!differ)
		return;
	if (c->differ++ < HW_CHECK_SAID) {
		hw_jread__printable(why);
		fprintf(stderr, "hopwatch: fact check: view != line: %s (line: %.*s)\n", why,
			(int)(len < 600 ? len : 600), buf);
	}
}

int hw_agent__check_finish(struct hw_agent *a, char *err, size_t errlen)
{
	struct hw_fact_check *c = a->check;
	int ret = 0;

	if (!c)
		return 0;
	fprintf(stderr, "hopwatch: fact check: %llu events, %llu differ\n", c->checked, c->differ);
	if (c->differ) {
		snprintf(err, errlen,
			 "fact check: %llu of %llu events' facts differ from their lines",
			 c->differ, c->checked);
		ret = 1;
	}
	hw_jdoc__free(&c->doc);
	free(c);
	a->check = NULL;
	return ret;
}
