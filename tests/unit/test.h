/* Minimal self-registering unit test framework for hopwatch.
 *
 * A test is declared with TEST(name) { ... } in any tests/unit .c file; a constructor adds it
 * to a list that tests/unit/main.c runs. CHECK* macros record a failure with file:line and
 * return false, so a test can `goto cleanup` on a failed check:
 *
 *	if (!CHECK_EQ(x, 3))
 *		goto out;
 */
#ifndef HW_TEST_H
#define HW_TEST_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

struct hw_test {
	const char *name;
	void (*fn)(void);
	struct hw_test *next;
};

void hw_test__register(struct hw_test *t);
bool hw_test__fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define TEST(tname)                                                                                \
	static void test_##tname(void);                                                            \
	static struct hw_test test_reg_##tname = {.name = #tname, .fn = test_##tname};             \
	__attribute__((constructor)) static void test_ctor_##tname(void)                           \
	{                                                                                          \
		hw_test__register(&test_reg_##tname);                                              \
	}                                                                                          \
	static void test_##tname(void)

#define CHECK(cond) ((cond) ? true : hw_test__fail(__FILE__, __LINE__, "%s", #cond))

#define CHECK_EQ(a, b)                                                                             \
	({                                                                                         \
		long long a_ = (long long)(a), b_ = (long long)(b);                                \
		a_ == b_                                                                           \
		    ? true                                                                         \
		    : hw_test__fail(__FILE__, __LINE__, "%s == %s: %lld != %lld", #a, #b, a_, b_); \
	})

#define CHECK_STREQ(a, b)                                                                          \
	({                                                                                         \
		const char *a_ = (a), *b_ = (b);                                                   \
		(a_ && b_ && strcmp(a_, b_) == 0)                                                  \
		    ? true                                                                         \
		    : hw_test__fail(__FILE__, __LINE__, "%s == %s: \"%s\" != \"%s\"", #a, #b,      \
				    a_ ? a_ : "(null)", b_ ? b_ : "(null)");                       \
	})

#endif
