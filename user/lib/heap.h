/* A heap on transparent huge pages, for the commands that keep a model of every host (replay,
 * collect): their heap grows by tens of megabytes, and a 4 KiB page fault at a time was a fifth
 * of the collector's CPU (a third of a 3,000-host replay).
 *
 * glibc asks for huge pages itself when GLIBC_TUNABLES holds glibc.malloc.hugetlb=1, but reads
 * that only as a program starts: starting again to set it cost every run a second start (the
 * shared libraries' relocations, ~6 ms, a thirtieth of a 200 MB replay). Instead the heap is
 * made to grow in large steps (M_TOP_PAD), allocations up to 32 MiB are kept on it (not in
 * mappings of their own), and each step is marked MADV_HUGEPAGE before most of it is touched:
 * a page fault there brings in 2 MiB. Where the kernel never gives huge pages, nothing
 * changes but the steps. */
#ifndef HW_LIB_HEAP_H
#define HW_LIB_HEAP_H

/* Sets malloc up for huge pages (once, before the model grows). */
void hw_heap__huge_init(void);
/* Marks what the heap grew by since the last call (cheap when it did not: no system call). */
void hw_heap__huge_grown(void);

#endif
