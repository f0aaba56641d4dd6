/* The BPF side's lifecycle: open -> configure -> load -> attach -> poll, each a separate step
 * that reports what failed in one line naming the program and the cause. */
#ifndef HW_LOADER_H
#define HW_LOADER_H

#include <stddef.h>
#include <linux/types.h>
#include <bpf/libbpf.h>

#include "hopwatch/events.h"

struct hw_loader_opts {
	__u32 agent_tgid;     /* not traced */
	__u32 netns;	      /* network namespace inode to scope to, 0 = all */
	__u32 args_max;	      /* argv bytes per exec (clamped below HW_ARGS_MAX) */
	__u64 ringbuf_size;   /* bytes, a power of two */
	__u32 conn_table_max; /* entries of the kernel's connection map; 0 = built-in */
	const char *libpam;   /* path of libpam for the login probes; NULL = look for it */
	__u64 wakeup_bytes;   /* wake the reader once this much is queued */
};

struct hopwatch_bpf;

#define HW_DEGRADED_MAX 4
/* bpf_get_socket_cookie is not allowed in tracing programs (before 5.12): TCP connections
 * are keyed by socket address and start, and matched to sock_diag by address */
#define HW_DEGRADED_SOCKET_COOKIE "socket_cookie"

struct hw_loader {
	struct hopwatch_bpf *skel;
	struct ring_buffer *rb;
	char libpam[256]; /* the libpam the login probes are attached to, "" when none */
	char warn[512];	  /* a tolerated failure (no libpam), one line, "" when none */
	char err[512];	  /* the last failure, one line */
	const char *libpam_opt;
	/* what this kernel cannot do and the agent works around (hw_loader__open probes it):
	 * names from docs/install.md's list, for hopwatch check and agent-started */
	const char *degraded[HW_DEGRADED_MAX];
	int ndegraded;
	char *stats_log; /* hw_loader__want_stats: one verifier log per program */
	size_t stats_len;
};

/* Checks what the kernel needs before anything is loaded: kernel BTF, privileges. */
int hw_loader__preflight(struct hw_loader *l);
int hw_loader__open(struct hw_loader *l, const struct hw_loader_opts *o);
int hw_loader__load(struct hw_loader *l);
/* Between open and load: keep each program's verifier statistics. */
int hw_loader__want_stats(struct hw_loader *l);
/* After a load with hw_loader__want_stats: the instructions the verifier processed for prog,
 * -1 when unknown. */
long hw_loader__verified_insns(struct hw_loader *l, const struct bpf_program *prog);
int hw_loader__attach(struct hw_loader *l);
/* Attaches one program (the login probes to libpam); NULL with errno on failure. */
struct bpf_link *hw_loader__attach_one(struct hw_loader *l, struct bpf_program *prog);
/* Sets up the ring buffer reader calling fn(ctx, data, size) for every record. */
int hw_loader__ring(struct hw_loader *l, ring_buffer_sample_fn fn, void *ctx);
/* Sums the per-CPU counters into out[HW_STAT_MAX]. */
int hw_loader__stats(struct hw_loader *l, __u64 out[HW_STAT_MAX]);
void hw_loader__close(struct hw_loader *l);

/* When verbose, libbpf's messages go to stderr; otherwise only the last failure is kept for
 * hw_loader's error line. */
void hw_loader__set_verbose(int verbose);

#endif
