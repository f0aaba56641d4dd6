/* uid -> name from a passwd file, sorted by uid for binary search. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/clock.h"
#include "model/users.h"

struct hw_user {
	unsigned int uid;
	char *name;
};

struct hw_users {
	char *path;
	struct hw_user *v;
	size_t n;
	struct timespec mtime;
	time_t checked; /* CLOCK_MONOTONIC seconds of the last change check */
};

static int cmp_uid(const void *a, const void *b)
{
	const struct hw_user *x = a, *y = b;

	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

static void clear(struct hw_users *u)
{
	for (size_t i = 0; i < u->n; i++)
		free(u->v[i].name);
	free(u->v);
	u->v = NULL;
	u->n = 0;
}

static void load(struct hw_users *u)
{
	char line[1024];
	size_t cap = 0;
	struct stat st;
	FILE *f;

	clear(u);
	f = fopen(u->path, "re");
	if (!f)
		return;
	if (fstat(fileno(f), &st) == 0)
		u->mtime = st.st_mtim;
	while (fgets(line, sizeof(line), f)) {
		char *name = line, *colon1, *colon2, *end;
		unsigned long uid;

		colon1 = strchr(line, ':');
		if (!colon1 || !(colon1 = strchr(colon1 + 1, ':')))
			continue;
		colon2 = strchr(colon1 + 1, ':');
		if (!colon2)
			continue;
		*strchr(line, ':') = 0;
		errno = 0;
		uid = strtoul(colon1 + 1, &end, 10);
		if (errno || end != colon2 || uid > 0xffffffffUL || !*name)
			continue;
		if (u->n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct hw_user *nv = realloc(u->v, ncap * sizeof(*nv));

			if (!nv)
				break;
			u->v = nv;
			cap = ncap;
		}
		u->v[u->n].uid = (unsigned int)uid;
		u->v[u->n].name = strdup(name);
		if (!u->v[u->n].name)
			break;
		u->n++;
	}
	fclose(f);
	qsort(u->v, u->n, sizeof(*u->v), cmp_uid);
}

struct hw_users *hw_users__new(const char *path)
{
	struct hw_users *u = calloc(1, sizeof(*u));

	if (!u)
		return NULL;
	u->path = strdup(path ? path : "/etc/passwd");
	if (!u->path) {
		free(u);
		return NULL;
	}
	load(u);
	return u;
}

void hw_users__free(struct hw_users *u)
{
	if (!u)
		return;
	clear(u);
	free(u->path);
	free(u);
}

static const char *find(const struct hw_users *u, unsigned int uid)
{
	size_t lo = 0, hi = u->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (u->v[mid].uid == uid)
			return u->v[mid].name; /* the first entry for a uid is as good as any */
		if (u->v[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const char *hw_users__name(struct hw_users *u, unsigned int uid)
{
	const char *name = find(u, uid);
	time_t now;
	struct stat st;

	if (name || uid == (unsigned int)-1)
		return name;
	now = (time_t)(hw_clock__mono_ns() / HW_NS_PER_SEC);
	if (now == u->checked)
		return NULL;
	u->checked = now;
	if (stat(u->path, &st) ||
	    (st.st_mtim.tv_sec == u->mtime.tv_sec && st.st_mtim.tv_nsec == u->mtime.tv_nsec))
		return NULL;
	load(u);
	return find(u, uid);
}
