/* Loading the embedded BPF object (build/hopwatch.skel.h) and reading its ring buffer. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>

#include "hopwatch.skel.h"
#include "loader.h"

#define HW_PROGS_MAX 256

#define BTF_PATH "/sys/kernel/btf/vmlinux"

static int verbose;
static char last_libbpf_msg[384];

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char line[1024];

	if (verbose)
		return vfprintf(stderr, fmt, ap);
	if (level == LIBBPF_DEBUG)
		return 0;
	vsnprintf(line, sizeof(line), fmt, ap);
	line[strcspn(line, "\n")] = 0;
	/* keep the line that names a program, it says the most */
	if (strstr(line, "prog '") || !last_libbpf_msg[0])
		snprintf(last_libbpf_msg, sizeof(last_libbpf_msg), "%s", line);
	return 0;
}

void hw_loader__set_verbose(int v)
{
	verbose = v;
	libbpf_set_print(libbpf_print);
}

__attribute__((format(printf, 3, 4))) static int fail(struct hw_loader *l, int err, const char *fmt,
						      ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(l->err, sizeof(l->err), fmt, ap);
	va_end(ap);
	return err < 0 ? err : -err;
}

int hw_loader__preflight(struct hw_loader *l)
{
	struct stat st;

	libbpf_set_print(libbpf_print);
	if (stat(BTF_PATH, &st))
		return fail(l, -errno,
			    "kernel BTF not found at '%s': this kernel was built without "
			    "CONFIG_DEBUG_INFO_BTF, which hopwatch needs (CO-RE)",
			    BTF_PATH);
	if (geteuid() != 0)
		return fail(l, -EPERM, "hopwatch must run as root to load its BPF programs");
	/* syscall tracepoints (tp/syscalls) are attached through tracefs ids */
	if (access("/sys/kernel/tracing/events", F_OK) &&
	    access("/sys/kernel/debug/tracing/events", F_OK) &&
	    mount("nodev", "/sys/kernel/tracing", "tracefs", 0, NULL))
		return fail(l, -errno,
			    "tracefs is not mounted and mounting it on '/sys/kernel/tracing' "
			    "failed: %s",
			    strerror(errno));
	return 0;
}

/* Whether a tp_btf program on inet_sock_set_state may call bpf_get_socket_cookie on its
 * socket: the kernel's answer to the smallest such program (5.12 allowed it). */
static int probe_socket_cookie(void)
{
	struct bpf_insn insns[] = {
	    /* r1 = ctx[0], the struct sock; r0 = bpf_get_socket_cookie(r1); return 0 */
	    {.code = BPF_LDX | BPF_MEM | BPF_DW, .dst_reg = BPF_REG_1, .src_reg = BPF_REG_1},
	    {.code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_get_socket_cookie},
	    {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0},
	    {.code = BPF_JMP | BPF_EXIT},
	};
	struct btf *vmlinux = btf__load_vmlinux_btf();
	int id, fd;

	if (!vmlinux)
		return 0;
	id = btf__find_by_name_kind(vmlinux, "btf_trace_inet_sock_set_state", BTF_KIND_TYPEDEF);
	btf__free(vmlinux);
	if (id <= 0)
		return 0;
	LIBBPF_OPTS(bpf_prog_load_opts, po, .expected_attach_type = BPF_TRACE_RAW_TP,
		    .attach_btf_id = (__u32)id);
	fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, "hw_probe_cookie", "GPL", insns,
			   sizeof(insns) / sizeof(insns[0]), &po);
	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}

/* A syscall tracepoint this kernel has (openat2 came in 5.6, fchmodat2 in 6.6; arm64 has no
 * open, creat, rename, link, unlink, chmod or symlink). */
static int have_syscall_tp(const char *sec)
{
	char path[256];

	if (strncmp(sec, "tp/syscalls/", 12))
		return 1;
	snprintf(path, sizeof(path), "/sys/kernel/tracing/events/syscalls/%s", sec + 12);
	if (!access(path, F_OK))
		return 1;
	snprintf(path, sizeof(path), "/sys/kernel/debug/tracing/events/syscalls/%s", sec + 12);
	return !access(path, F_OK);
}

int hw_loader__open(struct hw_loader *l, const struct hw_loader_opts *o)
{
	struct bpf_program *prog;
	int err;

	libbpf_set_print(libbpf_print);
	l->libpam_opt = o->libpam;
	l->skel = hopwatch_bpf__open();
	if (!l->skel)
		return fail(l, -errno, "failed to open the embedded BPF object: %s",
			    strerror(errno));
	l->skel->rodata->hw_agent_tgid = o->agent_tgid;
	l->skel->rodata->hw_netns_filter = o->netns;
	l->skel->rodata->hw_args_max = o->args_max < HW_ARGS_MAX ? o->args_max : HW_ARGS_MAX;
	l->skel->rodata->hw_wakeup_bytes = o->wakeup_bytes;
	l->ndegraded = 0;
	/* the file programs of a syscall the kernel does not have are left out */
	bpf_object__for_each_program(
	    prog, l->skel->obj) if (!have_syscall_tp(bpf_program__section_name(prog)))
	    bpf_program__set_autoload(prog, false);
	if (probe_socket_cookie())
		l->skel->rodata->hw_cookie_helper = 1;
	else
		l->degraded[l->ndegraded++] = HW_DEGRADED_SOCKET_COOKIE;
	if (o->conn_table_max) {
		err = bpf_map__set_max_entries(l->skel->maps.conns, o->conn_table_max);
		if (err)
			return fail(l, err, "invalid connection map size %u: %s", o->conn_table_max,
				    strerror(-err));
	}
	err = bpf_map__set_max_entries(l->skel->maps.events, (__u32)o->ringbuf_size);
	if (err)
		return fail(l, err, "invalid ring buffer size %llu: %s",
			    (unsigned long long)o->ringbuf_size, strerror(-err));
	return 0;
}

int hw_loader__load(struct hw_loader *l)
{
	int err;

	last_libbpf_msg[0] = 0;
	err = hopwatch_bpf__load(l->skel);
	if (err)
		return fail(l, err, "failed to load the BPF programs: %s%s%s", strerror(-err),
			    last_libbpf_msg[0] ? ": " : "", last_libbpf_msg);
	return 0;
}

#define STATS_LOG_SIZE 1024

int hw_loader__want_stats(struct hw_loader *l)
{
	struct bpf_program *prog;
	size_t n = 0, i = 0;

	bpf_object__for_each_program(prog, l->skel->obj) n++;
	free(l->stats_log);
	l->stats_log = calloc(n ? n : 1, STATS_LOG_SIZE);
	if (!l->stats_log)
		return fail(l, -ENOMEM, "out of memory");
	l->stats_len = n;
	bpf_object__for_each_program(prog, l->skel->obj)
	{
		/* level 4: the statistics only ("processed N insns ..."), since 5.2 */
		bpf_program__set_log_buf(prog, l->stats_log + i++ * STATS_LOG_SIZE, STATS_LOG_SIZE);
		bpf_program__set_log_level(prog, 4);
	}
	return 0;
}

long hw_loader__verified_insns(struct hw_loader *l, const struct bpf_program *prog)
{
	const char *s;
	size_t size;

	if (!l->stats_log)
		return -1;
	s = bpf_program__log_buf(prog, &size);
	s = s ? strstr(s, "processed ") : NULL;
	return s ? strtol(s + 10, NULL, 10) : -1;
}

/* libpam as the dynamic linker would find it on common layouts */
static const char *find_libpam(const char *opt)
{
	static const char *const paths[] = {
	    "/lib/x86_64-linux-gnu/libpam.so.0",
	    "/usr/lib/x86_64-linux-gnu/libpam.so.0",
	    "/lib/aarch64-linux-gnu/libpam.so.0",
	    "/usr/lib/aarch64-linux-gnu/libpam.so.0",
	    "/usr/lib64/libpam.so.0",
	    "/lib64/libpam.so.0",
	    "/usr/lib/libpam.so.0",
	    "/lib/libpam.so.0",
	    NULL,
	};

	if (opt)
		return access(opt, R_OK) == 0 ? opt : NULL;
	for (int i = 0; paths[i]; i++)
		if (access(paths[i], R_OK) == 0)
			return paths[i];
	return NULL;
}

/* The libpam function and kind of probe of each login program. */
static int pam_target(const char *prog, const char **func, int *ret)
{
	static const struct {
		const char *prog, *func;
		int ret;
	} t[] = {
	    {"handle_pam_start", "pam_start", 0},
	    {"handle_pam_auth_ret", "pam_authenticate", 1},
	    {"handle_pam_acct_ret", "pam_acct_mgmt", 1},
	    {"handle_pam_open_ret", "pam_open_session", 1},
	    {"handle_pam_close", "pam_close_session", 0},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (!strcmp(prog, t[i].prog)) {
			*func = t[i].func;
			*ret = t[i].ret;
			return 1;
		}
	}
	return 0;
}

struct bpf_link *hw_loader__attach_one(struct hw_loader *l, struct bpf_program *prog)
{
	const char *func, *lib;
	int ret;

	if (!pam_target(bpf_program__name(prog), &func, &ret))
		return bpf_program__attach(prog);
	lib = find_libpam(l->libpam_opt);
	if (!lib) {
		errno = ENOENT;
		return NULL;
	}
	snprintf(l->libpam, sizeof(l->libpam), "%s", lib);
	LIBBPF_OPTS(bpf_uprobe_opts, uo, .func_name = func, .retprobe = ret);
	return bpf_program__attach_uprobe_opts(prog, -1, lib, 0, &uo);
}

int hw_loader__attach(struct hw_loader *l)
{
	struct bpf_program *prog;
	const char *func;
	int ret;

	bpf_object__for_each_program(prog, l->skel->obj)
	{
		struct bpf_link *link;

		if (!bpf_program__autoload(prog))
			continue; /* not loaded: this kernel lacks its tracepoint */
		link = hw_loader__attach_one(l, prog);

		if (!link && pam_target(bpf_program__name(prog), &func, &ret)) {
			/* no libpam: logins are still seen through sockets and audit ids */
			snprintf(l->warn, sizeof(l->warn),
				 "login probes not attached (%s in libpam%s%s): password failures "
				 "will not be reported",
				 func, l->libpam[0] ? " " : ": not found", l->libpam);
			continue;
		}

		if (!link) {
			int err = -errno;

			return fail(l, err, "failed to attach '%s': %s", bpf_program__name(prog),
				    strerror(-err));
		}
		/* the skeleton destroys links it knows; keep ours with the programs */
		for (int i = 0; i < l->skel->skeleton->prog_cnt; i++)
			if (*l->skel->skeleton->progs[i].prog == prog)
				*l->skel->skeleton->progs[i].link = link;
	}
	return 0;
}

int hw_loader__ring(struct hw_loader *l, ring_buffer_sample_fn fn, void *ctx)
{
	l->rb = ring_buffer__new(bpf_map__fd(l->skel->maps.events), fn, ctx, NULL);
	if (!l->rb)
		return fail(l, -errno, "failed to map the ring buffer: %s", strerror(errno));
	return 0;
}

int hw_loader__stats(struct hw_loader *l, __u64 out[HW_STAT_MAX])
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 vals[ncpu > 0 ? ncpu : 1];

	memset(out, 0, sizeof(__u64) * HW_STAT_MAX);
	if (ncpu <= 0)
		return ncpu;
	for (__u32 i = 0; i < HW_STAT_MAX; i++) {
		int err = bpf_map__lookup_elem(l->skel->maps.stats, &i, sizeof(i), vals,
					       sizeof(__u64) * (size_t)ncpu, 0);

		if (err)
			return err;
		for (int c = 0; c < ncpu; c++)
			out[i] += vals[c];
	}
	return 0;
}

/* The links' detach, on threads: each waits in the kernel for its own grace period (~50 ms on
 * 6.x), and the ~60 programs one after the other made a stop take 3-4 s. */
#define DETACH_THREADS 16

struct detach {
	struct bpf_link **links[HW_PROGS_MAX];
	size_t n, next;
};

static void *detach_some(void *arg)
{
	struct detach *d = arg;
	size_t i;

	while ((i = __atomic_fetch_add(&d->next, 1, __ATOMIC_RELAXED)) < d->n) {
		bpf_link__destroy(*d->links[i]);
		*d->links[i] = NULL;
	}
	return NULL;
}

static void detach_all(struct hw_loader *l)
{
	struct detach d = {0};
	pthread_t t[DETACH_THREADS];
	int started = 0;

	if (!l->skel || !l->skel->skeleton)
		return;
	for (int i = 0; i < l->skel->skeleton->prog_cnt && d.n < HW_PROGS_MAX; i++)
		if (l->skel->skeleton->progs[i].link && *l->skel->skeleton->progs[i].link)
			d.links[d.n++] = l->skel->skeleton->progs[i].link;
	for (; started < DETACH_THREADS && (size_t)started < d.n; started++)
		if (pthread_create(&t[started], NULL, detach_some, &d))
			break;
	detach_some(&d); /* and this thread too, all of them when none could start */
	for (int i = 0; i < started; i++)
		pthread_join(t[i], NULL);
}

void hw_loader__close(struct hw_loader *l)
{
	ring_buffer__free(l->rb);
	l->rb = NULL;
	detach_all(l);
	hopwatch_bpf__destroy(l->skel);
	l->skel = NULL;
	free(l->stats_log);
	l->stats_log = NULL;
}
