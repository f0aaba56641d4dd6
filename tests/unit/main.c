/* Runs every registered unit test (or those whose name contains argv[1]) and prints one
 * closing line "N passed, N failed"; exits 1 when any test failed. */
#include <stdarg.h>
#include <stdlib.h>
#include "test.h"

static struct hw_test *tests, **tail = &tests;
static int current_failed;

void hw_test__register(struct hw_test *t)
{
	*tail = t;
	tail = &t->next;
}

bool hw_test__fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stdout, "    %s:%d: check failed: ", file, line);
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	current_failed = 1;
	return false;
}

int main(int argc, char **argv)
{
	int passed = 0, failed = 0;

	for (struct hw_test *t = tests; t; t = t->next) {
		if (argc > 1 && !strstr(t->name, argv[1]))
			continue;
		current_failed = 0;
		t->fn();
		printf("%s unit/%s\n", current_failed ? "FAIL" : "ok  ", t->name);
		fflush(stdout);
		if (current_failed)
			failed++;
		else
			passed++;
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
