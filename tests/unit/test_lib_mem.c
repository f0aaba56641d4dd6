/* lib/mem.h: hw_zalloc() gives zeroed bytes also when malloc() hands back a block just freed
 * with something in it (the thread's cache returns the same block). */
#include <stdlib.h>
#include <string.h>

#include "lib/mem.h"
#include "test.h"

TEST(lib_mem_zalloc_zeroes_a_reused_block)
{
	for (size_t size = 24; size <= 4096; size = size * 2 + 8) {
		unsigned char *a = malloc(size), *b;
		size_t nonzero = 0;

		if (!CHECK(a))
			return;
		memset(a, 0xa5, size);
		free(a);
		b = hw_zalloc(size);
		if (!CHECK(b))
			return;
		for (size_t i = 0; i < size; i++)
			nonzero += b[i] != 0;
		CHECK_EQ(nonzero, 0);
		free(b);
	}
}
