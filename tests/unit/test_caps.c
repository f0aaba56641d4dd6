/* Unit tests of the capability drop (user/caps.c). The drop cannot be undone, so every case
 * runs in a forked child that reports what it holds afterwards through a pipe. Without root
 * the privileged cases run in a new user namespace, where the child holds every capability
 * of that namespace; as root they also run with the real ones. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/capability.h>

#include "test.h"
#include "caps.h"

#ifndef CAP_BPF
#define CAP_BPF 39
#endif

#define BIT HW_CAP_BIT

enum base {
	BASE_UNPRIVILEGED, /* every capability given up first */
	BASE_USERNS,	   /* a new user namespace: all of its capabilities */
	BASE_ROOT,	   /* the real ones: only when the test runs as root */
};

struct outcome {
	int setup_err; /* errno of a failed setup step; the drop did not run */
	char setup_what[64];
	int rc;
	char err[256];
	struct hw_caps caps;
	__u64 bounding;
	int ambient; /* any ambient capability left */
	int nnp;
	int setuid_err; /* errno of setresuid(65534) afterwards, 0 if it worked */
};

struct child_opts {
	enum base base;
	__u64 keep;	    /* what hw_caps__drop() is asked to keep (the agent: nothing) */
	__u64 limit;	    /* when not 0: reduce to these (effective, permitted) first */
	int ambient_ptrace; /* raise CAP_SYS_PTRACE into the ambient set first */
	int drop_twice;
	int thread; /* start a second thread first */
};

static int caps_set(__u64 eff, __u64 prm, __u64 inh)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[2] = {
	    {(__u32)eff, (__u32)prm, (__u32)inh},
	    {(__u32)(eff >> 32), (__u32)(prm >> 32), (__u32)(inh >> 32)},
	};

	return syscall(SYS_capset, &hdr, d) ? -errno : 0;
}

static int setup_fail(struct outcome *o, const char *what)
{
	o->setup_err = errno ? errno : EINVAL;
	snprintf(o->setup_what, sizeof(o->setup_what), "%s", what);
	return -1;
}

static void *idle_thread(void *arg)
{
	pause();
	return arg;
}

static int setup(const struct child_opts *c, struct outcome *o)
{
	pthread_t t;

	struct hw_caps cur;

	switch (c->base) {
	case BASE_UNPRIVILEGED:
		if (caps_set(0, 0, 0))
			return setup_fail(o, "capset to nothing");
		break;
	case BASE_USERNS:
		if (unshare(CLONE_NEWUSER))
			return setup_fail(o, "unshare(CLONE_NEWUSER)");
		break;
	case BASE_ROOT:
		errno = EPERM;
		if (geteuid() != 0 || hw_caps__get(&cur) || !(cur.effective & BIT(CAP_SETPCAP)))
			return setup_fail(o, "root with CAP_SETPCAP");
		break;
	}
	/* what of the limit is held: a container may lack some (CAP_SYS_RESOURCE) */
	if (c->limit &&
	    (hw_caps__get(&cur) || caps_set(c->limit & cur.permitted, c->limit & cur.permitted, 0)))
		return setup_fail(o, "capset to the limit");
	if (c->ambient_ptrace) {
		if (hw_caps__get(&cur) ||
		    caps_set(cur.effective, cur.permitted, cur.inheritable | BIT(CAP_SYS_PTRACE)))
			return setup_fail(o, "capset inheritable");
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_SYS_PTRACE, 0, 0))
			return setup_fail(o, "PR_CAP_AMBIENT_RAISE");
	}
	if (c->thread && (errno = pthread_create(&t, NULL, idle_thread, NULL)))
		return setup_fail(o, "pthread_create");
	return 0;
}

static void observe(struct outcome *o)
{
	hw_caps__get(&o->caps);
	for (int cap = 0; cap < 64; cap++) {
		int in = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);

		if (in < 0)
			break;
		if (in)
			o->bounding |= BIT(cap);
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, cap, 0, 0) == 1)
			o->ambient = 1;
	}
	o->nnp = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
	o->setuid_err = setresuid(65534, 65534, 65534) ? errno : 0;
}

/* Runs the drop in a child set up as c asks; the child's view comes back in o. */
static bool run_child(const struct child_opts *c, struct outcome *o)
{
	int fds[2], status;
	pid_t pid;
	ssize_t n;

	memset(o, 0, sizeof(*o));
	if (!CHECK(pipe(fds) == 0))
		return false;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct outcome r = {0};

		close(fds[0]);
		if (!setup(c, &r)) {
			r.rc = hw_caps__drop(c->keep, r.err, sizeof(r.err));
			if (!r.rc && c->drop_twice)
				r.rc = hw_caps__drop(c->keep, r.err, sizeof(r.err));
			observe(&r);
		}
		n = write(fds[1], &r, sizeof(r));
		_exit(n == (ssize_t)sizeof(r) ? 0 : 1);
	}
	close(fds[1]);
	if (!CHECK(pid > 0)) {
		close(fds[0]);
		return false;
	}
	n = read(fds[0], o, sizeof(*o));
	close(fds[0]);
	waitpid(pid, &status, 0);
	return CHECK_EQ(n, sizeof(*o)) && CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* Whether the base can be set up here; prints why not. */
static bool available(const struct outcome *o, const char *name)
{
	if (!o->setup_err)
		return true;
	printf("    %s: %s failed (%s), case not run here\n", name, o->setup_what,
	       strerror(o->setup_err));
	return false;
}

/* The kept set is exact, except CAP_BPF which a kernel before 5.19 may need kept. */
static bool check_dropped(const struct outcome *o, __u64 keep, int full_bounding_drop)
{
	bool ok = true;
	__u64 eff = o->caps.effective & ~BIT(CAP_BPF);

	if (o->rc)
		printf("    drop failed: %s\n", o->err);
	ok &= CHECK_EQ(o->rc, 0);
	ok &= CHECK_EQ(eff, keep);
	ok &= CHECK_EQ(o->caps.permitted, o->caps.effective);
	ok &= CHECK_EQ(o->caps.inheritable, 0);
	ok &= CHECK_EQ(o->ambient, 0);
	ok &= CHECK_EQ(o->nnp, 1);
	if (full_bounding_drop)
		ok &= CHECK_EQ(o->bounding, o->caps.permitted);
	return ok;
}

TEST(caps_get_matches_proc_status)
{
	struct hw_caps c;
	unsigned long long eff = ~0ULL, prm = ~0ULL, inh = ~0ULL;
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");

	if (!CHECK(f))
		return;
	while (fgets(line, sizeof(line), f)) {
		sscanf(line, "CapEff: %llx", &eff);
		sscanf(line, "CapPrm: %llx", &prm);
		sscanf(line, "CapInh: %llx", &inh);
	}
	fclose(f);
	if (!CHECK_EQ(hw_caps__get(&c), 0))
		return;
	CHECK_EQ(c.effective, eff);
	CHECK_EQ(c.permitted, prm);
	CHECK_EQ(c.inheritable, inh);
}

TEST(caps_drop_is_a_noop_without_privileges)
{
	struct child_opts c = {.base = BASE_UNPRIVILEGED};
	struct outcome o;

	if (!run_child(&c, &o) || !available(&o, "unprivileged"))
		return;
	CHECK_EQ(o.rc, 0);
	CHECK_EQ(o.caps.effective, 0);
	CHECK_EQ(o.caps.permitted, 0);
	CHECK_EQ(o.nnp, 0); /* untouched: nothing was done */
}

static void drop_case(enum base base, const char *name, __u64 keep)
{
	struct child_opts c = {.base = base, .keep = keep};
	struct outcome o;

	if (!run_child(&c, &o) || !available(&o, name))
		return;
	if (!check_dropped(&o, keep, 1))
		printf("    %s: effective %#llx bounding %#llx\n", name,
		       (unsigned long long)o.caps.effective, (unsigned long long)o.bounding);
	if (base == BASE_ROOT)
		CHECK_EQ(o.setuid_err, EPERM); /* CAP_SETUID is gone */
}

TEST(caps_drop_in_user_namespace)
{
	drop_case(BASE_USERNS, "user namespace", 0);
	drop_case(BASE_USERNS, "user namespace, keeping CAP_SYS_PTRACE", BIT(CAP_SYS_PTRACE));
}

TEST(caps_drop_as_root)
{
	drop_case(BASE_ROOT, "root", 0); /* the agent's: nothing kept (CAP_BPF aside) */
	drop_case(BASE_ROOT, "root, keeping CAP_SYS_PTRACE", BIT(CAP_SYS_PTRACE));
}

static enum base privileged_base(void)
{
	return geteuid() == 0 ? BASE_ROOT : BASE_USERNS;
}

TEST(caps_drop_twice_is_harmless)
{
	struct child_opts c = {.base = privileged_base(), .drop_twice = 1};
	struct outcome o;

	if (!run_child(&c, &o) || !available(&o, "twice"))
		return;
	check_dropped(&o, 0, 1);
}

TEST(caps_drop_without_setpcap_keeps_bounding_set)
{
	/* a service manager that withheld CAP_SETPCAP: the bounding set stays as it gave it */
	__u64 given = BIT(CAP_SYS_PTRACE) | BIT(CAP_DAC_READ_SEARCH) | BIT(CAP_SYS_ADMIN) |
		      BIT(CAP_NET_ADMIN) | BIT(CAP_SYS_RESOURCE);
	struct child_opts c = {.base = privileged_base(), .limit = given};
	struct outcome o;

	if (!run_child(&c, &o) || !available(&o, "without CAP_SETPCAP"))
		return;
	check_dropped(&o, 0, 0);
	CHECK(o.bounding & BIT(CAP_NET_ADMIN)); /* could not be dropped, not an error */
}

TEST(caps_drop_keeps_only_what_is_held)
{
	/* permitted lacks CAP_DAC_READ_SEARCH: it cannot be gained, the rest is kept */
	__u64 given = BIT(CAP_SYS_PTRACE) | BIT(CAP_NET_RAW);
	struct child_opts c = {.base = privileged_base(),
			       .keep = BIT(CAP_SYS_PTRACE) | BIT(CAP_DAC_READ_SEARCH),
			       .limit = given};
	struct outcome o;

	if (!run_child(&c, &o) || !available(&o, "partial"))
		return;
	check_dropped(&o, BIT(CAP_SYS_PTRACE), 0);
}

TEST(caps_drop_clears_ambient)
{
	struct child_opts c = {.base = privileged_base(), .ambient_ptrace = 1};
	struct outcome o;

	if (!run_child(&c, &o) || !available(&o, "ambient"))
		return;
	check_dropped(&o, 0, 1);
}

TEST(caps_drop_refuses_threads)
{
	/* with a second thread only the caller would lose its capabilities: refused, and
	 * nothing is dropped */
	struct child_opts c = {.base = privileged_base(), .thread = 1};
	struct outcome o;

	if (!run_child(&c, &o) || !available(&o, "threads"))
		return;
	CHECK_EQ(o.rc, -EBUSY);
	CHECK(strstr(o.err, "2 threads") != NULL);
	CHECK(o.caps.permitted & BIT(CAP_SETPCAP));
	CHECK_EQ(o.nnp, 0);
}
