/* File facts in the agent: the watch set loaded into the kernel's filter (bpf/file.bpf.c) and
 * the records it lets through, decided exactly (model/files.c), encoded (output/ecs_file.c)
 * and fed to the engine (detect/rules_file.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "agent/agent_int.h"
#include "decode.h"
#include "detect/fact_file.h"
#include "hopwatch.skel.h"
#include "loader.h"
#include "model/files.h"
#include "output/ecs_file.h"

/* The map values of bpf/file.bpf.c, byte for byte. */
#define WPAT_WORDS 4
#define WPATS	   6
#define WPFX_WORDS 16
#define WPFX_MAX   64

struct wpat {
	__u64 pat[WPAT_WORDS];
	__u64 mask[WPAT_WORDS];
	__u32 len, glob;
};

struct watch_dir {
	struct wpat pats[WPATS];
	__u32 dev, all;
};

struct wprefix {
	__u64 pat[WPFX_WORDS];
	__u64 mask[WPFX_WORDS];
	__u32 len, glob;
};

static void fill(__u64 *pat, __u64 *mask, size_t words, const char *s, size_t n)
{
	memset(pat, 0, words * 8);
	memset(mask, 0, words * 8);
	memcpy(pat, s, n);
	memset(mask, 0xff, n);
}

struct key_ctx {
	struct bpf_map *dirs;
	int err;
};

static void on_key(const struct hw_watch_key *k, void *ctx)
{
	struct key_ctx *c = ctx;
	struct watch_dir d;
	__u64 ino = k->ino;
	size_t n = strlen(k->name), i;

	if (bpf_map__lookup_elem(c->dirs, &ino, sizeof(ino), &d, sizeof(d), 0))
		memset(&d, 0, sizeof(d));
	d.dev = k->dev;
	for (i = 0; i < WPATS && d.pats[i].len; i++)
		;
	if (!n || n >= WPAT_WORDS * 8 || i == WPATS) {
		d.all = 1; /* coarse: every entry, the agent decides */
	} else {
		fill(d.pats[i].pat, d.pats[i].mask, WPAT_WORDS, k->name, n);
		d.pats[i].len = (__u32)n;
		d.pats[i].glob = (__u32)k->glob;
	}
	if (bpf_map__update_elem(c->dirs, &ino, sizeof(ino), &d, sizeof(d), BPF_ANY))
		c->err = -errno;
}

static void on_file(unsigned long long ino, unsigned int dev, void *ctx)
{
	struct bpf_map *m = ctx;
	__u64 k = ino;
	__u32 v = dev;

	bpf_map__update_elem(m, &k, sizeof(k), &v, sizeof(v), BPF_ANY);
}

int hw_agent__file_setup(struct hw_agent *a, struct hw_loader *l)
{
	struct hopwatch_bpf *s = l->skel;
	struct key_ctx kc = {.dirs = s->maps.watch_dirs};
	__u32 idx = 0;

	_Static_assert(sizeof(struct watch_dir) == 6 * 72 + 8, "watch_dir layout");
	if (bpf_map__value_size(s->maps.watch_dirs) != sizeof(struct watch_dir) ||
	    bpf_map__value_size(s->maps.watch_prefixes) != sizeof(struct wprefix)) {
		snprintf(l->err, sizeof(l->err), "the file watch maps do not match the agent");
		return -EINVAL;
	}
	a->watch = calloc(1, sizeof(*a->watch));
	if (!a->watch || hw_watch__build(a->watch, &a->cfg->watch_paths, "/etc/passwd")) {
		snprintf(l->err, sizeof(l->err), "out of memory");
		return -ENOMEM;
	}
	hw_watch__keys(a->watch, on_key, &kc);
	if (kc.err) {
		snprintf(l->err, sizeof(l->err), "cannot fill the file watch map: %s",
			 strerror(-kc.err));
		return kc.err;
	}
	for (size_t i = 0; i < a->watch->n && idx < WPFX_MAX; i++) {
		const char *p = a->watch->pats[i];
		size_t n = strlen(p);
		struct wprefix w = {0};

		w.glob = n && p[n - 1] == '*';
		n -= w.glob;
		if (n >= WPFX_WORDS * 8)
			n = WPFX_WORDS * 8 - 1, w.glob = 1; /* compared as far as it fits */
		fill(w.pat, w.mask, WPFX_WORDS, p, n);
		w.len = (__u32)n;
		if (bpf_map__update_elem(s->maps.watch_prefixes, &idx, sizeof(idx), &w, sizeof(w),
					 BPF_ANY) == 0)
			idx++;
	}
	hw_watch__files(a->watch, 8192, on_file, s->maps.watch_inodes);
	a->watch->inodes_fd = bpf_map__fd(s->maps.watch_inodes);
	return 0;
}

void hw_agent__file_free(struct hw_agent *a)
{
	if (a->watch)
		hw_watch__free(a->watch);
	free(a->watch);
	a->watch = NULL;
}

static const char *const actions[] = {
	[HW_FILE_CREATE] = "file_created",  [HW_FILE_MODIFY] = "file_modified",
	[HW_FILE_RENAME] = "file_renamed",  [HW_FILE_DELETE] = "file_deleted",
	[HW_FILE_CHMOD] = "file_mode_changed", [HW_FILE_LINK] = "file_created",
	[HW_FILE_SYMLINK] = "file_created",
};

/* base (a decoded path, "" none) joined with a name as the program wrote it, normalised */
static void join(char *out, size_t len, const char *base, const char *name)
{
	if (name[0] == '/' || !base[0])
		snprintf(out, len, "%s", name);
	else
		snprintf(out, len, "%s/%s", base, name);
	hw_path_normalise(out);
}

void hw_agent__file_record(struct hw_agent *a, const struct hw_file_event *e)
{
	char base[HW_PATH_MAX + 8], path[HW_PATH_MAX + HW_FILE_USER_PATH + 16];
	char other[HW_PATH_MAX + HW_FILE_USER_PATH + 16];
	struct hw_process *p;
	struct hw_file_view v = {0};
	int lexical = !!(e->flags & HW_FILE_F_LEXICAL);

	if (e->op < HW_FILE_CREATE || e->op > HW_FILE_SYMLINK || !a->watch)
		return;
	base[0] = 0;
	if (e->path.count)
		hw_decode_path(&e->path, e->flags & HW_FILE_F_PATH_CUT, base, sizeof(base));
	if (lexical)
		join(path, sizeof(path), base, e->user_path);
	else
		snprintf(path, sizeof(path), "%s", base);
	v.watched = hw_watch__match(a->watch, path) != 0 || (e->flags & HW_FILE_F_INODE);
	v.hard_link = !hw_watch__match(a->watch, path) && (e->flags & HW_FILE_F_INODE);
	v.network_facing = !!(e->flags & HW_FILE_F_NETPROC);
	/* what the kernel's coarse filter let through but the set does not hold */
	if (!v.watched && !v.network_facing && !(e->flags & HW_FILE_F_EXEC_BITS))
		return;
	p = hw_proc_table__upsert(a->procs, &e->proc);
	if (!p) {
		a->counters.lost_output++;
		return;
	}
	hw_sessions__mark(a->sessions, p);
	v.action = actions[e->op];
	v.ts_ns = e->hdr.ts_ns;
	v.p = p;
	v.user_name = hw_users__name(a->users, p->k.uid);
	v.path = path;
	v.lexical = lexical;
	if (e->user_other[0] && e->op == HW_FILE_SYMLINK) {
		v.target = e->user_other;
	} else if (e->user_other[0]) {
		join(other, sizeof(other), base, e->user_other);
		v.old_path = other;
	}
	v.have_inode = e->ino != 0;
	v.ino = e->ino;
	v.dev = e->dev;
	v.mode = e->mode;
	v.uid = e->uid;
	v.gid = e->gid;
	v.nlink = e->nlink;
	/* a watched file's inode: a hard link made to it later is still seen (the map is full:
	 * the path still is) */
	if (v.watched && v.have_inode && a->watch->inodes_fd >= 0 && e->op != HW_FILE_DELETE) {
		__u64 ino = e->ino;
		__u32 dev = e->dev;

		bpf_map_update_elem(a->watch->inodes_fd, &ino, &dev, BPF_ANY);
	}
	hw_emit__file(a, &v);
}
