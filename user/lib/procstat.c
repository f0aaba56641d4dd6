/* /proc/PID/stat (see procstat.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/procstat.h"

int hw_procstat__parse(const char *text, struct hw_procstat *st)
{
	const char *open_p = strchr(text, '('), *close_p = strrchr(text, ')');
	size_t n;

	memset(st, 0, sizeof(*st));
	/* comm may hold spaces and parentheses: it is from the first '(' to the last ')' */
	if (!open_p || !close_p || close_p < open_p || close_p[1] != ' ')
		return -EBADMSG;
	n = (size_t)(close_p - open_p - 1);
	if (n >= sizeof(st->comm))
		n = sizeof(st->comm) - 1;
	memcpy(st->comm, open_p + 1, n);
	st->comm[n] = 0;
	/* after comm: state(3) ppid(4) pgrp session tty_nr(7) tpgid flags(9) minflt cminflt
	 * majflt cmajflt utime stime cutime cstime priority nice num_threads itrealvalue
	 * starttime(22) */
	if (sscanf(close_p + 2,
		   "%*c %u %*d %*d %u %*d %u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
		   &st->ppid, &st->tty_nr, &st->flags, &st->start_ticks) != 4)
		return -EBADMSG;
	return 0;
}

int hw_procstat__read(const char *proc_root, unsigned int pid, struct hw_procstat *st)
{
	char path[4096 + 32], buf[2048];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%u/stat", proc_root ? proc_root : "/proc", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	do
		n = read(fd, buf, sizeof(buf) - 1);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	close(fd);
	buf[n] = 0;
	return hw_procstat__parse(buf, st);
}
