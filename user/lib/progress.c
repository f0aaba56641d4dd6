/* Progress on standard error for long reads (see progress.h). */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/progress.h"

#define FIRST_NS    250000000ull /* nothing for inputs read within a quarter second */
#define EVERY_NS    250000000ull /* then at most four times a second */
#define CHECK_EVERY 64		 /* lines between two looks at the clock */

void hw_progress__start(struct hw_progress *p, const char *name, int in_fd)
{
	struct stat st;

	memset(p, 0, sizeof(*p));
	p->fd = isatty(STDERR_FILENO) ? STDERR_FILENO : -1;
	if (p->fd < 0)
		return;
	p->name = name;
	if (in_fd >= 0 && !fstat(in_fd, &st) && S_ISREG(st.st_mode))
		p->total = (unsigned long long)st.st_size;
	p->t0 = p->last = hw_clock__mono_ns();
}

static void human_bytes(char *out, size_t n, unsigned long long v)
{
	if (v >= 1ull << 30)
		snprintf(out, n, "%.1f GiB", (double)v / (1ull << 30));
	else if (v >= 1ull << 20)
		snprintf(out, n, "%.1f MiB", (double)v / (1ull << 20));
	else
		snprintf(out, n, "%.1f KiB", (double)v / 1024);
}

static void draw(struct hw_progress *p, unsigned long long now)
{
	char line[512], done[32], total[32];
	double secs = (double)(now - p->t0) / 1e9;
	double rate = secs > 0 ? (double)p->events / secs : 0;
	int n;

	human_bytes(done, sizeof(done), p->done);
	if (p->total) {
		human_bytes(total, sizeof(total), p->total);
		n = snprintf(
		    line, sizeof(line), "\rhopwatch: %s: %s of %s (%u%%), %.0f events/s\033[K",
		    p->name, done, total,
		    (unsigned int)(p->done >= p->total ? 100 : p->done * 100 / p->total), rate);
	} else {
		n = snprintf(line, sizeof(line), "\rhopwatch: %s: %s, %.0f events/s\033[K", p->name,
			     done, rate);
	}
	if (n > 0 && (size_t)n < sizeof(line) && write(p->fd, line, (size_t)n) == n)
		p->drawn = 1;
}

void hw_progress__line(struct hw_progress *p, size_t len)
{
	unsigned long long now;

	if (p->fd < 0)
		return;
	p->done += len;
	p->events++;
	if (++p->calls % CHECK_EVERY)
		return;
	now = hw_clock__mono_ns();
	if (now - p->t0 < FIRST_NS || now - p->last < EVERY_NS)
		return;
	p->last = now;
	draw(p, now);
}

void hw_progress__end(struct hw_progress *p)
{
	static const char erase[] = "\r\033[K";

	if (p->fd >= 0 && p->drawn && write(p->fd, erase, sizeof(erase) - 1) < 0)
		p->drawn = 0; /* nothing to do: the terminal is gone */
	p->fd = -1;
}
