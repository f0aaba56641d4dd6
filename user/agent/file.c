/* File facts in the agent: the watch set loaded into the kernel's filter (bpf/file.bpf.c) and
 * the records it lets through, decided exactly (model/files.c), encoded (output/ecs_file.c)
 * and fed to the engine (detect/rules_file.c). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
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
#define WPAT_WORDS    4
#define WPATS	      6
#define WPFX_WORDS    16
#define WPFX_MAX      64
#define HW_PASSWD     "/etc/passwd"
#define HW_FILE_HINTS 16384 /* inode_hint's entries */

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

#define WSB_MAX 16

struct watch_sbs {
	__u32 dev[WSB_MAX];
	__u32 n, all;
};

static void fill(__u64 *pat, __u64 *mask, size_t words, const char *s, size_t n)
{
	memset(pat, 0, words * 8);
	memset(mask, 0, words * 8);
	memcpy(pat, s, n);
	memset(mask, 0xff, n);
}

struct key_ctx {
	const struct hw_watch_fds *fds;
	int err;
};

static void on_key(const struct hw_watch_key *k, void *ctx)
{
	struct key_ctx *c = ctx;
	struct watch_dir d;
	__u64 ino = k->ino;
	size_t n = strlen(k->name), i;

	if (bpf_map_lookup_elem(c->fds->dirs, &ino, &d))
		memset(&d, 0, sizeof(d));
	d.dev = k->dev;
	for (i = 0; i < WPATS && d.pats[i].len; i++)
		if (d.pats[i].len == n && d.pats[i].glob == (__u32)k->glob &&
		    !memcmp(d.pats[i].pat, k->name, n))
			return; /* already there (the set built again) */
	if (!n || n >= WPAT_WORDS * 8 || i == WPATS) {
		d.all = 1; /* coarse: every entry, the agent decides */
	} else {
		fill(d.pats[i].pat, d.pats[i].mask, WPAT_WORDS, k->name, n);
		d.pats[i].len = (__u32)n;
		d.pats[i].glob = (__u32)k->glob;
	}
	if (bpf_map_update_elem(c->fds->dirs, &ino, &d, BPF_ANY))
		c->err = -errno;
}

static void inode_add(const struct hw_watch_fds *fds, unsigned long long ino, unsigned int dev)
{
	__u32 i = (__u32)(ino & (HW_FILE_HINTS - 1));
	__u64 k = ino;
	__u32 v = dev;
	__u8 one = 1;

	bpf_map_update_elem(fds->inode_hint, &i, &one, BPF_ANY); /* before the inode: see bpf */
	bpf_map_update_elem(fds->inodes, &k, &v, BPF_ANY);
}

static void on_file(unsigned long long ino, unsigned int dev, const char *path, void *ctx)
{
	(void)path;
	inode_add(ctx, ino, dev);
}

/* The agent names a filesystem to the kernel (bpf/file.bpf.c hw_sb_learn): unlinkat on a
 * descriptor of a directory on it, with an empty name: ENOENT, nothing removed. */
static void learn(const char *path)
{
	int fd = open(path, O_PATH | O_CLOEXEC);

	if (fd < 0)
		return;
	(void)!unlinkat(fd, "", 0);
	close(fd);
}

static void on_key_learn(const struct hw_watch_key *k, void *ctx)
{
	(void)ctx;
	learn(k->dir);
}

static void on_file_learn(unsigned long long ino, unsigned int dev, const char *path, void *ctx)
{
	(void)ino, (void)dev, (void)ctx;
	learn(path);
}

static int sbs_set_all(const struct hw_watch_fds *fds, int all)
{
	struct watch_sbs s;
	__u32 zero = 0;

	if (bpf_map_lookup_elem(fds->sbs, &zero, &s))
		return -errno;
	s.all = (__u32)all;
	return bpf_map_update_elem(fds->sbs, &zero, &s, BPF_ANY) ? -errno : 0;
}

/* The kernel's cached walks (dir_cache) were judged with the old keys: a jump of the
 * generation no concurrent bump can reach voids them. */
static void walks_void(const struct hw_watch_fds *fds)
{
	__u32 zero = 0;
	__u64 g = 0;

	bpf_map_lookup_elem(fds->gen, &zero, &g);
	g += 1ull << 32;
	bpf_map_update_elem(fds->gen, &zero, &g, BPF_ANY);
}

static void on_ancestor(const char *dir, void *ctx)
{
	const struct hw_watch_fds *fds = ctx;
	char k[32] = {0};
	__u8 one = 1;

	if (strlen(dir) < sizeof(k)) {
		memcpy(k, dir, strlen(dir));
		bpf_map_update_elem(fds->ancestors, k, &one, BPF_ANY);
	}
}

/* A link's own name keyed in its directory: a relative name through it ("l/x" from the link's
 * directory) is reported too. */
static void alias_key(const struct hw_watch *w, const char *link, struct key_ctx *kc)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(link, '/');
	struct hw_watch_key k = {0};
	struct stat st;

	(void)w;
	if (!slash || !slash[1])
		return;
	snprintf(dir, sizeof(dir), "%.*s", slash == link ? 1 : (int)(slash - link), link);
	if (stat(dir, &st) || !S_ISDIR(st.st_mode))
		return;
	k.dir = dir;
	k.ino = st.st_ino;
	k.dev = hw_kdev(st.st_dev);
	snprintf(k.name, sizeof(k.name), "%s", slash + 1);
	on_key(&k, kc);
}

/* The key of the first component of prefix p (n bytes compared, glob: a prefix match), as the
 * kernel computes it from a path (bpf/file.bpf.c hw_first_key), or 0 when every path must be
 * compared: the component is empty, or the glob cuts it ("/e*" matches "/etc" and "/ex"). */
static __u64 first_key(const char *p, size_t n, int glob)
{
	size_t i = 1;
	__u64 k = 0;

	if (!n || p[0] != '/')
		return 0;
	while (i < n && p[i] != '/')
		i++;
	if (i == 1 || (i == n && glob))
		return 0;
	memcpy(&k, p + 1, i - 1 < 8 ? i - 1 : 8);
	return k;
}

/* A prefix's first component among the kernel's keys, before the prefix itself (a key too
 * many costs a walk, a key missing a miss); every path compared when it has none. */
static void first_add(const struct hw_watch *w, const char *p, size_t n, int glob)
{
	__u64 k = first_key(p, n, glob);
	__u32 zero = 0, one = 1;
	__u8 yes = 1;

	if (k && !bpf_map_update_elem(w->fds.firsts, &k, &yes, BPF_ANY))
		return;
	bpf_map_update_elem(w->fds.firsts_all, &zero, &one, BPF_ANY);
}

/* w into the kernel's maps: keys merged into watch_dirs, the prefixes rewritten, the inodes of
 * the files that exist added. */
static int load_set(const struct hw_watch *w, char *err, size_t errlen)
{
	struct key_ctx kc = {.fds = &w->fds};
	__u32 idx = 0;

	hw_watch__keys(w, on_key, &kc);
	if (kc.err) {
		snprintf(err, errlen, "cannot fill the file watch map: %s", strerror(-kc.err));
		return kc.err;
	}
	for (size_t i = 0; i < w->n && idx < WPFX_MAX; i++) {
		const char *p = w->pats[i];
		size_t n = strlen(p);
		struct wprefix x = {0};

		x.glob = n && p[n - 1] == '*';
		n -= x.glob;
		if (n >= WPFX_WORDS * 8)
			n = WPFX_WORDS * 8 - 1, x.glob = 1; /* compared as far as it fits */
		fill(x.pat, x.mask, WPFX_WORDS, p, n);
		x.len = (__u32)n;
		first_add(w, p, n, (int)x.glob);
		if (bpf_map_update_elem(w->fds.prefixes, &idx, &x, BPF_ANY) == 0)
			idx++;
	}
	for (size_t i = 0; i < w->n_aliases && idx < WPFX_MAX; i++) {
		const char *p = w->aliases[i].link;
		size_t n = strlen(p);
		struct wprefix x = {0};

		if (n >= WPFX_WORDS * 8)
			n = WPFX_WORDS * 8 - 1, x.glob = 1;
		fill(x.pat, x.mask, WPFX_WORDS, p, n);
		x.len = (__u32)n;
		first_add(w, p, n, (int)x.glob);
		if (bpf_map_update_elem(w->fds.prefixes, &idx, &x, BPF_ANY) == 0)
			idx++;
		alias_key(w, p, &kc);
	}
	if (idx < WPFX_MAX) { /* the end of the list: a shorter set built again */
		struct wprefix end = {0};

		bpf_map_update_elem(w->fds.prefixes, &idx, &end, BPF_ANY);
	}
	hw_watch__files(w, 8192, on_file, (void *)&w->fds);
	hw_watch__ancestors(w, on_ancestor, (void *)&w->fds);
	return 0;
}

/* The filesystems of the set named to the kernel, then its filter by filesystem on (unless it
 * could not learn them all: then it stays off, the cost of a walk on every filesystem). */
static void learn_set(const struct hw_watch *w)
{
	struct watch_sbs s;
	__u32 zero = 0;

	hw_watch__keys(w, on_key_learn, NULL);
	hw_watch__files(w, 8192, on_file_learn, NULL);
	if (bpf_map_lookup_elem(w->fds.sbs, &zero, &s) || !s.n || s.n > WSB_MAX)
		return;
	sbs_set_all(&w->fds, 0);
}

/* "~/X/...": X named to the kernel (watch_names), at most WPATS of them */
static void load_names(struct hw_agent *a, int fd)
{
	const struct hw_str_list *l = &a->cfg->watch_paths;
	struct watch_dir d = {0};
	__u32 zero = 0, i = 0;

	for (size_t k = 0; k < l->n && i < WPATS; k++) {
		const char *s = l->v[k], *end;
		size_t n;

		if (s[0] != '~' || s[1] != '/' || !(end = strchr(s + 2, '/')))
			continue;
		n = (size_t)(end - (s + 2));
		if (!n || n >= WPAT_WORDS * 8 || memchr(s + 2, '*', n))
			continue;
		fill(d.pats[i].pat, d.pats[i].mask, WPAT_WORDS, s + 2, n);
		d.pats[i].len = (__u32)n;
		i++;
	}
	bpf_map_update_elem(fd, &zero, &d, BPF_ANY);
}

int hw_agent__file_setup(struct hw_agent *a, struct hw_loader *l)
{
	struct hopwatch_bpf *s = l->skel;
	struct watch_sbs sbs = {.all = 1};
	__u32 zero = 0;
	int err;

	_Static_assert(sizeof(struct watch_dir) == 6 * 72 + 8, "watch_dir layout");
	if (bpf_map__value_size(s->maps.watch_dirs) != sizeof(struct watch_dir) ||
	    bpf_map__value_size(s->maps.watch_prefixes) != sizeof(struct wprefix) ||
	    bpf_map__value_size(s->maps.watch_sbs) != sizeof(struct watch_sbs) ||
	    bpf_map__max_entries(s->maps.inode_hint) != HW_FILE_HINTS) {
		snprintf(l->err, sizeof(l->err), "the file watch maps do not match the agent");
		return -EINVAL;
	}
	a->watch = calloc(1, sizeof(*a->watch));
	if (!a->watch || hw_watch__build(a->watch, &a->cfg->watch_paths, HW_PASSWD)) {
		snprintf(l->err, sizeof(l->err), "out of memory");
		return -ENOMEM;
	}
	a->watch->fds = (struct hw_watch_fds){
	    .dirs = bpf_map__fd(s->maps.watch_dirs),
	    .inodes = bpf_map__fd(s->maps.watch_inodes),
	    .prefixes = bpf_map__fd(s->maps.watch_prefixes),
	    .sbs = bpf_map__fd(s->maps.watch_sbs),
	    .gen = bpf_map__fd(s->maps.walk_gen),
	    .inode_hint = bpf_map__fd(s->maps.inode_hint),
	    .ancestors = bpf_map__fd(s->maps.watch_ancestors),
	    .firsts = bpf_map__fd(s->maps.watch_firsts),
	    .firsts_all = bpf_map__fd(s->maps.watch_firsts_all),
	    .live = 1,
	};
	/* every filesystem is walked until the attached programs have learnt which hold the set */
	if (bpf_map_update_elem(a->watch->fds.sbs, &zero, &sbs, BPF_ANY)) {
		snprintf(l->err, sizeof(l->err), "cannot fill the file watch map: %s",
			 strerror(errno));
		return -errno;
	}
	err = load_set(a->watch, l->err, sizeof(l->err));
	if (!err)
		load_names(a, bpf_map__fd(s->maps.watch_names));
	return err;
}

void hw_agent__file_attached(struct hw_agent *a)
{
	if (a->watch && a->watch->fds.live)
		learn_set(a->watch);
}

/* /etc/passwd changed (a user added, a home moved): the set built again, "~/" for every home
 * it now names, into the kernel's maps (the old keys stay: a removed user's home is still
 * watched until the agent restarts). */
static void rebuild(struct hw_agent *a)
{
	struct hw_watch *w = calloc(1, sizeof(*w));
	char err[128];

	if (!w || hw_watch__build(w, &a->cfg->watch_paths, HW_PASSWD)) {
		free(w);
		a->counters.lost_output++;
		return;
	}
	w->fds = a->watch->fds;
	memcpy(w->aliases, a->watch->aliases, sizeof(w->aliases)); /* moved */
	w->n_aliases = a->watch->n_aliases;
	a->watch->n_aliases = 0;
	sbs_set_all(&w->fds, 1);
	if (load_set(w, err, sizeof(err)))
		fprintf(stderr, "hopwatch: %s\n", err);
	walks_void(&w->fds);
	learn_set(w);
	hw_watch__free(a->watch);
	free(a->watch);
	a->watch = w;
}

void hw_agent__file_free(struct hw_agent *a)
{
	if (a->watch)
		hw_watch__free(a->watch);
	free(a->watch);
	a->watch = NULL;
}

static const char *const actions[] = {
    [HW_FILE_CREATE] = "file_created",	   [HW_FILE_MODIFY] = "file_modified",
    [HW_FILE_RENAME] = "file_renamed",	   [HW_FILE_DELETE] = "file_deleted",
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

/* A symbolic link made to a directory of the set or above it: names through it are followed
 * (the kernel reports them: a prefix and a key for the link). */
static void link_made(struct hw_agent *a, const char *link, const char *raw)
{
	char target[HW_PATH_MAX + HW_FILE_USER_PATH + 16], dir[HW_PATH_MAX + 8];
	const char *slash = strrchr(link, '/');
	char err[128];

	if (!raw[0] || !slash)
		return;
	snprintf(dir, sizeof(dir), "%.*s", slash == link ? 1 : (int)(slash - link), link);
	join(target, sizeof(target), dir, raw);
	if (target[0] != '/' || !hw_watch__leads(a->watch, target) ||
	    !hw_watch__alias(a->watch, link, target, raw))
		return;
	if (!a->watch->fds.live)
		return;
	if (load_set(a->watch, err, sizeof(err)))
		fprintf(stderr, "hopwatch: %s\n", err);
	walks_void(&a->watch->fds);
}

/* path (a name as a program wrote it, joined) through a link of the set, rewritten to where the
 * link leads while the link still says so */
static void through(const struct hw_watch *w, char *path, size_t len)
{
	char now[HW_FILE_USER_PATH + 8], out[HW_PATH_MAX + HW_FILE_USER_PATH + 16];
	const struct hw_watch_alias *al;
	const char *rest;
	ssize_t n;

	for (int hops = 0; hops < 4 && (al = hw_watch__through(w, path, &rest)); hops++) {
		n = readlink(al->link, now, sizeof(now) - 1);
		if (n < 0)
			return;
		now[n] = 0;
		if (strcmp(now, al->raw))
			return;
		snprintf(out, sizeof(out), "%s%s", al->target, rest);
		hw_path_normalise(out);
		snprintf(path, len, "%s", out);
	}
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
	if (lexical && e->op == HW_FILE_SYMLINK)
		link_made(a, path, e->user_other);
	else if (lexical)
		through(a->watch, path, sizeof(path));
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
	if (v.watched && v.have_inode && a->watch->fds.live && e->op != HW_FILE_DELETE)
		inode_add(&a->watch->fds, e->ino, e->dev);
	hw_emit__file(a, &v);
	if (v.watched && !strcmp(path, HW_PASSWD) && e->op != HW_FILE_DELETE)
		rebuild(a);
}
