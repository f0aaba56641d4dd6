/* The watch set of file facts: detect.watch_paths expanded, canonical, matched exactly, and
 * turned into the kernel's keys (bpf/file.bpf.c). */
#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "model/files.h"

unsigned int hw_kdev(unsigned long long st_dev)
{
	return (unsigned int)(major(st_dev) << 20 | minor(st_dev));
}

void hw_path_normalise(char *path)
{
	char *out = path, *in = path;

	if (*in != '/')
		return;
	while (*in) {
		if (in[0] == '/' && in[1] == '/') {
			in++;
		} else if (in[0] == '/' && in[1] == '.' && (in[2] == '/' || !in[2])) {
			in += 2;
		} else if (in[0] == '/' && in[1] == '.' && in[2] == '.' &&
			   (in[3] == '/' || !in[3])) {
			in += 3;
			while (out > path && *--out != '/')
				;
		} else {
			*out++ = *in++;
		}
	}
	if (out == path)
		*out++ = '/';
	*out = 0;
}

static int add(struct hw_watch *w, const char *p)
{
	char **v;

	for (size_t i = 0; i < w->n; i++)
		if (!strcmp(w->pats[i], p))
			return 0;
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 32;

		v = realloc(w->pats, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		w->pats = v;
		w->cap = cap;
	}
	w->pats[w->n] = strdup(p);
	if (!w->pats[w->n])
		return -ENOMEM;
	w->n++;
	return 0;
}

/* p with its deepest existing directory resolved (the glob component and what does not exist
 * yet stay as written) */
static void canonical(const char *p, char *out, size_t len)
{
	char buf[PATH_MAX], real[PATH_MAX];
	char *slash;

	snprintf(buf, sizeof(buf), "%s", p);
	snprintf(out, len, "%s", p);
	while ((slash = strrchr(buf, '/')) && slash != buf) {
		*slash = 0;
		if (realpath(buf, real)) {
			snprintf(out, len, "%s%s%s", strcmp(real, "/") ? real : "", "/",
				 p + (slash - buf) + 1);
			return;
		}
	}
}

static int add_both(struct hw_watch *w, const char *p)
{
	char c[PATH_MAX];
	int err = add(w, p);

	canonical(p, c, sizeof(c));
	return err ? err : add(w, c);
}

int hw_watch__build(struct hw_watch *w, const struct hw_str_list *l, const char *passwd)
{
	char p[PATH_MAX];
	int err = 0;

	memset(w, 0, sizeof(*w));
	for (size_t i = 0; i < l->n && !err; i++) {
		const char *s = l->v[i];
		struct passwd *pw;
		struct stat st;
		FILE *f;

		if (s[0] == '/') {
			err = add_both(w, s);
			continue;
		}
		/* ~/x: root's and every home directory's, also one that does not exist yet (useradd
		 * writes passwd before it makes the home) */
		snprintf(p, sizeof(p), "/root%s", s + 1);
		err = add_both(w, p);
		f = passwd ? fopen(passwd, "re") : NULL;
		while (f && !err && (pw = fgetpwent(f))) {
			if (!pw->pw_dir || pw->pw_dir[0] != '/' || !strcmp(pw->pw_dir, "/") ||
			    (!stat(pw->pw_dir, &st) && !S_ISDIR(st.st_mode)))
				continue;
			snprintf(p, sizeof(p), "%s%s", pw->pw_dir, s + 1);
			hw_path_normalise(p);
			err = add_both(w, p);
		}
		if (f)
			fclose(f);
	}
	if (err)
		hw_watch__free(w);
	return err;
}

int hw_watch__leads(const struct hw_watch *w, const char *target)
{
	size_t n = strlen(target);

	if (hw_watch__match(w, target) || !strcmp(target, "/"))
		return 1;
	for (size_t i = 0; i < w->n; i++)
		if (!strncmp(w->pats[i], target, n) && w->pats[i][n] == '/')
			return 1;
	return 0;
}

static void alias_free(struct hw_watch_alias *a)
{
	free(a->link);
	free(a->target);
	free(a->raw);
	memset(a, 0, sizeof(*a));
}

const struct hw_watch_alias *hw_watch__alias(struct hw_watch *w, const char *link,
					     const char *target, const char *raw)
{
	struct hw_watch_alias *a;
	size_t i;

	for (i = 0; i < w->n_aliases; i++)
		if (!strcmp(w->aliases[i].link, link))
			break;
	if (i == w->n_aliases && w->n_aliases == HW_WATCH_ALIASES) {
		alias_free(&w->aliases[0]);
		memmove(&w->aliases[0], &w->aliases[1], (HW_WATCH_ALIASES - 1) * sizeof(*a));
		memset(&w->aliases[HW_WATCH_ALIASES - 1], 0, sizeof(*a));
		i = --w->n_aliases;
	}
	a = &w->aliases[i];
	alias_free(a);
	a->link = strdup(link);
	a->target = strdup(target);
	a->raw = strdup(raw);
	if (!a->link || !a->target || !a->raw) {
		alias_free(a);
		return NULL;
	}
	if (i == w->n_aliases)
		w->n_aliases++;
	return a;
}

const struct hw_watch_alias *hw_watch__through(const struct hw_watch *w, const char *path,
					       const char **rest)
{
	for (size_t i = 0; i < w->n_aliases; i++) {
		const struct hw_watch_alias *a = &w->aliases[i];
		size_t n = strlen(a->link);

		if (a->link && !strncmp(path, a->link, n) && (path[n] == '/' || !path[n])) {
			*rest = path + n;
			return a;
		}
	}
	return NULL;
}

void hw_watch__ancestors(const struct hw_watch *w, void (*fn)(const char *dir, void *ctx),
			 void *ctx)
{
	for (size_t i = 0; i < w->n; i++) {
		char dir[PATH_MAX];
		const char *p = w->pats[i];

		for (const char *s = strchr(p, '/'); s; s = strchr(s + 1, '/')) {
			size_t n = s == p ? 1 : (size_t)(s - p);
			int seen = 0;

			snprintf(dir, sizeof(dir), "%.*s", (int)n, p);
			for (size_t j = 0; j < i && !seen; j++) /* each once */
				seen = !strncmp(w->pats[j], dir, n) &&
				       (w->pats[j][n] == '/' || n == 1);
			if (!seen)
				fn(dir, ctx);
		}
	}
}

void hw_watch__free(struct hw_watch *w)
{
	for (size_t i = 0; i < w->n_aliases; i++)
		alias_free(&w->aliases[i]);
	for (size_t i = 0; i < w->n; i++)
		free(w->pats[i]);
	free(w->pats);
	memset(w, 0, sizeof(*w));
}

size_t hw_watch__match(const struct hw_watch *w, const char *path)
{
	for (size_t i = 0; i < w->n; i++) {
		const char *p = w->pats[i];
		size_t n = strlen(p);

		if (n && p[n - 1] == '*') {
			if (!strncmp(path, p, n - 1))
				return i + 1;
		} else if (!strncmp(path, p, n) && (path[n] == 0 || path[n] == '/')) {
			return i + 1;
		}
	}
	return 0;
}

size_t hw_watch__keys(const struct hw_watch *w, void (*fn)(const struct hw_watch_key *k, void *ctx),
		      void *ctx)
{
	size_t count = 0;

	for (size_t i = 0; i < w->n; i++) {
		char dir[PATH_MAX];
		const char *p = w->pats[i], *name;
		struct hw_watch_key k = {0};
		struct stat st;
		char *slash;

		/* the deepest existing directory strictly above the last name */
		snprintf(dir, sizeof(dir), "%s", p);
		for (;;) {
			slash = strrchr(dir, '/');
			if (!slash)
				break;
			name = p + (slash - dir) + 1;
			if (slash == dir) {
				if (stat("/", &st))
					break;
			} else {
				*slash = 0;
				if (stat(dir, &st) || !S_ISDIR(st.st_mode))
					continue;
			}
			k.ino = st.st_ino;
			k.dev = hw_kdev(st.st_dev);
			k.dir = slash == dir ? "/" : dir;
			k.glob = 0;
			snprintf(k.name, sizeof(k.name), "%.*s", (int)strcspn(name, "/"), name);
			if (!strchr(name, '/') && k.name[0] && k.name[strlen(k.name) - 1] == '*') {
				k.name[strlen(k.name) - 1] = 0;
				k.glob = 1;
			}
			fn(&k, ctx);
			count++;
			break;
		}
	}
	return count;
}

static void files_in(const char *path, int depth, size_t *n, size_t max,
		     void (*fn)(unsigned long long, unsigned int, const char *, void *), void *ctx)
{
	struct stat st;
	struct dirent *de;
	DIR *d;

	if (*n >= max || lstat(path, &st))
		return;
	if (S_ISREG(st.st_mode)) {
		fn(st.st_ino, hw_kdev(st.st_dev), path, ctx);
		(*n)++;
		return;
	}
	if (!S_ISDIR(st.st_mode) || depth <= 0 || !(d = opendir(path)))
		return;
	while ((de = readdir(d)) && *n < max) {
		char sub[PATH_MAX];

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		files_in(sub, depth - 1, n, max, fn, ctx);
	}
	closedir(d);
}

size_t hw_watch__files(const struct hw_watch *w, size_t max,
		       void (*fn)(unsigned long long ino, unsigned int dev, const char *path,
				  void *ctx),
		       void *ctx)
{
	size_t n = 0;

	for (size_t i = 0; i < w->n && n < max; i++) {
		glob_t g;

		if (glob(w->pats[i], GLOB_NOSORT, NULL, &g))
			continue;
		for (size_t j = 0; j < g.gl_pathc; j++)
			files_in(g.gl_pathv[j], 3, &n, max, fn, ctx);
		globfree(&g);
	}
	return n;
}
