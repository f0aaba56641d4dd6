/* Reading a task's identity and paths from kernel memory (BPF side only). */
#ifndef HW_TASK_BPF_H
#define HW_TASK_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "hopwatch/events.h"
#include "maps.bpf.h"
#include "sock.bpf.h"

/* A task the agent should report: not the agent itself, and in the scoped netns if any.
 * (needs maps.bpf.h for the settings) */
static __always_inline int hw_wanted(struct task_struct *task)
{
	if (BPF_CORE_READ(task, tgid) == hw_agent_tgid)
		return 0;
	return !hw_netns_filter || BPF_CORE_READ(task, nsproxy, net_ns, ns.inum) == hw_netns_filter;
}

/* Fills what identifies and describes the process of task. cgroup_id is the current task's:
 * every caller runs in the process itself or in the parent a new child inherits it from. */
static __always_inline void hw_fill_proc(struct hw_proc *p, struct task_struct *task)
{
	struct task_struct *leader = BPF_CORE_READ(task, group_leader);
	struct task_struct *parent = BPF_CORE_READ(task, real_parent);
	const struct cred *cred = BPF_CORE_READ(task, real_cred);
	struct tty_struct *tty = BPF_CORE_READ(task, signal, tty);

	p->start_ns = BPF_CORE_READ(leader, start_boottime);
	p->parent_start_ns = BPF_CORE_READ(parent, group_leader, start_boottime);
	p->cgroup_id = bpf_get_current_cgroup_id();
	p->pid = BPF_CORE_READ(task, tgid);
	p->tid = BPF_CORE_READ(task, pid);
	p->ppid = BPF_CORE_READ(parent, tgid);
	p->uid = BPF_CORE_READ(cred, uid.val);
	p->euid = BPF_CORE_READ(cred, euid.val);
	p->gid = BPF_CORE_READ(cred, gid.val);
	p->egid = BPF_CORE_READ(cred, egid.val);
	/* loginuid/sessionid exist only with CONFIG_AUDIT(SYSCALL) */
	if (bpf_core_field_exists(task->loginuid)) {
		p->loginuid = BPF_CORE_READ(task, loginuid.val);
		p->sessionid = BPF_CORE_READ(task, sessionid);
	} else {
		p->loginuid = (__u32)-1;
		p->sessionid = (__u32)-1;
	}
	p->netns = BPF_CORE_READ(task, nsproxy, net_ns, ns.inum);
	p->tty_major = 0;
	p->tty_minor = 0;
	p->tty[0] = 0;
	if (tty) {
		p->tty_major = BPF_CORE_READ(tty, driver, major);
		p->tty_minor = BPF_CORE_READ(tty, driver, minor_start) + BPF_CORE_READ(tty, index);
		bpf_probe_read_kernel_str(p->tty, sizeof(p->tty), &tty->name);
	}
	bpf_probe_read_kernel_str(p->comm, sizeof(p->comm), &task->comm);
}

/* hw_read_path() result bits */
#define HW_PATH_CUT	 1 /* deeper than HW_PATH_DEPTH or longer than the buffer */
#define HW_PATH_UNLINKED 2 /* the file itself is no longer linked (deleted, memfd) */

static __always_inline long hw_read_name(struct hw_path *out, __u32 off, struct dentry *dentry)
{
	const unsigned char *name = BPF_CORE_READ(dentry, d_name.name);

	/* a fixed read size at a masked offset: provably inside names[] */
	return bpf_probe_read_kernel_str(&out->names[off & (HW_PATH_OFF_MAX - 1)], HW_PATH_NAME_MAX,
					 name);
}

/* A directory an unprivileged user could have placed a file in, or replace one in: not owned
 * by root, or writable by group or others (sticky /tmp included). */
#define HW_S_IWGRP_IWOTH 0022
static __always_inline int hw_dir_unsafe(struct dentry *dentry)
{
	struct inode *inode = BPF_CORE_READ(dentry, d_inode);

	return BPF_CORE_READ(inode, i_uid.val) != 0 ||
	       (BPF_CORE_READ(inode, i_mode) & HW_S_IWGRP_IWOTH);
}

/* Walks path from its dentry up to the global root, crossing mount points, and stores the
 * names leaf first (struct hw_path). Returns HW_PATH_* bits. With check_dirs, out->unsafe_dirs
 * counts the directories on the way (mount roots included) that hw_dir_unsafe() flags: a
 * root-owned program in such a directory is no more trustworthy than its directory.
 *
 * Verifier: the loop is bounded, and the running length and count live in out (map memory)
 * and are re-read through a volatile pointer each round, so the verifier sees the same
 * unknown-but-bounded scalar at every loop head and prunes; kept in registers, each branch
 * (mount crossing, name, root) would be explored separately and the walk exceeds the
 * 1M-instruction limit. */
static __always_inline int hw_read_path(struct hw_path *out, const struct path *path,
					int check_dirs)
{
	volatile __u16 *lenp = &out->len, *countp = &out->count;
	volatile __u32 *unsafep = &out->unsafe_dirs;
	struct dentry *dentry = BPF_CORE_READ(path, dentry);
	struct vfsmount *vfsmnt = BPF_CORE_READ(path, mnt);
	struct mount *mnt = container_of(vfsmnt, struct mount, mnt);
	int i, ret = 0;
	__u32 off;
	long n;

	*lenp = 0;
	*countp = 0;
	*unsafep = 0;
	if (!BPF_CORE_READ(dentry, d_hash.pprev) && BPF_CORE_READ(dentry, d_parent) != dentry)
		ret |= HW_PATH_UNLINKED;
	for (i = 0; i < HW_PATH_DEPTH; i++) {
		struct dentry *mnt_root = BPF_CORE_READ(vfsmnt, mnt_root);
		struct dentry *parent = BPF_CORE_READ(dentry, d_parent);

		/* every dentry after the first is a directory of the path */
		if (check_dirs && i > 0 && hw_dir_unsafe(dentry))
			*unsafep += 1;
		if (dentry == mnt_root) {
			struct mount *mnt_parent = BPF_CORE_READ(mnt, mnt_parent);

			if (mnt_parent == mnt)
				return ret; /* the root of the mount tree */
			dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
			mnt = mnt_parent;
			vfsmnt = __builtin_preserve_access_index(&mnt->mnt);
			continue;
		}
		off = *lenp;
		if (dentry == parent) {
			/* a pseudo file (memfd, pipe) is its own root: keep its name */
			if (!off && (n = hw_read_name(out, 0, dentry)) > 0) {
				*lenp = n;
				*countp = 1;
				ret |= HW_PATH_UNLINKED;
			}
			return ret;
		}
		if (off >= HW_PATH_OFF_MAX)
			break;
		n = hw_read_name(out, off, dentry);
		if (n <= 0)
			break;
		*lenp = off + n;
		*countp += 1;
		dentry = parent;
	}
	return ret | HW_PATH_CUT;
}

/* What the standard descriptors of task refer to after exec (HW_STDIO_*): a shell whose stdin
 * is a TCP socket is a reverse shell, and the first inet socket among them is read whole into
 * sock (family 0 when there is none): the other end is the responder's first question. Reads
 * the fd table as of now; each read is bounded. */
#define HW_S_IFMT      00170000
#define HW_S_IFSOCK    0140000
#define HW_S_IFCHR     0020000
#define HW_S_IFIFO     0010000
#define HW_S_IFREG     0100000
#define HW_SOCK_STREAM 1
#define HW_SOCK_DGRAM  2

static __always_inline __u8 hw_stdio_kind(struct file **fds, unsigned int max, int fd,
					  struct hw_sock_addr *first)
{
	struct file *f = NULL;
	struct socket *sock;
	struct sock *sk;
	umode_t mode;
	__u32 major;
	__u16 family;
	short type;

	if ((unsigned int)fd >= max)
		return HW_STDIO_CLOSED;
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	if (!f)
		return HW_STDIO_CLOSED;
	mode = BPF_CORE_READ(f, f_inode, i_mode);
	switch (mode & HW_S_IFMT) {
	case HW_S_IFSOCK:
		sock = BPF_CORE_READ(f, private_data);
		type = BPF_CORE_READ(sock, type);
		sk = BPF_CORE_READ(sock, sk);
		family = BPF_CORE_READ(sk, __sk_common.skc_family);
		if (family == 1 /* AF_UNIX */)
			return HW_STDIO_UNIX;
		if ((family == AF_INET || family == AF_INET6) && !first->family)
			hw_fill_addr(first, sk);
		if (family == AF_INET || family == AF_INET6)
			return type == HW_SOCK_STREAM  ? HW_STDIO_TCP
			       : type == HW_SOCK_DGRAM ? HW_STDIO_UDP
						       : HW_STDIO_SOCKET;
		return HW_STDIO_SOCKET;
	case HW_S_IFCHR:
		major = BPF_CORE_READ(f, f_inode, i_rdev) >> 20; /* MINORBITS */
		if (major >= 136 && major <= 143)
			return HW_STDIO_PTY;
		if (major == 4 || major == 5)
			return HW_STDIO_TTY;
		return HW_STDIO_CHAR;
	case HW_S_IFIFO:
		return HW_STDIO_PIPE;
	case HW_S_IFREG:
		return HW_STDIO_FILE;
	default:
		return HW_STDIO_UNKNOWN;
	}
}

static __always_inline void hw_fill_stdio(__u8 out[3], struct hw_sock_addr *sock,
					  struct task_struct *task)
{
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fds = BPF_CORE_READ(fdt, fd);
	unsigned int max = BPF_CORE_READ(fdt, max_fds);

	__builtin_memset(sock, 0, sizeof(*sock));
	out[0] = hw_stdio_kind(fds, max, 0, sock);
	out[1] = hw_stdio_kind(fds, max, 1, sock);
	out[2] = hw_stdio_kind(fds, max, 2, sock);
}

#endif
