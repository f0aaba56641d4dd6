/* The report's lookups (see report_int.h): a string-keyed map to an index, open addressing,
 * so building the page stays linear in the input however many sessions, hops and alerts it
 * has (a hostile input can hold 65,536 of each). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ir/report_int.h"
#include "lib/hash.h"

static size_t slot_of(const struct rp_map *m, const char *key)
{
	size_t mask = m->cap - 1, i = (size_t)hw_fnv__str(HW_FNV0, key) & mask;

	while (m->keys[i] && strcmp(m->keys[i], key))
		i = (i + 1) & mask;
	return i;
}

static int grow(struct rp_map *m)
{
	size_t cap = m->cap ? m->cap * 2 : 256;
	struct rp_map n = {.cap = cap, .n = m->n};

	n.keys = calloc(cap, sizeof(*n.keys));
	n.vals = calloc(cap, sizeof(*n.vals));
	if (!n.keys || !n.vals) {
		free(n.keys);
		free(n.vals);
		return -ENOMEM;
	}
	for (size_t i = 0; i < m->cap; i++) {
		if (m->keys[i]) {
			size_t at = slot_of(&n, m->keys[i]);

			n.keys[at] = m->keys[i];
			n.vals[at] = m->vals[i];
		}
	}
	free(m->keys);
	free(m->vals);
	*m = n;
	return 0;
}

int hw_rp_map__get(const struct rp_map *m, const char *key)
{
	size_t at;

	if (!m->cap)
		return -1;
	at = slot_of(m, key);
	return m->keys[at] ? m->vals[at] : -1;
}

int hw_rp_map__put(struct rp_map *m, const char *key, int val)
{
	size_t at;

	if ((m->n + 1) * 2 > m->cap && grow(m))
		return -ENOMEM;
	at = slot_of(m, key);
	if (!m->keys[at]) {
		m->keys[at] = strdup(key);
		if (!m->keys[at])
			return -ENOMEM;
		m->n++;
	}
	m->vals[at] = val;
	return 0;
}

void hw_rp_map__free(struct rp_map *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->keys[i]);
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}
