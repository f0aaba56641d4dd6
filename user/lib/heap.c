/* A heap on transparent huge pages (see heap.h). */
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/heap.h"

#define STEP	(32u << 20) /* the heap grows by this much and more */
#define ON_HEAP (32u << 20) /* glibc's largest mmap threshold */

static struct {
	int on;
	uintptr_t marked; /* the heap's end when last marked */
} heap;

static void mark(void)
{
	uintptr_t end = (uintptr_t)sbrk(0);
	uintptr_t from = heap.marked;

	if (!heap.on || end == heap.marked || end == (uintptr_t)-1)
		return;
	if (end < from || !from)
		from = end; /* shrunk, or the first look: nothing behind is known to be new */
	from &= ~(uintptr_t)(getpagesize() - 1);
	if (end > from)
		madvise((void *)from, end - from, MADV_HUGEPAGE);
	heap.marked = end;
}

void hw_heap__huge_init(void)
{
	void *p;
	uintptr_t start;

	if (heap.on)
		return;
	start = (uintptr_t)sbrk(0);
	if (!mallopt(M_TOP_PAD, STEP) || !mallopt(M_MMAP_THRESHOLD, ON_HEAP))
		return;
	heap.on = 1;
	/* a first step taken now and marked whole */
	p = malloc(1);
	heap.marked = start & ~(uintptr_t)(getpagesize() - 1);
	mark();
	free(p);
}

void hw_heap__huge_grown(void)
{
	if (heap.on && (uintptr_t)sbrk(0) != heap.marked)
		mark();
}
