/* The line sinks (user/output/sink.c): whole lines or counted losses on a short write, links
 * and other users' files refused, a closed reader seen; and the bounded line reader
 * (user/lib/lineread.c). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/lineread.h"
#include "output/sink.h"
#include "fixtures.h"
#include "test.h"

/* Finding 10, without root: RLIMIT_FSIZE stops writes short as a full disk does. In a
 * child (the limit is per process); its exit code says which check failed. */
static int short_write_child(const char *path)
{
	struct rlimit rl = {.rlim_cur = 1000, .rlim_max = RLIM_INFINITY};
	char line[100], buf[8192];
	unsigned long long lost;
	struct hw_sink *s;
	int e, fd;
	ssize_t n;

	signal(SIGXFSZ, SIG_IGN);
	s = hw_sink__new(path);
	if (!s || setrlimit(RLIMIT_FSIZE, &rl))
		return 10;
	memset(line, 'x', sizeof(line));
	line[sizeof(line) - 1] = '\n';
	for (int i = 0; i < 30; i++) /* 3,000 bytes buffered */
		if (hw_sink__write(s, line, sizeof(line)))
			return 11;
	if (hw_sink__flush(s) != -EFBIG)
		return 12;
	/* 1,000 bytes fitted: 10 whole lines, no cut one, 20 lost */
	if (hw_sink__lost(s) != 20)
		return 13;
	if (hw_sink__resumed(s, &lost, &e))
		return 14; /* not yet */
	/* the limit lifted (space freed): writing resumes and says what was lost */
	rl.rlim_cur = RLIM_INFINITY;
	setrlimit(RLIMIT_FSIZE, &rl);
	line[0] = 'y';
	hw_sink__write(s, line, sizeof(line));
	if (hw_sink__flush(s))
		return 15;
	if (!hw_sink__resumed(s, &lost, &e) || lost != 20 || e != EFBIG)
		return 16;
	hw_sink__free(s);
	fd = open(path, O_RDONLY);
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n != 1100)
		return 17;
	for (int i = 0; i < 11; i++)
		if (buf[i * 100 + 99] != '\n' || buf[i * 100] != (i < 10 ? 'x' : 'y'))
			return 18;
	return 0;
}

TEST(sink_short_write_keeps_whole_lines)
{
	char *dir = hw_test__new_dir("output"), path[600];
	int status = -1;
	pid_t child;

	if (!CHECK(dir))
		return;
	/* 1,000 is not a multiple of 100 + 1: make the cut fall inside a line */
	snprintf(path, sizeof(path), "%s/out", dir);
	{
		int fd = open(path, O_WRONLY | O_CREAT, 0640);

		CHECK(fd >= 0 && write(fd, "", 0) == 0);
		close(fd);
	}
	child = fork();
	if (child == 0)
		_exit(short_write_child(path));
	waitpid(child, &status, 0);
	CHECK(WIFEXITED(status));
	CHECK_EQ(WEXITSTATUS(status), 0);
	hw_test__rm_dir(dir);
	free(dir);
}

/* A line cut on a pipe (which cannot be truncated) is finished first next time. */
TEST(sink_cut_line_on_a_pipe_is_finished_later)
{
	int p[2], fl;
	static char line[50000], got[200000];
	size_t total = 0;
	struct hw_sink *s;
	int saved = dup(STDOUT_FILENO);
	ssize_t n;

	if (!CHECK(pipe(p) == 0 && saved >= 0))
		return;
	fcntl(p[1], F_SETPIPE_SZ, 65536); /* two lines do not fit */
	fl = fcntl(p[1], F_GETFL);
	fcntl(p[1], F_SETFL, fl | O_NONBLOCK); /* full pipe: a short write, then EAGAIN */
	dup2(p[1], STDOUT_FILENO);
	s = hw_sink__new("-");
	memset(line, 'a', sizeof(line));
	line[sizeof(line) - 1] = '\n';
	for (int i = 0; i < 3; i++)
		hw_sink__write(s, line, sizeof(line));
	/* 64 KiB fit: the first line, part of the second; the third is lost */
	CHECK(hw_sink__flush(s) < 0);
	CHECK_EQ(hw_sink__lost(s), 1);
	/* drain, then the rest of the cut line goes out */
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	while ((n = read(p[0], got + total, sizeof(got) - total)) > 0)
		total += (size_t)n;
	CHECK(total > sizeof(line) && total < 2 * sizeof(line));
	CHECK_EQ(hw_sink__flush(s), 0);
	while ((n = read(p[0], got + total, sizeof(got) - total)) > 0)
		total += (size_t)n;
	CHECK_EQ(total, 2 * sizeof(line));
	CHECK(got[sizeof(line) - 1] == '\n' && got[2 * sizeof(line) - 1] == '\n');
	CHECK(memchr(got, '\n', sizeof(line) - 1) == NULL);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	hw_sink__free(s);
	close(p[0]);
	close(p[1]);
}

/* Finding 11: standard output's reader gone is seen without writing (poll), and on EPIPE. */
TEST(sink_sees_a_closed_reader)
{
	int p[2], saved = dup(STDOUT_FILENO);
	struct hw_sink *s;

	if (!CHECK(pipe(p) == 0 && saved >= 0))
		return;
	signal(SIGPIPE, SIG_IGN);
	dup2(p[1], STDOUT_FILENO);
	s = hw_sink__new(NULL);
	CHECK_EQ(hw_sink__closed(s), 0);
	close(p[0]);
	CHECK_EQ(hw_sink__closed(s), 1);
	hw_sink__write(s, "x\n", 2);
	CHECK_EQ(hw_sink__flush(s), -EPIPE);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	close(p[1]);
	hw_sink__free(s);
	signal(SIGPIPE, SIG_DFL);
}

/* Finding 9: the output file is not opened through a link, nor when another user owns it,
 * nor when it has another hard link. */
TEST(sink_refuses_links_and_others_files)
{
	char *dir = hw_test__new_dir("output"), victim[600], lnk[600], hard[600], err[5000];
	struct hw_sink *s;
	struct stat st;
	int fd;

	if (!CHECK(dir))
		return;
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	snprintf(lnk, sizeof(lnk), "%s/link", dir);
	snprintf(hard, sizeof(hard), "%s/hard", dir);
	fd = open(victim, O_WRONLY | O_CREAT, 0600);
	CHECK(fd >= 0 && write(fd, "secret\n", 7) == 7);
	close(fd);
	CHECK(!symlink(victim, lnk));
	s = hw_sink__open(lnk, err, sizeof(err));
	CHECK(!s && errno == ELOOP);
	CHECK(strstr(err, "symbolic link") && strstr(err, lnk));
	CHECK(!link(victim, hard));
	s = hw_sink__open(hard, err, sizeof(err));
	CHECK(!s && errno == EPERM);
	CHECK(strstr(err, "hard links") != NULL);
	CHECK(!unlink(hard));
	if (geteuid() == 0) {
		CHECK(!chown(victim, 65534, 65534));
		s = hw_sink__open(victim, err, sizeof(err));
		CHECK(!s && errno == EPERM);
		CHECK(strstr(err, "uid 65534") != NULL);
	}
	CHECK(!stat(victim, &st) && st.st_size == 7);
	hw_test__rm_dir(dir);
	free(dir);
}

/* Finding 14: a line over the limit is never held whole; the lines around it are read. */
TEST(lineread_skips_long_lines)
{
	size_t big = 3u << 20, len;
	char *data = malloc(big + 100);
	struct hw_lineread r;
	const char *line;
	FILE *f = tmpfile();

	if (!CHECK(data && f))
		goto out;
	memset(data, 'z', big + 100);
	memcpy(data, "first\n", 6);
	data[6 + big] = '\n';
	memcpy(data + 7 + big, "second\nlast", 11);
	CHECK(fwrite(data, 1, 18 + big, f) == 18 + big);
	rewind(f);
	if (!CHECK(!hw_lineread__init(&r, f, 1000)))
		goto out;
	CHECK(r.cap < 100000); /* the buffer is the limit plus a chunk, not the line */
	CHECK(hw_lineread__next(&r, &line, &len) == 1 && len == 5 && !memcmp(line, "first", 5));
	CHECK_EQ(hw_lineread__next(&r, &line, &len), -E2BIG);
	CHECK(hw_lineread__next(&r, &line, &len) == 1 && len == 6 && !memcmp(line, "second", 6));
	CHECK(hw_lineread__next(&r, &line, &len) == 1 && len == 4 && !memcmp(line, "last", 4));
	CHECK_EQ(hw_lineread__next(&r, &line, &len), 0);
	CHECK(r.cap < 100000);
	hw_lineread__free(&r);
out:
	if (f)
		fclose(f);
	free(data);
}

/* The reader also takes a stream without a descriptor. */
TEST(lineread_memory_stream)
{
	static char text[] = "one\ntwo";
	FILE *f = fmemopen(text, sizeof(text) - 1, "r");
	struct hw_lineread r;
	const char *line;
	size_t len;

	if (!CHECK(f) || !CHECK(!hw_lineread__init(&r, f, 100)))
		goto out;
	CHECK(hw_lineread__next(&r, &line, &len) == 1 && len == 3 && !memcmp(line, "one", 3));
	CHECK(hw_lineread__next(&r, &line, &len) == 1 && len == 3 && !memcmp(line, "two", 3));
	CHECK_EQ(hw_lineread__next(&r, &line, &len), 0);
	hw_lineread__free(&r);
out:
	if (f)
		fclose(f);
}
