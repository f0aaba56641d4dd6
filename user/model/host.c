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
	h->key[1] =
	    hw_siphash((__u64[2]){0x68776b6579000002ULL, 0}, h->boot_id, strlen(h->boot_id));
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

static void two_digits(char *o, unsigned int v)
{
	o[0] = (char)('0' + v / 10);
	o[1] = (char)('0' + v % 10);
}

void hw_format_time(__u64 wall_ns, char out[HW_TIME_LEN])
{
	/* an event's time, its process's and its connection's starts: a few seconds recur, so
	 * the date of the last four seen is kept, and computed without gmtime/snprintf (the
	 * agent formats several times per event) */
	static __thread __u64 cached_sec[4] = {~0ULL, ~0ULL, ~0ULL, ~0ULL};
	static __thread char prefixes[4][20];
	static __thread unsigned int next;
	__u64 sec = wall_ns / 1000000000ULL;
	unsigned long nsec = (unsigned long)(wall_ns % 1000000000ULL);
	char *prefix = NULL;
	int i;

	for (i = 0; i < 4; i++)
		if (cached_sec[i] == sec)
			prefix = prefixes[i];
	if (!prefix) {
		/* days since 1970-01-01 to the civil date, in 400-year eras from 0000-03-01 */
		__u64 days = sec / 86400, era, doe, yoe, doy, mp;
		unsigned int sod = (unsigned int)(sec % 86400), y, m, d;

		prefix = prefixes[next]; /* the slots are replaced in turn */

		days += 719468; /* 0000-03-01 to 1970-01-01 */
		era = days / 146097;
		doe = days - era * 146097;
		yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
		doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
		mp = (5 * doy + 2) / 153;
		d = (unsigned int)(doy - (153 * mp + 2) / 5 + 1);
		m = (unsigned int)(mp < 10 ? mp + 3 : mp - 9);
		y = (unsigned int)((yoe + era * 400 + (m <= 2)) % 10000);
		two_digits(prefix, y / 100);
		two_digits(prefix + 2, y % 100);
		prefix[4] = '-';
		two_digits(prefix + 5, m);
		prefix[7] = '-';
		two_digits(prefix + 8, d);
		prefix[10] = 'T';
		two_digits(prefix + 11, sod / 3600);
		prefix[13] = ':';
		two_digits(prefix + 14, sod / 60 % 60);
		prefix[16] = ':';
		two_digits(prefix + 17, sod % 60);
		prefix[19] = '.';
		cached_sec[next] = sec;
		next = (next + 1) & 3;
	}
	memcpy(out, prefix, 20);
	for (i = 28; i >= 20; i--) {
		out[i] = (char)('0' + nsec % 10);
		nsec /= 10;
	}
	out[29] = 'Z';
	out[30] = 0;
}
