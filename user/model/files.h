/* The watch set of file facts (detect.watch_paths): the patterns, made absolute and canonical,
 * the exact match the agent applies to what the kernel's coarse filter let through, and the
 * kernel's tables (bpf/file.bpf.c) built from them. */
#ifndef HW_MODEL_FILES_H
#define HW_MODEL_FILES_H

#include <stddef.h>

#include "config.h"

/* The kernel's maps that hold the set (bpf/file.bpf.c), kept by agent/file.c; live: filled. */
struct hw_watch_fds {
	int dirs, inodes, prefixes, sbs, gen, inode_hint, ancestors, firsts, firsts_all;
	int live;
};

/* A symbolic link seen made to a directory of the set or above it ("/tmp/x/l" -> "/etc"): a
 * name through it is followed to the target. */
struct hw_watch_alias {
	char *link;   /* absolute, normalised */
	char *target; /* absolute, normalised */
	char *raw;    /* the target as written (what readlink must still say) */
};

#define HW_WATCH_ALIASES 16

struct hw_watch {
	char **pats; /* absolute; a trailing '*' is a prefix of the last name */
	size_t n, cap;
	struct hw_watch_alias aliases[HW_WATCH_ALIASES];
	size_t n_aliases;
	struct hw_watch_fds fds;
};

/* A directory whose entry name (or name prefix, glob) is watched: what watch_dirs holds. */
struct hw_watch_key {
	const char *dir; /* the directory's path, during the callback only */
	unsigned long long ino;
	unsigned int dev;
	char name[32];
	int glob;
};

/* Expands l: "~/x" for every home directory of passwd (a file in /etc/passwd's format), also
 * one that does not exist yet, and root's; each pattern also in its canonical form (the symbolic
 * links of its existing directories resolved: /lib/systemd/system is /usr/lib/systemd/system on a
 * merged /usr). Returns 0 or -ENOMEM. */
int hw_watch__build(struct hw_watch *w, const struct hw_str_list *l, const char *passwd);
void hw_watch__free(struct hw_watch *w);

/* path (absolute, normalised) is watched: the index of the first pattern it matches + 1, or 0. */
size_t hw_watch__match(const struct hw_watch *w, const char *path);

/* The kernel's keys: for each pattern, its deepest existing directory and the name below it.
 * Calls fn for each; returns how many. */
size_t hw_watch__keys(const struct hw_watch *w, void (*fn)(const struct hw_watch_key *k, void *ctx),
		      void *ctx);

/* The regular files that exist now and match (their inodes: a hard link under another name is
 * still seen). fn(ino, dev, path) for each, at most max. */
size_t hw_watch__files(const struct hw_watch *w, size_t max,
		       void (*fn)(unsigned long long ino, unsigned int dev, const char *path,
				  void *ctx),
		       void *ctx);

/* target (absolute, normalised) is in the set or a directory above a watched path. */
int hw_watch__leads(const struct hw_watch *w, const char *target);

/* Remembers the link link -> target (raw: as written); the oldest goes when all
 * HW_WATCH_ALIASES are taken. Returns the alias or NULL (no memory). */
const struct hw_watch_alias *hw_watch__alias(struct hw_watch *w, const char *link,
					     const char *target, const char *raw);

/* path (absolute, normalised) through a remembered link: the alias, with *rest what follows
 * the link's name ("/x" or ""); NULL none. */
const struct hw_watch_alias *hw_watch__through(const struct hw_watch *w, const char *path,
					       const char **rest);

/* The directories above each pattern ("/", "/etc", ...), each once: fn for each. */
void hw_watch__ancestors(const struct hw_watch *w, void (*fn)(const char *dir, void *ctx),
			 void *ctx);

/* Normalises an absolute path in place, lexically: "//" and "/./" collapse, "/x/.." goes. */
void hw_path_normalise(char *path);

/* The kernel's encoding of st_dev (major << 20 | minor). */
unsigned int hw_kdev(unsigned long long st_dev);

#endif
