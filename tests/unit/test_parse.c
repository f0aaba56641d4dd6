/* Unit tests of the value parsers (user/parse.c): good and bad inputs, bounds, overflow. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <sys/socket.h>

#include "test.h"
#include "parse.h"

#define SEC HW_NSEC_PER_SEC

TEST(parse_duration_units)
{
	static const struct {
		const char *s;
		unsigned long long ns;
	} good[] = {
	    {"500ms", 500 * HW_NSEC_PER_MSEC},
	    {"30s", 30 * SEC},
	    {"10m", 600 * SEC},
	    {"8h", 8 * 3600 * SEC},
	    {"2d", 2 * 86400 * SEC},
	    {"0s", 0},
	    {"0ms", 0},
	    {"1ms", HW_NSEC_PER_MSEC},
	    {"007s", 7 * SEC},
	};
	unsigned long long ns;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ns = 42;
		if (!CHECK_EQ(hw_parse_duration(good[i].s, &ns), 0))
			printf("    input '%s'\n", good[i].s);
		CHECK_EQ(ns, good[i].ns);
	}
}

TEST(parse_duration_rejects)
{
	static const char *const bad[] = {
	    "",	   "5",	  "0",	"ms",	"5x",	 "5 s",	 " 5s",	  "5s ",  "+5s",
	    "-5s", "5S",  "5M", "5sec", "1h30m", "5.5s", "0x10s", "5s\n", "5\ns",
	    "5us", "5ns", "s5", "5mss", "5 ms",	 "\t5s", "5d1",
	};
	unsigned long long ns = 42;

	CHECK_EQ(hw_parse_duration(NULL, &ns), -EINVAL);
	CHECK_EQ(hw_parse_duration("5s", NULL), -EINVAL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (!CHECK_EQ(hw_parse_duration(bad[i], &ns), -EINVAL))
			printf("    input '%s'\n", bad[i]);
	}
	CHECK_EQ(ns, 42); /* untouched on error */
}

TEST(parse_duration_overflow)
{
	unsigned long long ns = 42;

	/* 2^64 ns is 18446744073.709551616 s and 213503.98 d */
	CHECK_EQ(hw_parse_duration("18446744073s", &ns), 0);
	CHECK(ns == 18446744073ULL * SEC);
	CHECK_EQ(hw_parse_duration("18446744074s", &ns), -ERANGE);
	CHECK_EQ(hw_parse_duration("213503d", &ns), 0);
	CHECK_EQ(hw_parse_duration("213504d", &ns), -ERANGE);
	CHECK_EQ(hw_parse_duration("18446744073709ms", &ns), 0);
	CHECK_EQ(hw_parse_duration("18446744073710ms", &ns), -ERANGE);
	CHECK_EQ(hw_parse_duration("18446744073709551616s", &ns), -ERANGE);
	CHECK_EQ(hw_parse_duration("99999999999999999999999999999999999d", &ns), -ERANGE);
	/* a malformed value is -EINVAL even when its digits overflow */
	CHECK_EQ(hw_parse_duration("99999999999999999999999x", &ns), -EINVAL);
	CHECK_EQ(hw_parse_duration("99999999999999999999999", &ns), -EINVAL);
}

TEST(parse_size)
{
	static const struct {
		const char *s;
		unsigned long long v;
	} good[] = {
	    {"0", 0},
	    {"100", 100},
	    {"100B", 100},
	    {"1K", 1024},
	    {"1k", 1024},
	    {"1KB", 1024},
	    {"1KiB", 1024},
	    {"512M", 512ULL << 20},
	    {"512MB", 512ULL << 20},
	    {"1G", 1ULL << 30},
	    {"1GiB", 1ULL << 30},
	    {"1g", 1ULL << 30},
	    {"2T", 2ULL << 40},
	    {"16777215T", 16777215ULL << 40},
	    {"18446744073709551615", ULLONG_MAX},
	};
	static const char *const bad[] = {
	    "",	  "G",	  "1X", "1 G", "1G ",  " 1G",  "1Gb", "1GiBB", "1iB", "-1",
	    "+1", "1.5G", "1P", "1Gi", "1GIB", "1B B", "1KK", "0x10",  "1e3", "1b",
	};
	unsigned long long v = 42;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (!CHECK_EQ(hw_parse_size(good[i].s, &v), 0))
			printf("    input '%s'\n", good[i].s);
		CHECK(v == good[i].v);
	}
	v = 42;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (!CHECK_EQ(hw_parse_size(bad[i], &v), -EINVAL))
			printf("    input '%s'\n", bad[i]);
	}
	CHECK_EQ(hw_parse_size(NULL, &v), -EINVAL);
	CHECK_EQ(hw_parse_size("16777216T", &v), -ERANGE);
	CHECK_EQ(hw_parse_size("17179869184G", &v), -ERANGE);
	CHECK_EQ(hw_parse_size("18446744073709551616", &v), -ERANGE);
	CHECK_EQ(v, 42);
}

TEST(parse_u32)
{
	unsigned int v = 42;

	CHECK_EQ(hw_parse_u32("0", 0, 10, &v), 0);
	CHECK_EQ(v, 0);
	CHECK_EQ(hw_parse_u32("10", 0, 10, &v), 0);
	CHECK_EQ(v, 10);
	CHECK_EQ(hw_parse_u32("011", 0, 100, &v), 0);
	CHECK_EQ(v, 11);
	CHECK_EQ(hw_parse_u32("4294967295", 0, UINT_MAX, &v), 0);
	CHECK(v == UINT_MAX);
	v = 42;
	CHECK_EQ(hw_parse_u32("11", 0, 10, &v), -ERANGE);
	CHECK_EQ(hw_parse_u32("4", 5, 10, &v), -ERANGE);
	CHECK_EQ(hw_parse_u32("4294967296", 0, UINT_MAX, &v), -ERANGE);
	CHECK_EQ(hw_parse_u32("99999999999999999999999", 0, UINT_MAX, &v), -ERANGE);
	CHECK_EQ(hw_parse_u32("", 0, 10, &v), -EINVAL);
	CHECK_EQ(hw_parse_u32(" 1", 0, 10, &v), -EINVAL);
	CHECK_EQ(hw_parse_u32("1 ", 0, 10, &v), -EINVAL);
	CHECK_EQ(hw_parse_u32("+1", 0, 10, &v), -EINVAL);
	CHECK_EQ(hw_parse_u32("-1", 0, 10, &v), -EINVAL);
	CHECK_EQ(hw_parse_u32("0x1", 0, 10, &v), -EINVAL);
	CHECK_EQ(hw_parse_u32("1e1", 0, 100, &v), -EINVAL);
	CHECK_EQ(hw_parse_u32(NULL, 0, 10, &v), -EINVAL);
	CHECK_EQ(v, 42);
}

TEST(parse_bool)
{
	static const char *const yes[] = {"true", "yes", "on", "1", "TRUE", "Yes", "ON"};
	static const char *const no[] = {"false", "no", "off", "0", "False", "NO", "Off"};
	static const char *const bad[] = {"",	   "2",	    "y",     "n", "tru",
					  "truee", " true", "true ", "01"};
	int v;

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		v = -1;
		CHECK_EQ(hw_parse_bool(yes[i], &v), 0);
		CHECK_EQ(v, 1);
		CHECK_EQ(hw_parse_bool(no[i], &v), 0);
		CHECK_EQ(v, 0);
	}
	v = -1;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_EQ(hw_parse_bool(bad[i], &v), -EINVAL);
	CHECK_EQ(hw_parse_bool(NULL, &v), -EINVAL);
	CHECK_EQ(v, -1);
}

static bool cidr_is(const struct hw_cidr *c, int family, const char *addr, unsigned int prefix)
{
	unsigned char want[16] = {0};

	inet_pton(family, addr, want);
	return c->family == family && c->prefix == prefix && !memcmp(c->addr, want, 16);
}

TEST(parse_cidr_good)
{
	struct hw_cidr c;

	CHECK_EQ(hw_parse_cidr("10.0.0.0/8", &c), 0);
	CHECK(cidr_is(&c, AF_INET, "10.0.0.0", 8));
	CHECK_EQ(hw_parse_cidr("192.168.1.7", &c), 0);
	CHECK(cidr_is(&c, AF_INET, "192.168.1.7", 32));
	CHECK_EQ(hw_parse_cidr("0.0.0.0/0", &c), 0);
	CHECK(cidr_is(&c, AF_INET, "0.0.0.0", 0));
	CHECK_EQ(hw_parse_cidr("172.16.0.0/12", &c), 0);
	CHECK(cidr_is(&c, AF_INET, "172.16.0.0", 12));
	CHECK_EQ(hw_parse_cidr("198.18.0.0/15", &c), 0);
	CHECK(cidr_is(&c, AF_INET, "198.18.0.0", 15));
	CHECK_EQ(hw_parse_cidr("fc00::/7", &c), 0);
	CHECK(cidr_is(&c, AF_INET6, "fc00::", 7));
	CHECK_EQ(hw_parse_cidr("::1", &c), 0);
	CHECK(cidr_is(&c, AF_INET6, "::1", 128));
	CHECK_EQ(hw_parse_cidr("::/0", &c), 0);
	CHECK(cidr_is(&c, AF_INET6, "::", 0));
	CHECK_EQ(hw_parse_cidr("2001:db8::/32", &c), 0);
	CHECK(cidr_is(&c, AF_INET6, "2001:db8::", 32));
	CHECK_EQ(hw_parse_cidr("::ffff:10.0.0.0/104", &c), 0);
	CHECK(cidr_is(&c, AF_INET6, "::ffff:10.0.0.0", 104));
	CHECK_EQ(hw_parse_cidr("10.0.0.0/08", &c), 0);
	CHECK(cidr_is(&c, AF_INET, "10.0.0.0", 8));
}

TEST(parse_cidr_bad)
{
	static const char *const bad[] = {
	    "",
	    "/8",
	    "10.0.0.0/",
	    "10.0.0/8",
	    "10.0.0.0/8 ",
	    " 10.0.0.0/8",
	    "10.0.0.0/+8",
	    "10.0.0.0/-1",
	    "10.0.0.0/8/8",
	    "300.0.0.0/8",
	    "fe80::1%eth0",
	    "10.0.0.0/a",
	    "10.0.0.0 /8",
	    "10.0.0.0/ 8",
	    "host/8",
	    "10.0.0.1/8",
	    "fc00::1/7",
	    "172.16.0.0/11",
	    "::1/0",
	    "1.2.3.5/31",
	    ":::/8",
	    "10.0.0.0//8",
	    "1111:2222:3333:4444:5555:6666:7777:8888:9999/8",
	    "010.0.0.0/8",
	    "10.0.0.00",
	    "1.2.3",
	};
	struct hw_cidr c = {.prefix = 99};
	char why[128];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (!CHECK_EQ(hw_parse_cidr(bad[i], &c), -EINVAL))
			printf("    input '%s'\n", bad[i]);
	}
	CHECK_EQ(hw_parse_cidr("10.0.0.0/33", &c), -ERANGE);
	CHECK_EQ(hw_parse_cidr("::/129", &c), -ERANGE);
	CHECK_EQ(hw_parse_cidr("10.0.0.0/99999999999999999999999", &c), -ERANGE);
	CHECK_EQ(hw_parse_cidr(NULL, &c), -EINVAL);
	CHECK_EQ(c.prefix, 99);

	CHECK_EQ(hw_parse_cidr_why("10.0.0.1/8", &c, why, sizeof(why)), -EINVAL);
	CHECK_STREQ(why, "host bits are set after the /8 prefix (the network is 10.0.0.0/8)");
	CHECK_EQ(hw_parse_cidr_why("fc00::1/7", &c, why, sizeof(why)), -EINVAL);
	CHECK_STREQ(why, "host bits are set after the /7 prefix (the network is fc00::/7)");
	CHECK_EQ(hw_parse_cidr_why("10.0.0.0/33", &c, why, sizeof(why)), -ERANGE);
	CHECK_STREQ(why, "the prefix length must be 0..32");
	CHECK_EQ(hw_parse_cidr_why("10.0.0.0/x", &c, why, sizeof(why)), -EINVAL);
	CHECK_STREQ(why, "the prefix length after '/' must be a number");
	CHECK_EQ(hw_parse_cidr_why("intranet", &c, why, sizeof(why)), -EINVAL);
	CHECK_STREQ(why, "not an IPv4 or IPv6 address");
	CHECK_EQ(hw_parse_cidr_why("intranet", &c, NULL, 0), -EINVAL);
}

static int contains(const char *cidr, const char *addr)
{
	unsigned char a[16];
	struct hw_cidr c;
	int family = strchr(addr, ':') ? AF_INET6 : AF_INET;

	if (hw_parse_cidr(cidr, &c) || inet_pton(family, addr, a) != 1)
		return -1;
	return hw_cidr_contains(&c, family, a);
}

TEST(cidr_contains)
{
	CHECK_EQ(contains("10.0.0.0/8", "10.1.2.3"), 1);
	CHECK_EQ(contains("10.0.0.0/8", "10.255.255.255"), 1);
	CHECK_EQ(contains("10.0.0.0/8", "11.0.0.0"), 0);
	CHECK_EQ(contains("10.0.0.0/8", "9.255.255.255"), 0);
	CHECK_EQ(contains("172.16.0.0/12", "172.31.255.255"), 1);
	CHECK_EQ(contains("172.16.0.0/12", "172.32.0.0"), 0);
	CHECK_EQ(contains("172.16.0.0/12", "172.15.255.255"), 0);
	CHECK_EQ(contains("198.18.0.0/15", "198.19.1.1"), 1);
	CHECK_EQ(contains("198.18.0.0/15", "198.20.0.0"), 0);
	CHECK_EQ(contains("192.168.1.7", "192.168.1.7"), 1);
	CHECK_EQ(contains("192.168.1.7", "192.168.1.6"), 0);
	CHECK_EQ(contains("0.0.0.0/0", "255.255.255.255"), 1);
	CHECK_EQ(contains("fc00::/7", "fd12::1"), 1);
	CHECK_EQ(contains("fc00::/7", "fe00::1"), 0);
	CHECK_EQ(contains("fc00::/7", "10.1.2.3"), 0);
	CHECK_EQ(contains("2001:db8::/32", "2001:db8:ffff::1"), 1);
	CHECK_EQ(contains("2001:db8::/32", "2001:db9::1"), 0);
	CHECK_EQ(contains("::1", "::1"), 1);
	CHECK_EQ(contains("::1", "::2"), 0);
	/* an IPv4-mapped IPv6 address is the IPv4 host */
	CHECK_EQ(contains("10.0.0.0/8", "::ffff:10.1.2.3"), 1);
	CHECK_EQ(contains("10.0.0.0/8", "::ffff:11.1.2.3"), 0);
	CHECK_EQ(contains("0.0.0.0/0", "::ffff:1.2.3.4"), 1);
	CHECK_EQ(contains("0.0.0.0/0", "::1"), 0);
	CHECK_EQ(contains("10.0.0.0/8", "::a01:203"), 0); /* IPv4-compatible, not mapped */
	CHECK_EQ(contains("10.0.0.0/8", "64:ff9b::a01:203"), 0);
	/* and the other way round, so both forms always agree */
	CHECK_EQ(contains("::ffff:10.0.0.0/104", "10.1.2.3"), 1);
	CHECK_EQ(contains("::ffff:10.0.0.0/104", "11.1.2.3"), 0);
	CHECK_EQ(contains("::/0", "10.1.2.3"), 1);
	CHECK_EQ(contains("fc00::/7", "::ffff:10.1.2.3"), 0);
}

TEST(cidr_contains_edge)
{
	unsigned char a[16] = {10, 1, 2, 3};
	struct hw_cidr c, bogus = {.family = AF_INET, .prefix = 200};
	struct hw_cidr list[2];

	CHECK_EQ(hw_parse_cidr("10.0.0.0/8", &c), 0);
	CHECK_EQ(hw_cidr_contains(&c, AF_UNIX, a), 0);
	CHECK_EQ(hw_cidr_contains(&c, AF_INET, NULL), 0);
	CHECK_EQ(hw_cidr_contains(NULL, AF_INET, a), 0);
	CHECK_EQ(hw_cidr_contains(&bogus, AF_INET, a), 0);
	CHECK_EQ(hw_parse_cidr("192.168.0.0/16", &list[0]), 0);
	CHECK_EQ(hw_parse_cidr("10.0.0.0/8", &list[1]), 0);
	CHECK_EQ(hw_cidrs_contain(list, 2, AF_INET, a), 1);
	CHECK_EQ(hw_cidrs_contain(list, 1, AF_INET, a), 0);
	CHECK_EQ(hw_cidrs_contain(NULL, 0, AF_INET, a), 0);
}

TEST(parse_host_port)
{
	char host[256];
	unsigned short port = 0;

	CHECK_EQ(hw_parse_host_port("logs.example.com:514", host, sizeof(host), &port), 0);
	CHECK_STREQ(host, "logs.example.com");
	CHECK_EQ(port, 514);
	CHECK_EQ(hw_parse_host_port("198.18.0.2:6514", host, sizeof(host), &port), 0);
	CHECK_STREQ(host, "198.18.0.2");
	CHECK_EQ(port, 6514);
	CHECK_EQ(hw_parse_host_port("[::1]:65535", host, sizeof(host), &port), 0);
	CHECK_STREQ(host, "::1");
	CHECK_EQ(port, 65535);
	CHECK_EQ(hw_parse_host_port("localhost:1", NULL, 0, &port), 0);
	CHECK_EQ(port, 1);
	CHECK_EQ(hw_parse_host_port("localhost:2", NULL, 0, NULL), 0);
	CHECK_EQ(port, 1);
	CHECK_EQ(hw_parse_host_port("localhost:514", host, 9, &port), -ERANGE);
	CHECK_EQ(hw_parse_host_port("localhost:514", host, 10, &port), 0);

	static const char *const bad[] = {
	    "",		 "host",      "host:",	":514",	    "host:0",	  "host:65536",
	    "::1:514",	 "[::1]514",  "[::1]:", "[zz]:1",   "[]:1",	  "a b:1",
	    "host:514x", "host:+514", "h/x:1",	"[::1:514", "host:514:1", "[1.2.3.4]:1",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (!CHECK_EQ(hw_parse_host_port(bad[i], host, sizeof(host), &port), -EINVAL))
			printf("    input '%s'\n", bad[i]);
	}
	CHECK_EQ(hw_parse_host_port(NULL, host, sizeof(host), &port), -EINVAL);
}

TEST(parse_nats)
{
	static const char *const subjects[] = {"hopwatch", "corp.hopwatch", "a-b_c.D9.x", "a"};
	static const char *const bad_subjects[] = {"",	 ".",	"a.",	    ".a",  "a..b", "a b",
						   "a*", "a.>", "\xc3\xa9", "a\n", "a/b"};
	static const char *const urls[] = {"nats://127.0.0.1:4222",
					   "tls://h:4443, nats://user:pass@h2:4222",
					   "localhost:4222", "ws://h:80,wss://h:443", "h"};
	static const char *const bad_urls[] = {
	    "",		 " ",	      "http://h:80", "nats://",	   "nats:// h", "a b",
	    "nats://h,", ",nats://h", "://h",	     "NATS://h:1", "x\x01"};
	char long_subject[300];

	for (size_t i = 0; i < sizeof(subjects) / sizeof(subjects[0]); i++)
		CHECK_EQ(hw_parse_nats_subject(subjects[i]), 0);
	for (size_t i = 0; i < sizeof(bad_subjects) / sizeof(bad_subjects[0]); i++) {
		if (!CHECK_EQ(hw_parse_nats_subject(bad_subjects[i]), -EINVAL))
			printf("    input '%s'\n", bad_subjects[i]);
	}
	memset(long_subject, 'a', sizeof(long_subject) - 1);
	long_subject[sizeof(long_subject) - 1] = '\0';
	CHECK_EQ(hw_parse_nats_subject(long_subject), -EINVAL);
	long_subject[255] = '\0';
	CHECK_EQ(hw_parse_nats_subject(long_subject), 0);
	CHECK_EQ(hw_parse_nats_subject(NULL), -EINVAL);
	for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		if (!CHECK_EQ(hw_parse_nats_urls(urls[i]), 0))
			printf("    input '%s'\n", urls[i]);
	}
	for (size_t i = 0; i < sizeof(bad_urls) / sizeof(bad_urls[0]); i++) {
		if (!CHECK_EQ(hw_parse_nats_urls(bad_urls[i]), -EINVAL))
			printf("    input '%s'\n", bad_urls[i]);
	}
	CHECK_EQ(hw_parse_nats_urls(NULL), -EINVAL);
}

/* Joins the items of a list with '|', or returns "ERR" on an error. */
static const char *list_items(const char *s, char *buf, size_t len)
{
	struct hw_parse_list it;
	const char *item;
	size_t n, used = 0;
	int ret;

	buf[0] = '\0';
	hw_parse_list_init(&it, s);
	while ((ret = hw_parse_list_next(&it, &item, &n)) > 0)
		used += snprintf(buf + used, len - used, "%s%.*s", used ? "|" : "", (int)n, item);
	if (ret)
		return "ERR";
	/* once finished, stays finished */
	return hw_parse_list_next(&it, &item, &n) ? "NOT-DONE" : buf;
}

TEST(parse_list)
{
	char buf[128];

	CHECK_STREQ(list_items("a,b,c", buf, sizeof(buf)), "a|b|c");
	CHECK_STREQ(list_items("  a , b\t,c  ", buf, sizeof(buf)), "a|b|c");
	CHECK_STREQ(list_items("one item", buf, sizeof(buf)), "one item");
	CHECK_STREQ(list_items("", buf, sizeof(buf)), "");
	CHECK_STREQ(list_items("   ", buf, sizeof(buf)), "");
	CHECK_STREQ(list_items(NULL, buf, sizeof(buf)), "");
	CHECK_STREQ(list_items("a,,b", buf, sizeof(buf)), "ERR");
	CHECK_STREQ(list_items("a,", buf, sizeof(buf)), "ERR");
	CHECK_STREQ(list_items("a, ", buf, sizeof(buf)), "ERR");
	CHECK_STREQ(list_items(",a", buf, sizeof(buf)), "ERR");
	CHECK_STREQ(list_items(",", buf, sizeof(buf)), "ERR");
	CHECK_STREQ(list_items(" , ", buf, sizeof(buf)), "ERR");
}

TEST(format_values)
{
	struct hw_cidr c;
	char buf[64];

	hw_format_duration(0, buf, sizeof(buf));
	CHECK_STREQ(buf, "0s");
	hw_format_duration(90 * SEC, buf, sizeof(buf));
	CHECK_STREQ(buf, "90s");
	hw_format_duration(3600 * SEC, buf, sizeof(buf));
	CHECK_STREQ(buf, "1h");
	hw_format_duration(1500 * HW_NSEC_PER_MSEC, buf, sizeof(buf));
	CHECK_STREQ(buf, "1500ms");
	hw_format_duration(365 * 86400 * SEC, buf, sizeof(buf));
	CHECK_STREQ(buf, "365d");
	hw_format_duration(1, buf, sizeof(buf));
	CHECK_STREQ(buf, "1ns");
	hw_format_size(4ULL << 20, buf, sizeof(buf));
	CHECK_STREQ(buf, "4M");
	hw_format_size(1ULL << 30, buf, sizeof(buf));
	CHECK_STREQ(buf, "1G");
	hw_format_size(1536, buf, sizeof(buf));
	CHECK_STREQ(buf, "1536");
	hw_format_size(0, buf, sizeof(buf));
	CHECK_STREQ(buf, "0");
	CHECK_EQ(hw_parse_cidr("fc00::/7", &c), 0);
	hw_format_cidr(&c, buf, sizeof(buf));
	CHECK_STREQ(buf, "fc00::/7");
	CHECK_EQ(hw_parse_cidr("10.1.0.0/16", &c), 0);
	hw_format_cidr(&c, buf, sizeof(buf));
	CHECK_STREQ(buf, "10.1.0.0/16");
	c.family = 0;
	hw_format_cidr(&c, buf, sizeof(buf));
	CHECK_STREQ(buf, "?");
}
