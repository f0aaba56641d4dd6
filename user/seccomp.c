/* The seccomp allow-list of the running agent (see seccomp.h), as classic BPF.
 *
 * Layout: check the architecture (a foreign ABI kills the process: nothing in the agent uses
 * one, only an attacker would, e.g. int 0x80 or x32 numbers on x86_64), load the syscall
 * number, then one "equal: allow" pair per allowed call, argument checks for the few calls
 * whose arguments decide (clone, socket, ioctl, prctl, bpf, kill), and the default: EPERM.
 *
 * Why EPERM rather than killing: libraries probe optional calls and fall back when refused
 * (glibc's clone3 -> clone, rseq, OpenSSL's entropy sources), and a refused call of a library
 * path no test exercised costs a feature, where a kill would blind the host; the attacker
 * gains nothing from the errno. clone3 is refused with ENOSYS, which is what makes glibc fall
 * back to clone, whose flags a filter can read (clone3 passes them in memory). */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/audit.h>
#include <linux/bpf.h>
#include <linux/filter.h>
#include <linux/netlink.h>
#include <linux/perf_event.h>
#include <linux/seccomp.h>
#include <linux/sockios.h>
#include <sched.h>

#include "seccomp.h"

#if defined(__x86_64__)
#define HW_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define HW_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

#ifndef PR_SET_VMA
#define PR_SET_VMA 0x53564d41
#endif
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif

/* clone() flags that make anything but a thread of this process: new namespaces (a user
 * namespace needs no capability) */
#define HW_CLONE_NS                                                                                \
	(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | \
	 CLONE_NEWCGROUP | CLONE_NEWTIME)

#define HW_SC_MAX 512 /* instructions; the kernel takes 4096 */

#ifdef HW_AUDIT_ARCH

/* The low 32 bits of argument n (every argument checked here is an int or a u32). */
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define ARG_LO(n) (offsetof(struct seccomp_data, args) + 8 * (n) + 4)
#else
#define ARG_LO(n) (offsetof(struct seccomp_data, args) + 8 * (n))
#endif

#define RET_ALLOW SECCOMP_RET_ALLOW
#define RET_EPERM (SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA))

/* Calls allowed whatever their arguments, the frequent ones first (the list is scanned in
 * order). What each group is for: */
/* clang-format off */
static const int allowed[] = {
/* the poll loop: ring buffer (epoll, mmap'ed pages), sinks, streams, threads */
#ifdef __NR_epoll_wait
    __NR_epoll_wait,
#endif
    __NR_epoll_pwait,
#ifdef __NR_epoll_pwait2
    __NR_epoll_pwait2,
#endif
    __NR_read, __NR_write, __NR_futex, __NR_clock_gettime, __NR_readv, __NR_writev,
    __NR_pread64, __NR_pwrite64, __NR_close, __NR_lseek, __NR_recvfrom, __NR_recvmsg,
    __NR_sendto, __NR_sendmsg,
#ifdef __NR_poll
    __NR_poll,
#endif
    __NR_ppoll,
#ifdef __NR_select
    __NR_select,
#endif
    __NR_pselect6, __NR_epoll_ctl, __NR_epoll_create1,
#ifdef __NR_epoll_create
    __NR_epoll_create,
#endif
    /* files: /proc, /etc/passwd, outputs reopened on SIGHUP, spool segments and locks */
    __NR_openat,
#ifdef __NR_open
    __NR_open,
#endif
#ifdef __NR_fstat
    __NR_fstat,
#endif
#ifdef __NR_newfstatat
    __NR_newfstatat,
#endif
#ifdef __NR_stat
    __NR_stat, __NR_lstat,
#endif
#ifdef __NR_statx
    __NR_statx,
#endif
    __NR_fstatfs, __NR_statfs, __NR_faccessat,
#ifdef __NR_faccessat2
    __NR_faccessat2,
#endif
#ifdef __NR_access
    __NR_access,
#endif
    __NR_readlinkat,
#ifdef __NR_readlink
    __NR_readlink,
#endif
    __NR_getdents64,
#ifdef __NR_getdents
    __NR_getdents,
#endif
    __NR_getcwd, __NR_fcntl, __NR_flock, __NR_fsync, __NR_fdatasync, __NR_ftruncate,
    __NR_fallocate,
#ifdef __NR_renameat
    __NR_renameat,
#endif
#ifdef __NR_renameat2
    __NR_renameat2,
#endif
#ifdef __NR_rename
    __NR_rename,
#endif
    __NR_unlinkat,
#ifdef __NR_unlink
    __NR_unlink,
#endif
    __NR_mkdirat,
#ifdef __NR_mkdir
    __NR_mkdir,
#endif
    __NR_fchmod, __NR_umask, __NR_dup, __NR_dup3,
#ifdef __NR_dup2
    __NR_dup2,
#endif
    __NR_pipe2,
#ifdef __NR_pipe
    __NR_pipe,
#endif
    __NR_eventfd2,
#ifdef __NR_close_range
    __NR_close_range,
#endif
    /* memory */
    __NR_mmap, __NR_munmap, __NR_mprotect, __NR_mremap, __NR_brk, __NR_madvise,
    /* signals (SIGHUP reopen, SIGTERM stop), threads (libnats), time */
    __NR_rt_sigaction, __NR_rt_sigprocmask, __NR_rt_sigreturn, __NR_sigaltstack,
    __NR_restart_syscall, __NR_set_robust_list, __NR_get_robust_list, __NR_set_tid_address,
#ifdef __NR_rseq
    __NR_rseq,
#endif
    __NR_sched_yield, __NR_sched_getaffinity, __NR_getcpu, __NR_nanosleep,
    __NR_clock_nanosleep, __NR_clock_getres, __NR_gettimeofday,
#ifdef __NR_time
    __NR_time,
#endif
    __NR_exit, __NR_exit_group,
    /* identity and limits */
    __NR_getpid, __NR_gettid, __NR_getppid, __NR_getuid, __NR_geteuid, __NR_getgid,
    __NR_getegid, __NR_getresuid, __NR_getresgid, __NR_getgroups, __NR_uname, __NR_sysinfo,
    __NR_prlimit64,
#ifdef __NR_getrlimit
    __NR_getrlimit,
#endif
    __NR_getrusage, __NR_getrandom,
    /* sockets: NATS, syslog over TCP/TLS, name lookups (DNS over UDP, nscd, netlink route),
     * sock_diag dumps on the sockets opened at start-up (socket() itself is checked), the
     * control socket's clients (accept4) */
    __NR_connect, __NR_bind, __NR_accept4, __NR_shutdown, __NR_sendmmsg, __NR_recvmmsg,
    __NR_getsockopt, __NR_setsockopt, __NR_getsockname, __NR_getpeername, __NR_socketpair,
};
/* clang-format on */

struct prog {
	struct sock_filter f[HW_SC_MAX];
	unsigned int n;
	int overflow;
};

static void ins(struct prog *p, __u16 code, __u32 k, __u8 jt, __u8 jf)
{
	if (p->n == HW_SC_MAX) {
		p->overflow = 1;
		return;
	}
	p->f[p->n++] = (struct sock_filter)BPF_JUMP(code, k, jt, jf);
}

static void ret(struct prog *p, __u32 action)
{
	ins(p, BPF_RET | BPF_K, action, 0, 0);
}

static void load(struct prog *p, __u32 off)
{
	ins(p, BPF_LD | BPF_W | BPF_ABS, off, 0, 0);
}

/* if nr == syscall number: allow */
static void allow(struct prog *p, int nr)
{
	ins(p, BPF_JMP | BPF_JEQ | BPF_K, (__u32)nr, 0, 1);
	ret(p, RET_ALLOW);
}

/* if nr == syscall number: allowed when argument arg is one of vals, else EPERM. Every path
 * of the block returns: the syscall number stays loaded for the next check. */
static void allow_arg(struct prog *p, int nr, int arg, const __u32 *vals, unsigned int n)
{
	ins(p, BPF_JMP | BPF_JEQ | BPF_K, (__u32)nr, 0, (__u8)(2 * n + 2));
	load(p, ARG_LO(arg));
	for (unsigned int i = 0; i < n; i++) {
		ins(p, BPF_JMP | BPF_JEQ | BPF_K, vals[i], 0, 1);
		ret(p, RET_ALLOW);
	}
	ret(p, RET_EPERM);
}

#define ALLOW_ARG(p, nr, arg, ...)                                                                 \
	do {                                                                                       \
		const __u32 v_[] = {__VA_ARGS__};                                                  \
		allow_arg(p, nr, arg, v_, sizeof(v_) / sizeof(v_[0]));                             \
	} while (0)

static void build(struct prog *p, __u32 pid)
{
	p->n = 0;
	p->overflow = 0;
	load(p, offsetof(struct seccomp_data, arch));
	ins(p, BPF_JMP | BPF_JEQ | BPF_K, HW_AUDIT_ARCH, 1, 0);
	ret(p, SECCOMP_RET_KILL_PROCESS);
	load(p, offsetof(struct seccomp_data, nr));
#ifdef __x86_64__
	/* x32 numbers: the same calls through another ABI */
	ins(p, BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, 0, 1);
	ret(p, SECCOMP_RET_KILL_PROCESS);
#endif
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		allow(p, allowed[i]);

	/* threads only: a new process could exec or hold what the filter refuses; no namespace */
	ins(p, BPF_JMP | BPF_JEQ | BPF_K, __NR_clone, 0, 5);
	load(p, ARG_LO(0));
	ins(p, BPF_JMP | BPF_JSET | BPF_K, HW_CLONE_NS, 2, 0);
	ins(p, BPF_JMP | BPF_JSET | BPF_K, CLONE_THREAD, 0, 1);
	ret(p, RET_ALLOW);
	ret(p, RET_EPERM);
#ifdef __NR_clone3
	ins(p, BPF_JMP | BPF_JEQ | BPF_K, __NR_clone3, 0, 1);
	ret(p, SECCOMP_RET_ERRNO | ENOSYS);
#endif

	/* socket(): the families the sinks and name lookups use; netlink only for the routing
	 * family (getaddrinfo's AI_ADDRCONFIG): a new sock_diag socket is not needed */
	ins(p, BPF_JMP | BPF_JEQ | BPF_K, __NR_socket, 0, 12);
	load(p, ARG_LO(0));
	ins(p, BPF_JMP | BPF_JEQ | BPF_K, AF_UNIX, 0, 1);
	ret(p, RET_ALLOW);
	ins(p, BPF_JMP | BPF_JEQ | BPF_K, AF_INET, 0, 1);
	ret(p, RET_ALLOW);
	ins(p, BPF_JMP | BPF_JEQ | BPF_K, AF_INET6, 0, 1);
	ret(p, RET_ALLOW);
	ins(p, BPF_JMP | BPF_JEQ | BPF_K, AF_NETLINK, 0, 3);
	load(p, ARG_LO(2));
	ins(p, BPF_JMP | BPF_JEQ | BPF_K, NETLINK_ROUTE, 0, 1);
	ret(p, RET_ALLOW);
	ret(p, RET_EPERM);

	/* ioctl(): fd flags, queued bytes (SIOCINQ, SIOCOUTQ: the syslog sink), terminal size;
	 * no TIOCSTI (typing into a terminal) or device control. PERF_EVENT_IOC_DISABLE: libbpf
	 * detaching a perf-event link at the end (kernels before 5.15). */
	ALLOW_ARG(p, __NR_ioctl, 1, FIONREAD, SIOCOUTQ, FIONBIO, FIOCLEX, FIONCLEX, TCGETS,
		  TIOCGWINSZ, PERF_EVENT_IOC_DISABLE);
	/* prctl(): thread names and glibc's mapping names; not no_new_privs, seccomp, caps */
	ALLOW_ARG(p, __NR_prctl, 0, PR_SET_NAME, PR_GET_NAME, PR_GET_DUMPABLE, PR_SET_VMA);
	/* bpf(): map commands on the maps the agent holds (counters); no program or map
	 * creation, attach, pinning or object lookup by id */
	ALLOW_ARG(p, __NR_bpf, 0, BPF_MAP_LOOKUP_ELEM, BPF_MAP_UPDATE_ELEM, BPF_MAP_DELETE_ELEM,
		  BPF_MAP_GET_NEXT_KEY, BPF_OBJ_GET_INFO_BY_FD, BPF_MAP_LOOKUP_AND_DELETE_ELEM,
		  BPF_MAP_LOOKUP_BATCH, BPF_MAP_LOOKUP_AND_DELETE_BATCH, BPF_MAP_UPDATE_BATCH,
		  BPF_MAP_DELETE_BATCH);
	/* signals to itself only (raise, abort, pthread_kill) */
	ALLOW_ARG(p, __NR_kill, 0, pid);
	ALLOW_ARG(p, __NR_tgkill, 0, pid);

	ret(p, RET_EPERM);
}

int hw_seccomp__supported(void)
{
	return 1;
}

int hw_seccomp__install(char *err, size_t errlen)
{
	static struct prog p;
	struct sock_fprog fprog;
	long r;

	build(&p, (__u32)getpid());
	if (p.overflow) {
		snprintf(err, errlen,
			 "cannot install the seccomp filter: more than %d instructions", HW_SC_MAX);
		return -E2BIG;
	}
	fprog.len = (unsigned short)p.n;
	fprog.filter = p.f;
	/* without CAP_SYS_ADMIN the kernel takes a filter only under no_new_privs */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		int e = errno;

		snprintf(err, errlen, "cannot set no_new_privs: %s", strerror(e));
		return -e;
	}
	r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &fprog);
	if (r < 0) {
		int e = errno;

		snprintf(err, errlen, "cannot install the seccomp filter: %s", strerror(e));
		return -e;
	}
	if (r > 0) {
		/* TSYNC: the thread that could not take it (another filter of its own) */
		snprintf(err, errlen, "cannot install the seccomp filter: thread %ld refused it",
			 r);
		return -EBUSY;
	}
	return 0;
}

#else /* no filter for this architecture */

int hw_seccomp__supported(void)
{
	return 0;
}

int hw_seccomp__install(char *err, size_t errlen)
{
	snprintf(err, errlen, "no seccomp filter for this architecture");
	return -EOPNOTSUPP;
}

#endif
