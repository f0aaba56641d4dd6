// SPDX-License-Identifier: GPL-2.0
/*
 * floor: what any agent that reads events as hopwatch does must spend on this machine, with no
 * agent in it (`make bench` prints it beside the agent's CPU per event).
 *
 *   floor RATE SECONDS BYTES POLL_MS PATH
 *
 * Two phases of SECONDS each, as the agent's poll loop at a storm of RATE events a second:
 *   wake   the poll loop's sleep: epoll_wait() on an empty set, timing out every POLL_MS;
 *   write  the same, and each wake-up writes the round's events, RATE * POLL_MS / 1000 lines of
 *          BYTES bytes each (a fraction carried to the next round), to PATH in one write()
 * (appended: the agent's output file; PATH is created, truncated and removed at the end). Nothing
 * is read, decoded, judged or encoded: what is left of the agent's CPU per event once these are
 * taken away is all its own work.
 *
 * Prints one line, "wake_us=W write_us=X rounds=N": the CPU (user+system, from
 * /proc/self/schedstat: nanoseconds, not ticks) of each phase per event. Exits 1 when a system
 * call fails, 2 on bad usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

static unsigned long long cpu_ns(void)
{
	unsigned long long ns = 0;
	FILE *f = fopen("/proc/self/schedstat", "r");

	if (!f || fscanf(f, "%llu", &ns) != 1) {
		fprintf(stderr, "floor: cannot read /proc/self/schedstat\n");
		exit(1);
	}
	fclose(f);
	return ns;
}

/* CPU per event of rounds wake-ups, each writing that round's lines (per_round on average: a
 * fraction is carried to the next round, so the rounds write RATE * SECONDS lines in all) of
 * bytes each from buf to fd (fd < 0: none) */
static double phase(int ep, int fd, const char *buf, long bytes, double per_round, int rounds,
		    int poll_ms, double events)
{
	struct epoll_event ev;
	unsigned long long t0 = cpu_ns();
	double due = 0;

	for (int i = 0; i < rounds; i++) {
		size_t len;

		if (epoll_wait(ep, &ev, 1, poll_ms) < 0 && errno != EINTR) {
			perror("floor: epoll_wait");
			exit(1);
		}
		due += per_round;
		len = (size_t)due * (size_t)bytes;
		due -= (double)(size_t)due;
		for (size_t done = 0; fd >= 0 && done < len;) {
			ssize_t w = write(fd, buf + done, len - done);

			if (w <= 0) {
				perror("floor: write");
				exit(1);
			}
			done += (size_t)w;
		}
	}
	return (double)(cpu_ns() - t0) / 1e3 / events;
}

int main(int argc, char **argv)
{
	long rate, secs, bytes, poll_ms;
	int rounds, ep, fd;
	size_t cap;
	char *buf;
	double wake, wrote, per_round, events;

	if (argc != 6 || (rate = atol(argv[1])) < 1 || (secs = atol(argv[2])) < 1 ||
	    (bytes = atol(argv[3])) < 2 || (poll_ms = atol(argv[4])) < 1 || poll_ms > 1000) {
		fprintf(stderr, "usage: floor RATE SECONDS BYTES POLL_MS PATH\n");
		return 2;
	}
	rounds = (int)(secs * 1000 / poll_ms);
	events = (double)rate * (double)secs;
	per_round = (double)rate * (double)poll_ms / 1000.0;
	/* the most one round writes: its lines, and one carried */
	cap = ((size_t)per_round + 1) * (size_t)bytes;
	if (cap > (64u << 20)) {
		fprintf(stderr, "floor: a round of %zu bytes: out of range\n", cap);
		return 2;
	}
	buf = malloc(cap);
	ep = epoll_create1(EPOLL_CLOEXEC);
	fd = open(argv[5], O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
	if (!buf || ep < 0 || fd < 0) {
		fprintf(stderr, "floor: cannot set up (%s): %s\n", argv[5], strerror(errno));
		return 1;
	}
	/* lines of JSON-like text, a newline every BYTES bytes */
	for (size_t i = 0; i < cap; i++)
		buf[i] = (i + 1) % (size_t)bytes ? (char)('a' + i % 26) : '\n';
	wake = phase(ep, -1, buf, bytes, per_round, rounds, (int)poll_ms, events);
	wrote = phase(ep, fd, buf, bytes, per_round, rounds, (int)poll_ms, events);
	close(fd);
	unlink(argv[5]);
	printf("wake_us=%.3f write_us=%.3f rounds=%d\n", wake, wrote, rounds);
	return 0;
}
