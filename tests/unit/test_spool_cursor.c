/* The spool's cursor file (user/stream/spool_cursor.c): two slots written in place, in turn;
 * a torn slot leaves the cursor before it; the older one-line file is still read. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/hash.h"
#include "stream/spool.h"
#include "stream/spool_cursor.h"
#include "fixtures.h"
#include "test.h"

/* A spool in dir with records "r-0".."r-(n-1)" appended. */
static struct hw_spool *spool_with(const char *dir, int n)
{
	char err[256], buf[32];
	struct hw_spool *s = hw_spool__open(dir, 1 << 20, err, sizeof(err));

	for (int i = 0; s && i < n; i++) {
		int l = snprintf(buf, sizeof(buf), "r-%d", i);

		if (hw_spool__append(s, buf, (size_t)l))
			break;
	}
	return s;
}

/* The first record the spool in dir would deliver, reopened: its number, -1 none. */
static int first_after_reopen(const char *dir, int *nhold, unsigned int *hold)
{
	char err[256];
	struct hw_spool *s = hw_spool__open(dir, 1 << 20, err, sizeof(err));
	const char *rec[1];
	size_t len[1];
	int v = -1;

	if (!s)
		return -2;
	*nhold = hw_spool__held(s, hold, HW_SPOOL_HOLD_MAX);
	if (hw_spool__peek(s, 1, 1 << 20, rec, len) == 1 && len[0] > 2)
		v = atoi(rec[0] + 2);
	hw_spool__close(s);
	return v;
}

static int cursor_fd(const char *dir)
{
	char path[700];

	snprintf(path, sizeof(path), "%s/cursor", dir);
	return open(path, O_RDWR | O_CLOEXEC);
}

TEST(spool_cursor_torn_slot_leaves_the_one_before)
{
	char *base = hw_test__new_dir("cursor"), dir[600];
	struct hw_spool *s;
	const char *rec[8];
	size_t len[8];
	unsigned int hold[HW_SPOOL_HOLD_MAX], sizes[2] = {3, 4};
	int nhold, fd;
	char c;

	if (!CHECK(base))
		return;
	snprintf(dir, sizeof(dir), "%s/s", base);
	s = spool_with(dir, 20);
	if (!CHECK(s))
		goto out;
	CHECK_EQ(hw_spool__peek(s, 2, 1 << 20, rec, len), 2);
	CHECK_EQ(hw_spool__consume(s, 2), 0); /* cursor at r-2 */
	CHECK_EQ(hw_spool__peek(s, 5, 1 << 20, rec, len), 5);
	CHECK_EQ(hw_spool__consume(s, 5), 0);	  /* cursor at r-7 */
	CHECK_EQ(hw_spool__hold(s, sizes, 2), 0); /* at r-7, held 3 + 4 */
	hw_spool__close(s);
	/* in place: the file never grows past its two slots */
	{
		char path[700];
		FILE *f;

		snprintf(path, sizeof(path), "%s/cursor", dir);
		f = fopen(path, "rb");
		if (CHECK(f)) {
			fseek(f, 0, SEEK_END);
			CHECK_EQ(ftell(f), 2 * HW_CURSOR_SLOT);
			fclose(f);
		}
	}
	CHECK_EQ(first_after_reopen(dir, &nhold, hold), 7);
	CHECK(nhold == 2 && hold[0] == 3 && hold[1] == 4);

	/* the newest slot (the hold, at r-7) torn: one byte of it changed; the slot before it
	 * (r-7, no hold) is the cursor. Which slot is newest: the one whose text reads so. */
	fd = cursor_fd(dir);
	if (!CHECK(fd >= 0))
		goto out;
	{
		char slots[2 * HW_CURSOR_SLOT];
		unsigned long long seq[2] = {0, 0};
		struct hw_cursor_at at[2];
		int newest;

		CHECK_EQ(pread(fd, slots, sizeof(slots), 0), (ssize_t)sizeof(slots));
		for (int i = 0; i < 2; i++)
			CHECK(hw_spool_cursor__parse_slot(slots + i * HW_CURSOR_SLOT,
							  HW_CURSOR_SLOT, HW_SPOOL_PEEK_MAX,
							  &seq[i], &at[i]));
		newest = seq[1] > seq[0];
		CHECK_EQ(at[newest].nhold, 2);
		CHECK_EQ(at[!newest].nhold, 0);
		CHECK_EQ(at[!newest].off, at[newest].off);
		/* a digit of the offset, the hold, each byte of the sum: any one changed spoils it
		 */
		for (size_t i = 9; i < 80; i++) {
			unsigned long long q;
			struct hw_cursor_at a;
			char *b = slots + newest * HW_CURSOR_SLOT;

			if (b[i] == ' ')
				continue;
			b[i] ^= 0x01;
			if (!CHECK(!hw_spool_cursor__parse_slot(b, HW_CURSOR_SLOT,
								HW_SPOOL_PEEK_MAX, &q, &a)))
				fprintf(stderr, "    byte %zu changed, still read\n", i);
			b[i] ^= 0x01;
		}
		c = slots[newest * HW_CURSOR_SLOT + 30] ^ 0x01;
		CHECK_EQ(pwrite(fd, &c, 1, newest * HW_CURSOR_SLOT + 30), 1);
	}
	close(fd);
	CHECK_EQ(first_after_reopen(dir, &nhold, hold), 7);
	CHECK_EQ(nhold, 0);

	/* both torn (or the file emptied): no cursor, delivery starts at the oldest record */
	fd = cursor_fd(dir);
	if (!CHECK(fd >= 0))
		goto out;
	CHECK_EQ(pwrite(fd, "x", 1, 20), 1);
	CHECK_EQ(pwrite(fd, "x", 1, HW_CURSOR_SLOT + 20), 1);
	close(fd);
	CHECK_EQ(first_after_reopen(dir, &nhold, hold), 0);
out:
	hw_test__rm_dir(base);
	free(base);
}

TEST(spool_cursor_older_one_line_file_is_read_then_replaced)
{
	char *base = hw_test__new_dir("cursor"), dir[600], path[700], data[2 * HW_CURSOR_SLOT];
	struct hw_spool *s;
	const char *rec[8];
	size_t len[8];
	unsigned int hold[HW_SPOOL_HOLD_MAX];
	int nhold, fd, off5 = 0;
	FILE *f;

	if (!CHECK(base))
		return;
	snprintf(dir, sizeof(dir), "%s/s", base);
	s = spool_with(dir, 10);
	if (!CHECK(s))
		goto out;
	/* the offset of r-5: five records of 4 + 3 bytes */
	CHECK_EQ(hw_spool__peek(s, 5, 1 << 20, rec, len), 5);
	for (int i = 0; i < 5; i++)
		off5 += 4 + (int)len[i];
	hw_spool__close(s);
	/* written as the agent before this change wrote it, a hold of 2 and 3 batches */
	snprintf(path, sizeof(path), "%s/cursor", dir);
	f = fopen(path, "w");
	if (!CHECK(f))
		goto out;
	fprintf(f, "1 %d 2 3\n", off5);
	fclose(f);
	CHECK_EQ(first_after_reopen(dir, &nhold, hold), 5);
	CHECK(nhold == 2 && hold[0] == 2 && hold[1] == 3);

	/* half way through the upgrade (the second slot written, the first still the older
	 * line): the new cursor, not the older line */
	{
		struct hw_cursor_at at = {.seg = 1, .off = (unsigned long long)off5 + 7};
		char slot[HW_CURSOR_SLOT];

		fd = cursor_fd(dir);
		if (!CHECK(fd >= 0))
			goto out;
		hw_spool_cursor__format_slot(slot, 1, &at);
		CHECK_EQ(pwrite(fd, slot, sizeof(slot), HW_CURSOR_SLOT), (ssize_t)sizeof(slot));
		close(fd);
		CHECK_EQ(first_after_reopen(dir, &nhold, hold), 6);
		CHECK_EQ(nhold, 0);
		/* and the older line alone again: the older cursor */
		fd = cursor_fd(dir);
		if (!CHECK(fd >= 0))
			goto out;
		CHECK_EQ(ftruncate(fd, HW_CURSOR_SLOT), 0);
		close(fd);
		CHECK_EQ(first_after_reopen(dir, &nhold, hold), 5);
		CHECK_EQ(nhold, 2);
	}

	/* the first write replaces it with both slots */
	s = hw_spool__open(dir, 1 << 20, data, sizeof(data));
	if (!CHECK(s))
		goto out;
	CHECK_EQ(hw_spool__peek(s, 2, 1 << 20, rec, len), 2);
	CHECK_EQ(hw_spool__consume(s, 2), 0);
	hw_spool__close(s);
	fd = cursor_fd(dir);
	if (!CHECK(fd >= 0))
		goto out;
	CHECK_EQ(pread(fd, data, sizeof(data), 0), (ssize_t)sizeof(data));
	close(fd);
	CHECK(!memcmp(data, "hwcursor ", 9) && !memcmp(data + HW_CURSOR_SLOT, "hwcursor ", 9));
	CHECK_EQ(first_after_reopen(dir, &nhold, hold), 7);
	CHECK_EQ(nhold, 0);
out:
	hw_test__rm_dir(base);
	free(base);
}

TEST(spool_cursor_slot_format_round_trip_and_bounds)
{
	char slot[HW_CURSOR_SLOT];
	struct hw_cursor_at at = {.seg = ~0ULL, .off = ~0ULL - 1, .nhold = HW_SPOOL_HOLD_MAX}, got;
	unsigned long long seq;

	for (int i = 0; i < HW_SPOOL_HOLD_MAX; i++)
		at.hold[i] = HW_SPOOL_PEEK_MAX - (unsigned int)i;
	/* the longest slot there is still fits its sector, with its newline last */
	hw_spool_cursor__format_slot(slot, ~0ULL, &at);
	CHECK_EQ(slot[HW_CURSOR_SLOT - 1], '\n');
	CHECK(hw_spool_cursor__parse_slot(slot, HW_CURSOR_SLOT, HW_SPOOL_PEEK_MAX, &seq, &got));
	CHECK(seq == ~0ULL && got.seg == at.seg && got.off == at.off);
	CHECK(got.nhold == at.nhold && !memcmp(got.hold, at.hold, sizeof(at.hold)));
	/* a size the spool cannot have ends the hold when it is written, too */
	{
		struct hw_cursor_at odd = {.seg = 1, .nhold = 3, .hold = {5, 0, 7}};

		hw_spool_cursor__format_slot(slot, 2, &odd);
		CHECK(!memcmp(slot, "hwcursor 2 1 0 1 5 ", 19));
		odd.hold[1] = 4000000000u;
		hw_spool_cursor__format_slot(slot, 2, &odd);
		CHECK(!memcmp(slot, "hwcursor 2 1 0 1 5 ", 19));
		CHECK_EQ(slot[HW_CURSOR_SLOT - 1], '\n');
	}
	hw_spool_cursor__format_slot(slot, ~0ULL, &at);
	/* a hold size the spool cannot have ends the hold there (as the older reader did) */
	CHECK(hw_spool_cursor__parse_slot(slot, HW_CURSOR_SLOT, HW_SPOOL_PEEK_MAX - 3, &seq, &got));
	CHECK_EQ(got.nhold, 0);
	/* cut anywhere before its sum's end: not a cursor */
	{
		size_t text = 0;

		for (size_t i = 0; i < HW_CURSOR_SLOT - 1; i++)
			if (slot[i] != ' ')
				text = i + 1; /* the end of the sum */
		CHECK(text > 300);
		for (size_t n = 0; n < text; n++)
			CHECK(!hw_spool_cursor__parse_slot(slot, n, HW_SPOOL_PEEK_MAX, &seq, &got));
	}
	/* with a right sum: a number past 64 bits, more hold sizes than a hold has, a sign, no
	 * magic, are all refused */
	{
		const char *bad[] = {"hwcursor 18446744073709551616 1 0 0 ",
				     "hwcursor 1 1 0 65 ",
				     "hwcursor 1 -1 0 0 ",
				     "hwcursor 1 1 0 1 +3 ",
				     "hwcursoR 1 1 0 0 ",
				     "hwcursor 1 1 0 0"};
		const char *good = "hwcursor 1 1 0 0 ";

		for (size_t i = 0; i <= sizeof(bad) / sizeof(bad[0]); i++) {
			const char *t = i < sizeof(bad) / sizeof(bad[0]) ? bad[i] : good;
			char b[HW_CURSOR_SLOT];
			int n = snprintf(b, sizeof(b), "%s", t);

			if (!strcmp(t, "hwcursor 1 1 0 65 "))
				for (int k = 0; k < 65; k++)
					n += snprintf(b + n, sizeof(b) - (size_t)n, "1 ");
			n += snprintf(b + n, sizeof(b) - (size_t)n, "%016llx\n",
				      (unsigned long long)hw_fnv__bytes(HW_FNV0, b, (size_t)n));
			CHECK_EQ(hw_spool_cursor__parse_slot(b, (size_t)n, HW_SPOOL_PEEK_MAX, &seq,
							     &got),
				 t == good);
		}
	}
}
