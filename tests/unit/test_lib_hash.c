/* lib/hash.h and lib/id.h: reference vectors, and the ids and alert ids pinned to the values
 * the code gave before it moved into lib/ (recordings and collectors hold them: they must
 * never change). */
#include <string.h>

#include "lib/hash.h"
#include "lib/id.h"
#include "test.h"

TEST(lib_fnv1a_reference_vectors)
{
	const uint64_t basis = 0xcbf29ce484222325ULL; /* FNV-1a 64's offset basis */

	/* the FNV-1a 64 test vectors of draft-eastlake-fnv: the algorithm is FNV-1a */
	CHECK_EQ(hw_fnv__cstr(basis, ""), 0xcbf29ce484222325ULL);
	CHECK_EQ(hw_fnv__cstr(basis, "a"), 0xaf63dc4c8601ec8cULL);
	CHECK_EQ(hw_fnv__cstr(basis, "foobar"), 0x85944171f73967e8ULL);
	CHECK_EQ(hw_fnv__bytes(basis, "foobar", 6), 0x85944171f73967e8ULL);
	/* hopwatch's start value is not that basis (14695981039346656037 with its last digit
	 * lost, in every copy): alert ids and hash orders derive from it, so it stays */
	CHECK_EQ(HW_FNV0, 1469598103934665603ULL);
	CHECK_EQ(hw_fnv__cstr(HW_FNV0, NULL), HW_FNV0);
}

TEST(lib_fnv_fields_are_separated)
{
	uint64_t ab_c = hw_fnv__str(hw_fnv__str(HW_FNV0, "ab"), "c");
	uint64_t a_bc = hw_fnv__str(hw_fnv__str(HW_FNV0, "a"), "bc");

	CHECK(ab_c != a_bc);
	CHECK_EQ(hw_fnv__str(HW_FNV0, NULL), hw_fnv__str(HW_FNV0, ""));
	/* a u64 is its 8 bytes, least significant first, on every host */
	CHECK_EQ(hw_fnv__u64(HW_FNV0, 0x0807060504030201ULL),
		 hw_fnv__bytes(HW_FNV0, "\x01\x02\x03\x04\x05\x06\x07\x08", 8));
}

TEST(lib_alert_id_hash_unchanged)
{
	/* engine.c's alert id: host, rule and entity as fields, then the time; the value the
	 * hand-written loop gave */
	uint64_t h = hw_fnv__u64(
	    hw_fnv__str(hw_fnv__str(hw_fnv__str(HW_FNV0, "host-1"), "reverse-shell"), "AbC"),
	    1764237600123456789ULL);

	CHECK_EQ(h, 0x7ed97a0d000ac788ULL);
}

TEST(lib_integer_hashes_spread)
{
	/* consecutive pids and cookies fall in different buckets of a small table */
	int used[64] = {0}, distinct = 0;

	for (uint32_t pid = 1000; pid < 1064; pid++)
		used[hw_hash__u32(pid) & 63]++;
	for (int i = 0; i < 64; i++)
		distinct += used[i] > 0;
	CHECK(distinct >= 32);
	CHECK(hw_hash__u64(1) != hw_hash__u64(2));
	CHECK_EQ(hw_hash__u32(1), 0x9E3779B1u);
}

TEST(lib_ids_unchanged)
{
	const __u64 key[2] = {0x0123456789abcdefULL, 0xfedcba9876543210ULL};
	char out[HW_ID_LEN];

	/* values computed by the three hand-written copies this replaced */
	hw_id__process(key, 4242, 12345, out);
	CHECK_STREQ(out, "lhZdmJTqBIk_AKuAM954rC");
	hw_id__conn(key, 0x1122334455667788ULL, out);
	CHECK_STREQ(out, "bcNxCmy4riFSHmJny35D8O");
	hw_id__session(key, 0x1122334455667788ULL, out);
	CHECK_STREQ(out, "iGzVEeqrGVKVDMl37fzowL");
}

TEST(lib_id_encodings)
{
	const __u64 zero[2] = {0, 0}, ones[2] = {~0ULL, ~0ULL};
	char out[HW_ID_LEN];

	hw_id__b64_stream(zero, out);
	CHECK_STREQ(out, "AAAAAAAAAAAAAAAAAAAAAA");
	/* 128 bits set: 21 whole characters and the 2 bits left of the last */
	hw_id__b64_stream(ones, out);
	CHECK_STREQ(out, "_____________________D");
	/* 11 characters of each word: 64 bits, then 2 of 6 bits */
	hw_id__b64_pair(~0ULL, 0, out);
	CHECK_STREQ(out, "__________PAAAAAAAAAAA");
	hw_id__b64_pair(0, ~0ULL, out);
	CHECK_STREQ(out, "AAAAAAAAAAA__________P");
	CHECK_EQ(strlen(out), 22);
}
