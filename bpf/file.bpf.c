/* File facts: opens for writing, renames, links, unlinks and mode changes of the watched set
 * (detect.watch_paths), and the files network-facing processes write (transfer-exec).
 * Syscall tracepoints only.
 *
 * Filtered here, so that writes outside the set cost a few map lookups:
 *  - an open is judged at its exit from the file the kernel opened: the inode's ancestors
 *    (at most HW_WATCH_UP directories up) are looked up in watch_dirs, keyed by inode number,
 *    whose value names the entries of that directory that are watched (a name or a name
 *    prefix); the inode itself in watch_inodes (a hard link under another name). Every
 *    symbolic link and ".." was resolved by the kernel: what is judged is the real file.
 *  - the calls that name a path (rename, link, symlink, unlink, chmod) are judged at their
 *    entry from the string the program passed (what a watched call then did is reported at
 *    its successful exit): an absolute one against the
 *    watched path prefixes (watch_prefixes), a relative one from the directory it starts
 *    from (dirfd or the working directory), the same way as an open.
 *  - a process descending from one that accepted or made a TCP connection (netprocs, marked
 *    at connect and accept by net.bpf.c, passed on at fork by process.bpf.c) has every file
 *    it creates or writes reported, and so has every chmod that sets an execute bit:
 *    transfer-exec follows them by inode.
 * The agent (user/agent/file.c) fills the maps from the watch set and decides exactly.
 */
#include "maps.bpf.h"
#include "task.bpf.h"
#include "netproc.bpf.h"
#include <bpf/bpf_tracing.h>

#define HW_WATCH_UP   4	 /* directories walked up from a file to find a watched one */
#define HW_WPAT_WORDS 4	 /* a watched name: up to 31 bytes */
#define HW_WPATS      6	 /* watched names per directory */
#define HW_WPFX_WORDS 16 /* a watched path prefix: up to 127 bytes */
#define HW_WPFX_MAX   64

#define AT_FDCWD_      -100
#define AT_REMOVEDIR_  0x200
#define FMODE_WRITE_   0x2
#define FMODE_CREATED_ 0x100000
#define HW_S_IFLNK     0120000

/* A name a directory holds that is watched: (bytes & mask) == pat over len bytes, then the
 * end of the name ('\0' or '/') unless glob (a prefix). Shared with user/model/files.c. */
struct hw_wpat {
	__u64 pat[HW_WPAT_WORDS];
	__u64 mask[HW_WPAT_WORDS];
	__u32 len;
	__u32 glob;
};

struct hw_watch_dir {
	struct hw_wpat pats[HW_WPATS];
	__u32 dev; /* informational: keyed by inode number only, the agent decides exactly */
	__u32 all; /* every entry of the directory is watched */
};

struct hw_wprefix {
	__u64 pat[HW_WPFX_WORDS];
	__u64 mask[HW_WPFX_WORDS];
	__u32 len; /* 0: the end of the list */
	__u32 glob;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64); /* inode number */
	__type(value, struct hw_watch_dir);
} watch_dirs SEC(".maps");

/* watch_names: names of directories whose entries are watched wherever they are (".ssh" of
 * "~/.ssh/authorized_keys*"): a home made after the agent started is seen before the agent has
 * the set built again (its /etc/passwd record comes first), and the agent decides exactly. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct hw_watch_dir);
} watch_names SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u64);   /* inode number of a watched file */
	__type(value, __u32); /* its device */
} watch_inodes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, HW_WPFX_MAX);
	__type(key, __u32);
	__type(value, struct hw_wprefix);
} watch_prefixes SEC(".maps");

/* file_calls: a path-based call in flight, per thread, from its enter to its exit */
struct hw_file_call {
	__u64 path;  /* user pointer: the (new) name */
	__u64 other; /* user pointer: the old name (rename, link), the target (symlink) */
	__s32 dfd;   /* the directory path starts from; fchmod: the descriptor */
	__u32 op;    /* HW_FILE_* */
	__u32 mode;  /* chmod */
	__u32 pad;   /* HW_FILE_F_* judged at the entry */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct hw_file_call);
} file_calls SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct hw_file_event);
} file_scratch SEC(".maps");

/* watch_sbs: the filesystems (their s_dev, as the kernel has it) that hold a watched directory,
 * named by the agent's own calls (hw_sb_learn): an open on any other filesystem skips the walk
 * and the inode lookup. all: no filtering by filesystem (before the agent has named them, or
 * more than HW_WSB_MAX of them). */
#define HW_WSB_MAX 16
struct hw_watch_sbs {
	__u32 dev[HW_WSB_MAX];
	__u32 n;
	__u32 all;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct hw_watch_sbs);
} watch_sbs SEC(".maps");

/* inode_hint: inode number, set before watch_inodes (hw_hint, netproc.bpf.h) */
struct hw_hint_map inode_hint SEC(".maps");

static __always_inline struct task_struct *hw_task(void)
{
	return (struct task_struct *)bpf_get_current_task();
}

/* name (32 bytes, zero after its end) against p */
static __always_inline int hw_wpat_match(const struct hw_wpat *p, const __u64 *name)
{
	const char *c = (const char *)name;
	__u32 len = p->len;
	__u64 diff = 0;
	char end;

	if (!len || len >= HW_WPAT_WORDS * 8)
		return 0;

	for (int i = 0; i < HW_WPAT_WORDS; i++)
		diff |= (name[i] & p->mask[i]) ^ p->pat[i];
	if (diff)
		return 0;
	if (p->glob)
		return 1;
	end = c[len & (HW_WPAT_WORDS * 8 - 1)];
	return end == 0 || end == '/';
}

static __always_inline int hw_dir_match(const struct hw_watch_dir *w, const __u64 *name)
{
	if (w->all)
		return 1;
	for (int i = 0; i < HW_WPATS; i++)
		if (hw_wpat_match(&w->pats[i], name))
			return 1;
	return 0;
}

static __always_inline void hw_dentry_name(struct dentry *d, __u64 name[HW_WPAT_WORDS])
{
	const unsigned char *s = BPF_CORE_READ(d, d_name.name);

	for (int i = 0; i < HW_WPAT_WORDS; i++)
		name[i] = 0;
	bpf_probe_read_kernel_str(name, HW_WPAT_WORDS * 8, s);
}

/* walk_gen: bumped by every rename and directory removal (their exits): what dir_cache says
 * about a directory holds only while the tree above it has not changed. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} walk_gen SEC(".maps");

/* dir_cache: for a directory (its inode's address and number), whether it is a key of
 * watch_dirs, and whether it or a directory up to HW_WATCH_UP - 2 above it is an entry a
 * watched directory watches: everything of the walk but the new name. Saves a create outside
 * the set the walk and the watch_dirs lookup. */
struct hw_dir_key {
	__u64 inode; /* the struct inode's address, as a number */
	__u64 ino;
};

struct hw_dir_verdict {
	__u64 gen;
	__u32 watched;
	__u32 keyed;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct hw_dir_key);
	__type(value, struct hw_dir_verdict);
} dir_cache SEC(".maps");

static __always_inline void hw_walk_changed(void)
{
	__u32 zero = 0;
	__u64 *g = bpf_map_lookup_elem(&walk_gen, &zero);

	if (g)
		__sync_fetch_and_add(g, 1);
}

/* One step of the walk: d's parent watches d's name. Returns 1 watched, 0 not, -1 at the
 * root; *up is the parent. */
static __always_inline int hw_watch_step(struct dentry *d, struct dentry **up)
{
	__u64 name[HW_WPAT_WORDS];
	struct dentry *parent = BPF_CORE_READ(d, d_parent);
	struct hw_watch_dir *w;
	__u64 ino;

	*up = parent;
	if (!parent || parent == d)
		return -1;
	ino = BPF_CORE_READ(parent, d_inode, i_ino);
	w = bpf_map_lookup_elem(&watch_dirs, &ino);
	if (w) {
		hw_dentry_name(d, name);
		if (hw_dir_match(w, name))
			return 1;
	}
	return 0;
}

/* d, or a directory up to HW_WATCH_UP above it, is an entry a watched directory watches; or
 * d's directory has a name of watch_names. */
static __always_inline int hw_watched_up(struct dentry *d)
{
	struct hw_dir_key key = {};
	struct hw_dir_verdict *v, fresh = {};
	struct hw_watch_dir *w, *names;
	struct dentry *parent, *cur, *up;
	struct inode *pi;
	__u64 name[HW_WPAT_WORDS];
	__u32 zero = 0, keyed, watched;
	__u64 *gen;
	int r = 0, i;

	parent = BPF_CORE_READ(d, d_parent);
	if (!parent || parent == d)
		return 0;
	pi = BPF_CORE_READ(parent, d_inode);
	key.inode = (__u64)pi;
	key.ino = BPF_CORE_READ(pi, i_ino);
	gen = bpf_map_lookup_elem(&walk_gen, &zero);
	if (!gen)
		return 0;
	v = bpf_map_lookup_elem(&dir_cache, &key);
	if (v && v->gen == *gen) {
		keyed = v->keyed;
		watched = v->watched;
	} else {
		fresh.gen = *gen;
		keyed = bpf_map_lookup_elem(&watch_dirs, &key.ino) != NULL;
		cur = parent;
		for (i = 1; i < HW_WATCH_UP; i++) {
			r = hw_watch_step(cur, &up);
			if (r)
				break;
			cur = up;
		}
		watched = r > 0;
		names = bpf_map_lookup_elem(&watch_names, &zero);
		if (!watched && names && names->pats[0].len) {
			hw_dentry_name(parent, name);
			watched = hw_dir_match(names, name);
		}
		fresh.keyed = keyed;
		fresh.watched = watched;
		bpf_map_update_elem(&dir_cache, &key, &fresh, BPF_ANY);
	}
	if (watched)
		return 1;
	/* the first step: the parent watches this name */
	w = keyed ? bpf_map_lookup_elem(&watch_dirs, &key.ino) : NULL;
	if (!w)
		return 0;
	hw_dentry_name(d, name);
	return hw_dir_match(w, name);
}

static __always_inline struct file *hw_fd_file(struct task_struct *task, long fd)
{
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fds = BPF_CORE_READ(fdt, fd);
	struct file *f = NULL;

	if (fd < 0 || fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	return f;
}

/* The file of a descriptor the syscall just returned: valid, so not checked against the table's
 * size (a read the 100,000-create storm does not pay). */
static __always_inline struct file *hw_new_fd_file(struct task_struct *task, long fd)
{
	struct file **fds;
	struct file *f = NULL;

	/* 5.11+: the current task as a typed pointer, its table read by plain loads; before, by
	 * three bpf_probe_read_kernel (the branch the verifier of an older kernel never walks) */
	if (bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_get_current_task_btf)) {
		struct task_struct *t = bpf_get_current_task_btf();

		fds = t->files->fdt->fd;
	} else {
		fds = BPF_CORE_READ(task, files, fdt, fd);
	}

	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd & 0xffffff]);
	return f;
}

static __always_inline struct hw_file_event *hw_file_scratch(void)
{
	__u32 zero = 0;
	struct hw_file_event *e = bpf_map_lookup_elem(&file_scratch, &zero);

	if (!e)
		hw_stat_inc(HW_STAT_ERR_SCRATCH);
	return e;
}

static __always_inline void hw_file_inode(struct hw_file_event *e, struct inode *inode)
{
	e->ino = BPF_CORE_READ(inode, i_ino);
	e->dev = BPF_CORE_READ(inode, i_sb, s_dev);
	e->mode = BPF_CORE_READ(inode, i_mode);
	e->uid = BPF_CORE_READ(inode, i_uid.val);
	e->gid = BPF_CORE_READ(inode, i_gid.val);
	e->nlink = BPF_CORE_READ(inode, __i_nlink);
}

static __always_inline void hw_file_send(struct hw_file_event *e, struct task_struct *task,
					 __u32 op, __u32 flags)
{
	hw_fill_proc(&e->proc, task);
	e->hdr.ts_ns = bpf_ktime_get_boot_ns();
	e->hdr.type = HW_EV_FILE;
	e->hdr.size = sizeof(*e);
	e->op = op;
	e->flags = flags;
	e->pad = 0;
	if (bpf_ringbuf_output(&events, e, sizeof(*e), hw_rb_flags()))
		hw_stat_inc(HW_STAT_DROP_RINGBUF);
	else
		hw_stat_inc(HW_STAT_EVENTS);
}

/* --- opens: judged from the file the kernel opened -------------------------------------- */

/* The fields an open is judged by, each object read in one bpf_probe_read_kernel of the span
 * around them (their CO-RE offsets, constants the verifier knows): two reads where there were
 * six. A kernel whose span is wider than the buffer gets one read per field. */
#define HW_SPAN_WORDS		  20
#define HW_MIN(a, b)		  ((a) < (b) ? (a) : (b))
#define HW_MAX(a, b)		  ((a) > (b) ? (a) : (b))
#define HW_AT(buf, lo, off, type) (*(type *)((char *)(buf) + ((off) - (lo))))

struct hw_open_fields {
	struct inode *inode;
	struct dentry *dentry;
	struct super_block *sb;
	__u64 ino;
	__u32 fmode;
	__u16 imode;
};

static __always_inline int hw_file_fields(struct file *f, struct hw_open_fields *o)
{
	__u64 buf[HW_SPAN_WORDS];
	__u32 om = bpf_core_field_offset(struct file, f_mode);
	__u32 oi = bpf_core_field_offset(struct file, f_inode);
	__u32 od = bpf_core_field_offset(struct file, f_path.dentry);
	__u32 lo = HW_MIN(HW_MIN(om, oi), od) & ~7u, hi = HW_MAX(HW_MAX(om, oi), od) + 8;

	if (hi - lo > sizeof(buf)) {
		o->fmode = BPF_CORE_READ(f, f_mode);
		o->inode = BPF_CORE_READ(f, f_inode);
		o->dentry = BPF_CORE_READ(f, f_path.dentry);
		return 0;
	}
	if (bpf_probe_read_kernel(buf, hi - lo, (char *)f + lo))
		return -1;
	o->fmode = HW_AT(buf, lo, om, __u32);
	o->inode = HW_AT(buf, lo, oi, struct inode *);
	o->dentry = HW_AT(buf, lo, od, struct dentry *);
	return 0;
}

static __always_inline int hw_inode_fields(struct inode *inode, struct hw_open_fields *o)
{
	__u64 buf[HW_SPAN_WORDS];
	__u32 om = bpf_core_field_offset(struct inode, i_mode);
	__u32 os = bpf_core_field_offset(struct inode, i_sb);
	__u32 oi = bpf_core_field_offset(struct inode, i_ino);
	__u32 lo = HW_MIN(HW_MIN(om, os), oi) & ~7u, hi = HW_MAX(HW_MAX(om, os), oi) + 8;

	if (hi - lo > sizeof(buf)) {
		o->imode = BPF_CORE_READ(inode, i_mode);
		o->sb = BPF_CORE_READ(inode, i_sb);
		o->ino = BPF_CORE_READ(inode, i_ino);
		return 0;
	}
	if (bpf_probe_read_kernel(buf, hi - lo, (char *)inode + lo))
		return -1;
	o->imode = HW_AT(buf, lo, om, __u16);
	o->sb = HW_AT(buf, lo, os, struct super_block *);
	o->ino = HW_AT(buf, lo, oi, __u64);
	return 0;
}

/* A file on this filesystem may be in the watch set (watch_sbs). */
static __always_inline int hw_sb_watched(struct super_block *sb)
{
	__u32 zero = 0, dev;
	struct hw_watch_sbs *s = bpf_map_lookup_elem(&watch_sbs, &zero);

	if (!s || s->all)
		return 1;
	dev = BPF_CORE_READ(sb, s_dev);
	for (int i = 0; i < HW_WSB_MAX; i++)
		if (s->dev[i] == dev && i < s->n)
			return 1;
	return 0;
}

static __always_inline int hw_on_open(long fd)
{
	struct hw_open_fields o;
	struct task_struct *task;
	struct hw_file_event *e;
	struct file *f;
	__u32 flags = 0;
	__u64 ino;

	if (fd < 0)
		return 0;
	task = hw_task();
	f = hw_new_fd_file(task, fd);
	if (!f || hw_file_fields(f, &o) || !(o.fmode & FMODE_WRITE_))
		return 0;
	if (hw_inode_fields(o.inode, &o) || (o.imode & HW_S_IFMT) != HW_S_IFREG)
		return 0;
	ino = o.ino;
	if (hw_sb_watched(o.sb)) {
		if (hw_watched_up(o.dentry))
			flags |= HW_FILE_F_WATCHED;
		if (hw_hint(&inode_hint, ino) && bpf_map_lookup_elem(&watch_inodes, &ino))
			flags |= HW_FILE_F_INODE;
	}
	if (hw_netproc(task))
		flags |= HW_FILE_F_NETPROC;
	if (!flags || !hw_wanted(task))
		return 0;
	e = hw_file_scratch();
	if (!e)
		return 0;
	hw_file_inode(e, o.inode);
	/* a watched file's inode, from now on: a hard link made to it is still seen (here, not
	 * by the agent, so that a link made right after the write is not missed) */
	if ((flags & HW_FILE_F_WATCHED) && !(flags & HW_FILE_F_INODE)) {
		hw_hint_set(&inode_hint, ino);
		if (bpf_map_update_elem(&watch_inodes, &ino, &e->dev, BPF_ANY))
			hw_stat_inc(HW_STAT_ERR_MAP);
	}
	if (hw_read_path(&e->path, __builtin_preserve_access_index(&f->f_path), 0) & HW_PATH_CUT)
		flags |= HW_FILE_F_PATH_CUT;
	e->user_path[0] = 0;
	e->user_other[0] = 0;
	hw_file_send(e, task, o.fmode & FMODE_CREATED_ ? HW_FILE_CREATE : HW_FILE_MODIFY, flags);
	return 0;
}

SEC("tp/syscalls/sys_exit_openat")
int handle_file_openat_exit(struct trace_event_raw_sys_exit *ctx)
{
	return hw_on_open(ctx->ret);
}

SEC("tp/syscalls/sys_exit_openat2")
int handle_file_openat2_exit(struct trace_event_raw_sys_exit *ctx)
{
	return hw_on_open(ctx->ret);
}

SEC("tp/syscalls/sys_exit_open")
int handle_file_open_exit(struct trace_event_raw_sys_exit *ctx)
{
	return hw_on_open(ctx->ret);
}

SEC("tp/syscalls/sys_exit_creat")
int handle_file_creat_exit(struct trace_event_raw_sys_exit *ctx)
{
	return hw_on_open(ctx->ret);
}

/* --- calls that name a path -------------------------------------------------------------- */

/* watch_firsts: the first component of every watched prefix ("etc" of "/etc/cron*"), its first
 * 8 bytes zero-padded: an absolute path whose first component is none of them is no
 * prefix's, and the walk over all prefixes is skipped (most unlinks and renames of a machine,
 * /tmp's and /var/lib's). Only ever added to, by the agent before it writes the prefixes and
 * by hw_link_keep: a key too many costs the walk, never a miss. watch_firsts_all[0]: every
 * path is compared (a prefix whose first component is cut by its glob, "/e*", or the map
 * full). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u64);
	__type(value, __u8);
} watch_firsts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} watch_firsts_all SEC(".maps");

/* 0x80 in each byte of v that is zero, 0 elsewhere (exact: no borrow between bytes) */
static __always_inline __u64 hw_zero_bytes(__u64 v)
{
	const __u64 m = 0x7f7f7f7f7f7f7f7fULL;

	return ~(((v & m) + m) | v | m);
}

/* The key of path's first component (path absolute, in a buffer of at least 16 bytes): the
 * bytes after its '/' up to the next '/' or the end, at most 8, zero-padded; 0 when empty. */
static __always_inline __u64 hw_first_key(const char *path)
{
	const __u64 *w = (const __u64 *)path;
	__u64 v = (w[0] >> 8) | (w[1] << 56);
	__u64 hits = hw_zero_bytes(v ^ 0x2f2f2f2f2f2f2f2fULL) | hw_zero_bytes(v);
	__u64 low = hits & (~hits + 1);

	return low ? v & ((low >> 7) - 1) : v;
}

static __always_inline int hw_first_known(const char *path)
{
	__u32 zero = 0, *all = bpf_map_lookup_elem(&watch_firsts_all, &zero);
	__u64 key;

	if (!all || *all)
		return 1;
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	return 1; /* hw_first_key reads bytes as a little-endian word: every path compared */
#endif
	key = hw_first_key(path);
	return key && bpf_map_lookup_elem(&watch_firsts, &key) != NULL;
}

/* path's first component among the keys (a prefix the kernel itself keeps) */
static __always_inline void hw_first_add(const char *path)
{
	__u64 key = hw_first_key(path);
	__u32 zero = 0, *all;
	__u8 one = 1;

	if (key && !bpf_map_update_elem(&watch_firsts, &key, &one, BPF_ANY))
		return;
	all = bpf_map_lookup_elem(&watch_firsts_all, &zero);
	if (all)
		*all = 1;
}

/* An absolute path against the watched prefixes. */
static __always_inline int hw_prefix_watched(const char *path)
{
	const __u64 *w = (const __u64 *)path;
	int found = 0;

	if (!hw_first_known(path))
		return 0;

	for (int i = 0; i < HW_WPFX_MAX && !found; i++) {
		__u32 key = i;
		struct hw_wprefix *p = bpf_map_lookup_elem(&watch_prefixes, &key);
		__u64 diff = 0;
		char end;

		if (!p || !p->len)
			break;
		/* most names differ in their first word: stop at the first that differs */
		for (int k = 0; k < HW_WPFX_WORDS; k++) {
			diff = (w[k] & p->mask[k]) ^ p->pat[k];
			if (diff || !p->mask[k])
				break;
		}
		end = path[p->len & (HW_FILE_USER_PATH - 1)];
		found = !diff && (p->glob || end == 0 || end == '/');
	}
	return found;
}

/* A path a program wrote that a lexical comparison could misread: "//", "/./", "/../". Up to
 * its length n only (the rest of the buffer is an earlier record's). */
static __always_inline int hw_path_odd(const char *path, __u32 n)
{
	for (__u32 i = 0; i < HW_FILE_USER_PATH - 1; i++) {
		if (i + 1 >= n)
			break;
		if (path[i] == '/' && (path[i + 1] == '/' || path[i + 1] == '.'))
			return 1;
	}
	return 0;
}

/* An absolute name the program wrote (in the scratch record, n bytes with its NUL) is in the
 * watched set, or odd. A global function: the verifier checks it once, apart from its
 * callers' paths; its arguments are numbers, as 5.10 requires. No byte after the name's NUL
 * can make a comparison succeed: every watched name or prefix is compared up to its own
 * length, and a name shorter than it differs at its NUL. */
__noinline int hw_user_path_watched(__u32 absolute, __u32 n)
{
	__u32 zero = 0;
	struct hw_file_event *e = bpf_map_lookup_elem(&file_scratch, &zero);

	if (!e)
		return 0;
	if (hw_path_odd(e->user_path, n))
		return 1;
	return absolute && hw_prefix_watched(e->user_path);
}

/* watch_ancestors: the directories above each watched path ("/", "/etc", "/home/u/.ssh"),
 * zero-padded, for a symbolic link's target. */
#define HW_ANC_BYTES 32
struct hw_anc_key {
	char p[HW_ANC_BYTES];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 512);
	__type(key, struct hw_anc_key);
	__type(value, __u8);
} watch_ancestors SEC(".maps");

/* A symbolic link's target (in the scratch record's user_other, n bytes with its NUL) may lead
 * into the watched set: a watched path, an ancestor of one ("/etc" for "/etc/cron*"), a long
 * one (not judged), or a relative one that climbs (".."). The agent then follows names through
 * the link (user/agent/file.c): a rename, link, unlink or chmod through it is not missed. */
__noinline int hw_target_leads(__u32 n)
{
	__u32 zero = 0;
	struct hw_file_event *e = bpf_map_lookup_elem(&file_scratch, &zero);
	struct hw_anc_key k = {};
	const char *t;

	if (!e || n < 2 || n > HW_FILE_USER_PATH)
		return 0;
	t = e->user_other;
	if (t[0] != '/')
		return t[0] == '.' && t[1] == '.';
	if (n > HW_ANC_BYTES || hw_path_odd(t, n) || hw_prefix_watched(t))
		return 1;
	bpf_probe_read_kernel(k.p, sizeof(k.p), t);
	for (int i = 1; i < HW_ANC_BYTES; i++) /* what follows the NUL is an earlier record's */
		if (i >= (int)n - 1)
			k.p[i] = 0;
	if (n > 2 && k.p[(n - 2) & (HW_ANC_BYTES - 1)] == '/') /* "/etc/" */
		k.p[(n - 2) & (HW_ANC_BYTES - 1)] = 0;
	return bpf_map_lookup_elem(&watch_ancestors, &k) != NULL;
}

static const struct hw_watch_dir hw_no_dir;

/* A symbolic link that leads into the set, just made (its name in the scratch record's
 * user_path, n bytes with its NUL): kept by the kernel at once, before the agent has the
 * record, so a call through it right after is not missed. An absolute name: a watched prefix
 * (the first free entry); one name relative to a directory (base_ino): a name that directory
 * watches. Anything else waits for the agent (user/agent/file.c), which keeps it too. */
__noinline int hw_link_keep(__u64 base_ino, __u32 n)
{
	__u32 zero = 0, len, key = 0;
	struct hw_file_event *e = bpf_map_lookup_elem(&file_scratch, &zero);
	struct hw_wprefix *p = NULL;
	struct hw_watch_dir *w;
	const __u64 *words;
	int i;

	if (!e || n < 2 || n > HW_WPFX_WORDS * 8)
		return 0;
	len = n - 1;
	words = (const __u64 *)e->user_path;
	if (e->user_path[0] == '/') {
		for (i = 0; i < HW_WPFX_MAX; i++) {
			key = i;
			p = bpf_map_lookup_elem(&watch_prefixes, &key);
			if (!p || !p->len)
				break;
		}
		if (!p || p->len)
			return 0;	    /* full */
		hw_first_add(e->user_path); /* before the prefix: see watch_firsts */
		for (int k = 0; k < HW_WPFX_WORDS; k++) {
			__u32 left = len > (__u32)k * 8 ? len - (__u32)k * 8 : 0;
			__u64 m = left >= 8 ? ~0ull : (1ull << ((left & 7) * 8)) - 1;

			p->pat[k] = words[k] & m;
			p->mask[k] = m;
		}
		p->glob = 0;
		p->len = len;
		return 1;
	}
	if (!base_ino || len >= HW_WPAT_WORDS * 8)
		return 0;
	for (i = 0; i < HW_WPAT_WORDS * 8; i++)
		if ((__u32)i < len && e->user_path[i] == '/')
			return 0;
	w = bpf_map_lookup_elem(&watch_dirs, &base_ino);
	if (!w) {
		bpf_map_update_elem(&watch_dirs, &base_ino, &hw_no_dir, BPF_NOEXIST);
		w = bpf_map_lookup_elem(&watch_dirs, &base_ino);
		if (!w)
			return 0;
	}
	for (i = 0; i < HW_WPATS; i++) {
		struct hw_wpat *q = &w->pats[i];

		if (q->len)
			continue;
		for (int k = 0; k < HW_WPAT_WORDS; k++) {
			__u32 left = len > (__u32)k * 8 ? len - (__u32)k * 8 : 0;
			__u64 m = left >= 8 ? ~0ull : (1ull << ((left & 7) * 8)) - 1;

			q->pat[k] = words[k] & m;
			q->mask[k] = m;
		}
		q->glob = 0;
		q->len = len;
		return 1;
	}
	w->all = 1;
	return 1;
}

/* The directory a relative name starts from: dirfd's, or the working directory. */
static __always_inline const struct path *hw_call_base(struct task_struct *task, __s32 dfd)
{
	struct file *f;

	if (dfd == AT_FDCWD_) {
		struct fs_struct *fs = BPF_CORE_READ(task, fs);

		return __builtin_preserve_access_index(&fs->pwd);
	}
	f = hw_fd_file(task, dfd);
	return f ? __builtin_preserve_access_index(&f->f_path) : NULL;
}

/* The agent names a filesystem that holds a watched directory: unlinkat(fd, "", 0) on a
 * descriptor of that directory (which fails, ENOENT, and removes nothing). Only the agent's own
 * calls get here; it makes them one at a time. */
static __always_inline void hw_sb_learn(struct task_struct *task, __s32 dfd)
{
	struct file *f = hw_fd_file(task, dfd);
	struct hw_watch_sbs *s;
	__u32 zero = 0, dev, n;

	s = bpf_map_lookup_elem(&watch_sbs, &zero);
	if (!f || !s)
		return;
	dev = BPF_CORE_READ(f, f_inode, i_sb, s_dev);
	for (int i = 0; i < HW_WSB_MAX; i++)
		if (s->dev[i] == dev && i < s->n)
			return;
	n = s->n;
	if (n < HW_WSB_MAX) {
		s->dev[n & (HW_WSB_MAX - 1)] = dev;
		s->n = n + 1;
	} else {
		s->all = 1;
	}
}

/* Judged at the call's entry, from the name as the program passed it: only a call that may
 * touch the watched set (or make a file executable, or a symlink by a network-facing process)
 * is remembered for its exit. Everything else costs this and no map update. */
static __always_inline int hw_call_enter(__u32 op, __s32 dfd, __u64 path, __u64 other, __u32 mode)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id, zero = 0, flags = 0;
	struct hw_file_call c = {.path = path, .other = other, .dfd = dfd, .op = op, .mode = mode};
	struct task_struct *task = hw_task();
	const struct path *pp;
	struct hw_file_event *e;
	struct hw_watch_dir *w;
	struct dentry *base;
	long n;
	__u64 ino;

	if ((__u32)(id >> 32) == hw_agent_tgid) {
		char first = 1;

		/* only its empty name: the agent's other unlinks (its spool) name no filesystem */
		if (op == HW_FILE_DELETE && dfd >= 0 && path &&
		    !bpf_probe_read_user(&first, 1, (void *)path) && !first)
			hw_sb_learn(task, dfd);
		return 0;
	}
	if (op == HW_FILE_CHMOD && (mode & 0111))
		flags |= HW_FILE_F_EXEC_BITS;
	if (op == HW_FILE_SYMLINK && hw_netproc(task))
		flags |= HW_FILE_F_NETPROC;
	if (path && !flags) {
		e = bpf_map_lookup_elem(&file_scratch, &zero);
		if (!e)
			return 0;
		n = bpf_probe_read_user_str(e->user_path, sizeof(e->user_path), (void *)path);
		if (n <= 0)
			return 0;
		if (hw_user_path_watched(e->user_path[0] == '/', (__u32)n))
			flags |= HW_FILE_F_WATCHED;
		else if (e->user_path[0] != '/') {
			pp = hw_call_base(task, dfd);
			base = pp ? BPF_CORE_READ(pp, dentry) : NULL;
			if (base) {
				ino = BPF_CORE_READ(base, d_inode, i_ino);
				w = bpf_map_lookup_elem(&watch_dirs, &ino);
				if ((w && hw_dir_match(w, (const __u64 *)e->user_path)) ||
				    hw_watched_up(base) ||
				    (e->user_path[0] == '.' && e->user_path[1] == '.'))
					flags |= HW_FILE_F_WATCHED;
			}
		}
		if (!flags && op == HW_FILE_SYMLINK) {
			n = bpf_probe_read_user_str(e->user_other, sizeof(e->user_other),
						    (void *)other);
			if (n > 0 && hw_target_leads((__u32)n))
				flags |= HW_FILE_F_WATCHED;
		}
		if (!flags)
			return 0;
	}
	if (!hw_wanted(task))
		return 0;
	c.pad = flags;
	if (bpf_map_update_elem(&file_calls, &tid, &c, BPF_ANY))
		hw_stat_inc(HW_STAT_ERR_MAP);
	return 0;
}

static __always_inline int hw_call_exit(long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct hw_file_call *c = bpf_map_lookup_elem(&file_calls, &tid);
	const struct path *pp = NULL; /* the file (fchmod) or the directory the name starts from */
	struct task_struct *task;
	struct hw_file_event *e;
	struct dentry *base;
	struct file *f;
	__u32 flags, op;
	__u64 ino;
	long n;

	if (!c)
		return 0;
	op = c->op;
	flags = c->pad;
	if (ret != 0)
		goto out;
	task = hw_task();
	e = hw_file_scratch();
	if (!e)
		goto out;
	e->user_path[0] = 0;
	e->user_other[0] = 0;
	e->path.len = 0;
	e->path.count = 0;
	e->ino = 0;
	e->dev = 0;
	e->uid = 0;
	e->gid = 0;
	e->nlink = 0;
	if (hw_netproc(task))
		flags |= HW_FILE_F_NETPROC;
	if (!c->path) {
		/* fchmod: the descriptor's file, judged now */
		f = hw_fd_file(task, c->dfd);
		if (!f)
			goto out;
		hw_file_inode(e, BPF_CORE_READ(f, f_inode));
		if (hw_watched_up(BPF_CORE_READ(f, f_path.dentry)))
			flags |= HW_FILE_F_WATCHED;
		ino = e->ino;
		if (bpf_map_lookup_elem(&watch_inodes, &ino))
			flags |= HW_FILE_F_INODE;
		if (!(flags & (HW_FILE_F_WATCHED | HW_FILE_F_INODE | HW_FILE_F_EXEC_BITS)))
			goto out;
		pp = __builtin_preserve_access_index(&f->f_path);
	} else {
		n = bpf_probe_read_user_str(e->user_path, sizeof(e->user_path), (void *)c->path);
		if (n <= 0)
			goto out;
		flags |= HW_FILE_F_LEXICAL;
		if (e->user_path[0] != '/')
			pp = hw_call_base(task, c->dfd);
		/* a link that leads into the set: names through it are reported from now on */
		if (op == HW_FILE_SYMLINK && (flags & HW_FILE_F_WATCHED)) {
			base = pp ? BPF_CORE_READ(pp, dentry) : NULL;
			if (hw_link_keep(base ? BPF_CORE_READ(base, d_inode, i_ino) : 0, (__u32)n))
				hw_walk_changed();
		}
	}
	e->mode = c->mode;
	if (pp && (hw_read_path(&e->path, pp, 0) & HW_PATH_CUT))
		flags |= HW_FILE_F_PATH_CUT;
	if (c->other)
		bpf_probe_read_user_str(e->user_other, sizeof(e->user_other), (void *)c->other);
	hw_file_send(e, task, op, flags);
out:
	bpf_map_delete_elem(&file_calls, &tid);
	return 0;
}

#define ARG(i) ((__u64)ctx->args[i])

SEC("tp/syscalls/sys_enter_unlinkat")
int handle_file_unlinkat_enter(struct trace_event_raw_sys_enter *ctx)
{
	if (ARG(2) & AT_REMOVEDIR_)
		return 0;
	return hw_call_enter(HW_FILE_DELETE, (__s32)ARG(0), ARG(1), 0, 0);
}

SEC("tp/syscalls/sys_enter_unlink")
int handle_file_unlink_enter(struct trace_event_raw_sys_enter *ctx)
{
	return hw_call_enter(HW_FILE_DELETE, AT_FDCWD_, ARG(0), 0, 0);
}

SEC("tp/syscalls/sys_enter_renameat2")
int handle_file_renameat2_enter(struct trace_event_raw_sys_enter *ctx)
{
	/* the new name's directory is the one that matters: newdfd, newname */
	return hw_call_enter(HW_FILE_RENAME, (__s32)ARG(2), ARG(3), ARG(1), 0);
}

SEC("tp/syscalls/sys_enter_renameat")
int handle_file_renameat_enter(struct trace_event_raw_sys_enter *ctx)
{
	return hw_call_enter(HW_FILE_RENAME, (__s32)ARG(2), ARG(3), ARG(1), 0);
}

SEC("tp/syscalls/sys_enter_rename")
int handle_file_rename_enter(struct trace_event_raw_sys_enter *ctx)
{
	return hw_call_enter(HW_FILE_RENAME, AT_FDCWD_, ARG(1), ARG(0), 0);
}

SEC("tp/syscalls/sys_enter_linkat")
int handle_file_linkat_enter(struct trace_event_raw_sys_enter *ctx)
{
	return hw_call_enter(HW_FILE_LINK, (__s32)ARG(2), ARG(3), ARG(1), 0);
}

SEC("tp/syscalls/sys_enter_link")
int handle_file_link_enter(struct trace_event_raw_sys_enter *ctx)
{
	return hw_call_enter(HW_FILE_LINK, AT_FDCWD_, ARG(1), ARG(0), 0);
}

SEC("tp/syscalls/sys_enter_symlinkat")
int handle_file_symlinkat_enter(struct trace_event_raw_sys_enter *ctx)
{
	return hw_call_enter(HW_FILE_SYMLINK, (__s32)ARG(1), ARG(2), ARG(0), 0);
}

SEC("tp/syscalls/sys_enter_symlink")
int handle_file_symlink_enter(struct trace_event_raw_sys_enter *ctx)
{
	return hw_call_enter(HW_FILE_SYMLINK, AT_FDCWD_, ARG(1), ARG(0), 0);
}

SEC("tp/syscalls/sys_enter_fchmodat")
int handle_file_fchmodat_enter(struct trace_event_raw_sys_enter *ctx)
{
	return hw_call_enter(HW_FILE_CHMOD, (__s32)ARG(0), ARG(1), 0, (__u32)ARG(2));
}

SEC("tp/syscalls/sys_enter_fchmodat2")
int handle_file_fchmodat2_enter(struct trace_event_raw_sys_enter *ctx)
{
	return hw_call_enter(HW_FILE_CHMOD, (__s32)ARG(0), ARG(1), 0, (__u32)ARG(2));
}

SEC("tp/syscalls/sys_enter_chmod")
int handle_file_chmod_enter(struct trace_event_raw_sys_enter *ctx)
{
	return hw_call_enter(HW_FILE_CHMOD, AT_FDCWD_, ARG(0), 0, (__u32)ARG(1));
}

SEC("tp/syscalls/sys_enter_fchmod")
int handle_file_fchmod_enter(struct trace_event_raw_sys_enter *ctx)
{
	return hw_call_enter(HW_FILE_CHMOD, (__s32)ARG(0), 0, 0, (__u32)ARG(1));
}

/* every call above ends here */
#define HW_CALL_EXIT(name)                                                                         \
	SEC("tp/syscalls/sys_exit_" #name)                                                         \
	int handle_file_##name##_exit(struct trace_event_raw_sys_exit *ctx)                        \
	{                                                                                          \
		return hw_call_exit(ctx->ret);                                                     \
	}

/* a rename or a directory removal changes the tree dir_cache describes */
#define HW_CALL_EXIT_TREE(name)                                                                    \
	SEC("tp/syscalls/sys_exit_" #name)                                                         \
	int handle_file_##name##_exit(struct trace_event_raw_sys_exit *ctx)                        \
	{                                                                                          \
		long ret = BPF_CORE_READ(ctx, ret);                                                \
                                                                                                   \
		if (ret == 0)                                                                      \
			hw_walk_changed();                                                         \
		return hw_call_exit(ret);                                                          \
	}

HW_CALL_EXIT_TREE(unlinkat)
HW_CALL_EXIT(unlink)
HW_CALL_EXIT_TREE(renameat2)
HW_CALL_EXIT_TREE(renameat)
HW_CALL_EXIT_TREE(rename)

SEC("tp/syscalls/sys_exit_rmdir")
int handle_file_rmdir_exit(struct trace_event_raw_sys_exit *ctx)
{
	if (ctx->ret == 0)
		hw_walk_changed();
	return 0;
}
HW_CALL_EXIT(linkat)
HW_CALL_EXIT(link)
HW_CALL_EXIT(symlinkat)
HW_CALL_EXIT(symlink)
HW_CALL_EXIT(fchmodat)
HW_CALL_EXIT(fchmodat2)
HW_CALL_EXIT(chmod)
HW_CALL_EXIT(fchmod)

/* --- network-facing processes ------------------------------------------------------------- */

/* connect and accept mark a process in net.bpf.c (hw_netproc_mark), fork passes the mark on in
 * process.bpf.c (hw_netproc_inherit): in the programs already on those hooks */
