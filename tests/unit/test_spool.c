/* The streaming sinks' on-disk spool (user/stream/spool.c) and record split (sink.c). */
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "stream/sink.h"
#include "stream/spool.h"
#include "fixtures.h"
#include "test.h"

TEST(spool_in_order_across_reopen)
{
	char *base = hw_test__new_dir("spool"), dir[600], err[256], buf[64];
	struct hw_spool *s;
	const char *rec[8];
	size_t len[8];
	int n;

	if (!CHECK(base))
		return;
	snprintf(dir, sizeof(dir), "%s/s", base);
	s = hw_spool__open(dir, 1 << 20, err, sizeof(err));
	if (!CHECK(s))
		goto out;
	for (int i = 0; i < 10; i++) {
		int l = snprintf(buf, sizeof(buf), "rec-%d", i);

		CHECK_EQ(hw_spool__append(s, buf, (size_t)l), 0);
	}
	CHECK_EQ(hw_spool__pending(s), 10);
	n = hw_spool__peek(s, 3, 1 << 20, rec, len);
	CHECK_EQ(n, 3);
	CHECK(len[0] == 5 && !memcmp(rec[0], "rec-0", 5) && !memcmp(rec[2], "rec-2", 5));
	/* nothing consumed: the same records again */
	n = hw_spool__peek(s, 3, 1 << 20, rec, len);
	CHECK(n == 3 && !memcmp(rec[0], "rec-0", 5));
	CHECK_EQ(hw_spool__consume(s, 2), 0);
	CHECK_EQ(hw_spool__pending(s), 8);
	hw_spool__close(s);
	/* a restart: the undelivered records are still there, in order */
	s = hw_spool__open(dir, 1 << 20, err, sizeof(err));
	if (!CHECK(s))
		goto out;
	CHECK_EQ(hw_spool__pending(s), 8);
	n = hw_spool__peek(s, 8, 1 << 20, rec, len);
	CHECK_EQ(n, 8);
	CHECK(!memcmp(rec[0], "rec-2", 5) && !memcmp(rec[7], "rec-9", 5));
	CHECK_EQ(hw_spool__consume(s, 8), 0);
	CHECK_EQ(hw_spool__pending(s), 0);
	CHECK_EQ(hw_spool__peek(s, 8, 1 << 20, rec, len), 0);
	CHECK_EQ(hw_spool__dropped(s), 0);
	hw_spool__close(s);
out:
	hw_test__rm_dir(base);
	free(base);
}

/* A sink that keeps up peeks what was appended since its last peek: that comes from memory
 * (written to the segment all the same) until the write buffer fills; a reopened spool, or
 * records older than the buffer, are read from the disk. */
TEST(spool_peeks_what_it_just_wrote_from_memory)
{
	char *base = hw_test__new_dir("spool"), dir[600], err[256], buf[64], want[64], *big;
	struct hw_spool *s;
	struct stat st;
	const char *rec[8];
	size_t len[8];
	int n;

	big = malloc(300 << 10);
	if (!CHECK(base) || !CHECK(big))
		goto out;
	snprintf(dir, sizeof(dir), "%s/s", base);
	s = hw_spool__open(dir, 16 << 20, err, sizeof(err));
	if (!CHECK(s))
		goto out;
	for (int i = 0; i < 5; i++) {
		int l = snprintf(buf, sizeof(buf), "rec-%d", i);

		CHECK_EQ(hw_spool__append(s, buf, (size_t)l), 0);
	}
	n = hw_spool__peek(s, 8, 1 << 20, rec, len);
	CHECK_EQ(n, 5);
	for (int i = 0; i < n; i++) {
		snprintf(want, sizeof(want), "rec-%d", i);
		CHECK(len[i] == 5 && !memcmp(rec[i], want, 5));
	}
	/* two delivered, the rest peeked again: still from memory */
	CHECK_EQ(hw_spool__consume(s, 2), 0);
	n = hw_spool__peek(s, 3, 1 << 20, rec, len);
	CHECK(n == 3 && !memcmp(rec[0], "rec-2", 5) && !memcmp(rec[2], "rec-4", 5));
	CHECK_EQ(hw_spool__reads(s), 0);
	/* and on the disk: five records of a 4-byte length and 5 bytes */
	snprintf(buf, sizeof(buf), "%s/seg-%016llu", dir, 1ULL); /* the first segment */
	if (CHECK_EQ(stat(buf, &st), 0))
		CHECK_EQ(st.st_size, 5 * 9);
	/* reopened: from the disk */
	hw_spool__close(s);
	s = hw_spool__open(dir, 16 << 20, err, sizeof(err));
	if (!CHECK(s))
		goto out;
	n = hw_spool__peek(s, 3, 1 << 20, rec, len);
	CHECK(n == 3 && !memcmp(rec[0], "rec-2", 5) && !memcmp(rec[2], "rec-4", 5));
	CHECK_EQ(hw_spool__reads(s), 1);
	/* three more, peeked after those in flight: from memory */
	for (int i = 5; i < 8; i++) {
		int l = snprintf(buf, sizeof(buf), "rec-%d", i);

		CHECK_EQ(hw_spool__append(s, buf, (size_t)l), 0);
	}
	n = hw_spool__peek_more(s, 8, 1 << 20, rec, len);
	CHECK(n == 3 && !memcmp(rec[0], "rec-5", 5) && !memcmp(rec[2], "rec-7", 5));
	CHECK_EQ(hw_spool__reads(s), 1);
	/* records past the buffer's size push the earlier ones out of it: those are read */
	CHECK(!hw_spool__peek_due(s));
	for (int i = 0; i < 4; i++) {
		memset(big, 'a' + i, 300 << 10);
		CHECK_EQ(hw_spool__append(s, big, 300 << 10), 0);
		/* half the buffer not peeked yet: time the sink took them (asked once for
		 * each quarter of the buffer appended, however often asked) */
		CHECK_EQ(hw_spool__peek_due(s), i >= 1 && i < 3);
		CHECK(!hw_spool__peek_due(s));
	}
	n = hw_spool__peek(s, 8, 8 << 20, rec, len);
	CHECK_EQ(n, 8);
	if (n == 8)
		CHECK(!memcmp(rec[0], "rec-2", 5) && !memcmp(rec[5], "rec-7", 5) &&
		      len[6] == 300 << 10 && rec[6][0] == 'a' && rec[7][len[7] - 1] == 'b');
	CHECK(hw_spool__reads(s) > 1);
	/* from the disk, a first record longer than the bytes asked for (and than the first
	 * read) comes whole, alone */
	CHECK_EQ(hw_spool__consume(s, 6), 0);
	hw_spool__close(s);
	s = hw_spool__open(dir, 16 << 20, err, sizeof(err));
	if (!CHECK(s))
		goto out;
	n = hw_spool__peek(s, 8, 1000, rec, len);
	CHECK_EQ(n, 1);
	if (n == 1)
		CHECK(len[0] == 300 << 10 && rec[0][0] == 'a' && rec[0][len[0] - 1] == 'a');
	CHECK_EQ(hw_spool__reads(s), 2);
	hw_spool__close(s);
out:
	free(big);
	hw_test__rm_dir(base);
	free(base);
}

TEST(spool_torn_record_is_cut)
{
	char *base = hw_test__new_dir("spool"), dir[600], path[700], err[256];
	struct hw_spool *s;
	const char *rec[4];
	size_t len[4];
	int fd;

	if (!CHECK(base))
		return;
	snprintf(dir, sizeof(dir), "%s/s", base);
	s = hw_spool__open(dir, 1 << 20, err, sizeof(err));
	if (!CHECK(s))
		goto out;
	CHECK_EQ(hw_spool__append(s, "whole", 5), 0);
	hw_spool__close(s);
	/* a crash in the middle of the next record: its length says 100, 3 bytes are there */
	snprintf(path, sizeof(path), "%s/seg-%016llu", dir, 1ULL);
	fd = open(path, O_WRONLY | O_APPEND);
	if (CHECK(fd >= 0)) {
		unsigned int l = 100;

		CHECK(write(fd, &l, 4) == 4 && write(fd, "abc", 3) == 3);
		close(fd);
	}
	s = hw_spool__open(dir, 1 << 20, err, sizeof(err));
	if (!CHECK(s))
		goto out;
	CHECK_EQ(hw_spool__pending(s), 1);
	CHECK_EQ(hw_spool__append(s, "next", 4), 0);
	CHECK_EQ(hw_spool__peek(s, 4, 1 << 20, rec, len), 2);
	CHECK(len[0] == 5 && len[1] == 4 && !memcmp(rec[1], "next", 4));
	hw_spool__close(s);
out:
	hw_test__rm_dir(base);
	free(base);
}

TEST(spool_full_drops_the_oldest)
{
	char *base = hw_test__new_dir("spool"), dir[600], err[256], buf[1100];
	struct hw_spool *s;
	const char *rec[4];
	size_t len[4];
	unsigned long long total = 0;
	int last = -1;

	if (!CHECK(base))
		return;
	snprintf(dir, sizeof(dir), "%s/s", base);
	s = hw_spool__open(dir, 1 << 20, err, sizeof(err));
	if (!CHECK(s))
		goto out;
	for (int i = 0; i < 3000; i++) { /* ~3 MB into 1 MB */
		memset(buf, 'x', sizeof(buf));
		snprintf(buf, sizeof(buf), "%06d", i);
		CHECK_EQ(hw_spool__append(s, buf, 1000), 0);
	}
	CHECK(hw_spool__dropped(s) > 1500);
	CHECK_EQ(hw_spool__pending(s) + hw_spool__dropped(s), 3000);
	/* what is left is the newest, in order */
	while (hw_spool__peek(s, 4, 1 << 20, rec, len) > 0) {
		int v = atoi(rec[0]);

		CHECK(v > last);
		last = v;
		total++;
		hw_spool__consume(s, 1);
	}
	CHECK_EQ(last, 2999);
	CHECK_EQ(total + hw_spool__dropped(s), 3000);
	CHECK(total * 1004 <= (1 << 20));
	hw_spool__close(s);
out:
	hw_test__rm_dir(base);
	free(base);
}

TEST(spool_refuses_huge_records_and_bad_dirs)
{
	char err[256];
	struct hw_spool *s = hw_spool__open("/proc/version/x", 1 << 20, err, sizeof(err));
	char *base = hw_test__new_dir("spool"), dir[600];
	void *big = calloc(1, HW_SPOOL_RECORD_MAX + 1);

	CHECK(!s);
	CHECK(strstr(err, "/proc/version/x") != NULL);
	if (!CHECK(base && big))
		goto out;
	snprintf(dir, sizeof(dir), "%s/s", base);
	s = hw_spool__open(dir, 1 << 20, err, sizeof(err));
	if (CHECK(s)) {
		CHECK_EQ(hw_spool__append(s, big, HW_SPOOL_RECORD_MAX + 1), -E2BIG);
		hw_spool__close(s);
	}
out:
	free(big);
	if (base)
		hw_test__rm_dir(base);
	free(base);
}

TEST(stream_record_split)
{
	const char *id, *line;
	size_t idl, ll;
	char kind;
	static const char rec[] = "aHOST.RUN.7\n{\"x\":1}";

	CHECK_EQ(hw_stream__split(rec, sizeof(rec) - 1, &kind, &id, &idl, &line, &ll), 0);
	CHECK(kind == 'a' && idl == 10 && !memcmp(id, "HOST.RUN.7", 10));
	CHECK(ll == 7 && !memcmp(line, "{\"x\":1}", 7));
	CHECK_EQ(hw_stream__split("x1\n{}", 5, &kind, &id, &idl, &line, &ll), -EINVAL);
	CHECK_EQ(hw_stream__split("e\n{}", 4, &kind, &id, &idl, &line, &ll), -EINVAL);
	CHECK_EQ(hw_stream__split("eid", 3, &kind, &id, &idl, &line, &ll), -EINVAL);
}

/* Finding 8: two agents on one spool mixed their records. A second open, from another
 * process, is refused with EBUSY and the holder's pid; once closed, it opens. */
TEST(spool_one_holder)
{
	char *base = hw_test__new_dir("spool"), dir[600], err[300], want[64];
	struct hw_spool *s = NULL;
	int status = -1;
	pid_t child;

	if (!CHECK(base))
		return;
	snprintf(dir, sizeof(dir), "%s/s", base);
	s = hw_spool__open(dir, 1 << 20, err, sizeof(err));
	if (!CHECK(s))
		goto out;
	snprintf(want, sizeof(want), "(pid %d)", (int)getpid());
	child = fork();
	if (child == 0) {
		struct hw_spool *t = hw_spool__open(dir, 1 << 20, err, sizeof(err));

		/* exit codes say which check failed */
		_exit(t			   ? 1
		      : errno != EBUSY	   ? 2
		      : !strstr(err, want) ? 3
		      : !strstr(err, dir)  ? 4
					   : 0);
	}
	if (!CHECK(child > 0))
		goto out;
	waitpid(child, &status, 0);
	CHECK(WIFEXITED(status));
	CHECK_EQ(WEXITSTATUS(status), 0);
	hw_spool__close(s);
	s = NULL;
	child = fork();
	if (child == 0) {
		struct hw_spool *t = hw_spool__open(dir, 1 << 20, err, sizeof(err));

		_exit(t ? 0 : 1);
	}
	waitpid(child, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
out:
	hw_spool__close(s);
	hw_test__rm_dir(base);
	free(base);
}

/* Finding 9: a spool reached through a symbolic link, one group or others can enter, one of
 * another user, or a segment replaced by a link, is refused; made with mode 0700 whatever
 * the umask. */
TEST(spool_refuses_links_modes_and_owners)
{
	char *base = hw_test__new_dir("spool"), dir[600], link[600], victim[600], seg[700],
	     err[400];
	struct hw_spool *s;
	struct stat st;
	mode_t old_umask;
	int fd;

	if (!CHECK(base))
		return;
	snprintf(dir, sizeof(dir), "%s/real", base);
	snprintf(link, sizeof(link), "%s/link", base);
	snprintf(victim, sizeof(victim), "%s/victim", base);
	/* made 0700 even under a umask that would leave it unusable or open */
	old_umask = umask(0277);
	s = hw_spool__open(dir, 1 << 20, err, sizeof(err));
	umask(old_umask);
	if (!CHECK(s))
		goto out;
	hw_spool__close(s);
	CHECK(!stat(dir, &st) && (st.st_mode & 07777) == 0700);
	/* through a link: refused, even to a good directory */
	CHECK(!symlink(dir, link));
	s = hw_spool__open(link, 1 << 20, err, sizeof(err));
	CHECK(!s && errno == EPERM);
	CHECK(strstr(err, "symbolic link") != NULL);
	hw_spool__close(s);
	/* open to the group or others */
	CHECK(!chmod(dir, 0750));
	s = hw_spool__open(dir, 1 << 20, err, sizeof(err));
	CHECK(!s && errno == EPERM);
	CHECK(strstr(err, "mode 0750") != NULL);
	hw_spool__close(s);
	CHECK(!chmod(dir, 0700));
	/* another user's (root only can make one) */
	if (geteuid() == 0) {
		CHECK(!chown(dir, 65534, 65534));
		s = hw_spool__open(dir, 1 << 20, err, sizeof(err));
		CHECK(!s && errno == EPERM);
		CHECK(strstr(err, "uid 65534") != NULL);
		hw_spool__close(s);
		CHECK(!chown(dir, 0, 0));
	}
	/* the segment being written replaced by a link: not followed */
	fd = open(victim, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0 && write(fd, "secret\n", 7) == 7);
	if (fd >= 0)
		close(fd);
	snprintf(seg, sizeof(seg), "%s/seg-%016llu", dir, 1ULL);
	CHECK(!unlink(seg) && !symlink(victim, seg));
	s = hw_spool__open(dir, 1 << 20, err, sizeof(err));
	if (s) {
		hw_spool__append(s, "xxxx", 4);
		hw_spool__close(s);
	}
	CHECK(!stat(victim, &st) && st.st_size == 7);
out:
	hw_test__rm_dir(base);
	free(base);
}

/* Finding 10 for the spool: a write stopped short (RLIMIT_FSIZE, as a full disk) loses the
 * buffered records, counted, and leaves no torn record for later ones to follow. */
static int spool_short_write_child(const char *dir)
{
	struct rlimit rl = {.rlim_cur = 100, .rlim_max = RLIM_INFINITY};
	char err[300], buf[32];
	const char *rec[64];
	size_t len[64];
	struct hw_spool *s;
	int n;

	signal(SIGXFSZ, SIG_IGN);
	s = hw_spool__open(dir, 1 << 20, err, sizeof(err));
	if (!s || setrlimit(RLIMIT_FSIZE, &rl))
		return 10;
	for (int i = 0; i < 10; i++) /* 10 x 24 bytes: the write stops at 100 */
		if (hw_spool__append(s, "aaaaaaaaaaaaaaaaaaaa", 20))
			return 11;
	if (hw_spool__flush(s) != -EFBIG)
		return 12;
	if (hw_spool__lost(s) != 10 || hw_spool__pending(s) != 0)
		return 13;
	rl.rlim_cur = RLIM_INFINITY;
	setrlimit(RLIMIT_FSIZE, &rl);
	for (int i = 0; i < 3; i++) {
		n = snprintf(buf, sizeof(buf), "after-%d", i);
		if (hw_spool__append(s, buf, (size_t)n))
			return 14;
	}
	n = hw_spool__peek(s, 64, 1 << 20, rec, len);
	if (n != 3 || len[0] != 7 || memcmp(rec[0], "after-0", 7) || memcmp(rec[2], "after-2", 7))
		return 15;
	hw_spool__close(s);
	/* and after a restart */
	s = hw_spool__open(dir, 1 << 20, err, sizeof(err));
	if (!s || hw_spool__pending(s) != 3)
		return 16;
	hw_spool__close(s);
	return 0;
}

TEST(spool_short_write_loses_counted_records_only)
{
	char *base = hw_test__new_dir("spool"), dir[600];
	int status = -1;
	pid_t child;

	if (!CHECK(base))
		return;
	snprintf(dir, sizeof(dir), "%s/s", base);
	child = fork();
	if (child == 0)
		_exit(spool_short_write_child(dir));
	waitpid(child, &status, 0);
	CHECK(WIFEXITED(status));
	CHECK_EQ(WEXITSTATUS(status), 0);
	hw_test__rm_dir(base);
	free(base);
}
