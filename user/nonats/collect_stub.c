/* The static build has no libnats (Debian ships no libnats.a): no collector there. */
#include <stdio.h>

#include "collect/collect.h"

int hw_collect_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "hopwatch: collect is not in the static build; use the packaged binary\n");
	return 2;
}
