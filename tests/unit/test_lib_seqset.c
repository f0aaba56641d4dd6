/* lib/seqset.h: numbers seen within a window (the collector's second stage keeps the source
 * messages it fed there). */
#include <errno.h>

#include "lib/seqset.h"
#include "test.h"

#define S 1000000000ULL

TEST(lib_seqset_each_number_once_within_the_window)
{
	struct hw_seqset s;
	int ok = 1;

	hw_seqset__init(&s, 60 * S);
	/* stream sequences of several partitions interleaved, some far apart */
	for (uint64_t v = 1; v <= 20000; v++)
		ok &= hw_seqset__seen(&s, v * 7919, 10 * S) == 0;
	CHECK(ok);
	CHECK_EQ(hw_seqset__count(&s), 20000);
	for (uint64_t v = 1; v <= 20000; v++)
		ok &= hw_seqset__seen(&s, v * 7919, 20 * S) == 1;
	CHECK(ok);
	/* numbers never added are not seen, and are added by asking */
	CHECK_EQ(hw_seqset__seen(&s, 7919ULL * 20001, 20 * S), 0);
	CHECK_EQ(hw_seqset__seen(&s, 7919ULL * 20001, 21 * S), 1);
	CHECK_EQ(hw_seqset__seen(&s, 3, 21 * S), 0);
	CHECK_EQ(hw_seqset__seen(&s, 0, 21 * S), 0); /* never a sequence */
	CHECK_EQ(hw_seqset__seen(&s, 0, 21 * S), 0);
	CHECK(hw_seqset__memory(&s) >= 2 * hw_seqset__count(&s) * sizeof(uint64_t));
	hw_seqset__free(&s);
}

TEST(lib_seqset_forgets_after_one_to_two_windows)
{
	struct hw_seqset s;

	hw_seqset__init(&s, 60 * S);
	CHECK_EQ(hw_seqset__seen(&s, 42, 100 * S), 0); /* a generation starts at 100 s */
	CHECK_EQ(hw_seqset__seen(&s, 43, 150 * S), 0);
	/* a window later the generation is the previous one: still seen */
	CHECK_EQ(hw_seqset__seen(&s, 42, 160 * S), 1);
	CHECK_EQ(hw_seqset__seen(&s, 43, 200 * S), 1);
	CHECK_EQ(hw_seqset__seen(&s, 44, 200 * S), 0);
	/* two windows after 100 s: 42 and 43 (added before 160 s) are forgotten, 44 is not */
	CHECK_EQ(hw_seqset__seen(&s, 45, 220 * S), 0);
	CHECK_EQ(hw_seqset__seen(&s, 44, 221 * S), 1);
	CHECK_EQ(hw_seqset__seen(&s, 42, 221 * S), 0);
	CHECK_EQ(hw_seqset__seen(&s, 43, 221 * S), 0);
	/* silence for longer than two windows: everything forgotten */
	CHECK_EQ(hw_seqset__seen(&s, 44, 1000 * S), 0);
	CHECK_EQ(hw_seqset__seen(&s, 45, 1000 * S), 0);
	CHECK_EQ(hw_seqset__count(&s), 2);
	hw_seqset__free(&s);
	CHECK_EQ(hw_seqset__count(&s), 0);
}
