/* The heap's growth a step at a time (see heap.h). */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/heap.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif

#define STEP	(32u << 20) /* huge pages: the heap grows by this much and more */
#define ON_HEAP (32u << 20) /* glibc's largest mmap threshold */
/* populated: at most this much of one growth (a large malloc() grows the heap by what it asked
 * for, and its caller touches what it needs) */
#define POPULATE_MAX (4u << 20)

enum { OFF, HUGE, POPULATE };

uintptr_t hw_heap__seen;
static int mode;

void hw_heap__grew(uintptr_t end)
{
	uintptr_t seen = __atomic_load_n(&hw_heap__seen, __ATOMIC_RELAXED), from;
	int saved = errno;

	if (!seen || end == (uintptr_t)-1)
		return;
	/* claimed by one thread; a heap that shrank (a trim) is only remembered */
	if (!__atomic_compare_exchange_n(&hw_heap__seen, &seen, end, 0, __ATOMIC_RELAXED,
					 __ATOMIC_RELAXED) ||
	    end < seen)
		return;
	from = seen & ~(uintptr_t)(getpagesize() - 1);
	if (mode == HUGE) {
		madvise((void *)from, end - from, MADV_HUGEPAGE);
	} else {
		if (end - from > POPULATE_MAX)
			from = (end - POPULATE_MAX) & ~(uintptr_t)(getpagesize() - 1);
		/* EINVAL: a kernel before 5.14, off for good; anything else (ENOMEM: trimmed
		 * meanwhile) leaves the pages to be faulted in as before */
		if (madvise((void *)from, end - from, MADV_POPULATE_WRITE) && errno == EINVAL)
			__atomic_store_n(&hw_heap__seen, 0, __ATOMIC_RELAXED);
	}
	errno = saved;
}

void hw_heap__huge_init(void)
{
	void *p;
	uintptr_t start;

	if (mode == HUGE)
		return;
	start = (uintptr_t)sbrk(0);
	if (start == (uintptr_t)-1 || !mallopt(M_TOP_PAD, STEP) ||
	    !mallopt(M_MMAP_THRESHOLD, ON_HEAP))
		return;
	mode = HUGE;
	/* a first step taken now and marked whole */
	__atomic_store_n(&hw_heap__seen, start & ~(uintptr_t)(getpagesize() - 1), __ATOMIC_RELAXED);
	p = malloc(1);
	hw_heap__grown();
	free(p);
}

int hw_heap__populate(int on)
{
	uintptr_t end = on ? (uintptr_t)sbrk(0) : 0;

	if (mode == HUGE)
		return 0; /* huge pages already: they need no populating */
	if (end == (uintptr_t)-1)
		end = 0;
	mode = end ? POPULATE : OFF;
	__atomic_store_n(&hw_heap__seen, end, __ATOMIC_RELAXED);
	return end != 0;
}
