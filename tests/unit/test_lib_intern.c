/* lib/intern.h: one copy of each string, counted; "" never copied; a string cut as a copy into
 * char[max] would be; the copy goes with its last reference. */
#include <string.h>

#include "lib/intern.h"
#include "test.h"

TEST(lib_intern_one_copy_counted)
{
	struct hw_intern in = {0};
	char buf[32];
	const char *a, *b, *c, *e;

	strcpy(buf, "/usr/bin/curl");
	a = hw_intern__get(&in, buf, 256);
	strcpy(buf, "/usr/bin/wget"); /* the caller's buffer changes: the copy does not */
	b = hw_intern__get(&in, "/usr/bin/curl", 256);
	c = hw_intern__get(&in, buf, 256);
	if (!CHECK(a && b && c))
		return;
	CHECK(a == b);
	CHECK(a != c);
	CHECK_STREQ(a, "/usr/bin/curl");
	CHECK_STREQ(c, "/usr/bin/wget");
	CHECK_EQ(hw_intern__count(&in), 2);
	e = hw_intern__get(&in, "", 256);
	CHECK(e && !e[0]);
	CHECK(hw_intern__get(&in, NULL, 256) && !hw_intern__get(&in, NULL, 256)[0]);
	CHECK_EQ(hw_intern__count(&in), 2);
	hw_intern__put(&in, e); /* "" and NULL are not counted */
	hw_intern__put(&in, NULL);
	hw_intern__put(&in, a);
	CHECK_EQ(hw_intern__count(&in), 2); /* b still holds it */
	hw_intern__put(&in, b);
	CHECK_EQ(hw_intern__count(&in), 1);
	hw_intern__put(&in, c);
	CHECK_EQ(hw_intern__count(&in), 0);
	CHECK_EQ(in.bytes, 0);
	hw_intern__free(&in);
}

TEST(lib_intern_cut_like_a_copy)
{
	struct hw_intern in = {0};
	const char *a = hw_intern__get(&in, "abcdefgh", 5), *b = hw_intern__get(&in, "abcd", 5);

	if (!CHECK(a && b))
		return;
	CHECK_STREQ(a, "abcd");
	CHECK(a == b); /* cut, they are one string */
	CHECK_EQ(hw_intern__count(&in), 1);
	CHECK(in.bytes > 4);
	hw_intern__free(&in);
	CHECK_EQ(hw_intern__count(&in), 0);
}

TEST(lib_intern_dup_is_another_reference)
{
	struct hw_intern in = {0};
	const char *a = hw_intern__get(&in, "/bin/sh", 256), *b;

	if (!CHECK(a))
		return;
	b = hw_intern__dup(a);
	CHECK(a == b);
	CHECK(hw_intern__dup("") && !hw_intern__dup("")[0]);
	hw_intern__put(&in, a);
	CHECK_EQ(hw_intern__count(&in), 1); /* b holds it */
	CHECK_STREQ(b, "/bin/sh");
	hw_intern__put(&in, b);
	CHECK_EQ(hw_intern__count(&in), 0);
	hw_intern__free(&in);
}
