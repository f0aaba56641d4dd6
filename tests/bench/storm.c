// SPDX-License-Identifier: GPL-2.0
/*
 * storm: the load generator of `make bench`.
 *
 *   storm exec N   N sequential fork + execve("/bin/true") + waitpid
 *   storm fork N   N sequential fork + child _exit(0) + waitpid
 *
 * One operation at a time, so every child's parent is this process and the expected
 * events are exact: N forks (and N execs of /bin/true) and N exits of children whose
 * parent pid is ours. Prints one line, "pid=P ops=N failed=F elapsed=S", the wall time
 * in seconds of the loop alone. Exits 1 if any child failed, 2 on bad usage.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One child: run /bin/true (do_exec) or leave at once; 0 if it exited 0. */
static int one(int do_exec)
{
	static char *const argv[] = { "/bin/true", NULL };
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		if (do_exec)
			execve(argv[0], argv, environ);
		_exit(do_exec ? 127 : 0);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -ECHILD;
}

int main(int argc, char **argv)
{
	long i, n, failed = 0;
	int do_exec;
	double t0, t1;
	char *end;

	if (argc != 3 || (strcmp(argv[1], "exec") && strcmp(argv[1], "fork"))) {
		fprintf(stderr, "usage: storm exec|fork N\n");
		return 2;
	}
	do_exec = !strcmp(argv[1], "exec");
	errno = 0;
	n = strtol(argv[2], &end, 10);
	if (errno || *end || n <= 0) {
		fprintf(stderr, "storm: bad count '%s'\n", argv[2]);
		return 2;
	}

	t0 = now();
	for (i = 0; i < n; i++)
		if (one(do_exec))
			failed++;
	t1 = now();

	printf("pid=%ld ops=%ld failed=%ld elapsed=%.6f\n", (long)getpid(), n, failed, t1 - t0);
	return failed ? 1 : 0;
}
