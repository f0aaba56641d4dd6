/* Who and when: the host's identity, entity ids, and the kernel clock turned into wall time. */
#ifndef HW_HOST_H
#define HW_HOST_H

#include <stddef.h>
#include <linux/types.h>

#include "lib/hash.h" /* hw_siphash, which the host keys are for */
#include "lib/id.h"

#define HW_ENTITY_ID_LEN HW_ID_LEN /* 22 base64url characters of a 128-bit hash (lib/id.h) */

struct hw_host {
	char name[256]; /* host.name */
	char id[64];	/* host.id: /etc/machine-id */
	char boot_id[40];
	__s64 boot_to_real_ns; /* CLOCK_REALTIME - CLOCK_BOOTTIME, taken at start */
	__u64 ns_per_tick;     /* /proc starttime unit: 1e9 / sysconf(_SC_CLK_TCK) */
	__u64 key[2];	       /* hash key from id and boot_id: entity ids differ per boot */
};

/* Reads machine-id, boot id, hostname (unless name is given) and the clock offset. Returns 0
 * or a negative errno; a missing machine-id is not an error (host.id is then the boot id). */
int hw_host__init(struct hw_host *h, const char *name);

/* process.entity_id: the same for the same process whoever computes it (the BPF events and
 * the /proc snapshot both give the pid and the start time), unique across pid reuse, reboots
 * and hosts. start_ns is CLOCK_BOOTTIME; it is reduced to /proc's tick precision. */
void hw_host__entity_id(const struct hw_host *h, __u32 pid, __u64 start_ns,
			char out[HW_ENTITY_ID_LEN]);

/* CLOCK_BOOTTIME ns to wall-clock ns since the epoch. */
static inline __u64 hw_host__wall_ns(const struct hw_host *h, __u64 boot_ns)
{
	return (__u64)((__s64)boot_ns + h->boot_to_real_ns);
}

/* RFC 3339 UTC with nanoseconds: "2026-11-27T16:00:00.123456789Z" (30 bytes + NUL). */
#define HW_TIME_LEN 32
void hw_format_time(__u64 wall_ns, char out[HW_TIME_LEN]);

#endif
