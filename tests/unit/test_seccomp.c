/* Unit tests of the agent's seccomp allow-list (user/seccomp.c): each probe runs twice, in a
 * forked child without the filter (the control) and in one that installed it with
 * hw_seccomp__install(), exactly as the agent does. A forbidden call must give EPERM under
 * the filter; the control shows that the refusal is the filter's (the call works, or fails
 * otherwise, without it). An allowed call must give the same result in both. No root needed;
 * as root the probes that need privileges (setns, unshare of a mount namespace) are refused
 * where the control succeeded. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <linux/netlink.h>
#include <linux/sockios.h>

#include "test.h"
#include "seccomp.h"

#define KILLED_BY(sig) (-1000 - (sig))

static char tmpdir[64];

static int neg_errno(long r)
{
	return r < 0 ? -errno : 0;
}

/* --- probes: 0 or -errno --- */

static int p_read_write(void)
{
	int fds[2];
	char c = 'x';

	if (pipe2(fds, O_CLOEXEC))
		return -errno;
	if (write(fds[1], &c, 1) != 1 || read(fds[0], &c, 1) != 1)
		return -errno;
	close(fds[0]);
	close(fds[1]);
	return c == 'x' ? 0 : -EIO;
}

static int p_clock_random(void)
{
	struct timespec ts;
	char b[16];

	if (clock_gettime(CLOCK_BOOTTIME, &ts) || clock_gettime(CLOCK_REALTIME, &ts))
		return -errno;
	return getrandom(b, sizeof(b), 0) == (ssize_t)sizeof(b) ? 0 : -errno;
}

static int p_proc_read(void)
{
	char buf[256];
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	return n > 0 ? 0 : -EIO;
}

/* what the spool and SIGHUP reopen do: create, lock, write, fsync, rename, unlink, mkdir */
static int p_files(void)
{
	char a[96], b[96];
	int fd, r = 0;

	snprintf(a, sizeof(a), "%s/seg.%d.tmp", tmpdir, (int)getpid());
	snprintf(b, sizeof(b), "%s/seg.%d", tmpdir, (int)getpid());
	fd = open(a, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) || write(fd, "line\n", 5) != 5 || fsync(fd) ||
	    fdatasync(fd) || ftruncate(fd, 5) || fchmod(fd, 0640) ||
	    fcntl(fd, F_SETLK, &(struct flock){.l_type = F_WRLCK}))
		r = -errno;
	close(fd);
	if (!r && (rename(a, b) || unlink(b)))
		r = -errno;
	snprintf(a, sizeof(a), "%s/dir.%d", tmpdir, (int)getpid());
	if (!r && mkdir(a, 0700))
		r = -errno;
	return r;
}

static void *thread_fn(void *arg)
{
	return arg;
}

/* libnats starts threads: glibc tries clone3, gets ENOSYS, falls back to clone */
static int p_thread(void)
{
	pthread_t t;
	void *ret = NULL;
	int e = pthread_create(&t, NULL, thread_fn, (void *)1);

	if (e)
		return -e;
	pthread_join(t, &ret);
	return ret == (void *)1 ? 0 : -EIO;
}

static int p_clone3(void)
{
#ifdef SYS_clone3
	return neg_errno(syscall(SYS_clone3, NULL, 0));
#else
	return -ENOSYS;
#endif
}

static int p_fork(void)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	if (pid < 0)
		return -errno;
	waitpid(pid, NULL, 0);
	return 0;
}

static int p_execve(void)
{
	char *argv[] = {"hw-nonexistent", NULL};

	execve("/nonexistent-hopwatch-test", argv, argv + 1);
	return -errno;
}

static int p_ptrace(void)
{
	return neg_errno(ptrace(PTRACE_TRACEME, 0, NULL, NULL));
}

static int p_process_vm_readv(void)
{
	char src[8] = "abcdefg", dst[8];
	struct iovec l = {dst, sizeof(dst)}, r = {src, sizeof(src)};

	return process_vm_readv(getpid(), &l, 1, &r, 1, 0) < 0 ? -errno : 0;
}

static int p_kill_other(void)
{
	return neg_errno(kill(getppid(), 0));
}

static int p_kill_self(void)
{
	return neg_errno(kill(getpid(), 0));
}

static int p_setns(void)
{
	int fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC), r;

	if (fd < 0)
		return -errno;
	r = neg_errno(setns(fd, CLONE_NEWNET));
	close(fd);
	return r;
}

static int p_unshare_user(void)
{
	return neg_errno(unshare(CLONE_NEWUSER));
}

static int p_unshare_mount(void)
{
	return neg_errno(unshare(CLONE_NEWNS));
}

static int p_mount(void)
{
	/* a remount of a path that does not exist: ENOENT or EPERM without the filter */
	return neg_errno(mount(NULL, "/nonexistent-hopwatch-test", NULL, MS_REMOUNT, NULL));
}

static int p_sock_diag(void)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);

	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

static int p_sock_inet(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), r, n;

	if (fd < 0)
		return -errno;
	r = neg_errno(ioctl(fd, SIOCOUTQ, &n));
	close(fd);
	return r;
}

static int p_sock_route(void)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);

	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

static int p_sock_packet(void)
{
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

static int p_tiocsti(void)
{
	int fds[2], r;
	char c = 'x';

	if (pipe2(fds, O_CLOEXEC))
		return -errno;
	r = neg_errno(ioctl(fds[0], TIOCSTI, &c));
	close(fds[0]);
	close(fds[1]);
	return r;
}

static int p_bpf_prog_load(void)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	return neg_errno(syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof(attr)));
}

static int p_bpf_map_lookup(void)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.map_fd = (__u32)-1;
	return neg_errno(syscall(SYS_bpf, BPF_MAP_LOOKUP_ELEM, &attr, sizeof(attr)));
}

static int p_perf_event_open(void)
{
	return neg_errno(syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0));
}

static int p_init_module(void)
{
	return neg_errno(syscall(SYS_init_module, NULL, 0, ""));
}

static int p_kexec(void)
{
	/* invalid flags: refused by the kernel before anything is loaded or unloaded */
	return neg_errno(syscall(SYS_kexec_load, 0, 0, NULL, 0xdead0000UL));
}

static int p_reboot(void)
{
	return neg_errno(syscall(SYS_reboot, 0, 0, 0, NULL)); /* bad magic: EINVAL */
}

static int p_keyctl(void)
{
	return neg_errno(syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3, 0));
}

static int p_memfd(void)
{
	int fd = memfd_create("hw", MFD_CLOEXEC);

	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

static int p_prctl_name(void)
{
	return neg_errno(prctl(PR_SET_NAME, "hw-probe", 0, 0, 0));
}

static int p_prctl_dumpable(void)
{
	return neg_errno(prctl(PR_SET_DUMPABLE, 1, 0, 0, 0));
}

static int p_chmod_path(void)
{
	return neg_errno(chmod(tmpdir, 0700));
}

enum want { ALLOWED, REFUSED };

static const struct probe {
	const char *name;
	int (*fn)(void);
	enum want want;
	int control_must_work;	/* the control succeeds here, as any user */
	int root_control_works; /* as root, the control succeeds */
} probes[] = {
    {"read/write", p_read_write, ALLOWED, 1, 1},
    {"clock_gettime/getrandom", p_clock_random, ALLOWED, 1, 1},
    {"/proc read", p_proc_read, ALLOWED, 1, 1},
    {"files", p_files, ALLOWED, 1, 1},
    {"pthread_create", p_thread, ALLOWED, 1, 1},
    {"kill self", p_kill_self, ALLOWED, 1, 1},
    {"socket inet + SIOCOUTQ", p_sock_inet, ALLOWED, 1, 1},
    {"socket netlink route", p_sock_route, ALLOWED, 1, 1},
    {"bpf map lookup", p_bpf_map_lookup, ALLOWED, 0, 0},
    {"prctl PR_SET_NAME", p_prctl_name, ALLOWED, 1, 1},
    {"fork", p_fork, REFUSED, 1, 1},
    {"execve", p_execve, REFUSED, 0, 0},
    {"ptrace", p_ptrace, REFUSED, 1, 1},
    {"process_vm_readv", p_process_vm_readv, REFUSED, 1, 1},
    {"kill other", p_kill_other, REFUSED, 1, 1},
    {"setns", p_setns, REFUSED, 0, 1},
    {"unshare user", p_unshare_user, REFUSED, 0, 1},
    {"unshare mount", p_unshare_mount, REFUSED, 0, 1},
    {"mount", p_mount, REFUSED, 0, 0},
    {"socket sock_diag", p_sock_diag, REFUSED, 1, 1},
    {"socket packet", p_sock_packet, REFUSED, 0, 1},
    {"ioctl TIOCSTI", p_tiocsti, REFUSED, 0, 0},
    {"bpf prog load", p_bpf_prog_load, REFUSED, 0, 0},
    {"perf_event_open", p_perf_event_open, REFUSED, 0, 0},
    {"init_module", p_init_module, REFUSED, 0, 0},
    {"kexec_load", p_kexec, REFUSED, 0, 0},
    {"reboot", p_reboot, REFUSED, 0, 0},
    {"keyctl", p_keyctl, REFUSED, 0, 0},
    {"memfd_create", p_memfd, REFUSED, 1, 1},
    {"prctl PR_SET_DUMPABLE", p_prctl_dumpable, REFUSED, 1, 1},
    {"chmod by path", p_chmod_path, REFUSED, 1, 1},
};

/* Runs fn in a child, under the filter when filtered: its result, KILLED_BY(sig) when a
 * signal ended it, or -10000 when the filter could not be installed. */
static int run_probe(int (*fn)(void), int filtered)
{
	int status, r;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		char err[256];

		if (filtered && hw_seccomp__install(err, sizeof(err))) {
			printf("    %s\n", err);
			fflush(stdout);
			_exit(255);
		}
		r = fn();
		_exit(r < 0 && r > -250 ? -r : r ? 251 : 0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -10001;
	if (WIFSIGNALED(status))
		return KILLED_BY(WTERMSIG(status));
	r = WEXITSTATUS(status);
	return r == 255 ? -10000 : -r;
}

TEST(seccomp_allows_the_agent_and_refuses_the_rest)
{
	int root = geteuid() == 0;
	char cmd[128];

	if (!CHECK(hw_seccomp__supported()))
		return;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/hw-seccomp-%d", (int)getpid());
	if (!CHECK(mkdir(tmpdir, 0700) == 0))
		return;
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		const struct probe *p = &probes[i];
		int control = run_probe(p->fn, 0), got = run_probe(p->fn, 1);
		bool ok = true;

		if (p->want == ALLOWED) {
			ok &= CHECK_EQ(got, control);
		} else {
			ok &= CHECK_EQ(got, -EPERM);
			if (p->control_must_work || (root && p->root_control_works))
				ok &= CHECK_EQ(control, 0);
		}
		if (!ok || getenv("HW_DBG"))
			printf("    probe '%s': control %d, filtered %d\n", p->name, control, got);
	}
	CHECK_EQ(run_probe(p_clone3, 1), -ENOSYS); /* what makes glibc fall back to clone */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd))
		printf("    could not remove %s\n", tmpdir);
}

#ifdef __x86_64__
static int p_x32(void)
{
	return neg_errno(syscall(0x40000000 | SYS_getpid));
}

TEST(seccomp_kills_a_foreign_abi)
{
	/* the same call through the x32 numbers: the process is killed, not let through */
	CHECK_EQ(run_probe(p_x32, 1), KILLED_BY(SIGSYS));
	CHECK(run_probe(p_x32, 0) != KILLED_BY(SIGSYS));
}
#endif

/* A thread started before the filter gets it too (SECCOMP_FILTER_FLAG_TSYNC): libnats'
 * threads, were they started first. */
static int sync_fds[2];

struct thread_result {
	int kill_other; /* kill(parent, 0): 0 or -errno */
	int seccomp;	/* Seccomp: of /proc/thread-self/status */
};

static void *waiting_thread(void *arg)
{
	struct thread_result *r = arg;
	char c, line[128];
	FILE *f;

	if (read(sync_fds[0], &c, 1) != 1)
		return NULL;
	r->kill_other = kill(getppid(), 0) ? -errno : 0;
	f = fopen("/proc/thread-self/status", "r");
	while (f && fgets(line, sizeof(line), f))
		sscanf(line, "Seccomp: %d", &r->seccomp);
	if (f)
		fclose(f);
	return NULL;
}

static int p_existing_thread(void)
{
	struct thread_result r = {1, -1};
	char err[256];
	pthread_t t;

	if (pipe(sync_fds) || pthread_create(&t, NULL, waiting_thread, &r))
		return -EIO;
	if (hw_seccomp__install(err, sizeof(err)))
		return -ENOTSUP;
	if (write(sync_fds[1], "x", 1) != 1)
		return -EIO;
	pthread_join(t, NULL);
	if (r.kill_other != -EPERM)
		return -EACCES;
	return r.seccomp == 2 ? 0 : -EINVAL;
}

TEST(seccomp_reaches_threads_started_before)
{
	CHECK_EQ(run_probe(p_existing_thread, 0), 0);
}
