/* Connection table: a chained hash on the socket cookie. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "model/conn_table.h"

struct hw_conn_table {
	const struct hw_host *host;
	struct hw_conn **buckets;
	size_t nbuckets; /* power of two */
	size_t count, max;
};

static size_t bucket_of(const struct hw_conn_table *t, __u64 cookie)
{
	return (size_t)((cookie * 0x9E3779B97F4A7C15ULL) >> 20) & (t->nbuckets - 1);
}

void hw_host__conn_id(const struct hw_host *h, __u64 cookie, char out[HW_ENTITY_ID_LEN])
{
	/* the entity-id space with pid 0, which no process has, and the cookie as the start */
	__u64 k[2] = {h->key[0] ^ 0x636f6e6eULL, h->key[1]};
	__u64 a = hw_siphash(k, &cookie, sizeof(cookie));
	__u64 b = hw_siphash(h->key, &cookie, sizeof(cookie));
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

	for (int i = 0; i < 22; i++) {
		__u64 v = i < 11 ? a >> (6 * i) : b >> (6 * (i - 11));

		out[i] = b64[v & 63];
	}
	out[22] = 0;
}

struct hw_conn_table *hw_conn_table__new(const struct hw_host *host, size_t max)
{
	struct hw_conn_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->host = host;
	t->max = max;
	t->nbuckets = 1024;
	t->buckets = calloc(t->nbuckets, sizeof(*t->buckets));
	if (!t->buckets) {
		free(t);
		errno = ENOMEM;
		return NULL;
	}
	return t;
}

void hw_conn_table__free(struct hw_conn_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nbuckets; i++) {
		struct hw_conn *c = t->buckets[i], *next;

		for (; c; c = next) {
			next = c->hnext;
			free(c->owner_exe);
			free(c);
		}
	}
	free(t->buckets);
	free(t);
}

struct hw_conn *hw_conn_table__get(struct hw_conn_table *t, __u64 cookie)
{
	for (struct hw_conn *c = t->buckets[bucket_of(t, cookie)]; c; c = c->hnext)
		if (c->cookie == cookie)
			return c;
	return NULL;
}

static void grow(struct hw_conn_table *t)
{
	size_t n = t->nbuckets * 2, old = t->nbuckets;
	struct hw_conn **b = calloc(n, sizeof(*b)), **ob = t->buckets;

	if (!b)
		return;
	t->buckets = b;
	t->nbuckets = n;
	for (size_t i = 0; i < old; i++) {
		struct hw_conn *c = ob[i], *next;

		for (; c; c = next) {
			size_t j = bucket_of(t, c->cookie);

			next = c->hnext;
			c->hnext = b[j];
			b[j] = c;
		}
	}
	free(ob);
}

struct hw_conn *hw_conn_table__add(struct hw_conn_table *t, __u64 cookie)
{
	struct hw_conn *c = hw_conn_table__get(t, cookie);
	size_t b;

	if (c)
		return c;
	if (t->count >= t->max)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->cookie = cookie;
	c->seen = 1;
	hw_host__conn_id(t->host, cookie, c->id);
	b = bucket_of(t, cookie);
	c->hnext = t->buckets[b];
	t->buckets[b] = c;
	if (++t->count > t->nbuckets)
		grow(t);
	return c;
}

void hw_conn_table__remove(struct hw_conn_table *t, __u64 cookie)
{
	struct hw_conn **pp = &t->buckets[bucket_of(t, cookie)];

	for (; *pp; pp = &(*pp)->hnext) {
		if ((*pp)->cookie == cookie) {
			struct hw_conn *c = *pp;

			*pp = c->hnext;
			free(c->owner_exe);
			free(c);
			t->count--;
			return;
		}
	}
}

size_t hw_conn_table__count(const struct hw_conn_table *t)
{
	return t->count;
}

void hw_conn_table__each(struct hw_conn_table *t, void (*fn)(struct hw_conn *c, void *ctx),
			 void *ctx)
{
	for (size_t i = 0; i < t->nbuckets; i++)
		for (struct hw_conn *c = t->buckets[i]; c; c = c->hnext)
			fn(c, ctx);
}

struct hw_conn *hw_conn_table__find_addr(struct hw_conn_table *t, const struct hw_sock_addr *a,
					 __u32 netns)
{
	for (size_t i = 0; i < t->nbuckets; i++)
		for (struct hw_conn *c = t->buckets[i]; c; c = c->hnext)
			if (c->netns == netns && c->addr.family == a->family &&
			    c->addr.sport == a->sport && c->addr.dport == a->dport &&
			    !memcmp(c->addr.saddr, a->saddr, sizeof(a->saddr)) &&
			    !memcmp(c->addr.daddr, a->daddr, sizeof(a->daddr)))
				return c;
	return NULL;
}

size_t hw_conn_table__sweep(struct hw_conn_table *t)
{
	size_t gone = 0;

	for (size_t i = 0; i < t->nbuckets; i++) {
		struct hw_conn **pp = &t->buckets[i];

		while (*pp) {
			struct hw_conn *c = *pp;

			if (!c->seen) {
				*pp = c->hnext;
				free(c->owner_exe);
				free(c);
				t->count--;
				gone++;
				continue;
			}
			c->seen = 0;
			pp = &c->hnext;
		}
	}
	return gone;
}
