/* /proc walk for the start-up snapshot. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "lib/procstat.h"
#include "lib/str.h"
#include "model/snapshot.h"

#define PF_KTHREAD 0x00200000u

static ssize_t read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t got = 0;

	if (fd < 0)
		return -errno;
	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			close(fd);
			return -errno;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	return (ssize_t)got;
}

static char *read_link(const char *path)
{
	char buf[PATH_MAX];
	ssize_t n = readlink(path, buf, sizeof(buf) - 1);

	if (n <= 0)
		return NULL;
	buf[n] = 0;
	return strdup(buf);
}

/* "Uid:\t0\t0\t0\t0" -> the first two ids */
static void status_ids(const char *status, const char *key, __u32 *real, __u32 *eff)
{
	const char *p = strstr(status, key);
	unsigned int r, e;

	if (p && sscanf(p + strlen(key), "%u %u", &r, &e) == 2) {
		*real = r;
		*eff = e;
	}
}

static __u32 read_u32_file(const char *path, __u32 dflt)
{
	char buf[32];
	ssize_t n = read_file(path, buf, sizeof(buf) - 1);
	unsigned long v;
	char *end;

	if (n <= 0)
		return dflt;
	buf[n] = 0;
	errno = 0;
	v = strtoul(buf, &end, 10);
	return errno || end == buf ? dflt : (__u32)v;
}

static void tty_from_nr(struct hw_proc *k, unsigned int tty_nr)
{
	unsigned int major = (tty_nr >> 8) & 0xfff;
	unsigned int minor = (tty_nr & 0xff) | ((tty_nr >> 12) & 0xfff00);

	if (!tty_nr)
		return;
	k->tty_major = major;
	k->tty_minor = minor;
	/* the names the kernel gives: pts (Unix98 ptys, majors 136-143), ttyN and ttySN */
	if (major >= 136 && major <= 143)
		snprintf(k->tty, sizeof(k->tty), "pts/%u", (major - 136) * 256 + minor);
	else if (major == 4 && minor < 64)
		snprintf(k->tty, sizeof(k->tty), "tty%u", minor);
	else if (major == 4)
		snprintf(k->tty, sizeof(k->tty), "ttyS%u", minor - 64);
	else
		snprintf(k->tty, sizeof(k->tty), "%u:%u", major, minor);
}

static __u64 cgroup_id(const char *proc_root, __u32 pid)
{
	char path[64], buf[4096], full[4200];
	struct stat st;
	ssize_t n;
	char *line;

	snprintf(path, sizeof(path), "%s/%u/cgroup", proc_root, pid);
	n = read_file(path, buf, sizeof(buf) - 1);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	line = strstr(buf, "0::"); /* the cgroup v2 hierarchy */
	if (!line || (line != buf && line[-1] != '\n'))
		return 0;
	line += 3;
	line[strcspn(line, "\n")] = 0;
	snprintf(full, sizeof(full), "/sys/fs/cgroup%s", line);
	return stat(full, &st) ? 0 : st.st_ino;
}

int hw_snapshot__read_proc(const char *proc_root, __u32 pid, __u64 ns_per_tick, struct hw_proc *k,
			   char **exe, char **cwd, char **args, __u32 *args_len, int *kthread)
{
	char path[64], buf[4096];
	struct hw_procstat ps;
	struct stat st;
	ssize_t n;
	int err;

	memset(k, 0, sizeof(*k));
	*exe = *cwd = *args = NULL;
	*args_len = 0;
	err = hw_procstat__read(proc_root, pid, &ps);
	if (err)
		return err;
	hw_str__copy(k->comm, sizeof(k->comm), ps.comm);
	*kthread = !!(ps.flags & PF_KTHREAD);
	k->pid = k->tid = pid;
	k->ppid = ps.ppid;
	k->start_ns = ps.start_ticks * ns_per_tick;
	tty_from_nr(k, ps.tty_nr);

	snprintf(path, sizeof(path), "%s/%u/status", proc_root, pid);
	n = read_file(path, buf, sizeof(buf) - 1);
	if (n > 0) {
		buf[n] = 0;
		status_ids(buf, "\nUid:", &k->uid, &k->euid);
		status_ids(buf, "\nGid:", &k->gid, &k->egid);
	}
	snprintf(path, sizeof(path), "%s/%u/loginuid", proc_root, pid);
	k->loginuid = read_u32_file(path, (__u32)-1);
	snprintf(path, sizeof(path), "%s/%u/sessionid", proc_root, pid);
	k->sessionid = read_u32_file(path, (__u32)-1);
	snprintf(path, sizeof(path), "%s/%u/ns/net", proc_root, pid);
	if (stat(path, &st) == 0)
		k->netns = (__u32)st.st_ino;
	k->cgroup_id = cgroup_id(proc_root, pid);
	if (*kthread)
		return 0;

	snprintf(path, sizeof(path), "%s/%u/exe", proc_root, pid);
	*exe = read_link(path);
	snprintf(path, sizeof(path), "%s/%u/cwd", proc_root, pid);
	*cwd = read_link(path);
	snprintf(path, sizeof(path), "%s/%u/cmdline", proc_root, pid);
	*args = malloc(HW_ARGS_MAX);
	if (*args) {
		n = read_file(path, *args, HW_ARGS_MAX);
		*args_len = n > 0 ? (__u32)n : 0;
	}
	return 0;
}

/* Is socket inode ino listed in /proc/PID/net/NAME (the process's own namespace)? The inode
 * is the 10th column of tcp/udp lines and the 7th of unix lines. */
static int net_has_inode(const char *proc_root, __u32 pid, const char *name, unsigned long ino)
{
	char path[96], line[512];
	int found = 0, unix_file = !strcmp(name, "unix");
	FILE *f;

	snprintf(path, sizeof(path), "%s/%u/net/%s", proc_root, pid, name);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f)) {
		unsigned long v = 0;

		if (unix_file ? sscanf(line, "%*s %*s %*s %*s %*s %*s %lu", &v) == 1
			      : sscanf(line, "%*s %*s %*s %*s %*s %*s %*s %*s %*s %lu", &v) == 1)
			found = v == ino;
	}
	fclose(f);
	return found;
}

void hw_snapshot__stdio(const char *proc_root, __u32 pid, __u8 out[3])
{
	for (int fd = 0; fd < 3; fd++) {
		char path[64];
		struct stat st;
		unsigned int major;

		snprintf(path, sizeof(path), "%s/%u/fd/%d", proc_root, pid, fd);
		if (stat(path, &st)) {
			out[fd] = errno == ENOENT ? HW_STDIO_CLOSED : HW_STDIO_UNKNOWN;
			continue;
		}
		switch (st.st_mode & S_IFMT) {
		case S_IFSOCK:
			if (net_has_inode(proc_root, pid, "tcp", st.st_ino) ||
			    net_has_inode(proc_root, pid, "tcp6", st.st_ino))
				out[fd] = HW_STDIO_TCP;
			else if (net_has_inode(proc_root, pid, "udp", st.st_ino) ||
				 net_has_inode(proc_root, pid, "udp6", st.st_ino))
				out[fd] = HW_STDIO_UDP;
			else if (net_has_inode(proc_root, pid, "unix", st.st_ino))
				out[fd] = HW_STDIO_UNIX;
			else
				out[fd] = HW_STDIO_SOCKET;
			break;
		case S_IFCHR:
			major = major(st.st_rdev);
			out[fd] = major >= 136 && major <= 143 ? HW_STDIO_PTY
				  : major == 4 || major == 5   ? HW_STDIO_TTY
							       : HW_STDIO_CHAR;
			break;
		case S_IFIFO:
			out[fd] = HW_STDIO_PIPE;
			break;
		case S_IFREG:
			out[fd] = HW_STDIO_FILE;
			break;
		default:
			out[fd] = HW_STDIO_UNKNOWN;
		}
	}
}

/* Owner and mode of pid's executable, and whether a directory of its path (as the process
 * sees it, through /proc/PID/root) is not root-owned or is writable by group or others: the
 * kernel facts an exec record carries, for processes that predate the agent. */
static void exe_owner(const char *proc_root, __u32 pid, const char *exe, __u32 *uid, __u32 *mode,
		      __u32 *flags)
{
	char path[HW_PATH_MAX + 64];
	size_t root_len, l;
	struct stat st;

	snprintf(path, sizeof(path), "%s/%u/exe", proc_root, pid);
	if (stat(path, &st))
		return;
	*uid = st.st_uid;
	*mode = st.st_mode;
	if (!exe || exe[0] != '/')
		return;
	root_len = (size_t)snprintf(path, sizeof(path), "%s/%u/root", proc_root, pid);
	/* every directory of the path, the deepest first: exe[0..l) for each '/' at l, then "/" */
	for (l = strlen(exe); l-- > 0;) {
		if (exe[l] != '/')
			continue;
		if (root_len + l + 2 >= sizeof(path)) {
			*flags |= HW_EXEC_EXE_UNSAFE_DIR; /* not checked: not trusted */
			return;
		}
		memcpy(path + root_len, exe, l ? l : 1);
		path[root_len + (l ? l : 1)] = 0;
		if (lstat(path, &st) || !S_ISDIR(st.st_mode) || st.st_uid || (st.st_mode & 0022)) {
			*flags |= HW_EXEC_EXE_UNSAFE_DIR;
			return;
		}
	}
}

struct snap_entry {
	struct hw_proc k;
	char *exe, *cwd, *args;
	__u32 args_len;
};

static int cmp_pid(const void *a, const void *b)
{
	const struct snap_entry *x = a, *y = b;

	return x->k.pid < y->k.pid ? -1 : x->k.pid > y->k.pid;
}

static const struct snap_entry *find_pid(const struct snap_entry *v, size_t n, __u32 pid)
{
	struct snap_entry key = {.k.pid = pid};

	return bsearch(&key, v, n, sizeof(*v), cmp_pid);
}

int hw_snapshot__procs(struct hw_proc_table *t, const char *proc_root, __u32 netns, __u32 skip_pid,
		       hw_snapshot_cb cb, void *ctx)
{
	struct snap_entry *v = NULL;
	size_t n = 0, cap = 0, i;
	struct dirent *d;
	DIR *dir;
	int count = 0;

	dir = opendir(proc_root);
	if (!dir)
		return -errno;
	/* read everything first: a parent's start time is needed for each entity id */
	while ((d = readdir(dir))) {
		struct snap_entry e;
		char *end;
		unsigned long pid = strtoul(d->d_name, &end, 10);
		int kthread = 0;

		if (*end || !pid || pid == skip_pid)
			continue;
		if (hw_snapshot__read_proc(proc_root, (__u32)pid, 1, &e.k, &e.exe, &e.cwd, &e.args,
					   &e.args_len, &kthread))
			continue; /* exited meanwhile */
		if (kthread || (netns && e.k.netns != netns)) {
			free(e.exe);
			free(e.cwd);
			free(e.args);
			continue;
		}
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 256;
			struct snap_entry *nv = realloc(v, ncap * sizeof(*nv));

			if (!nv) {
				free(e.exe);
				free(e.cwd);
				free(e.args);
				break;
			}
			v = nv;
			cap = ncap;
		}
		v[n++] = e;
	}
	closedir(dir);
	qsort(v, n, sizeof(*v), cmp_pid);
	for (i = 0; i < n; i++) {
		struct snap_entry *e = &v[i];
		const struct snap_entry *parent = find_pid(v, n, e->k.ppid);

		/* read_proc was given 1 ns per tick: the starts are still in ticks here */
		if (parent) {
			e->k.parent_start_ns = parent->k.start_ns;
		} else if (e->k.ppid) {
			/* the parent lives in another netns or is a kernel thread: ask /proc */
			struct snap_entry pe;
			int kt;

			if (!hw_snapshot__read_proc(proc_root, e->k.ppid, 1, &pe.k, &pe.exe,
						    &pe.cwd, &pe.args, &pe.args_len, &kt)) {
				e->k.parent_start_ns = pe.k.start_ns;
				free(pe.exe);
				free(pe.cwd);
				free(pe.args);
			}
		}
	}
	for (i = 0; i < n; i++) {
		struct snap_entry *e = &v[i];
		struct hw_process *p;
		__u64 tick = hw_proc_table__ns_per_tick(t);
		__u32 flags = e->args_len >= HW_ARGS_MAX ? HW_EXEC_ARGS_TRUNCATED : 0;
		size_t l = e->exe ? strlen(e->exe) : 0;

		/* what the kernel says of an exe that is gone */
		if (l > 10 && !strcmp(e->exe + l - 10, " (deleted)")) {
			e->exe[l - 10] = 0;
			flags |= HW_EXEC_EXE_UNLINKED;
		}
		__u32 exe_uid = (__u32)-1, exe_mode = 0;

		exe_owner(proc_root, e->k.pid, e->exe, &exe_uid, &exe_mode, &flags);
		e->k.start_ns *= tick;
		e->k.parent_start_ns *= tick;
		p = hw_proc_table__upsert(t, &e->k);
		if (p && !hw_process__set_image(p, e->exe, e->cwd, e->args, e->args_len, flags)) {
			hw_process__set_exe_owner(p, exe_uid, exe_mode);
			p->flags |= HW_PROC_SNAPSHOT;
			hw_snapshot__stdio(proc_root, e->k.pid, p->stdio);
			p->stdio_known = 1;
			if (cb)
				cb(p, ctx);
			count++;
		}
		free(e->exe);
		free(e->cwd);
		free(e->args);
	}
	free(v);
	return count;
}
