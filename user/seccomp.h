/* The seccomp allow-list of the running agent: once the BPF programs are attached, the
 * start-up snapshot is read and the capabilities are dropped, the agent only polls its ring
 * buffer, reads its maps, reads files, writes its outputs and spools, talks to its sinks
 * (libnats, OpenSSL, syslog over TCP, name lookups) and dumps sock_diag on the sockets it
 * opened before. Everything else is refused with EPERM: entering namespaces, mounting,
 * tracing or reading other processes' memory, loading BPF programs or kernel modules, kexec,
 * reboot, keyrings, perf events, executing programs, starting processes (threads only), new
 * user namespaces. Raw classic-BPF instructions (linux/filter.h, linux/seccomp.h), no
 * libseccomp: the static build keeps working. */
#ifndef HW_SECCOMP_H
#define HW_SECCOMP_H

#include <stddef.h>

/* Whether this build has a filter for the architecture it runs on (x86_64, aarch64). */
int hw_seccomp__supported(void);

/* Sets no_new_privs and installs the filter on every thread of the process
 * (SECCOMP_FILTER_FLAG_TSYNC); it cannot be removed. Returns 0, or a negative errno with err
 * saying what failed (-EOPNOTSUPP: no filter for this architecture). */
int hw_seccomp__install(char *err, size_t errlen);

#endif
