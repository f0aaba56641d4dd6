/* The spool's directory: checked before anything in it is trusted, and locked so that one
 * agent at a time uses it (see spool.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stream/spool.h"

int hw_spool__check_dir(int fd, const char *dir, char *err, size_t errlen)
{
	struct stat st;

	if (fstat(fd, &st)) {
		snprintf(err, errlen, "cannot read spool directory '%s': %s", dir, strerror(errno));
		return -errno;
	}
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077)) {
		snprintf(err, errlen,
			 "spool directory '%s' is owned by uid %u with mode %04o: it must be a "
			 "directory of uid %u with mode 0700 (refused: another user could read or "
			 "plant its files)",
			 dir, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777),
			 (unsigned)geteuid());
		return -EPERM;
	}
	return 0;
}

int hw_spool__open_dir(const char *dir, char *err, size_t errlen)
{
	int created = !mkdir(dir, 0700), fd, e;

	if (!created && errno != EEXIST) {
		e = errno;
		snprintf(err, errlen, "cannot create spool directory '%s': %s", dir, strerror(e));
		return -e;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		struct stat st;

		e = errno;
		/* O_DIRECTORY with O_NOFOLLOW says ENOTDIR of a link */
		if (e == ENOTDIR && !lstat(dir, &st) && S_ISLNK(st.st_mode))
			e = ELOOP;
		if (e == ELOOP || e == ENOTDIR)
			snprintf(err, errlen,
				 "spool directory '%s' is %s (refused: it must be a directory of "
				 "uid %u with mode 0700)",
				 dir, e == ELOOP ? "a symbolic link" : "not a directory",
				 (unsigned)geteuid());
		else
			snprintf(err, errlen, "cannot open spool directory '%s': %s", dir,
				 strerror(e));
		return e == ELOOP || e == ENOTDIR ? -EPERM : -e;
	}
	/* made here: 0700 whatever the umask */
	if (created && fchmod(fd, 0700)) {
		e = errno;
		snprintf(err, errlen, "cannot set the mode of '%s': %s", dir, strerror(e));
		close(fd);
		return -e;
	}
	e = hw_spool__check_dir(fd, dir, err, errlen);
	if (e) {
		close(fd);
		return e;
	}
	return fd;
}

/* One agent per spool: a POSIX write lock on DIR/lock (F_GETLK then names the holder's pid),
 * held as long as the descriptor is open and released by the kernel when the agent dies. */
int hw_spool__lock(int dfd, const char *dir, char *err, size_t errlen)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	char pid[32];
	int fd, e, n;

	fd = openat(dfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		e = errno;
		snprintf(err, errlen, "cannot open '%s/lock': %s", dir, strerror(e));
		return -e;
	}
	if (!fcntl(fd, F_SETLK, &fl)) {
		/* for people: who holds it */
		n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
		if (!ftruncate(fd, 0) && pwrite(fd, pid, (size_t)n, 0) != n) {
			/* only informative */
		}
		return fd;
	}
	e = errno;
	if (e != EAGAIN && e != EACCES) {
		snprintf(err, errlen, "cannot lock '%s/lock': %s", dir, strerror(e));
		close(fd);
		return -e;
	}
	fl.l_type = F_WRLCK;
	if (!fcntl(fd, F_GETLK, &fl) && fl.l_type != F_UNLCK && fl.l_pid > 0)
		snprintf(err, errlen, "spool '%s' is in use by another agent (pid %d)", dir,
			 (int)fl.l_pid);
	else
		snprintf(err, errlen,
			 "spool '%s' is in use by another agent (a process of another pid "
			 "namespace)",
			 dir);
	close(fd);
	return -EBUSY;
}
