/* lib/procstat.h: /proc/PID/stat, as a program naming itself to mislead would write it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "lib/procstat.h"
#include "test.h"

/* A comm of ") 0 0 0" pretends fields that are not there; the start time is the 22nd field,
 * the 21st (itrealvalue) a different number so a miscount shows. */
#define FORGED_STAT                                                                                \
	"4242 () 0 0 0 (x) S 17 4242 4242 34817 4242 4194560 100 0 0 0 3 4 0 0 20 0 1 777 "        \
	"987654 123 45 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0\n"

TEST(lib_procstat_parse_hostile_comm)
{
	struct hw_procstat st;

	CHECK_EQ(hw_procstat__parse(FORGED_STAT, &st), 0);
	CHECK_STREQ(st.comm, ") 0 0 0 (x");
	CHECK_EQ(st.ppid, 17);
	CHECK_EQ(st.tty_nr, 34817);
	CHECK_EQ(st.flags, 4194560);
	CHECK_EQ(st.start_ticks, 987654ULL); /* not 777, the itrealvalue before it */
}

TEST(lib_procstat_parse_rejects)
{
	struct hw_procstat st;

	CHECK_EQ(hw_procstat__parse("", &st), -EBADMSG);
	CHECK_EQ(hw_procstat__parse("12 sh) S 1 2 3 4", &st), -EBADMSG);
	CHECK_EQ(hw_procstat__parse("12 (sh S 1", &st), -EBADMSG);
	CHECK_EQ(hw_procstat__parse("12 (sh) S 1 1 1 0 -1 0", &st), -EBADMSG); /* cut short */
	/* a comm of 15 bytes at most is kept, however long the text claims */
	CHECK_EQ(
	    hw_procstat__parse("1 (aaaaaaaaaaaaaaaaaaaaaaaa) S 0 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 "
			       "0 1 0 5 0",
			       &st),
	    0);
	CHECK_EQ(strlen(st.comm), 15);
	CHECK_EQ(st.start_ticks, 5ULL);
}

TEST(lib_procstat_read_root_and_self)
{
	char tmpl[] = "/tmp/hw-procstat-XXXXXX", path[128];
	struct hw_procstat st;
	char *d = mkdtemp(tmpl);
	FILE *f;

	if (!CHECK(d))
		return;
	snprintf(path, sizeof(path), "%s/4242", d);
	CHECK_EQ(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/4242/stat", d);
	f = fopen(path, "w");
	if (CHECK(f)) {
		fputs(FORGED_STAT, f);
		fclose(f);
	}
	CHECK_EQ(hw_procstat__read(d, 4242, &st), 0);
	CHECK_EQ(st.start_ticks, 987654ULL);
	CHECK_EQ(hw_procstat__read(d, 4243, &st), -ENOENT);
	unlink(path);
	snprintf(path, sizeof(path), "%s/4242", d);
	rmdir(path);
	rmdir(d);
	/* the real file of this process: its parent is ours */
	CHECK_EQ(hw_procstat__read(NULL, (unsigned int)getpid(), &st), 0);
	CHECK_EQ(st.ppid, (unsigned int)getppid());
	CHECK(st.start_ticks > 0);
}
