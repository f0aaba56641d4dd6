/* The second stage's input (collect_int.h, docs/streaming.md): the lines a partitioned
 * instance's stitcher takes, grouped on their way to the instance that stitches the whole
 * fleet, and read back there once each.
 *
 * Made: the lines of the messages of one round of fetches go into one buffer, each message's after
 * a source line "#SEQ HOST" (its stream sequence, its host's subject token). A message with many
 * lines is cut into parts by its own lines (HW_STITCH_PART_LINES, HW_STITCH_PART_BYTES), the
 * later ones after "#SEQ/K HOST": where a part ends depends only on the message, so a message
 * delivered again is cut the same way whatever it is grouped with. A group is published when
 * it holds HW_STITCH_GROUP_BYTES, when another part might not fit its lines, and at the end of
 * the round; its messages are acknowledged only once the server has every group.
 *
 * Read: each (SEQ, K) is fed once (c->seen, for the stream's duplicates window); the lines of a
 * part fed before are skipped and counted in stitch_repeats. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect/collect_int.h"
#include "lib/hash.h"
#include "stream/batch.h"

#define PUBLISH_MS 5000 /* as the alerts: the groups wait this long for their acks */
#define PARTS_MAX  256	/* parts of one message (16 MiB of lines at most: 64 parts) */

/* HOST of a message on PREFIX.HOST.events[.P] */
static int host_token(struct collector *c, const char *subject, char *out, size_t len)
{
	size_t plen = strlen(c->cfg->nats_subject);
	const char *h, *end;

	if (!subject || strncmp(subject, c->cfg->nats_subject, plen) || subject[plen] != '.')
		return -1;
	h = subject + plen + 1;
	if (!(end = strchr(h, '.')) || end == h || (size_t)(end - h) >= len)
		return -1;
	memcpy(out, h, (size_t)(end - h));
	out[end - h] = 0;
	return 0;
}

/* a part's key in c->seen: its message's stream sequence and its index */
static uint64_t part_key(unsigned long long seq, unsigned int part)
{
	return (uint64_t)seq << 8 | part;
}

static int append(struct collector *c, const char *data, size_t len)
{
	if (c->fwd.len + len + 1 > c->fwd.cap) {
		size_t cap = (c->fwd.len + len + 1) * 2;
		char *buf = realloc(c->fwd.buf, cap);

		if (!buf)
			return -1;
		c->fwd.buf = buf;
		c->fwd.cap = cap;
	}
	memcpy(c->fwd.buf + c->fwd.len, data, len);
	c->fwd.buf[c->fwd.len + len] = '\n';
	c->fwd.len += len + 1;
	return 0;
}

/* The group made so far to PREFIX.collector.stitch._group; failures held in fwd.failed */
static void publish_group(struct collector *c)
{
	jsPubOptions po;
	natsMsg *out = NULL;
	natsStatus st;
	char subject[400], id[64], num[16];
	uint64_t h = HW_FNV0;

	if (!c->fwd.segs)
		return;
	snprintf(subject, sizeof(subject), "%s.%s.%s", c->cfg->nats_subject, HW_FLEET_STITCH_TOKENS,
		 HW_STITCH_GROUP_TOKEN);
	/* the same parts grouped the same way again (a round delivered again whole): the
	 * server keeps one */
	for (unsigned int i = 0; i < c->fwd.segs; i++)
		h = hw_fnv__u64(h, c->fwd.keys[i]);
	snprintf(id, sizeof(id), "stitch.g.%u.%016llx", c->fwd.segs, (unsigned long long)h);
	snprintf(num, sizeof(num), "%u", c->fwd.lines);
	st = natsMsg_Create(&out, subject, NULL, c->fwd.buf, (int)c->fwd.len);
	if (st == NATS_OK)
		st = natsMsgHeader_Set(out, HW_BATCH_H_COUNT, num);
	if (st == NATS_OK) {
		snprintf(num, sizeof(num), "%u", c->fwd.segs);
		st = natsMsgHeader_Set(out, HW_STITCH_H_SOURCES, num);
	}
	if (st == NATS_OK) {
		jsPubOptions_Init(&po);
		po.MsgId = id;
		po.MaxWait = PUBLISH_MS;
		/* acknowledged (hw_collect__publish_wait) before the messages it holds are */
		st = js_PublishMsgAsync(c->js, &out, &po);
	}
	natsMsg_Destroy(out); /* NULL when the library took it */
	if (st == NATS_OK) {
		c->fwd_sent = 1;
		c->forwarded += c->fwd.fwd;
	} else {
		if (!c->forward_errors)
			fprintf(stderr,
				"hopwatch: cannot publish to the second stage ('%s.%s.*'): %s; the "
				"messages are delivered again\n",
				c->cfg->nats_subject, HW_FLEET_STITCH_TOKENS,
				natsStatus_GetText(st));
		c->forward_errors++;
		c->fwd.failed = 1;
	}
	c->fwd.len = 0;
	c->fwd.lines = c->fwd.segs = 0;
	c->fwd.fwd = 0;
}

void hw_collect__forward_begin(struct collector *c, natsMsg *m)
{
	c->fwd.msg = m;
	c->fwd.bad = 0;
	c->fwd.seq = 0;
	c->fwd.part = 0;
	c->fwd.open = 0;
	c->fwd.msg_lines = 0;
}

/* The next part of the current message: its source line. 0 or -1. */
static int open_part(struct collector *c)
{
	char line[320];
	int n;

	if (!c->fwd.seq) {
		jsMsgMetaData *meta = NULL;

		if (natsMsg_GetMetaData(&meta, c->fwd.msg) == NATS_OK &&
		    meta->Sequence.Stream < (1ULL << 56))
			c->fwd.seq = (unsigned long long)meta->Sequence.Stream;
		jsMsgMetaData_Destroy(meta);
		if (!c->fwd.seq ||
		    host_token(c, natsMsg_GetSubject(c->fwd.msg), c->fwd.host, sizeof(c->fwd.host)))
			return -1;
	}
	if (c->fwd.part >= PARTS_MAX)
		return -1;
	if (c->fwd.lines + 1 + HW_STITCH_PART_LINES > HW_BATCH_LINES_MAX)
		publish_group(c); /* a whole part might not fit its lines */
	if (c->fwd.segs == c->fwd.keys_cap) {
		unsigned int cap = c->fwd.keys_cap ? c->fwd.keys_cap * 2 : 64;
		uint64_t *keys = realloc(c->fwd.keys, cap * sizeof(*keys));

		if (!keys)
			return -1;
		c->fwd.keys = keys;
		c->fwd.keys_cap = cap;
	}
	if (c->fwd.part)
		n = snprintf(line, sizeof(line), "#%llu/%u %s", c->fwd.seq, c->fwd.part,
			     c->fwd.host);
	else
		n = snprintf(line, sizeof(line), "#%llu %s", c->fwd.seq, c->fwd.host);
	c->fwd.seg = c->fwd.len;
	if (append(c, line, (size_t)n))
		return -1;
	c->fwd.keys[c->fwd.segs++] = part_key(c->fwd.seq, c->fwd.part);
	c->fwd.lines++;
	c->fwd.seg_lines = 0;
	c->fwd.seg_bytes = 0;
	c->fwd.open = 1;
	return 0;
}

static void close_part(struct collector *c)
{
	c->fwd.open = 0;
	c->fwd.part++;
	if (c->fwd.len >= HW_STITCH_GROUP_BYTES)
		publish_group(c);
}

void hw_collect__forward_line(const char *line, size_t len, void *ctx)
{
	struct collector *c = ctx;

	if (c->fwd.bad)
		return;
	if ((!c->fwd.open && open_part(c)) || append(c, line, len)) {
		c->fwd.bad = 1;
		return;
	}
	c->fwd.seg_lines++;
	c->fwd.seg_bytes += len + 1;
	c->fwd.lines++;
	c->fwd.fwd++;
	c->fwd.msg_lines++;
	if (c->fwd.seg_lines >= HW_STITCH_PART_LINES || c->fwd.seg_bytes >= HW_STITCH_PART_BYTES)
		close_part(c);
}

int hw_collect__forward_end(struct collector *c)
{
	c->fwd.msg = NULL;
	if (c->fwd.bad) {
		if (c->fwd.open) { /* the part begun goes; parts already made are fed once */
			c->fwd.len = c->fwd.seg;
			c->fwd.lines -= c->fwd.seg_lines + 1;
			c->fwd.fwd -= c->fwd.seg_lines;
			c->fwd.segs--;
			c->fwd.open = 0;
		}
		if (!c->forward_errors)
			fprintf(
			    stderr,
			    "hopwatch: cannot group lines for the second stage ('%s.%s.*'): out "
			    "of memory or a message without its stream sequence; it is "
			    "delivered again\n",
			    c->cfg->nats_subject, HW_FLEET_STITCH_TOKENS);
		c->forward_errors++;
		return -1;
	}
	if (c->fwd.open)
		close_part(c);
	return c->fwd.msg_lines ? 1 : 0;
}

int hw_collect__forward_flush(struct collector *c)
{
	publish_group(c);
	return c->fwd.failed ? -1 : 0;
}

/* "#SEQ HOST" or "#SEQ/K HOST": 0 with *key and host (a subject token), else -1 */
static int parse_source(const char *line, size_t len, uint64_t *key, char *host, size_t hostlen)
{
	unsigned long long seq = 0, part = 0;
	size_t i = 1, h;

	for (; i < len && i < 18 && line[i] >= '0' && line[i] <= '9'; i++)
		seq = seq * 10 + (unsigned long long)(line[i] - '0');
	if (i == 1 || line[1] == '0' || !seq || seq >= (1ULL << 56) || i >= len)
		return -1;
	if (line[i] == '/') {
		h = ++i;
		for (; i < len && i < h + 3 && line[i] >= '0' && line[i] <= '9'; i++)
			part = part * 10 + (unsigned long long)(line[i] - '0');
		if (i == h || line[h] == '0' || !part || part >= PARTS_MAX || i >= len)
			return -1;
	}
	if (line[i] != ' ')
		return -1;
	h = ++i;
	for (; i < len; i++) {
		char ch = line[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '-'))
			return -1;
	}
	if (i == h || i - h >= hostlen)
		return -1;
	memcpy(host, line + h, i - h);
	host[i - h] = 0;
	*key = part_key(seq, (unsigned int)part);
	return 0;
}

void hw_collect__stitch_group(struct collector *c, struct hw_fleet *fleet, natsMsg *m,
			      const char *sources)
{
	const char *count = NULL, *line;
	char why[300], where[400], host[256], subject[400];
	unsigned long segs = 0;
	uint64_t key;
	size_t len;
	int r, skip = -1; /* -1 before a source line, 1 in a part fed before */

	natsMsgHeader_Get(m, HW_BATCH_H_COUNT, &count);
	snprintf(where, sizeof(where), "group on '%.200s'", natsMsg_GetSubject(m));
	r = hw_batch__open(&c->batch, count ? count : "", NULL, natsMsg_GetData(m),
			   (size_t)natsMsg_GetDataLength(m), why, sizeof(why));
	if (r) {
		c->bad_batches++;
		hw_fleet__refuse(fleet);
		hw_collect__report_malformed(c, where, why);
		return;
	}
	c->batches++;
	while (hw_batch__next(&c->batch, &line, &len)) {
		if (len && line[0] == '#') {
			segs++;
			if (parse_source(line, len, &key, host, sizeof(host))) {
				skip = -1;
				hw_fleet__refuse(fleet);
				hw_collect__report_malformed(
				    c, where, "a source line that is not '#SEQ HOST'");
				continue;
			}
			/* a message judged again (its instance was killed before it acknowledged
			 * it) comes again, grouped otherwise: each of its parts is fed once */
			skip = hw_seqset__seen(&c->seen, key, hw_collect__wall_ns()) == 1;
			c->stitch_repeats += (unsigned long long)skip;
			snprintf(subject, sizeof(subject), "%s.%s.%s", c->cfg->nats_subject,
				 HW_FLEET_STITCH_TOKENS, host);
			continue;
		}
		if (skip == 1)
			continue;
		if (skip < 0) {
			hw_fleet__refuse(fleet);
			hw_collect__report_malformed(c, where, "a line before its source line");
			continue;
		}
		r = hw_fleet__feed(fleet, subject, line, len, why, sizeof(why));
		if (r == -EINVAL)
			hw_collect__report_malformed(c, where, why);
		else if (r)
			fprintf(stderr, "hopwatch: %s, ignoring\n", why);
	}
	if (strtoul(sources, NULL, 10) != segs)
		hw_collect__report_malformed(c, where, "Hopwatch-Sources is not its source lines");
}
