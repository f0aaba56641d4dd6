/* The head and the host of every ECS line (ecs_int.h): "@timestamp", "ecs", the members of
 * "event" a kind of event always has, and "host".
 *
 * Only the time changes from one event to the next: the members of "event" are the same for
 * every event of one (kind, categories, type, action, dataset), and "host" for every event of
 * one host. Both are written once by the code below and then copied as they were written (a
 * few of them kept at once, told apart by their whole content, never by a pointer alone): an
 * event's head costs a time and two copies instead of a dozen members, each with its checks.
 * The bytes are the same either way: a kept copy is what this code wrote. */
#include <stdint.h>
#include <string.h>

#include "model/host.h"
#include "output/ecs.h"
#include "output/ecs_int.h"

#define HEAD_SLOTS   16	 /* kinds of event heads kept (a power of two) */
#define HEAD_KEY_MAX 192 /* their key: each string with its length before it */
#define HEAD_OUT_MAX 384 /* their members as written */
#define HOST_OUT_MAX 512 /* "host" as written: name (255), id (63), boot id (39), escaped */

/* The members of "event" for one (kind, categories, type, action, dataset). */
struct head_frag {
	size_t klen, olen, values; /* klen 0: empty */
	char key[HEAD_KEY_MAX];
	char out[HEAD_OUT_MAX];
};

/* "host" for one (name, id, boot id). */
struct host_frag {
	size_t klen, olen;
	char key[sizeof(((struct hw_host *)0)->name) + sizeof(((struct hw_host *)0)->id) +
		 sizeof(((struct hw_host *)0)->boot_id)];
	char out[HOST_OUT_MAX];
};

static __thread struct head_frag heads[HEAD_SLOTS];
static __thread struct host_frag host_last;

static const char ecs_member[] = "\"ecs\":{\"version\":\"" HW_ECS_VERSION "\"}";

/* A string of our own code (an action, a kind), printable ASCII with nothing to escape. */
static inline void lit(struct hw_json *j, const char *qk, size_t ql, const char *v)
{
	hw_json__kplain(j, qk, ql, v, strlen(v));
}

void hw_ecs__time(struct hw_json *j, const char *qk, size_t ql, const struct hw_host *h,
		  __u64 boot_ns)
{
	char t[HW_TIME_LEN];

	hw_format_time(hw_host__wall_ns(h, boot_ns), t);
	hw_json__kplain(j, qk, ql, t, 30); /* always "YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ" */
}

/* Appends s, its length first, to the key k (of *n bytes); -1 when it does not fit. */
static inline int key_add(char *k, size_t *n, const char *s)
{
	size_t len = strlen(s);

	if (len > 255 || *n + 1 + len > HEAD_KEY_MAX)
		return -1;
	k[(*n)++] = (char)len;
	memcpy(k + *n, s, len);
	*n += len;
	return 0;
}

/* The key of a head, its length; 0 when it is too long to keep. */
static size_t head_key(char *k, const char *kind, const char *const *categories, const char *type,
		       const char *action, const char *dataset)
{
	size_t n = 0;

	if (key_add(k, &n, kind))
		return 0;
	for (; *categories; categories++)
		if (key_add(k, &n, *categories))
			return 0;
	/* a byte no length-prefixed string starts with here: the categories' end */
	if (n + 1 > HEAD_KEY_MAX)
		return 0;
	k[n++] = (char)0xff;
	if (key_add(k, &n, type) || key_add(k, &n, action) || key_add(k, &n, dataset))
		return 0;
	return n;
}

/* The members of "event" as every head of this kind has them. */
static void event_members(struct hw_json *j, const char *kind, const char *const *categories,
			  const char *type, const char *action, const char *dataset)
{
	lit(j, HW_JK("kind"), kind);
	hw_json__kbegin_array(j, HW_JK("category"));
	for (; *categories; categories++)
		hw_json__string(j, NULL, *categories);
	hw_json__end_array(j);
	hw_json__kbegin_array(j, HW_JK("type"));
	hw_json__string(j, NULL, type);
	hw_json__end_array(j);
	lit(j, HW_JK("action"), action);
	lit(j, HW_JK("dataset"), dataset);
	lit(j, HW_JK("module"), "hopwatch");
}

void hw_ecs__head_cats(struct hw_json *j, const struct hw_host *h, __u64 ts_ns, const char *kind,
		       const char *const *categories, const char *type, const char *action,
		       const char *dataset)
{
	char key[HEAD_KEY_MAX];
	size_t klen = head_key(key, kind, categories, type, action, dataset), len0, values0;
	struct head_frag *f = &heads[((uintptr_t)action >> 3 ^ klen) & (HEAD_SLOTS - 1)];

	hw_json__begin_object(j, NULL);
	hw_ecs__time(j, HW_JK("@timestamp"), h, ts_ns);
	hw_json__members(j, ecs_member, sizeof(ecs_member) - 1, 1);
	hw_json__kbegin_object(j, HW_JK("event"));
	if (klen && f->klen == klen && !memcmp(f->key, key, klen)) {
		hw_json__members(j, f->out, f->olen, f->values);
		return;
	}
	len0 = j->len;
	values0 = j->values;
	event_members(j, kind, categories, type, action, dataset);
	/* "event" was just opened: its first member has no comma before it */
	if (!klen || j->error || j->len - len0 > HEAD_OUT_MAX)
		return;
	f->klen = 0;
	memcpy(f->out, j->buf + len0, j->len - len0);
	f->olen = j->len - len0;
	f->values = j->values - values0;
	memcpy(f->key, key, klen);
	f->klen = klen;
}

void hw_ecs__head(struct hw_json *j, const struct hw_host *h, __u64 ts_ns, const char *kind,
		  const char *category, const char *type, const char *action, const char *dataset)
{
	const char *const categories[] = {category, NULL};

	hw_ecs__head_cats(j, h, ts_ns, kind, categories, type, action, dataset);
}

/* The key of a host: its three strings, each with its NUL. */
static size_t host_key(char *k, const struct hw_host *h)
{
	size_t a = strnlen(h->name, sizeof(h->name) - 1), b = strnlen(h->id, sizeof(h->id) - 1),
	       c = strnlen(h->boot_id, sizeof(h->boot_id) - 1);

	memcpy(k, h->name, a);
	k[a] = 0;
	memcpy(k + a + 1, h->id, b);
	k[a + 1 + b] = 0;
	memcpy(k + a + b + 2, h->boot_id, c);
	k[a + b + c + 2] = 0;
	return a + b + c + 3;
}

static void host_members(struct hw_json *j, const struct hw_host *h)
{
	hw_json__kbegin_object(j, HW_JK("host"));
	hw_json__kstring(j, HW_JK("name"), h->name);
	hw_json__kstring(j, HW_JK("id"), h->id);
	hw_json__kbegin_object(j, HW_JK("boot"));
	hw_json__kstring(j, HW_JK("id"), h->boot_id);
	hw_json__end_object(j);
	hw_json__end_object(j);
}

void hw_ecs__head_end(struct hw_json *j, const struct hw_host *h)
{
	struct host_frag *f = &host_last;
	char key[sizeof(f->key)];
	size_t klen = host_key(key, h), len0;

	hw_json__end_object(j);
	if (f->klen == klen && !memcmp(f->key, key, klen)) {
		hw_json__members(j, f->out, f->olen, 3);
		return;
	}
	len0 = j->len;
	host_members(j, h);
	if (j->error || j->len <= len0)
		return;
	if (j->buf[len0] == ',')
		len0++;
	f->klen = 0;
	if (j->len - len0 > HOST_OUT_MAX)
		return;
	memcpy(f->out, j->buf + len0, j->len - len0);
	f->olen = j->len - len0;
	memcpy(f->key, key, klen);
	f->klen = klen;
}
