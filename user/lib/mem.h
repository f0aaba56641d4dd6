/* A zeroed allocation for records made and freed all the time (processes, connections, the
 * engine's entries). glibc's calloc() never takes a block from the thread's cache of freed
 * ones (tcache): each call goes to the arena, where malloc() hands back the block of the same
 * size freed a moment ago. Each allocation then looks whether the heap grew (lib/heap.h). */
#ifndef HW_LIB_MEM_H
#define HW_LIB_MEM_H

#include <stdlib.h>
#include <string.h>

#include "lib/heap.h"

/* size zeroed bytes, or NULL. */
static inline void *hw_zalloc(size_t size)
{
	void *p = malloc(size);

	/* the compiler turns malloc() followed by memset() to zero into calloc(): this empty asm
	 * hides where p came from */
	__asm__("" : "+r"(p));
	if (!p)
		return NULL;
	hw_heap__grown(); /* before the block is touched */
	memset(p, 0, size);
	return p;
}

#endif
