/* Clock reads (see clock.h). */
#include "lib/clock.h"

unsigned long long hw_clock__ns(clockid_t id)
{
	struct timespec ts;

	if (clock_gettime(id, &ts))
		return 0;
	return (unsigned long long)ts.tv_sec * HW_NS_PER_SEC + (unsigned long long)ts.tv_nsec;
}
