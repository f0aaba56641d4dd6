/* The heap's growth handled a step at a time, not a 4 KiB page fault at a time. Two uses:
 *
 * - Huge pages, for the commands that keep a model of every host (replay, collect): their heap
 *   grows by tens of megabytes, and a 4 KiB page fault at a time was a fifth of the collector's
 *   CPU (a third of a 3,000-host replay). glibc asks for huge pages itself when GLIBC_TUNABLES
 *   holds glibc.malloc.hugetlb=1, but reads that only as a program starts: starting again to
 *   set it cost every run a second start (the shared libraries' relocations, ~6 ms, a
 *   thirtieth of a 200 MB replay). Instead the heap is made to grow in large steps
 *   (M_TOP_PAD), allocations up to 32 MiB are kept on it (not in mappings of their own), and
 *   each step is marked MADV_HUGEPAGE before most of it is touched: a page fault there brings
 *   in 2 MiB. Where the kernel never gives huge pages, nothing changes but the steps.
 * - Populated growth, for the agent, whose memory stays small (issue 13: no memory traded for
 *   speed) but whose tables fill for a while (thousands of exited processes kept): each growth
 *   of the heap, malloc's own 128 KiB steps, is made resident at once with
 *   MADV_POPULATE_WRITE (0.6 us a page against 10 us a fault under this project's hypervisor;
 *   docs/benchmarks.md). A kernel before 5.14 refuses it: it turns itself off.
 *
 * hw_zalloc() (lib/mem.h), which the tables' records come from, looks at the heap's end after
 * each allocation: a load and a compare, no system call (sbrk(0) reads the C library's copy).
 * Safe from any thread: each growth is claimed by one. */
#ifndef HW_LIB_HEAP_H
#define HW_LIB_HEAP_H

#include <stdint.h>
#include <unistd.h>

/* The heap's end as last seen; 0 while off (heap.c). */
extern uintptr_t hw_heap__seen;

/* Sets malloc up for huge pages (once, before the model grows). */
void hw_heap__huge_init(void);
/* Populates the heap's growth from now on (on) or stops (0). Returns 1 when it is on. */
int hw_heap__populate(int on);
/* What the heap grew by, up to end, handled (called by hw_heap__grown). */
void hw_heap__grew(uintptr_t end);

/* Handles what the heap grew by since the last look; cheap when it did not. */
static inline void hw_heap__grown(void)
{
	uintptr_t seen = __atomic_load_n(&hw_heap__seen, __ATOMIC_RELAXED), end;

	if (seen && (end = (uintptr_t)sbrk(0)) != seen)
		hw_heap__grew(end);
}

#endif
