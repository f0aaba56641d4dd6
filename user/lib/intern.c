/* Interned strings (lib/intern.h): a node per distinct string in a lib/htab.h table, keyed by
 * its FNV-1a, with its count of references. */
#include <stdlib.h>
#include <string.h>

#include "lib/hash.h"
#include "lib/intern.h"

static struct hw_intern_str *of(const char *s)
{
	return (struct hw_intern_str *)(s - offsetof(struct hw_intern_str, s));
}

const char *hw_intern__get(struct hw_intern *in, const char *s, size_t max)
{
	size_t len = s ? strnlen(s, max ? max - 1 : 0) : 0;
	uint64_t h;
	struct hw_intern_str *x;

	if (!len)
		return "";
	h = hw_fnv__bytes(HW_FNV0, s, len);
	for (struct hw_hnode *n = hw_htab__first(&in->t, h); n; n = hw_htab__next(n, h)) {
		x = (struct hw_intern_str *)n;
		if (x->len == len && !memcmp(x->s, s, len)) {
			x->refs++;
			return x->s;
		}
	}
	x = malloc(sizeof(*x) + len + 1);
	if (!x)
		return NULL;
	x->refs = 1;
	x->len = len;
	memcpy(x->s, s, len);
	x->s[len] = 0;
	if (hw_htab__add(&in->t, &x->node, h)) {
		free(x);
		return NULL;
	}
	in->bytes += sizeof(*x) + len + 1;
	return x->s;
}

void hw_intern__put(struct hw_intern *in, const char *s)
{
	struct hw_intern_str *x;

	if (!s || !s[0])
		return;
	x = of(s);
	if (--x->refs)
		return;
	hw_htab__del(&in->t, &x->node);
	in->bytes -= sizeof(*x) + x->len + 1;
	free(x);
}

static void free_node(struct hw_hnode *n, void *ctx)
{
	(void)ctx;
	free(n);
}

void hw_intern__free(struct hw_intern *in)
{
	hw_htab__each(&in->t, free_node, NULL);
	hw_htab__free(&in->t);
	in->bytes = 0;
}
