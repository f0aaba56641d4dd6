/* hopwatch check: the same preflight, load and attach steps as run, reported one by one. */
#include <errno.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "check.h"
#include "hopwatch.skel.h"
#include "loader.h"

/* What a degraded feature costs, for the check's reader. */
static const char *hw_degraded_why(const char *name)
{
	if (!strcmp(name, HW_DEGRADED_SOCKET_COOKIE))
		return "bpf_get_socket_cookie is not allowed in tracing programs before Linux "
		       "5.12; TCP connections are keyed by socket address and start time instead "
		       "(every TCP event is still reported)";
	return "";
}

int hw_check(FILE *out)
{
	struct hw_loader_opts lo = {
	    .agent_tgid = (__u32)getpid(),
	    .args_max = HW_ARGS_MAX_DEFAULT,
	    .ringbuf_size = 1 << 20,
	    .wakeup_bytes = 1 << 17,
	};
	struct hw_loader l = {0};
	struct bpf_program *prog;
	struct utsname u;
	int failed = 0;

	if (uname(&u) == 0)
		fprintf(out, "kernel:     %s %s %s\n", u.sysname, u.release, u.machine);
	if (hw_loader__preflight(&l)) {
		fprintf(out, "preflight:  FAILED: %s\n", l.err);
		return 1;
	}
	fprintf(out, "btf:        ok (/sys/kernel/btf/vmlinux)\n");
	fprintf(out, "privileges: ok (root)\n");
	if (hw_loader__open(&l, &lo) || hw_loader__want_stats(&l) || hw_loader__load(&l)) {
		fprintf(out, "load:       FAILED: %s\n", l.err);
		hw_loader__close(&l);
		return 1;
	}
	fprintf(out, "load:       ok (ring buffer, %s)\n", "tracepoints");
	if (!l.ndegraded)
		fprintf(out, "degraded:   none\n");
	for (int i = 0; i < l.ndegraded; i++)
		fprintf(out, "degraded:   %s: %s\n", l.degraded[i], hw_degraded_why(l.degraded[i]));
	bpf_object__for_each_program(prog, l.skel->obj)
	{
		struct bpf_link *link;
		long insns;
		char vi[32] = "";

		if (!bpf_program__autoload(prog)) {
			/* run leaves it out too: a syscall this kernel does not have */
			fprintf(out, "program:    %-20s %-32s skipped: no such tracepoint\n",
				bpf_program__name(prog), bpf_program__section_name(prog));
			continue;
		}
		link = hw_loader__attach_one(&l, prog);
		insns = hw_loader__verified_insns(&l, prog);

		/* the instructions the verifier walked: growth shows before a kernel refuses */
		if (insns >= 0)
			snprintf(vi, sizeof(vi), "%ld insns", insns);
		if (link) {
			fprintf(out, "program:    %-20s %-32s %12s  ok\n", bpf_program__name(prog),
				bpf_program__section_name(prog), vi);
			bpf_link__destroy(link);
		} else if (!strncmp(bpf_program__name(prog), "handle_pam_", 11) && !l.libpam[0]) {
			/* run tolerates this: logins are still followed through sockets and
			 * audit ids */
			fprintf(out, "program:    %-20s %-32s skipped: no libpam\n",
				bpf_program__name(prog), bpf_program__section_name(prog));
		} else {
			fprintf(out, "program:    %-20s %-32s FAILED: %s\n",
				bpf_program__name(prog), bpf_program__section_name(prog),
				strerror(errno));
			failed = 1;
		}
	}
	fprintf(out, "libpam:     %s\n",
		l.libpam[0] ? l.libpam : "not found: login failures will not be reported");
	hw_loader__close(&l);
	fprintf(out, "result:     %s\n",
		failed ? "hopwatch run would fail" : "hopwatch run would work");
	return failed;
}
