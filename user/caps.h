/* Capability drop once the BPF programs are attached: the agent then keeps only what its
 * running work needs (reading /proc of every user for snapshots and socket owners, entering
 * network namespaces for sock_diag) and can never gain privileges again. Raw capget/capset
 * and prctl, no libcap. */
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

/* The capabilities kept after attach: CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH (the /proc of
 * other users: snapshots, owners of sockets, sessions), and CAP_SYS_ADMIN when
 * keep_sys_admin: setns() into another network namespace, which the periodic sock_diag
 * report does for every namespace a process is in, or for the --netns one; only an agent
 * that never leaves its own namespace can do without. */
__u64 hw_caps__keep_mask(int keep_sys_admin);

/* Reduces the effective and permitted sets to hw_caps__keep_mask() (what of it the process
 * holds), empties the inheritable and ambient sets, drops everything else from the bounding
 * set when CAP_SETPCAP allows it (a service manager that withheld CAP_SETPCAP has limited
 * the bounding set already), and sets no_new_privs. CAP_BPF is also kept on kernels that
 * refuse every bpf() command without it (before 5.19, with
 * kernel.unprivileged_bpf_disabled set): the agent still reads its maps (counters).
 *
 * A no-op returning 0 when the process holds no capability at all (not privileged in the
 * first place). Capabilities belong to a thread: call it while the process has one thread,
 * after the last load and attach. Returns 0, or a negative errno with err saying what failed
 * (the process may then hold fewer capabilities than before, never more). */
int hw_caps__drop(int keep_sys_admin, char *err, size_t errlen);

#endif
