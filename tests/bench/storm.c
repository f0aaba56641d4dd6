// SPDX-License-Identifier: GPL-2.0
/*
 * storm: the load generator of `make bench` (and of a few tests).
 *
 *   storm exec N      N sequential fork + execve("/bin/true") + waitpid
 *   storm fork N      N sequential fork + child _exit(0) + waitpid
 *   storm files N     N sequential creates of a new file (open O_CREAT|O_WRONLY, close) in a
 *                     fresh directory under /tmp ($HW_STORM_DIR instead when set: a tmpfs
 *                     keeps a loaded disk's noise out), outside the file watch set; the files
 *                     are removed after the timed loop (left, with their directory, when
 *                     $HW_STORM_KEEP is set: the caller removes them when it has measured)
 *   storm connect N   one TCP listener on 127.0.0.1 (ephemeral port), then N sequential
 *                     connections to it: socket + connect, accept, 1 byte written by the
 *                     client and read by the server, close the client, close the accepted
 *
 * One operation at a time, so the expected events are exact: for exec and fork, N forks
 * (and N execs of /bin/true) and N exits of children whose parent pid is ours; for connect,
 * one listen and, per connection, one successful connect, one accept and two closes (one
 * per socket, each having carried 1 byte client to server), all by this process.
 *
 * Prints one line, "pid=P ops=N failed=F elapsed=S", the wall time in seconds of the loop
 * alone (connect adds " port=L", the listener's port; files " dir=D", its directory). Exits 1 if
 * any operation failed, 2 on bad usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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
	static char *const argv[] = {"/bin/true", NULL};
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

/* The listener: 127.0.0.1, a port the kernel picks; its fd, or -1 (errno set). */
static int listener(struct sockaddr_in *addr)
{
	socklen_t len = sizeof(*addr);
	int fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	memset(addr, 0, sizeof(*addr));
	addr->sin_family = AF_INET;
	addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	addr->sin_port = 0;
	if (bind(fd, (struct sockaddr *)addr, sizeof(*addr)) || listen(fd, 16) ||
	    getsockname(fd, (struct sockaddr *)addr, &len)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* One connection to the listener and back to closed; 0 if every step worked. */
static int one_connect(int lfd, const struct sockaddr_in *addr)
{
	int c, s = -1, ret = -1;
	char b = 'x';
	ssize_t r;

	c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c < 0)
		return -1;
	if (connect(c, (const struct sockaddr *)addr, sizeof(*addr)))
		goto out;
	do
		s = accept(lfd, NULL, NULL);
	while (s < 0 && errno == EINTR);
	if (s < 0)
		goto out;
	do
		r = write(c, &b, 1);
	while (r < 0 && errno == EINTR);
	if (r != 1)
		goto out;
	b = 0;
	do
		r = read(s, &b, 1);
	while (r < 0 && errno == EINTR);
	if (r == 1 && b == 'x')
		ret = 0;
out:
	/* the client first: it closes first, the accepted socket answers */
	close(c);
	if (s >= 0)
		close(s);
	return ret;
}

/* One create: a new file in dir, opened for writing and closed. */
static int one_create(const char *dir, long i)
{
	char path[320];
	int fd;

	snprintf(path, sizeof(path), "%s/f%ld", dir, i);
	fd = open(path, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static void remove_all(const char *dir, long n)
{
	char path[320];

	for (long i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/f%ld", dir, i);
		unlink(path);
	}
	rmdir(dir);
}

int main(int argc, char **argv)
{
	char dir[200];
	long i, n, failed = 0;
	struct sockaddr_in addr;
	int mode, lfd = -1;
	double t0, t1;
	char *end;

	if (argc != 3 || (strcmp(argv[1], "exec") && strcmp(argv[1], "fork") &&
			  strcmp(argv[1], "connect") && strcmp(argv[1], "files"))) {
		fprintf(stderr, "usage: storm exec|fork|connect|files N\n");
		return 2;
	}
	mode = strcmp(argv[1], "files") ? argv[1][0] : 'F'; /* 'e', 'f', 'c' or 'F' */
	errno = 0;
	n = strtol(argv[2], &end, 10);
	if (errno || *end || n <= 0) {
		fprintf(stderr, "storm: bad count '%s'\n", argv[2]);
		return 2;
	}
	snprintf(dir, sizeof(dir), "%s/hw-storm-XXXXXX",
		 getenv("HW_STORM_DIR") ? getenv("HW_STORM_DIR") : "/tmp");
	if (mode == 'F' && !mkdtemp(dir)) {
		fprintf(stderr, "storm: mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	if (mode == 'c') {
		lfd = listener(&addr);
		if (lfd < 0) {
			fprintf(stderr, "storm: listener on 127.0.0.1: %s\n", strerror(errno));
			return 1;
		}
	}

	t0 = now();
	for (i = 0; i < n; i++)
		if (mode == 'c'	  ? one_connect(lfd, &addr)
		    : mode == 'F' ? one_create(dir, i)
				  : one(mode == 'e'))
			failed++;
	t1 = now();
	if (mode == 'F' && !getenv("HW_STORM_KEEP"))
		remove_all(dir, n);

	if (mode == 'c') {
		close(lfd);
		printf("pid=%ld ops=%ld failed=%ld elapsed=%.6f port=%u\n", (long)getpid(), n,
		       failed, t1 - t0, (unsigned)ntohs(addr.sin_port));
	} else {
		printf("pid=%ld ops=%ld failed=%ld elapsed=%.6f%s%s\n", (long)getpid(), n, failed,
		       t1 - t0, mode == 'F' ? " dir=" : "", mode == 'F' ? dir : "");
	}
	return failed ? 1 : 0;
}
