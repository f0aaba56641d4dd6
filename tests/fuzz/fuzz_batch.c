/* libFuzzer target for splitting a received batch (user/stream/batch.c), the collector's first
 * look at a JetStream message: headers and body from the network.
 *
 * Input: byte 0 picks the Content-Encoding (0 none, 1 gzip, 2 zstd, 3 a nonsense name, 4 set
 * without a count), then the Hopwatch-Count header up to the first NUL (absent: a one-line
 * message when there is no NUL), then the body, copied into a buffer of exactly its length so
 * that an overread is caught. Nothing may crash or leak, and:
 *   - a refusal says why in one printable line that fits its buffer;
 *   - an accepted batch yields exactly Hopwatch-Count lines, none holding a newline, whose
 *     lengths plus one newline each add up to the (decompressed) body; a one-line message
 *     yields exactly one line, the whole body;
 *   - the same input compressed by the sink's own packers (gzip, zstd) splits into the same
 *     lines.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stream/batch.h"

static struct hw_batch_reader r, r2;

static void check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_batch: %s\n", what);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const enc[] = {NULL, "gzip", "zstd", "br", "gzip"};
	const char *count = NULL, *line, *e;
	char cbuf[64], err[300];
	const uint8_t *nul;
	uint8_t *body;
	size_t blen, l, total = 0;
	unsigned long n = 0;
	int ret, sel;

	if (!size)
		return 0;
	sel = data[0] % 5;
	e = enc[sel];
	data++;
	size--;
	nul = memchr(data, 0, size < 40 ? size : 40);
	if (nul) {
		snprintf(cbuf, sizeof(cbuf), "%.*s", (int)(nul - data), (const char *)data);
		count = cbuf;
		size -= (size_t)(nul - data) + 1;
		data = nul + 1;
	}
	if (sel == 4)
		count = NULL; /* an encoding without a count */
	else if (!count)
		e = NULL;
	blen = size;
	body = malloc(blen ? blen : 1);
	if (!body)
		return 0;
	memcpy(body, data, blen);
	err[0] = 0;
	ret = hw_batch__open(&r, count, e, body, blen, err, sizeof(err));
	if (ret) {
		check(ret == -EINVAL || ret == -ENOMEM, "a defined error");
		check(err[0] && strlen(err) < sizeof(err) - 1, "a reason that fits");
		for (const char *c = err; *c; c++)
			check((unsigned char)*c >= 0x20 && *c != 0x7f, "a printable reason");
		free(body);
		return 0;
	}
	while (hw_batch__next(&r, &line, &l)) {
		check(!count || !memchr(line, '\n', l), "no newline inside a line");
		total += l + (count ? 1 : 0);
		n++;
	}
	check(n == r.count || (!count && n == 1), "as many lines as the count says");
	if (!count) {
		check(total == blen, "a one-line message is its whole body");
	} else if (!e) {
		check(total == blen, "the lines make up the body");
		/* the sink's packers: the same lines back */
		for (int c = HW_BATCH_GZIP; c <= HW_BATCH_ZSTD; c++) {
			struct hw_batch_packer p = {c, NULL};
			struct hw_buf out = {0};
			unsigned long n2 = 0;
			const char *l2;
			size_t len2, off = 0;

			if (hw_batch__compress(&p, body, blen, &out) == 0 &&
			    hw_batch__open(&r2, count, hw_batch__codec_name(c), out.p, out.len, err,
					   sizeof(err)) == 0) {
				while (hw_batch__next(&r2, &l2, &len2)) {
					check(off + len2 <= blen && !memcmp(body + off, l2, len2),
					      "the same lines through the packer");
					off += len2 + 1;
					n2++;
				}
				check(n2 == n, "the same count through the packer");
			} else {
				check(blen > HW_BATCH_BYTES_MAX, "the packer's output splits");
			}
			hw_buf__free(&out);
			hw_batch__packer_free(&p);
		}
	}
	free(body);
	return 0;
}
