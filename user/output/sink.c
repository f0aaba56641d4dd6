/* Buffered line sinks over a file descriptor: whole lines or counted losses (see sink.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "output/sink.h"

#define SINK_BUF (256 << 10)

struct hw_sink {
	int fd;
	int owned;    /* fd is ours to close (a file, not stdout) */
	int regular;  /* a regular file: a cut line can be truncated away */
	int pipe;     /* a pipe or socket: its reader can go away */
	int closed;   /* the reader has gone (EPIPE) */
	int failing;  /* the last write failed; lines are being lost */
	int resumed;  /* writing worked again after failing, not yet reported */
	int last_err; /* what failed last (positive errno) */
	unsigned long long lost, lost_outage;
	char *path;
	size_t len;
	char buf[SINK_BUF];
};

static void classify(struct hw_sink *s)
{
	struct stat st;

	s->regular = s->pipe = 0;
	if (fstat(s->fd, &st))
		return;
	s->regular = S_ISREG(st.st_mode);
	s->pipe = S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode);
}

/* Opens path for appending without following a symbolic link in its last component, and
 * refuses what another user could have planted there. Returns the fd or -errno. */
static int open_file(const char *path, char *err, size_t errlen)
{
	/* O_NONBLOCK: a FIFO without a reader fails (ENXIO) instead of hanging the agent */
	int fd =
	    open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0640);
	struct stat st;
	int e;

	if (fd < 0) {
		e = errno;
		if (e == ELOOP)
			snprintf(err, errlen,
				 "'%s' is a symbolic link (refused: output files are not opened "
				 "through links)",
				 path);
		else
			snprintf(err, errlen, "cannot open '%s': %s", path, strerror(e));
		return -e;
	}
	if (fstat(fd, &st) || fcntl(fd, F_SETFL, O_APPEND)) {
		e = errno;
		snprintf(err, errlen, "cannot open '%s': %s", path, strerror(e));
		goto fail;
	}
	if (st.st_uid != geteuid()) {
		e = EPERM;
		snprintf(err, errlen, "'%s' is owned by uid %u, not by this user (uid %u): refused",
			 path, (unsigned)st.st_uid, (unsigned)geteuid());
		goto fail;
	}
	if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
		e = EPERM;
		snprintf(err, errlen, "'%s' has %lu hard links: refused", path,
			 (unsigned long)st.st_nlink);
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -e;
}

struct hw_sink *hw_sink__open(const char *path, char *err, size_t errlen)
{
	struct hw_sink *s = calloc(1, sizeof(*s));
	int fd;

	if (!s) {
		snprintf(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	if (!path || !strcmp(path, "-")) {
		s->fd = STDOUT_FILENO;
		classify(s);
		return s;
	}
	s->path = strdup(path);
	fd = s->path ? open_file(path, err, errlen) : -ENOMEM;
	if (fd < 0) {
		if (fd == -ENOMEM && !s->path)
			snprintf(err, errlen, "out of memory");
		free(s->path);
		free(s);
		errno = -fd;
		return NULL;
	}
	s->fd = fd;
	s->owned = 1;
	classify(s);
	return s;
}

struct hw_sink *hw_sink__new(const char *path)
{
	char why[64 + 4096];

	return hw_sink__open(path, why, sizeof(why));
}

static size_t count_lines(const char *p, size_t n)
{
	size_t k = 0;

	for (const char *e = p + n; (p = memchr(p, '\n', (size_t)(e - p))); p++)
		k++;
	return k;
}

/* Writes p[0..n), whole lines (the first possibly the rest of a cut one). On a failure the
 * lines not written are counted lost, a line cut in the middle is truncated away (a regular
 * file) or its rest is returned in tail and tail_len to be written first next time. Returns 0
 * or -errno. */
static int write_lines(struct hw_sink *s, const char *p, size_t n, const char **tail,
		       size_t *tail_len)
{
	size_t done = 0, keep, cut, lost;
	int e = 0;

	*tail_len = 0;
	while (done < n) {
		ssize_t w = write(s->fd, p + done, n - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			e = w < 0 ? errno : EIO;
			break;
		}
		done += (size_t)w;
	}
	if (!e) {
		if (s->failing) {
			s->failing = 0;
			s->resumed = 1;
		}
		return 0;
	}
	if (e == EPIPE)
		s->closed = 1;
	/* keep: the end of the last whole line written; cut: bytes of a line written in part */
	for (keep = done; keep && p[keep - 1] != '\n'; keep--)
		;
	cut = done - keep;
	lost = count_lines(p + done, n - done);
	if (cut && s->regular) {
		off_t off = lseek(s->fd, 0, SEEK_CUR);

		if (off >= (off_t)cut && !ftruncate(s->fd, off - (off_t)cut) &&
		    lseek(s->fd, off - (off_t)cut, SEEK_SET) >= 0)
			cut = 0; /* the cut line is gone from the file: lost whole */
	}
	if (cut) {
		/* the rest of the cut line goes out first next time: it is not lost */
		const char *nl = memchr(p + done, '\n', n - done);

		*tail = p + done;
		*tail_len = nl ? (size_t)(nl - (p + done)) + 1 : n - done;
		lost -= lost ? 1 : 0;
	}
	s->lost += lost;
	s->lost_outage += lost;
	s->failing = 1;
	s->last_err = e;
	return -e;
}

int hw_sink__flush(struct hw_sink *s)
{
	const char *tail = NULL;
	size_t tail_len;
	int err;

	if (!s->len)
		return 0;
	err = write_lines(s, s->buf, s->len, &tail, &tail_len);
	if (tail_len)
		memmove(s->buf, tail, tail_len);
	s->len = tail_len;
	return err;
}

int hw_sink__write(struct hw_sink *s, const char *line, size_t len)
{
	const char *tail = NULL;
	size_t tail_len;
	int err = 0;

	if (s->len + len > SINK_BUF)
		err = hw_sink__flush(s);
	if (s->len + len <= SINK_BUF) {
		memcpy(s->buf + s->len, line, len);
		s->len += len;
		return err;
	}
	if (s->len) {
		/* a cut line is still waiting to be finished: this one cannot follow it yet */
		s->lost += count_lines(line, len);
		s->lost_outage += count_lines(line, len);
		return err ? err : -s->last_err;
	}
	/* longer than the buffer: written directly */
	err = write_lines(s, line, len, &tail, &tail_len);
	if (tail_len) {
		/* at most the buffer's size is kept; a longer rest is beyond repair */
		if (tail_len > SINK_BUF)
			tail_len = SINK_BUF;
		memcpy(s->buf, tail, tail_len);
		s->len = tail_len;
	}
	return err;
}

int hw_sink__reopen_err(struct hw_sink *s, char *err, size_t errlen)
{
	int fd;

	if (!s->owned)
		return 0;
	hw_sink__flush(s);
	fd = open_file(s->path, err, errlen);
	if (fd < 0)
		return fd; /* keep writing to the old file */
	close(s->fd);
	s->fd = fd;
	classify(s);
	return 0;
}

int hw_sink__reopen(struct hw_sink *s)
{
	char why[64 + 4096];
	int err = hw_sink__reopen_err(s, why, sizeof(why));

	if (err)
		errno = -err;
	return err;
}

const char *hw_sink__name(const struct hw_sink *s)
{
	return s->path ? s->path : "stdout";
}

unsigned long long hw_sink__lost(const struct hw_sink *s)
{
	return s->lost;
}

int hw_sink__last_error(const struct hw_sink *s)
{
	return s->last_err;
}

int hw_sink__resumed(struct hw_sink *s, unsigned long long *lost, int *err)
{
	if (!s->resumed)
		return 0;
	*lost = s->lost_outage;
	*err = s->last_err;
	s->resumed = 0;
	s->lost_outage = 0;
	return 1;
}

int hw_sink__closed(struct hw_sink *s)
{
	struct pollfd pfd = {.fd = s->fd};

	if (!s->closed && s->pipe && poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLERR | POLLHUP)))
		s->closed = 1;
	return s->closed;
}

void hw_sink__free(struct hw_sink *s)
{
	if (!s)
		return;
	hw_sink__flush(s);
	if (s->owned)
		close(s->fd);
	free(s->path);
	free(s);
}
