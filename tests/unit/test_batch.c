/* The JetStream sink's batches (user/stream/batch.c): message ids, gzip both ways, hostile
 * batches refused whole before a line is used; and the spool's hold (spool.c), which makes a
 * batch sent again after a restart the same batch. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stream/batch.h"
#include "stream/spool.h"
#include "test.h"

static int lines_of(struct hw_batch_reader *r, const char *count, const char *enc, const void *data,
		    size_t len, char *out, size_t outlen)
{
	char err[300];
	const char *line;
	size_t l, used = 0;
	int n = 0, ret = hw_batch__open(r, count, enc, data, len, err, sizeof(err));

	if (ret)
		return ret;
	out[0] = 0;
	while (hw_batch__next(r, &line, &l)) {
		used += (size_t)snprintf(out + used, outlen - used, "[%.*s]", (int)l, line);
		n++;
	}
	return n;
}

TEST(batch_parse_id)
{
	struct hw_batch_id id;

	CHECK_EQ(hw_batch__parse_id("abc.run1.42", 11, &id), 0);
	CHECK(id.host_len == 3 && !memcmp(id.host, "abc", 3));
	CHECK(id.run_len == 4 && !memcmp(id.run, "run1", 4));
	CHECK_EQ(id.seq, 42);
	/* a host id with dots: the last two dots split */
	CHECK_EQ(hw_batch__parse_id("a.b.c.r.7", 9, &id), 0);
	CHECK(id.host_len == 5 && id.run_len == 1 && id.seq == 7);
	CHECK_EQ(hw_batch__parse_id("abc.run1.4x", 11, &id), -EINVAL);
	CHECK_EQ(hw_batch__parse_id("abc.run1.", 9, &id), -EINVAL);
	CHECK_EQ(hw_batch__parse_id(".run1.4", 7, &id), -EINVAL);
	CHECK_EQ(hw_batch__parse_id("abc..4", 6, &id), -EINVAL);
	CHECK_EQ(hw_batch__parse_id("run1.4", 6, &id), -EINVAL);
	CHECK_EQ(hw_batch__parse_id("a.b.123456789012345678901", 25, &id), -EINVAL);
}

TEST(batch_split_plain_gzip_and_single)
{
	static const char body[] = "{\"a\":1}\n{\"b\":2}\n\n{\"c\":3}\n";
	struct hw_batch_reader r = {0};
	struct hw_buf gz = {0};
	struct hw_batch_packer z = {HW_BATCH_GZIP, NULL}, zs = {HW_BATCH_ZSTD, NULL};
	char out[512];

	CHECK_EQ(lines_of(&r, "4", NULL, body, sizeof(body) - 1, out, sizeof(out)), 4);
	CHECK_STREQ(out, "[{\"a\":1}][{\"b\":2}][][{\"c\":3}]");
	/* gzip, twice through the same states */
	for (int i = 0; i < 2; i++) {
		CHECK_EQ(hw_batch__compress(&z, body, sizeof(body) - 1, &gz), 0);
		CHECK(gz.len > 10 && (unsigned char)gz.p[0] == 0x1f);
		CHECK_EQ(lines_of(&r, "4", "gzip", gz.p, gz.len, out, sizeof(out)), 4);
		CHECK_STREQ(out, "[{\"a\":1}][{\"b\":2}][][{\"c\":3}]");
		CHECK_EQ(hw_batch__compress(&zs, body, sizeof(body) - 1, &gz), 0);
		CHECK(gz.len > 4 && (unsigned char)gz.p[0] == 0x28);
		CHECK_EQ(lines_of(&r, "4", "zstd", gz.p, gz.len, out, sizeof(out)), 4);
		CHECK_STREQ(out, "[{\"a\":1}][{\"b\":2}][][{\"c\":3}]");
	}
	/* an old agent's message: one line, no headers, newline or not */
	CHECK_EQ(lines_of(&r, NULL, NULL, "{\"x\":1}", 7, out, sizeof(out)), 1);
	CHECK_STREQ(out, "[{\"x\":1}]");
	CHECK_EQ(lines_of(&r, NULL, NULL, "", 0, out, sizeof(out)), 1);
	CHECK_STREQ(out, "[]");
	hw_batch__packer_free(&z);
	hw_batch__packer_free(&zs);
	hw_buf__free(&gz);
	hw_batch__free(&r);
}

TEST(batch_hostile_refused_whole)
{
	static const char body[] = "{\"a\":1}\n{\"b\":2}\n";
	struct hw_batch_reader r = {0};
	struct hw_buf gz = {0};
	char out[512], err[300];
	char *big;
	size_t blen = HW_BATCH_BYTES_MAX + 2;

	/* counts that are not the lines, or not numbers */
	CHECK_EQ(lines_of(&r, "3", NULL, body, sizeof(body) - 1, out, sizeof(out)), -EINVAL);
	CHECK_EQ(lines_of(&r, "1", NULL, body, sizeof(body) - 1, out, sizeof(out)), -EINVAL);
	CHECK_EQ(lines_of(&r, "0", NULL, body, sizeof(body) - 1, out, sizeof(out)), -EINVAL);
	CHECK_EQ(lines_of(&r, "-2", NULL, body, sizeof(body) - 1, out, sizeof(out)), -EINVAL);
	CHECK_EQ(lines_of(&r, "", NULL, body, sizeof(body) - 1, out, sizeof(out)), -EINVAL);
	CHECK_EQ(lines_of(&r, "2x", NULL, body, sizeof(body) - 1, out, sizeof(out)), -EINVAL);
	CHECK_EQ(
	    lines_of(&r, "18446744073709551618", NULL, body, sizeof(body) - 1, out, sizeof(out)),
	    -EINVAL);
	CHECK_EQ(lines_of(&r, "10001", NULL, body, sizeof(body) - 1, out, sizeof(out)), -EINVAL);
	/* a header with control characters: the reason quoting it stays one printable line
	 * (found by fuzz_batch) */
	CHECK_EQ(hw_batch__open(&r, "2\n\x0e", NULL, body, sizeof(body) - 1, err, sizeof(err)),
		 -EINVAL);
	CHECK(!strchr(err, '\n') && !strchr(err, 0x0e));
	/* the last line not ended: truncated */
	CHECK_EQ(lines_of(&r, "2", NULL, body, sizeof(body) - 2, out, sizeof(out)), -EINVAL);
	CHECK_EQ(lines_of(&r, "1", NULL, "", 0, out, sizeof(out)), -EINVAL);
	/* encodings: unknown, "none" spelled out, or on a one-line message */
	CHECK_EQ(lines_of(&r, "2", "br", body, sizeof(body) - 1, out, sizeof(out)), -EINVAL);
	CHECK_EQ(lines_of(&r, "2", "none", body, sizeof(body) - 1, out, sizeof(out)), -EINVAL);
	CHECK_EQ(lines_of(&r, NULL, "gzip", body, sizeof(body) - 1, out, sizeof(out)), -EINVAL);
	/* not compressed, truncated, something after it, a bomb: for either codec */
	for (int c = HW_BATCH_GZIP; c <= HW_BATCH_ZSTD; c++) {
		const char *name = hw_batch__codec_name(c);
		struct hw_batch_packer z = {c, NULL};

		CHECK_EQ(lines_of(&r, "2", name, body, sizeof(body) - 1, out, sizeof(out)),
			 -EINVAL);
		CHECK_EQ(hw_batch__compress(&z, body, sizeof(body) - 1, &gz), 0);
		CHECK_EQ(lines_of(&r, "2", name, gz.p, gz.len, out, sizeof(out)), 2);
		for (size_t cut = 0; cut < gz.len; cut++)
			if (!CHECK_EQ(lines_of(&r, "2", name, gz.p, cut, out, sizeof(out)),
				      -EINVAL))
				break;
		CHECK_EQ(hw_buf__reserve(&gz, 4), 0);
		memcpy(gz.p + gz.len, "junk", 4);
		CHECK_EQ(lines_of(&r, "2", name, gz.p, gz.len + 4, out, sizeof(out)), -EINVAL);
		/* a bomb: 16 MiB + 2 of newlines in little space, refused at the limit */
		big = malloc(blen);
		if (CHECK(big)) {
			memset(big, '\n', blen);
			CHECK_EQ(hw_batch__compress(&z, big, blen, &gz), 0);
			CHECK(gz.len < (1 << 20)); /* a ratio over 16 */
			CHECK_EQ(hw_batch__open(&r, "10000", name, gz.p, gz.len, err, sizeof(err)),
				 -EINVAL);
			CHECK(strstr(err, "decompressed") != NULL);
			/* and plain */
			CHECK_EQ(hw_batch__open(&r, "10000", NULL, big, blen, err, sizeof(err)),
				 -EINVAL);
			free(big);
		}
		hw_batch__packer_free(&z);
	}
	/* after all that, a good batch still splits */
	CHECK_EQ(lines_of(&r, "2", NULL, body, sizeof(body) - 1, out, sizeof(out)), 2);
	hw_buf__free(&gz);
	hw_batch__free(&r);
}

TEST(spool_hold_survives_reopen_until_consumed)
{
	char tmpl[] = "/tmp/hw-batch-test-XXXXXX", dir[600], err[256], cmd[700];
	char *base = mkdtemp(tmpl);
	unsigned int sizes[HW_SPOOL_HOLD_MAX], want[3] = {2, 5, 1};
	const char *rec[16];
	size_t len[16];
	struct hw_spool *s;

	if (!CHECK(base))
		return;
	snprintf(dir, sizeof(dir), "%s/s", base);
	s = hw_spool__open(dir, 1 << 20, err, sizeof(err));
	if (!CHECK(s))
		goto out;
	for (int i = 0; i < 10; i++)
		CHECK_EQ(hw_spool__append(s, "rec", 3), 0);
	CHECK_EQ(hw_spool__held(s, sizes, HW_SPOOL_HOLD_MAX), 0);
	CHECK_EQ(hw_spool__peek(s, 8, 1 << 20, rec, len), 8);
	CHECK_EQ(hw_spool__hold(s, want, 3), 0);
	CHECK_EQ(hw_spool__hold(s, (unsigned int[]){0}, 1), -EINVAL);
	hw_spool__close(s); /* a crash before the acks */
	s = hw_spool__open(dir, 1 << 20, err, sizeof(err));
	if (!CHECK(s))
		goto out;
	CHECK_EQ(hw_spool__held(s, sizes, HW_SPOOL_HOLD_MAX), 3);
	CHECK(sizes[0] == 2 && sizes[1] == 5 && sizes[2] == 1);
	CHECK_EQ(hw_spool__pending(s), 10);
	CHECK_EQ(hw_spool__peek(s, 8, 1 << 20, rec, len), 8);
	CHECK_EQ(hw_spool__consume(s, 8), 0);
	CHECK_EQ(hw_spool__held(s, sizes, HW_SPOOL_HOLD_MAX), 0);
	hw_spool__close(s);
	s = hw_spool__open(dir, 1 << 20, err, sizeof(err));
	if (!CHECK(s))
		goto out;
	CHECK_EQ(hw_spool__held(s, sizes, HW_SPOOL_HOLD_MAX), 0);
	CHECK_EQ(hw_spool__pending(s), 2);
	hw_spool__close(s);
out:
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	if (system(cmd)) {
	}
}
