/* Agent-socket records -> agent_socket_used events: the caller and the sshd that bound the
 * socket from the process table, the socket's session as the owner's. A record whose owner
 * the agent knows no more (exited: its sockets are gone, the inode may be another's now) is
 * dropped. At start, the listening unix sockets of the sshd processes already running (the
 * sessions older than the agent) go into the kernel's map (bpf/unix.bpf.c's agent_socks); while
 * it runs, the entries of owners that have exited are swept out of it. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "agent/agent_int.h"
#include "detect/fact_unix.h"
#include "hopwatch.skel.h"
#include "lib/procstat.h"
#include "lib/str.h"
#include "loader.h"
#include "output/ecs_unix.h"

void hw_agent__unix_record(struct hw_agent *a, const struct hw_unix_event *e)
{
	struct hw_process *p = hw_proc_table__upsert(a->procs, &e->proc);
	struct hw_process *owner = hw_proc_table__get(a->procs, e->owner_pid, e->owner_start_ns);
	struct hw_unix_view v = {
	    .action = HW_UNIX_ACTION,
	    .ts_ns = e->hdr.ts_ns,
	    .p = p,
	    .owner = owner,
	    .owner_uid = e->owner_uid,
	    .ino = e->ino,
	    .dev = e->dev,
	    .path = e->path,
	    .user_path = e->user_path,
	};

	if (!p) {
		a->counters.lost_output++;
		return;
	}
	if (!owner || (owner->flags & HW_PROC_EXITED))
		return;
	hw_sessions__mark(a->sessions, p);
	hw_sessions__mark(a->sessions, owner);
	v.session = owner->session_id;
	v.user_name = hw_users__name(a->users, p->k.uid);
	v.euser_name = p->k.euid == p->k.uid ? v.user_name : hw_users__name(a->users, p->k.euid);
	v.owner_user = hw_users__name(a->users, e->owner_uid);
	hw_emit__unix(a, &v);
}

/* --- the agent sockets of sessions older than the agent ----------------------------------- */

/* The map's key and value (bpf/unix.bpf.c). */
struct agent_sock_key {
	__u64 ino;
	__u32 dev;
	__u32 pad;
};

struct agent_sock {
	__u64 owner_start_ns;
	__u64 addr; /* 0: unknown here (the owner check in hw_agent__unix_record guards reuse) */
	__u32 owner_pid, owner_uid, owner_sessionid, pad;
};

/* A live process of the snapshot that is a root-owned sshd, as the kernel side decides. */
static int is_sshd(const struct hw_process *p)
{
	const char *base;

	if (!p || (p->flags & HW_PROC_EXITED) || !hw_process__exe_trusted(p))
		return 0;
	base = hw_str__base_name(p->exe);
	return !strcmp(base, "sshd") || !strcmp(base, "sshd-session");
}

/* The socket inodes among pid's descriptors, into v (at most max); returns how many. */
static size_t socket_fds(__u32 pid, unsigned long *v, size_t max)
{
	char path[64], link[64];
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%u/fd", pid);
	d = opendir(path);
	if (!d)
		return 0;
	while (n < max && (de = readdir(d))) {
		char fd[300];
		ssize_t len;

		snprintf(fd, sizeof(fd), "%s/%s", path, de->d_name);
		len = readlink(fd, link, sizeof(link) - 1);
		if (len <= 0)
			continue;
		link[len] = 0;
		if (sscanf(link, "socket:[%lu]", &v[n]) == 1)
			n++;
	}
	closedir(d);
	return n;
}

/* pid's listening unix sockets bound to a path (its /proc/PID/net/unix, the sockets of its
 * network namespace, those it holds): their files into the kernel's map. Returns how many. */
static int owner_sockets(int map_fd, const struct hw_process *p)
{
	unsigned long fds[64];
	size_t nfds = socket_fds(p->k.pid, fds, 64);
	char path[64], line[512];
	int added = 0;
	FILE *f;

	if (!nfds)
		return 0;
	snprintf(path, sizeof(path), "/proc/%u/net/unix", p->k.pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long ino, flags, type, st;
		char name[256], file[320];
		struct agent_sock_key k = {0};
		struct agent_sock v = {0};
		struct stat sb;
		size_t i;

		/* Num RefCount Protocol Flags Type St Inode Path */
		if (sscanf(line, "%*s %*s %*s %lx %lx %lx %lu %255s", &flags, &type, &st, &ino,
			   name) != 5 ||
		    name[0] != '/' || !(flags & 0x10000 /* __SO_ACCEPTCON: listening */))
			continue;
		for (i = 0; i < nfds && fds[i] != ino; i++)
			;
		if (i == nfds)
			continue;
		/* the name as the owner sees it, in its mount namespace */
		snprintf(file, sizeof(file), "/proc/%u/root%s", p->k.pid, name);
		if (stat(file, &sb) || !S_ISSOCK(sb.st_mode))
			continue;
		k.ino = sb.st_ino;
		k.dev = (__u32)(major(sb.st_dev) << 20 | minor(sb.st_dev));
		v.owner_start_ns = p->k.start_ns;
		v.owner_pid = p->k.pid;
		v.owner_uid = p->k.uid;
		v.owner_sessionid = p->k.sessionid;
		if (!bpf_map_update_elem(map_fd, &k, &v, BPF_ANY))
			added++;
	}
	fclose(f);
	return added;
}

int hw_agent__unix_snapshot(struct hw_agent *a, struct hw_loader *l)
{
	struct hopwatch_bpf *s = l->skel;
	int map_fd = bpf_map__fd(s->maps.agent_socks), n = 0;
	struct dirent *de;
	DIR *d;

	_Static_assert(sizeof(struct agent_sock_key) == 16 && sizeof(struct agent_sock) == 32,
		       "agent_socks layout");
	if (bpf_map__key_size(s->maps.agent_socks) != sizeof(struct agent_sock_key) ||
	    bpf_map__value_size(s->maps.agent_socks) != sizeof(struct agent_sock))
		return -EINVAL;
	d = opendir("/proc");
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char *end;
		unsigned long pid = strtoul(de->d_name, &end, 10);
		struct hw_process *p;

		if (*end || !pid || pid > UINT32_MAX)
			continue;
		p = hw_proc_table__live(a->procs, (__u32)pid);
		if (is_sshd(p))
			n += owner_sockets(map_fd, p);
	}
	closedir(d);
	if (n && s->bss)
		s->bss->hw_unix_armed = 1;
	return n;
}

/* --- the sweep: entries whose owner has exited ------------------------------------------- */

/* Does pid still run the process that started at start_ns (boot clock)? By /proc/PID/stat's
 * start time, in clock ticks (the owner may be one the agent has not read about yet: the
 * process table is not asked). */
static int owner_lives(const struct hw_agent *a, __u32 pid, __u64 start_ns)
{
	unsigned long long want = start_ns / a->host.ns_per_tick;
	struct hw_procstat st;
	int err = hw_procstat__read(NULL, pid, &st);

	if (err)
		return err != -ENOENT && err != -ESRCH; /* in doubt, it lives */
	return st.start_ticks + 1 >= want && st.start_ticks <= want + 1;
}

int hw_agent__unix_sweep_due(struct hw_loader *l)
{
	struct hopwatch_bpf *s = l->skel;

	if (!s->bss || !s->bss->hw_unix_full)
		return 0;
	s->bss->hw_unix_full = 0; /* a bind failing during the sweep sets it again */
	return 1;
}

int hw_agent__unix_sweep(struct hw_agent *a, struct hw_loader *l)
{
	int map_fd = bpf_map__fd(l->skel->maps.agent_socks), gone = 0;
	int have = 0, dead = 0, lives = 1, steps = 0;
	struct agent_sock_key k, next;
	struct agent_sock v;
	__u32 last_pid = 0;
	__u64 last_start = 0;

	/* a dead entry is deleted once the walk has the key after it (a walk from a deleted key
	 * would start again from the first); bounded, whatever the map does meanwhile */
	while (steps++ < 4 * 16384 && !bpf_map_get_next_key(map_fd, have ? &k : NULL, &next)) {
		if (dead)
			gone += !bpf_map_delete_elem(map_fd, &k);
		k = next;
		have = 1;
		dead = 0;
		if (bpf_map_lookup_elem(map_fd, &k, &v))
			continue;
		/* one look in /proc per owner in a row (a process holding many sockets) */
		if (v.owner_pid != last_pid || v.owner_start_ns != last_start) {
			last_pid = v.owner_pid;
			last_start = v.owner_start_ns;
			lives = owner_lives(a, last_pid, last_start);
		}
		dead = !lives;
	}
	if (dead)
		gone += !bpf_map_delete_elem(map_fd, &k);
	return gone;
}
