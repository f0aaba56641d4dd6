/* Process table: lib/htab.h by pid (all incarnations of a pid share a hash) and an intrusive
 * FIFO of exited entries. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/hash.h"
#include "lib/mem.h"
#include "model/proc_table.h"

#define container_of(p, type, member) ((type *)((char *)(p)-offsetof(type, member)))

struct hw_proc_table {
	const struct hw_host *host;
	struct hw_htab t;
	struct hw_process *ehead, *etail; /* exited, oldest first */
	size_t nexited, max_exited;
	__u64 ttl_ns;
};

/* each process of pid_ (every incarnation, newest first) as p_ */
#define for_each_pid(p_, t_, pid_)                                                                 \
	for (struct hw_hnode *n_ = hw_htab__first(&(t_)->t, hw_hash__u32(pid_));                   \
	     n_ && ((p_) = container_of(n_, struct hw_process, node), 1);                          \
	     n_ = hw_htab__next(n_, hw_hash__u32(pid_)))                                           \
		if ((p_)->k.pid == (pid_))

static __u64 ticks(const struct hw_proc_table *t, __u64 ns)
{
	return ns / t->host->ns_per_tick;
}

struct hw_proc_table *hw_proc_table__new(const struct hw_host *host, size_t max_exited,
					 __u64 ttl_ns)
{
	struct hw_proc_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->host = host;
	t->t.nb0 = 1024;
	t->t.link_first = 1;
	t->max_exited = max_exited;
	t->ttl_ns = ttl_ns;
	return t;
}

/* One allocation holds a process's image (exe, cwd and args after this header), shared by
 * the children it forks until they exec: a fork copies nothing. */
struct hw_proc_image {
	unsigned long refs;
};

static void image_put(struct hw_process *p)
{
	if (p->img && !--p->img->refs)
		free(p->img);
	p->img = NULL;
	p->exe = p->cwd = p->args = NULL;
	p->args_len = 0;
}

static void process_free(struct hw_process *p)
{
	image_put(p);
	free(p);
}

static void free_one(struct hw_hnode *n, void *ctx)
{
	(void)ctx;
	process_free(container_of(n, struct hw_process, node));
}

void hw_proc_table__free(struct hw_proc_table *t)
{
	if (!t)
		return;
	hw_htab__each(&t->t, free_one, NULL);
	hw_htab__free(&t->t);
	free(t);
}

struct hw_process *hw_proc_table__get(struct hw_proc_table *t, __u32 pid, __u64 start_ns)
{
	__u64 want = ticks(t, start_ns);
	struct hw_process *p;

	for_each_pid(p, t, pid) if (ticks(t, p->k.start_ns) == want) return p;
	return NULL;
}

struct hw_process *hw_proc_table__live(struct hw_proc_table *t, __u32 pid)
{
	struct hw_process *p;

	for_each_pid(p, t, pid) if (!(p->flags & HW_PROC_EXITED)) return p;
	return NULL;
}

static void exited_append(struct hw_proc_table *t, struct hw_process *p)
{
	p->enext = NULL;
	p->eprev = t->etail;
	if (t->etail)
		t->etail->enext = p;
	else
		t->ehead = p;
	t->etail = p;
	t->nexited++;
}

static void mark_exited(struct hw_proc_table *t, struct hw_process *p, __u64 ts_ns, __u32 exit_code)
{
	if (p->flags & HW_PROC_EXITED)
		return;
	p->flags |= HW_PROC_EXITED;
	p->exit_ns = ts_ns;
	p->exit_code = exit_code;
	exited_append(t, p);
}

static void set_parent_id(struct hw_proc_table *t, struct hw_process *p, const struct hw_proc *k)
{
	if (k->ppid)
		hw_host__entity_id(t->host, k->ppid, k->parent_start_ns, p->parent_entity_id);
	else
		p->parent_entity_id[0] = 0;
}

struct hw_process *hw_proc_table__upsert(struct hw_proc_table *t, const struct hw_proc *k)
{
	__u64 want = ticks(t, k->start_ns);
	struct hw_process *p, *found = NULL;

	for_each_pid(p, t, k->pid)
	{
		if (ticks(t, p->k.start_ns) == want)
			found = p;
		else if (!(p->flags & HW_PROC_EXITED) && p->k.start_ns < k->start_ns)
			mark_exited(t, p, k->start_ns, 0); /* its exit was not seen */
	}
	if (found) {
		/* reparented (its parent exited) or first seen with a parent now */
		if (k->ppid != found->k.ppid || k->parent_start_ns != found->k.parent_start_ns)
			set_parent_id(t, found, k);
		found->k = *k;
		return found;
	}
	p = hw_zalloc(sizeof(*p));
	if (!p || hw_htab__add(&t->t, &p->node, hw_hash__u32(k->pid))) {
		free(p);
		return NULL;
	}
	p->k = *k;
	p->exe_uid = (__u32)-1;
	hw_host__entity_id(t->host, k->pid, k->start_ns, p->entity_id);
	set_parent_id(t, p, k);
	return p;
}

int hw_process__set_image(struct hw_process *p, const char *exe, const char *cwd, const char *args,
			  __u32 args_len, __u32 flags)
{
	size_t le = exe ? strlen(exe) + 1 : 0, lc = cwd ? strlen(cwd) + 1 : 0;
	struct hw_proc_image *img = malloc(sizeof(*img) + le + lc + args_len);
	char *at, *x = NULL, *c = NULL, *a = NULL;

	if (!img)
		return -ENOMEM;
	/* copied before the old image goes: the strings may be p's own */
	img->refs = 1;
	at = (char *)(img + 1);
	if (exe)
		x = memcpy(at, exe, le);
	if (cwd)
		c = memcpy(at + le, cwd, lc);
	if (args_len)
		a = memcpy(at + le + lc, args, args_len);
	image_put(p);
	p->img = img;
	p->exe = x;
	p->cwd = c;
	p->args = a;
	p->args_len = args_len;
	p->flags = (p->flags & ~0xffffu) | (flags & 0xffffu) | HW_PROC_EXEC;
	return 0;
}

void hw_process__set_exe_owner(struct hw_process *p, __u32 uid, __u32 mode)
{
	p->exe_uid = uid;
	p->exe_mode = mode;
}

int hw_process__exe_trusted(const struct hw_process *p)
{
	return p->exe && p->exe[0] == '/' && p->exe_mode && p->exe_uid == 0 &&
	       !(p->exe_mode & 0022) &&
	       !(p->flags &
		 (HW_EXEC_EXE_UNSAFE_DIR | HW_EXEC_EXE_UNLINKED | HW_EXEC_EXE_TRUNCATED));
}

int hw_process__inherit(struct hw_process *child, const struct hw_process *parent)
{
	if (child->flags & HW_PROC_EXEC)
		return 0; /* the child already exec'd: its own image wins */
	if (child == parent)
		return 0;
	image_put(child);
	if (parent->img) {
		parent->img->refs++;
		child->img = parent->img;
		child->exe = parent->exe;
		child->cwd = parent->cwd;
		child->args = parent->args;
		child->args_len = parent->args_len;
	}
	child->flags = (child->flags & ~0xffffu) | (parent->flags & 0xffffu);
	hw_process__set_exe_owner(child, parent->exe_uid, parent->exe_mode);
	child->flags &= ~HW_PROC_EXEC; /* inherited, not its own exec */
	return 0;
}

void hw_proc_table__exit(struct hw_proc_table *t, struct hw_process *p, __u64 ts_ns,
			 __u32 exit_code)
{
	mark_exited(t, p, ts_ns, exit_code);
}

static void remove_entry(struct hw_proc_table *t, struct hw_process *p)
{
	hw_htab__del(&t->t, &p->node);
	if (p->eprev)
		p->eprev->enext = p->enext;
	else
		t->ehead = p->enext;
	if (p->enext)
		p->enext->eprev = p->eprev;
	else
		t->etail = p->eprev;
	t->nexited--;
	process_free(p);
}

size_t hw_proc_table__expire(struct hw_proc_table *t, __u64 now_ns)
{
	size_t freed = 0;

	while (t->ehead &&
	       (t->nexited > t->max_exited || t->ehead->exit_ns + t->ttl_ns <= now_ns)) {
		remove_entry(t, t->ehead);
		freed++;
	}
	return freed;
}

struct each_ctx {
	void (*fn)(struct hw_process *p, void *ctx);
	void *ctx;
};

static void each_one(struct hw_hnode *n, void *ctx)
{
	struct each_ctx *c = ctx;

	c->fn(container_of(n, struct hw_process, node), c->ctx);
}

void hw_proc_table__each(struct hw_proc_table *t, void (*fn)(struct hw_process *p, void *ctx),
			 void *ctx)
{
	struct each_ctx c = {fn, ctx};

	hw_htab__each(&t->t, each_one, &c);
}

size_t hw_proc_table__count(const struct hw_proc_table *t)
{
	return t->t.n;
}

size_t hw_proc_table__exited(const struct hw_proc_table *t)
{
	return t->nexited;
}

__u64 hw_proc_table__ns_per_tick(const struct hw_proc_table *t)
{
	return t->host->ns_per_tick;
}
