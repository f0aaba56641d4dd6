/* model/conn_table.h: the cookie table and its address index (find_addr, used per exec with a
 * socket on its stdio, is a lookup, not a walk). */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "model/conn_table.h"
#include "test.h"

static struct hw_host host(void)
{
	struct hw_host h;

	memset(&h, 0, sizeof(h));
	h.ns_per_tick = 10000000;
	h.key[0] = 1;
	h.key[1] = 2;
	return h;
}

/* 198.18.x.y:port -> 198.18.0.1:22, as the caller fills a new entry in */
static struct hw_sock_addr addr4(unsigned int n, __u16 sport)
{
	struct hw_sock_addr a;

	memset(&a, 0, sizeof(a));
	a.family = AF_INET;
	a.saddr[0] = 198;
	a.saddr[1] = 18;
	a.saddr[2] = (__u8)(n >> 8);
	a.saddr[3] = (__u8)n;
	a.daddr[0] = 198;
	a.daddr[1] = 18;
	a.daddr[3] = 1;
	a.sport = sport;
	a.dport = 22;
	return a;
}

static struct hw_conn *open_conn(struct hw_conn_table *t, __u64 cookie,
				 const struct hw_sock_addr *a, __u32 netns)
{
	struct hw_conn *c = hw_conn_table__add(t, cookie);

	if (c) {
		c->addr = *a;
		c->netns = netns;
	}
	return c;
}

TEST(conn_table_find_addr)
{
	struct hw_host h = host();
	struct hw_conn_table *t = hw_conn_table__new(&h, 1000);
	struct hw_sock_addr a = addr4(2, 40000), b = addr4(3, 40000), a2 = addr4(2, 40001);
	struct hw_conn *ca, *cb, *c;

	if (!CHECK(t))
		return;
	ca = open_conn(t, 100, &a, 7);
	/* found at once: the entry just added is indexed at the lookup */
	CHECK(hw_conn_table__find_addr(t, &a, 7) == ca);
	cb = open_conn(t, 101, &b, 7);
	CHECK(hw_conn_table__find_addr(t, &b, 7) == cb);
	CHECK(hw_conn_table__find_addr(t, &a, 7) == ca);
	CHECK(!hw_conn_table__find_addr(t, &a, 8));  /* another namespace */
	CHECK(!hw_conn_table__find_addr(t, &a2, 7)); /* another port */
	/* the same cookie added again with new ends (the snapshot's view) moves in the index */
	c = open_conn(t, 100, &a2, 7);
	CHECK(c == ca);
	CHECK(hw_conn_table__find_addr(t, &a2, 7) == ca);
	CHECK(!hw_conn_table__find_addr(t, &a, 7));
	hw_conn_table__remove(t, 100);
	CHECK(!hw_conn_table__find_addr(t, &a2, 7));
	CHECK(hw_conn_table__find_addr(t, &b, 7) == cb);
	CHECK_EQ(hw_conn_table__count(t), 1);
	/* removed before it was ever looked up: no stale index entry */
	open_conn(t, 102, &a, 7);
	hw_conn_table__remove(t, 102);
	CHECK(!hw_conn_table__find_addr(t, &a, 7));
	/* the sweep drops unmarked entries from both tables */
	open_conn(t, 103, &a, 7);
	hw_conn_table__find_addr(t, &a, 7);
	CHECK_EQ(hw_conn_table__sweep(t), 0); /* new entries come marked */
	cb->seen = 1;
	CHECK_EQ(hw_conn_table__sweep(t), 1);
	CHECK(hw_conn_table__find_addr(t, &b, 7) == cb);
	CHECK(!hw_conn_table__find_addr(t, &a, 7));
	hw_conn_table__free(t);
}

TEST(conn_table_bounded)
{
	struct hw_host h = host();
	struct hw_conn_table *t = hw_conn_table__new(&h, 2);
	struct hw_sock_addr a = addr4(2, 1);

	if (!CHECK(t))
		return;
	CHECK(open_conn(t, 1, &a, 1));
	CHECK(open_conn(t, 2, &a, 1));
	CHECK(!hw_conn_table__add(t, 3));
	CHECK(hw_conn_table__add(t, 2)); /* an existing one is still found */
	CHECK_EQ(hw_conn_table__count(t), 2);
	hw_conn_table__free(t);
}

/* 50,000 connections, then a lookup per exec: the old find_addr walked every bucket and chain
 * (50,000 compares a lookup), the index looks at one chain. 2,000 lookups must take well
 * under what 2,000 walks would (10^8 compares, seconds). */
TEST(conn_table_find_addr_is_a_lookup)
{
	enum { N = 50000, LOOKUPS = 2000 };
	struct hw_host h = host();
	struct hw_conn_table *t = hw_conn_table__new(&h, N);
	struct timespec t0, t1;
	int found = 0;
	double secs;

	if (!CHECK(t))
		return;
	for (unsigned int i = 0; i < N; i++) {
		struct hw_sock_addr a = addr4(i % 60000, (__u16)(1024 + i % 50000));

		open_conn(t, 1000 + i, &a, 1);
	}
	CHECK_EQ(hw_conn_table__count(t), N);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned int i = 0; i < LOOKUPS; i++) {
		unsigned int k = (i * 7919) % N;
		struct hw_sock_addr a = addr4(k % 60000, (__u16)(1024 + k % 50000));
		struct hw_conn *c = hw_conn_table__find_addr(t, &a, 1);

		found += c && c->cookie == 1000 + k;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	CHECK_EQ(found, LOOKUPS);
	if (!CHECK(secs < 0.25))
		printf("    %d lookups took %.3fs\n", LOOKUPS, secs);
	hw_conn_table__free(t);
}
