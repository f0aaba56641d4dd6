/* lib/heap.h: after hw_heap__huge_init(), the heap is marked for huge pages as it grows (the
 * VmFlags of every [heap] mapping past where the heap ended at the call hold "hg",
 * MADV_HUGEPAGE), and an allocation of a MiB is made on it rather than in a mapping of its
 * own. Run in a child: malloc's settings are the process's (and the tests before this one
 * grew the heap: that part is left as it was). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/heap.h"
#include "test.h"

/* Bit 0: a [heap] mapping past from without "hg"; bit 1: no [heap] mapping seen; bit 2: p
 * not in one. */
static int heap_marks(const void *p, uintptr_t from)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	int in_heap = 0, heaps = 0, ret = 0, p_in = 0, past = 0;
	uintptr_t lo, hi;

	if (!f)
		return 8;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') &&
		    line[strspn(line, "0123456789abcdef")] == '-') {
			in_heap = strstr(line, "[heap]") != NULL;
			past = hi > from;
			if (in_heap) {
				heaps++;
				if ((uintptr_t)p >= lo && (uintptr_t)p < hi)
					p_in = 1;
			}
		} else if (in_heap && past && !strncmp(line, "VmFlags:", 8) &&
			   !strstr(line, " hg")) {
			ret |= 1;
		}
	}
	fclose(f);
	if (!heaps)
		ret |= 2;
	if (!p_in)
		ret |= 4;
	return ret;
}

TEST(lib_heap_grows_marked_for_huge_pages)
{
	pid_t pid = fork();
	int status = 0;

	if (!CHECK(pid >= 0))
		return;
	if (pid == 0) {
		void *big, *blocks[4096];
		uintptr_t from = (uintptr_t)sbrk(0);
		int r;

		hw_heap__huge_init();
		big = malloc(1u << 20); /* on the heap, not mmap()ed on its own */
		/* past the first step: 64 MiB in small blocks */
		for (int i = 0; i < 4096; i++)
			blocks[i] = malloc(16u << 10);
		hw_heap__huge_grown();
		r = big ? heap_marks(big, from) : 16;
		for (int i = 0; i < 4096; i++)
			free(blocks[i]);
		free(big);
		_exit(r);
	}
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status));
	CHECK_EQ(WEXITSTATUS(status), 0);
}
