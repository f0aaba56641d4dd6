/* The head and the host of every ECS line (ecs_int.h): "@timestamp", "ecs", the members of
 * "event" a kind of event always has, and "host"; and the "user" and "group" of a process.
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
	size_t klen, olen, values;
	char key[sizeof(((struct hw_host *)0)->name) + sizeof(((struct hw_host *)0)->id) +
		 sizeof(((struct hw_host *)0)->boot_id)];
	char out[HOST_OUT_MAX];
};

static __thread struct head_frag heads[HEAD_SLOTS];
static __thread struct host_frag host_last;

static const char ecs_member[] = "\"ecs\":{\"version\":\"" HW_ECS_VERSION "\"}";

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

/* The first of the two slots of a key: a multiplicative hash of its 8-byte words (the last
 * one zero-padded), folded to its high bits. */
static unsigned int key_set(const char *k, size_t n)
{
	uint64_t h = n, w;

	for (size_t i = 0; i < n; i += 8) {
		w = 0;
		memcpy(&w, k + i, n - i < 8 ? n - i : 8);
		h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
	}
	return (unsigned int)(h >> 56) & (HEAD_SLOTS - 2);
}

/* The members of "event" as every head of this kind has them. */
static void event_members(struct hw_json *j, const char *kind, const char *const *categories,
			  const char *type, const char *action, const char *dataset)
{
	hw_ecs__lit(j, HW_JK("kind"), kind);
	hw_json__kbegin_array(j, HW_JK("category"));
	for (; *categories; categories++)
		hw_json__string(j, NULL, *categories);
	hw_json__end_array(j);
	hw_json__kbegin_array(j, HW_JK("type"));
	hw_json__string(j, NULL, type);
	hw_json__end_array(j);
	hw_ecs__lit(j, HW_JK("action"), action);
	hw_ecs__lit(j, HW_JK("dataset"), dataset);
	hw_ecs__lit(j, HW_JK("module"), "hopwatch");
}

void hw_ecs__head_cats(struct hw_json *j, const struct hw_host *h, __u64 ts_ns, const char *kind,
		       const char *const *categories, const char *type, const char *action,
		       const char *dataset)
{
	char key[HEAD_KEY_MAX];
	size_t klen = head_key(key, kind, categories, type, action, dataset), len0, values0;
	/* the pair of slots by the key's content, two ways: fork, exec and exit heads differ in
	 * a few bytes of their keys, and by pointer and length two of the three had shared one */
	unsigned int set = key_set(key, klen);
	struct head_frag *f = &heads[set];

	hw_json__begin_object(j, NULL);
	hw_ecs__time(j, HW_JK("@timestamp"), h, ts_ns);
	hw_json__members(j, ecs_member, sizeof(ecs_member) - 1, 1);
	hw_json__kbegin_object(j, HW_JK("event"));
	for (int way = 0; klen && way < 2; way++)
		if (f[way].klen == klen && !memcmp(f[way].key, key, klen)) {
			hw_json__members(j, f[way].out, f[way].olen, f[way].values);
			return;
		}
	len0 = j->len;
	values0 = j->values;
	event_members(j, kind, categories, type, action, dataset);
	/* "event" was just opened: its first member has no comma before it */
	if (!klen || j->error || j->len - len0 > HEAD_OUT_MAX)
		return;
	/* the newest in the first way, the one before it in the second */
	if (f->klen)
		f[1] = f[0];
	f->klen = 0;
	if (!hw_ecs__keep(j, len0, values0, f->out, HEAD_OUT_MAX, &f->olen, &f->values))
		return;
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
	size_t klen = host_key(key, h), len0, values0;

	hw_json__end_object(j);
	if (f->klen == klen && !memcmp(f->key, key, klen)) {
		hw_json__members(j, f->out, f->olen, f->values);
		return;
	}
	len0 = j->len;
	values0 = j->values;
	host_members(j, h);
	f->klen = 0;
	if (!hw_ecs__keep(j, len0, values0, f->out, HOST_OUT_MAX, &f->olen, &f->values))
		return;
	memcpy(f->key, key, klen);
	f->klen = klen;
}

/* user.* and group.*: one user runs most of a host's processes. A few kept, by their ids and
 * names. */
#define USER_SLOTS    4
#define USER_NAME_MAX 64 /* longer names are written each time */
#define USER_OUT_MAX  384

struct user_frag {
	__u32 uid, euid, gid;
	signed char has[2]; /* user name, effective user name given; has[0] -1: empty slot */
	char name[2][USER_NAME_MAX];
	size_t olen, values;
	char out[USER_OUT_MAX];
};

static __thread struct user_frag users[USER_SLOTS] = {
    {.has = {-1}}, {.has = {-1}}, {.has = {-1}}, {.has = {-1}}};
static __thread unsigned int users_next;

void hw_ecs__id(struct hw_json *j, const char *qk, size_t ql, __u32 id)
{
	char buf[12], *p = buf + sizeof(buf);

	do {
		*--p = (char)('0' + id % 10);
		id /= 10;
	} while (id);
	hw_json__kplain(j, qk, ql, p, (size_t)(buf + sizeof(buf) - p));
}

static void user_members(struct hw_json *j, __u32 uid, const char *user_name, __u32 euid,
			 const char *euser_name, __u32 gid)
{
	hw_json__kbegin_object(j, HW_JK("user"));
	hw_ecs__id(j, HW_JK("id"), uid);
	if (user_name)
		hw_json__kstring(j, HW_JK("name"), user_name);
	hw_json__kbegin_object(j, HW_JK("effective"));
	hw_ecs__id(j, HW_JK("id"), euid);
	if (euser_name)
		hw_json__kstring(j, HW_JK("name"), euser_name);
	hw_json__end_object(j);
	hw_json__end_object(j);
	hw_json__kbegin_object(j, HW_JK("group"));
	hw_ecs__id(j, HW_JK("id"), gid);
	hw_json__end_object(j);
}

static int user_is(const struct user_frag *f, __u32 uid, const char *user_name, __u32 euid,
		   const char *euser_name, __u32 gid)
{
	return f->has[0] >= 0 && f->uid == uid && f->euid == euid && f->gid == gid &&
	       f->has[0] == !!user_name && f->has[1] == !!euser_name &&
	       (!user_name || !strcmp(f->name[0], user_name)) &&
	       (!euser_name || !strcmp(f->name[1], euser_name));
}

void hw_ecs__user_group(struct hw_json *j, __u32 uid, const char *user_name, __u32 euid,
			const char *euser_name, __u32 gid)
{
	struct user_frag *f;
	size_t len0, values0;

	for (int i = 0; i < USER_SLOTS; i++)
		if (user_is(&users[i], uid, user_name, euid, euser_name, gid)) {
			hw_json__members(j, users[i].out, users[i].olen, users[i].values);
			return;
		}
	len0 = j->len;
	values0 = j->values;
	user_members(j, uid, user_name, euid, euser_name, gid);
	if ((user_name && strnlen(user_name, USER_NAME_MAX) == USER_NAME_MAX) ||
	    (euser_name && strnlen(euser_name, USER_NAME_MAX) == USER_NAME_MAX))
		return;
	f = &users[users_next];
	f->has[0] = -1; /* empty until filled */
	if (!hw_ecs__keep(j, len0, values0, f->out, USER_OUT_MAX, &f->olen, &f->values))
		return;
	users_next = (users_next + 1) % USER_SLOTS;
	f->uid = uid;
	f->euid = euid;
	f->gid = gid;
	f->has[0] = (signed char)!!user_name;
	f->has[1] = (signed char)!!euser_name;
	if (user_name)
		strcpy(f->name[0], user_name);
	if (euser_name)
		strcpy(f->name[1], euser_name);
}
