/* lib/str.h and lib/clock.h. */
#include <string.h>
#include <time.h>

#include "lib/clock.h"
#include "lib/str.h"
#include "test.h"

TEST(lib_str_copy_bounded)
{
	char b[5];

	memset(b, 'x', sizeof(b));
	CHECK_EQ(hw_str__copy(b, sizeof(b), "abcdefgh"), 4);
	CHECK_STREQ(b, "abcd");
	CHECK_EQ(hw_str__copy(b, sizeof(b), "ab"), 2);
	CHECK_STREQ(b, "ab");
	CHECK_EQ(hw_str__copy(b, sizeof(b), NULL), 0);
	CHECK_STREQ(b, "");
	CHECK_EQ(hw_str__copy(b, 1, "abc"), 0);
	CHECK_STREQ(b, "");
}

TEST(lib_str_base_name)
{
	CHECK_STREQ(hw_str__base_name("/usr/sbin/sshd"), "sshd");
	CHECK_STREQ(hw_str__base_name("sshd"), "sshd");
	CHECK_STREQ(hw_str__base_name("/"), "");
	CHECK_STREQ(hw_str__base_name("/tmp/dir/"), "");
	CHECK_STREQ(hw_str__base_name(""), "");
}

TEST(lib_clocks)
{
	unsigned long long m0 = hw_clock__mono_ns(), m1 = hw_clock__mono_ns();
	unsigned long long r = hw_clock__real_ns(), b = hw_clock__boot_ns();
	long long drift = (long long)(r / HW_NS_PER_SEC) - (long long)time(NULL);

	CHECK(m0 > 0 && m1 >= m0);
	CHECK(drift >= -1 && drift <= 1);
	CHECK(b >= m0); /* boot time counts suspend too */
	CHECK_EQ(hw_clock__ns((clockid_t)-12345), 0);
}

TEST(lib_str_numbers)
{
	char b[64], small[6];

	CHECK_EQ(hw_str__u64(b, 0), 1);
	CHECK_STREQ(b, "0");
	CHECK_EQ(hw_str__u64(b, 18446744073709551615ULL), 20);
	CHECK_STREQ(b, "18446744073709551615");
	CHECK_EQ(hw_str__pair(b, sizeof(b), "254:0", 1234567), 13);
	CHECK_STREQ(b, "254:0:1234567");
	CHECK_EQ(hw_str__pair(b, sizeof(b), NULL, 7), 2);
	CHECK_STREQ(b, ":7");
	/* cut as a bounded copy cuts, always terminated */
	CHECK_EQ(hw_str__pair(small, sizeof(small), "8", 123456), 5);
	CHECK_STREQ(small, "8:123");
	CHECK_EQ(hw_str__pair(small, sizeof(small), "abcdefgh", 1), 5);
	CHECK_STREQ(small, "abcde");
	CHECK_EQ(hw_str__pair(small, 1, "a", 1), 0);
	CHECK_STREQ(small, "");
}
