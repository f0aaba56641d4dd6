/* The agent's control socket (agent.control_socket): a unix stream socket, mode 0600 in a
 * directory of root's, where `hopwatch sessions` asks the running agent for its state. Only a
 * peer whose credentials (SO_PEERCRED) say uid 0 is answered, whatever the file's mode; anyone
 * else gets one line saying so. The answer is the agent's model as hopwatch ECS JSON lines —
 * every live process (existing_process), every open remote session (existing_session), every
 * open connection with its bytes now (existing_connection), then the alerts since
 * the start (the last HW_CONTROL_ALERTS) — the lines a recording holds, so the sessions command
 * reads them as it reads files. The listening socket is non-blocking; the poll loop waits on it
 * with the ring buffer, and a client is answered in the round after it connects (the dump is
 * built in memory, then sent with a timeout). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent/agent_int.h"

#define SEND_TIMEOUT_S 2

static int set_error(char *why, size_t len, const char *what, int err)
{
	snprintf(why, len, "%s: %s", what, strerror(err));
	return -err;
}

/* The socket's directory, made 0700 (root's) when missing; one that exists must not be
 * writable by others (a planted socket or a swapped one). */
static int make_dir(const char *path, char *why, size_t len)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;
	struct stat st;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0; /* in / */
	*slash = 0;
	if (mkdir(dir, 0700) && errno != EEXIST)
		return set_error(why, len, dir, errno);
	if (lstat(dir, &st))
		return set_error(why, len, dir, errno);
	if (!S_ISDIR(st.st_mode))
		return set_error(why, len, dir, ENOTDIR);
	if (st.st_uid != 0 || (st.st_mode & 0022)) {
		snprintf(why, len, "%s is not root's alone (owner %u, mode %04o)", dir,
			 (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
		return -EPERM;
	}
	return 0;
}

int hw_agent__control_open(struct hw_agent *a, char *why, size_t len)
{
	const char *path = a->cfg->control_socket;
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct stat st;
	mode_t old;
	int fd, err;

	a->control_fd = -1;
	if (!path || !*path)
		return 0;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	err = make_dir(path, why, len);
	if (err)
		return err;
	if (!lstat(path, &st)) {
		/* a live agent answers there: leave it be; a stale socket of a dead one goes */
		int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (probe < 0)
			return set_error(why, len, "socket", errno);
		if (!S_ISSOCK(st.st_mode)) {
			close(probe);
			snprintf(why, len, "%s exists and is not a socket", path);
			return -EEXIST;
		}
		if (!connect(probe, (struct sockaddr *)&sun, sizeof(sun))) {
			close(probe);
			snprintf(why, len, "another agent answers at %s", path);
			return -EADDRINUSE;
		}
		close(probe);
		if (unlink(path) && errno != ENOENT)
			return set_error(why, len, path, errno);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return set_error(why, len, "socket", errno);
	old = umask(0177); /* born 0600: no moment where others could connect */
	err = bind(fd, (struct sockaddr *)&sun, sizeof(sun)) ? errno : 0;
	umask(old);
	if (err || listen(fd, 8) || stat(path, &st)) {
		err = err ? err : errno;
		close(fd);
		return set_error(why, len, path, err);
	}
	a->control_fd = fd;
	a->control_dev = st.st_dev;
	a->control_ino = st.st_ino;
	return 0;
}

void hw_agent__control_close(struct hw_agent *a)
{
	struct stat st;

	if (a->control_fd < 0)
		return;
	close(a->control_fd);
	a->control_fd = -1;
	/* only the file it made: another agent may have taken the path since */
	if (!stat(a->cfg->control_socket, &st) && st.st_dev == a->control_dev &&
	    st.st_ino == a->control_ino)
		unlink(a->cfg->control_socket);
}

static void send_all(int fd, const char *buf, size_t n)
{
	while (n) {
		ssize_t w = send(fd, buf, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return; /* gone, or too slow: the timeout */
		buf += w;
		n -= (size_t)w;
	}
}

static void existing_proc(struct hw_process *p, void *ctx)
{
	if (!(p->flags & HW_PROC_EXITED))
		hw_agent__existing_proc(ctx, p);
}

/* The model in the order `hopwatch sessions` reads a snapshot in (ir/sessions_live.c):
 * processes, sessions, connections (their bytes go to their sessions); then the alerts kept. */
static void dump_state(struct hw_agent *a)
{
	hw_proc_table__each(a->procs, existing_proc, a);
	hw_agent__existing_sessions(a);
	hw_agent__existing_conns(a);
	hw_emit__capture_alerts(a);
}

static void answer(struct hw_agent *a, int fd)
{
	static const char refused[] =
	    "hopwatch: refused: only root may read the running agent's state\n";
	struct timeval tv = {.tv_sec = SEND_TIMEOUT_S};
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	int flags = fcntl(fd, F_GETFL);

	if (flags >= 0)
		fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) || clen != sizeof(cred) ||
	    cred.uid != 0) {
		send_all(fd, refused, sizeof(refused) - 1);
		return;
	}
	hw_emit__capture_begin(a);
	dump_state(a);
	send_all(fd, a->capture.buf, a->capture.len);
	hw_emit__capture_end(a);
}

void hw_agent__control_round(struct hw_agent *a)
{
	if (a->control_fd < 0 || !a->control_waiting)
		return;
	a->control_waiting = 0;
	/* more than 4 waiting: the socket is still readable, and the next wait says so */
	for (int i = 0; i < 4; i++) {
		int fd = accept4(a->control_fd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0)
			return; /* EAGAIN: the client went away */
		answer(a, fd);
		close(fd);
	}
}
