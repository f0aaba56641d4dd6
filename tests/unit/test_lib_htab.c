/* lib/htab.h: the one hash table (lookups, duplicates, removal while walking, growth, the
 * bound) and detect/smap.h on it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "detect/smap.h"
#include "lib/hash.h"
#include "lib/htab.h"
#include "test.h"

#define container_of(p, type, member) ((type *)((char *)(p)-offsetof(type, member)))

struct rec {
	struct hw_hnode node;
	int key, val;
};

static struct rec *find(struct hw_htab *t, int key)
{
	uint64_t h = hw_hash__u32((uint32_t)key);

	for (struct hw_hnode *n = hw_htab__first(t, h); n; n = hw_htab__next(n, h)) {
		struct rec *r = container_of(n, struct rec, node);

		if (r->key == key)
			return r;
	}
	return NULL;
}

static void count_one(struct hw_hnode *n, void *ctx)
{
	(void)n;
	(*(size_t *)ctx)++;
}

static void drop_odd(struct hw_hnode *n, void *ctx)
{
	struct hw_htab *t = ctx;
	struct rec *r = container_of(n, struct rec, node);

	if (r->key % 2)
		hw_htab__del(t, n);
}

TEST(lib_htab_add_find_del_grow)
{
	enum { N = 5000 };
	struct rec *v = calloc(N, sizeof(*v));
	struct hw_htab t = {0};
	size_t seen = 0;
	int ok = 1;

	if (!CHECK(v))
		return;
	CHECK(!hw_htab__first(&t, 1)); /* an empty table has no array yet */
	for (int i = 0; i < N; i++) {
		v[i].key = i;
		v[i].val = i * 7;
		ok &= !hw_htab__add(&t, &v[i].node, hw_hash__u32((uint32_t)i));
	}
	CHECK(ok);
	CHECK_EQ(t.n, N);
	/* doubled from 64 while n passed nb: the array stays within 2 pointers a node */
	CHECK(t.nb >= N && t.nb <= 2 * N);
	CHECK_EQ(hw_htab__memory(&t), t.nb * sizeof(void *));
	for (int i = 0; i < N && ok; i++)
		ok = find(&t, i) == &v[i];
	CHECK(ok);
	CHECK(!find(&t, N));
	hw_htab__each(&t, count_one, &seen);
	CHECK_EQ(seen, N);
	/* each() lets the callback unlink the node it is given */
	hw_htab__each(&t, drop_odd, &t);
	CHECK_EQ(t.n, N / 2);
	CHECK(find(&t, 10) == &v[10]);
	CHECK(!find(&t, 11));
	hw_htab__free(&t);
	CHECK_EQ(t.nb, 0);
	CHECK_EQ(t.n, 0);
	free(v);
}

TEST(lib_htab_duplicates_newest_first)
{
	struct rec a = {.key = 1}, b = {.key = 1}, c = {.key = 2};
	struct hw_htab t = {0};
	struct hw_hnode *n;

	hw_htab__add(&t, &a.node, 42);
	hw_htab__add(&t, &c.node, 42 + 64); /* same bucket, another hash */
	hw_htab__add(&t, &b.node, 42);
	n = hw_htab__first(&t, 42);
	CHECK(n == &b.node);
	n = n ? hw_htab__next(n, 42) : NULL;
	CHECK(n == &a.node); /* c is skipped: another hash in the same chain */
	CHECK(!(n ? hw_htab__next(n, 42) : NULL));
	hw_htab__del(&t, &b.node);
	CHECK(hw_htab__first(&t, 42) == &a.node);
	hw_htab__free(&t);
}

TEST(lib_htab_bounded)
{
	struct rec v[4];
	struct hw_htab t = {.max = 3};

	for (int i = 0; i < 3; i++)
		CHECK_EQ(hw_htab__add(&t, &v[i].node, (uint64_t)i), 0);
	CHECK(hw_htab__full(&t));
	CHECK_EQ(hw_htab__add(&t, &v[3].node, 3), -ENOSPC);
	CHECK_EQ(t.n, 3);
	hw_htab__del(&t, &v[0].node);
	CHECK(!hw_htab__full(&t));
	CHECK_EQ(hw_htab__add(&t, &v[3].node, 3), 0);
	hw_htab__free(&t);
}

/* The settings: first array, load, when growth happens; and growth keeps every node and the
 * visiting order a pure function of the adds. */
static void keys_in_order(struct hw_hnode *n, void *ctx)
{
	int **o = ctx;

	*(*o)++ = container_of(n, struct rec, node)->key;
}

TEST(lib_htab_settings)
{
	struct rec v[200], w[200];
	struct hw_htab a = {.nb0 = 16, .load = 3}, b = {.nb0 = 16, .load = 3};
	struct hw_htab late = {.nb0 = 16, .link_first = 1};
	int oa[200], ob[200], *p;

	for (int i = 0; i < 12; i++) {
		v[i].key = i;
		hw_htab__add(&a, &v[i].node, hw_hash__u32((uint32_t)i));
	}
	CHECK_EQ(a.nb, 16); /* 12 of 16 is the load */
	v[12].key = 12;
	hw_htab__add(&a, &v[12].node, hw_hash__u32(12));
	CHECK_EQ(a.nb, 32);
	for (int i = 13; i < 200; i++) {
		v[i].key = i;
		hw_htab__add(&a, &v[i].node, hw_hash__u32((uint32_t)i));
	}
	for (int i = 0; i < 200; i++) {
		w[i].key = i;
		hw_htab__add(&b, &w[i].node, hw_hash__u32((uint32_t)i));
	}
	p = oa;
	hw_htab__each(&a, keys_in_order, &p);
	p = ob;
	hw_htab__each(&b, keys_in_order, &p);
	CHECK(!memcmp(oa, ob, sizeof(oa))); /* no seed: the same adds, the same order */
	for (int i = 0; i < 17; i++)
		hw_htab__add(&late, &w[i].node, (uint64_t)i);
	CHECK_EQ(late.nb, 32); /* grown after linking the 17th */
	hw_htab__free(&a);
	hw_htab__free(&b);
	hw_htab__free(&late);
}

struct snrec {
	struct hw_snode node;
	int v;
};

TEST(lib_smap_on_htab)
{
	struct snrec a = {.v = 1}, b = {.v = 2}, c = {.v = 3};
	struct hw_smap m = {0};
	char longkey[100];

	memset(longkey, 'k', sizeof(longkey) - 1);
	longkey[sizeof(longkey) - 1] = 0;
	CHECK(!hw_smap__get(&m, "x"));
	CHECK_EQ(hw_smap__put(&m, &a.node, "198.18.0.2"), 0);
	CHECK_EQ(hw_smap__put(&m, &b.node, "AbCdEf"), 0);
	CHECK_EQ(hw_smap__put(&m, &c.node, longkey), 0);
	CHECK(hw_smap__get(&m, "198.18.0.2") == &a.node);
	CHECK(hw_smap__get(&m, "AbCdEf") == &b.node);
	CHECK(!hw_smap__get(&m, "abcdef"));
	/* a key past HW_SMAP_KEY_LEN - 1 finds what it was stored as */
	CHECK(hw_smap__get(&m, longkey) == &c.node);
	CHECK_EQ(strlen(c.node.key), HW_SMAP_KEY_LEN - 1);
	CHECK_EQ(hw_smap__count(&m), 3);
	hw_smap__del(&m, &a.node);
	CHECK(!hw_smap__get(&m, "198.18.0.2"));
	CHECK_EQ(hw_smap__count(&m), 2);
	CHECK_EQ(hw_smap__memory(&m), 64 * sizeof(void *));
	hw_smap__free(&m);
}
