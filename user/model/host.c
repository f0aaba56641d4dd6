/* Host identity, entity ids and time conversion. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/id.h"
#include "model/host.h"

static int read_line(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return buf[0] ? 0 : -ENODATA;
}

static __s64 clock_ns(clockid_t id)
{
	return (__s64)hw_clock__ns(id);
}

int hw_host__init(struct hw_host *h, const char *name)
{
	__s64 best = 0, best_gap = -1;
	long hz;
	int err;

	memset(h, 0, sizeof(*h));
	err = read_line("/proc/sys/kernel/random/boot_id", h->boot_id, sizeof(h->boot_id));
	if (err)
		return err;
	if (read_line("/etc/machine-id", h->id, sizeof(h->id)))
		snprintf(h->id, sizeof(h->id), "%s", h->boot_id);
	if (name && *name) {
		snprintf(h->name, sizeof(h->name), "%s", name);
	} else if (gethostname(h->name, sizeof(h->name) - 1) || !h->name[0]) {
		snprintf(h->name, sizeof(h->name), "localhost");
	}
	h->key[0] = hw_siphash((__u64[2]){0x68776b6579000001ULL, 0}, h->id, strlen(h->id));
	h->key[1] = hw_siphash((__u64[2]){0x68776b6579000002ULL, 0}, h->boot_id,
			       strlen(h->boot_id));
	/* the offset read between two REALTIME reads closest together is the most exact */
	for (int i = 0; i < 5; i++) {
		__s64 r0 = clock_ns(CLOCK_REALTIME), b = clock_ns(CLOCK_BOOTTIME);
		__s64 r1 = clock_ns(CLOCK_REALTIME);

		if (best_gap < 0 || r1 - r0 < best_gap) {
			best_gap = r1 - r0;
			best = r0 + (r1 - r0) / 2 - b;
		}
	}
	h->boot_to_real_ns = best;
	hz = sysconf(_SC_CLK_TCK);
	h->ns_per_tick = hz > 0 ? 1000000000ULL / (__u64)hz : 10000000ULL;
	return 0;
}

void hw_host__entity_id(const struct hw_host *h, __u32 pid, __u64 start_ns,
			char out[HW_ENTITY_ID_LEN])
{
	hw_id__process(h->key, pid, start_ns / h->ns_per_tick, out);
}

void hw_format_time(__u64 wall_ns, char out[HW_TIME_LEN])
{
	/* events come in bursts within one second: format the date once per second */
	static __thread time_t cached_sec = -1;
	static __thread char prefix[24];
	time_t sec = (time_t)(wall_ns / 1000000000ULL);
	unsigned long nsec = (unsigned long)(wall_ns % 1000000000ULL);
	int i;

	if (sec != cached_sec) {
		struct tm tm;

		gmtime_r(&sec, &tm);
		snprintf(prefix, sizeof(prefix), "%04d-%02d-%02dT%02d:%02d:%02d.",
			 (tm.tm_year + 1900) % 10000, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
			 tm.tm_min, tm.tm_sec);
		cached_sec = sec;
	}
	memcpy(out, prefix, 20);
	for (i = 28; i >= 20; i--) {
		out[i] = (char)('0' + nsec % 10);
		nsec /= 10;
	}
	out[29] = 'Z';
	out[30] = 0;
}
