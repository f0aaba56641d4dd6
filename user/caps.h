/* Capability drop once the BPF programs are attached and the start-up snapshot is read: the
 * agent then holds no capability (see hw_caps__drop for the one exception) and can never
 * gain privileges again. Raw capget/capset and prctl, no libcap. */
#ifndef HW_CAPS_H
#define HW_CAPS_H

#include <stddef.h>
#include <linux/types.h>

#define HW_CAP_BIT(cap) (1ULL << (cap))

/* One thread's capability sets, bit n = capability n. */
struct hw_caps {
	__u64 effective;
	__u64 permitted;
	__u64 inheritable;
};

/* The calling thread's sets (capget). Returns 0 or a negative errno. */
int hw_caps__get(struct hw_caps *c);

/* Reduces the effective and permitted sets to keep (what of it the process holds), empties
 * the inheritable and ambient sets, drops everything else from the bounding set when
 * CAP_SETPCAP allows it (a service manager that withheld CAP_SETPCAP has limited the bounding
 * set already), and sets no_new_privs. The agent keeps nothing (keep 0): what its running
 * work needs from privileges (a sock_diag socket per network namespace, the BPF objects) is
 * opened before. CAP_BPF is kept anyway on kernels that refuse every bpf() command without
 * it (before 5.19, with kernel.unprivileged_bpf_disabled set): the agent still reads its maps
 * (counters); the seccomp filter (seccomp.h) then allows only map commands.
 *
 * A no-op returning 0 when the process holds no capability at all (not privileged in the
 * first place). Capabilities belong to a thread: call it while the process has one thread,
 * after the last load and attach. Returns 0, or a negative errno with err saying what failed
 * (the process may then hold fewer capabilities than before, never more). */
int hw_caps__drop(__u64 keep, char *err, size_t errlen);

#endif
