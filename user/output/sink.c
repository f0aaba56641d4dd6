/* Buffered line sinks over a file descriptor. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "output/sink.h"

#define SINK_BUF (256 << 10)

struct hw_sink {
	int fd;
	int owned; /* fd is ours to close (a file, not stdout) */
	char *path;
	size_t len;
	char buf[SINK_BUF];
};

static int open_file(const char *path)
{
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

struct hw_sink *hw_sink__new(const char *path)
{
	struct hw_sink *s = malloc(sizeof(*s));

	if (!s)
		return NULL;
	s->len = 0;
	s->path = NULL;
	if (!path || !strcmp(path, "-")) {
		s->fd = STDOUT_FILENO;
		s->owned = 0;
		return s;
	}
	s->path = strdup(path);
	s->fd = s->path ? open_file(path) : -1;
	if (s->fd < 0) {
		int err = s->path ? errno : ENOMEM;

		free(s->path);
		free(s);
		errno = err;
		return NULL;
	}
	s->owned = 1;
	return s;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int hw_sink__flush(struct hw_sink *s)
{
	int err;

	if (!s->len)
		return 0;
	err = write_all(s->fd, s->buf, s->len);
	s->len = 0;
	return err;
}

int hw_sink__write(struct hw_sink *s, const char *line, size_t len)
{
	int err;

	if (s->len + len > SINK_BUF) {
		err = hw_sink__flush(s);
		if (err)
			return err;
	}
	if (len > SINK_BUF)
		return write_all(s->fd, line, len);
	memcpy(s->buf + s->len, line, len);
	s->len += len;
	return 0;
}

int hw_sink__reopen(struct hw_sink *s)
{
	int fd;

	if (!s->owned)
		return 0;
	hw_sink__flush(s);
	fd = open_file(s->path);
	if (fd < 0)
		return -errno; /* keep writing to the old file */
	close(s->fd);
	s->fd = fd;
	return 0;
}

const char *hw_sink__name(const struct hw_sink *s)
{
	return s->path ? s->path : "stdout";
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
