/* The clocks, read in one place, as nanoseconds: monotonic (timeouts, pacing), boot time (what
 * the kernel stamps events with) and wall time (what outputs show). */
#ifndef HW_LIB_CLOCK_H
#define HW_LIB_CLOCK_H

#include <time.h>

#define HW_NS_PER_SEC 1000000000ULL

/* clock id in ns; 0 when the clock cannot be read (an unknown id) */
unsigned long long hw_clock__ns(clockid_t id);

static inline unsigned long long hw_clock__mono_ns(void)
{
	return hw_clock__ns(CLOCK_MONOTONIC);
}

static inline unsigned long long hw_clock__mono_ms(void)
{
	return hw_clock__ns(CLOCK_MONOTONIC) / 1000000ULL;
}

static inline unsigned long long hw_clock__boot_ns(void)
{
	return hw_clock__ns(CLOCK_BOOTTIME);
}

static inline unsigned long long hw_clock__real_ns(void)
{
	return hw_clock__ns(CLOCK_REALTIME);
}

#endif
