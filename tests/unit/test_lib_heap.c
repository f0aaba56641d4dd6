/* lib/heap.h: after hw_heap__huge_init(), the heap is marked for huge pages as it grows (the
 * VmFlags of every [heap] mapping past where the heap ended at the call hold "hg",
 * MADV_HUGEPAGE), and an allocation of a MiB is made on it rather than in a mapping of its
 * own. Run in a child: malloc's settings are the process's (and the tests before this one
 * grew the heap: that part is left as it was). After hw_heap__populate(1), the pages the heap
 * grows by are resident before anything touches them. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/heap.h"
#include "lib/mem.h"
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
		hw_heap__grown();
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

static void *grown[65536]; /* untouched_resident()'s blocks */

/* the kernel has MADV_POPULATE_WRITE (5.14) */
static int kernel_populates(void)
{
	struct utsname u;
	int major = 0, minor = 0;

	return !uname(&u) && sscanf(u.release, "%d.%d", &major, &minor) == 2 &&
	       (major > 5 || (major == 5 && minor >= 14));
}

/* transparent huge pages on for every mapping: an untouched page may come with a touched one */
static int thp_always(void)
{
	char buf[128] = "";
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");

	if (f) {
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = 0;
		fclose(f);
	}
	return strstr(buf, "[always]") != NULL;
}

/* Grows the heap with hw_zalloc() blocks of 512 bytes until the break moved by at least two
 * pages past the last block; returns how many whole pages between the last block's end and the
 * new break (the top pad malloc() took but nobody touched) are resident, in *pages how many
 * there are. Each block is freed after the count, so the next call grows afresh. */
static size_t untouched_resident(size_t *pages)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), resident = 0, n = 0;
	uintptr_t end0 = (uintptr_t)sbrk(0), end, from;
	unsigned char vec[1024];

	*pages = 0;
	for (;;) {
		if (n == sizeof(grown) / sizeof(grown[0]))
			goto out;
		grown[n] = hw_zalloc(512);
		if (!grown[n])
			goto out;
		n++;
		end = (uintptr_t)sbrk(0);
		if (end > end0)
			break;
	}
	from = ((uintptr_t)grown[n - 1] + 512 + page - 1) & ~(page - 1);
	if (end <= from + page || (end - from) / page > sizeof(vec))
		goto out;
	*pages = (end - from) / page;
	if (mincore((void *)from, *pages * page, vec))
		*pages = 0;
	for (size_t i = 0; i < *pages; i++)
		resident += vec[i] & 1;
out:
	while (n)
		free(grown[--n]);
	return resident;
}

/* With populating on, the pages the heap grew by are resident before anyone touches them; off,
 * the same growth leaves them to be faulted in (the control: the check can fail). */
TEST(lib_heap_populated_growth_is_resident_before_a_touch)
{
	size_t pages, resident;

	if (!CHECK(hw_heap__populate(1)))
		return;
	resident = untouched_resident(&pages);
	if (kernel_populates()) {
		CHECK(hw_heap__seen != 0);
		CHECK(pages >= 2);
		CHECK_EQ(resident, pages);
	} else {
		/* before 5.14 the kernel refuses it: populating turned itself off, nothing failed
		 */
		CHECK_EQ(hw_heap__seen, 0);
	}
	hw_heap__populate(0);
	resident = untouched_resident(&pages);
	CHECK(pages >= 2);
	if (!thp_always())
		CHECK_EQ(resident, 0);
}
