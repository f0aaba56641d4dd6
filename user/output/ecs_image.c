/* The members of "process" a process's image gives: name, executable, args, args_count and
 * working_directory (ecs_int.h). Most processes of a host run one of a few images with the
 * same arguments (a fork has its parent's, an exit its exec's), so the last few are kept
 * encoded, told apart by every input they are made of (the bytes of the executable or comm,
 * of argv and of the working directory, which of them are there, the argument bound), never
 * by a pointer: a copy is the bytes this code wrote for the same inputs. */
#include <stdint.h>
#include <string.h>

#include "lib/str.h"
#include "model/proc_table.h"
#include "output/ecs_int.h"

#define IMAGE_SLOTS   4
#define IMAGE_KEY_MAX 1024 /* longer inputs are written each time */
#define IMAGE_OUT_MAX 4096

struct image_frag {
	size_t klen, olen, values; /* klen 0: empty */
	struct args_bound bound;   /* what was written of argv */
	char key[IMAGE_KEY_MAX];
	char out[IMAGE_OUT_MAX];
};

static __thread struct image_frag images[IMAGE_SLOTS];
static __thread unsigned int images_next;

/* process.args within b (a prefix of argv: b->cut when some was left out); process.args_count
 * is the count of the whole argv the agent has. */
static void args(struct hw_json *j, const struct hw_process *p, struct args_bound *b)
{
	__u32 i = 0, count = 0;

	b->written = b->written_bytes = 0;
	hw_json__kbegin_array(j, HW_JK("args"));
	while (i < p->args_len) {
		const char *a = p->args + i;
		const char *nul = memchr(a, 0, p->args_len - i);
		__u32 n = nul ? (__u32)(nul - a) : p->args_len - i;

		if (!b->cut && b->written < b->max && n <= b->bytes - b->written_bytes) {
			hw_json__string_n(j, NULL, a, n);
			b->written++;
			b->written_bytes += n;
		} else {
			b->cut = 1;
		}
		count++;
		i += n + 1;
	}
	hw_json__end_array(j);
	hw_json__ku64(j, HW_JK("args_count"), count);
}

static void image_members(struct hw_json *j, const struct hw_process *p, struct args_bound *b)
{
	hw_json__kstring(j, HW_JK("name"), p->exe ? hw_str__base_name(p->exe) : p->k.comm);
	if (p->exe)
		hw_json__kstring(j, HW_JK("executable"), p->exe);
	if (p->flags & HW_PROC_EXEC || p->args_len)
		args(j, p, b);
	if (p->cwd)
		hw_json__kstring(j, HW_JK("working_directory"), p->cwd);
}

/* Appends n bytes at v to the key (*len bytes so far); 0 when they do not fit. */
static int key_put(char *k, size_t *len, const void *v, size_t n)
{
	if (n > IMAGE_KEY_MAX - *len)
		return 0;
	memcpy(k + *len, v, n);
	*len += n;
	return 1;
}

/* The inputs of image_members, each with its length; 0 when they do not fit. */
static size_t image_key(char *k, const struct hw_process *p, const struct args_bound *b)
{
	const char *name = p->exe ? p->exe : p->k.comm;
	__u32 head[] = {(p->exe ? 1u : 0u) | (p->cwd ? 2u : 0u) |
			    (p->flags & HW_PROC_EXEC || p->args_len ? 4u : 0u),
			(__u32)strnlen(name, IMAGE_KEY_MAX),
			p->cwd ? (__u32)strnlen(p->cwd, IMAGE_KEY_MAX) : 0,
			p->args_len,
			b->max,
			b->bytes,
			(__u32)b->cut};
	size_t len = 0;

	if (!key_put(k, &len, head, sizeof(head)) || !key_put(k, &len, name, head[1]) ||
	    (p->cwd && !key_put(k, &len, p->cwd, head[2])) ||
	    (p->args_len && !key_put(k, &len, p->args, p->args_len)))
		return 0;
	return len;
}

void hw_ecs__image(struct hw_json *j, const struct hw_process *p, struct args_bound *b)
{
	char key[IMAGE_KEY_MAX];
	size_t klen = image_key(key, p, b), len0, values0;
	struct image_frag *f;

	for (int i = 0; klen && i < IMAGE_SLOTS; i++) {
		f = &images[i];
		if (f->klen == klen && !memcmp(f->key, key, klen)) {
			hw_json__members(j, f->out, f->olen, f->values);
			*b = f->bound; /* the same max and bytes: they are in the key */
			return;
		}
	}
	len0 = j->len;
	values0 = j->values;
	image_members(j, p, b);
	f = &images[images_next];
	f->klen = 0;
	if (!klen || !hw_ecs__keep(j, len0, values0, f->out, IMAGE_OUT_MAX, &f->olen, &f->values))
		return;
	images_next = (images_next + 1) % IMAGE_SLOTS;
	f->bound = *b;
	memcpy(f->key, key, klen);
	f->klen = klen;
}
