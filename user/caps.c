/* Capability drop once the BPF programs are attached (see caps.h). The kernel's interface is
 * used directly: capget/capset with the version 3 (64-bit) sets, and prctl for the bounding
 * set, the ambient set and no_new_privs. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <linux/capability.h>

#include "caps.h"

/* older uapi headers lack the 5.8 split of CAP_SYS_ADMIN */
#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

int hw_caps__get(struct hw_caps *c)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3] = {0};

	if (syscall(SYS_capget, &hdr, d))
		return -errno;
	c->effective = (__u64)d[1].effective << 32 | d[0].effective;
	c->permitted = (__u64)d[1].permitted << 32 | d[0].permitted;
	c->inheritable = (__u64)d[1].inheritable << 32 | d[0].inheritable;
	return 0;
}

static int caps_set(const struct hw_caps *c)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3] = {
	    {(__u32)c->effective, (__u32)c->permitted, (__u32)c->inheritable},
	    {(__u32)(c->effective >> 32), (__u32)(c->permitted >> 32),
	     (__u32)(c->inheritable >> 32)},
	};

	return syscall(SYS_capset, &hdr, d) ? -errno : 0;
}

/* Threads of this process, or 0 when /proc cannot tell. */
static int thread_count(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* Whether this kernel refuses bpf() commands on objects the process already holds (map
 * lookups) once the effective set lacks CAP_BPF and CAP_SYS_ADMIN. Before 5.19,
 * kernel.unprivileged_bpf_disabled blocked every command, not only map creation and program
 * loading. Probed with the effective set lowered (the permitted set stays, so the next capset
 * can still raise it): a lookup in fd -1 fails with EPERM there, EBADF elsewhere. */
static int bpf_needs_cap(const struct hw_caps *cur, __u64 keep)
{
	/* CAP_SETPCAP stays effective for the bounding set; it does not let bpf() through */
	struct hw_caps probe = {(keep | HW_CAP_BIT(CAP_SETPCAP)) & cur->effective, cur->permitted,
				cur->inheritable};
	union bpf_attr attr;
	int needs;

	if (caps_set(&probe))
		return 1; /* cannot tell: keep it */
	memset(&attr, 0, sizeof(attr));
	attr.map_fd = (__u32)-1;
	needs = syscall(SYS_bpf, BPF_MAP_LOOKUP_ELEM, &attr, sizeof(attr)) < 0 && errno == EPERM;
	return needs;
}

static int fail(char *err, size_t errlen, int ret, const char *what)
{
	snprintf(err, errlen, "cannot drop capabilities: %s: %s", what, strerror(-ret));
	return ret;
}

int hw_caps__drop(__u64 keep, char *err, size_t errlen)
{
	struct hw_caps cur, want, got;
	int ret, n;

	ret = hw_caps__get(&cur);
	if (ret)
		return fail(err, errlen, ret, "capget");
	if (!cur.permitted && !cur.effective && !cur.inheritable)
		return 0; /* not privileged: nothing to give up */
	n = thread_count();
	if (n > 1) {
		snprintf(
		    err, errlen,
		    "cannot drop capabilities: %d threads (only the calling one would lose them)",
		    n);
		return -EBUSY;
	}
	keep &= cur.permitted;
	if ((cur.permitted & HW_CAP_BIT(CAP_BPF)) && !(keep & HW_CAP_BIT(CAP_SYS_ADMIN)) &&
	    bpf_needs_cap(&cur, keep))
		keep |= HW_CAP_BIT(CAP_BPF);

	/* the bounding set limits what an execve could ever grant; changing it needs
	 * CAP_SETPCAP, which the capset below removes */
	if (cur.effective & HW_CAP_BIT(CAP_SETPCAP)) {
		for (int cap = 0; cap < 64; cap++) {
			int in = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);

			if (in < 0)
				break; /* EINVAL: past the kernel's last capability */
			if (in && !(keep & HW_CAP_BIT(cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0))
				return fail(err, errlen, -errno, "PR_CAPBSET_DROP");
		}
	}
	/* ambient capabilities survive execve; the agent executes nothing (EINVAL: a kernel
	 * before 4.3, which has no ambient set) */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) && errno != EINVAL)
		return fail(err, errlen, -errno, "PR_CAP_AMBIENT_CLEAR_ALL");
	want.effective = keep;
	want.permitted = keep;
	want.inheritable = 0;
	ret = caps_set(&want);
	if (ret)
		return fail(err, errlen, ret, "capset");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return fail(err, errlen, -errno, "PR_SET_NO_NEW_PRIVS");
	ret = hw_caps__get(&got);
	if (ret)
		return fail(err, errlen, ret, "capget");
	if (got.effective != want.effective || got.permitted != want.permitted ||
	    got.inheritable != want.inheritable) {
		snprintf(err, errlen,
			 "cannot drop capabilities: still holding effective %#llx permitted %#llx "
			 "inheritable %#llx after capset",
			 (unsigned long long)got.effective, (unsigned long long)got.permitted,
			 (unsigned long long)got.inheritable);
		return -EPERM;
	}
	return 0;
}
