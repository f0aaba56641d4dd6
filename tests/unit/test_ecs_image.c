/* The members of "process" its image gives are kept encoded for a few images
 * (user/output/ecs_image.c), told apart by their content: buffers rewritten in place, argv
 * differing only in where its NULs are, an executable that goes away, more images than are
 * kept, argv cut by the bound, each written as it is. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/host.h"
#include "model/proc_table.h"
#include "output/ecs.h"
#include "output/event.h"
#include "output/json.h"
#include "fixtures.h"
#include "test.h"

/* One exec line of p, copied out (the caller frees it). */
static char *line_of(const struct hw_host *h, const struct hw_process *p)
{
	struct hw_json j;
	struct hw_proc_event e = {.action = "exec", .p = p};
	char *s;

	hw_json__init(&j);
	hw_ecs__proc_event(&j, h, &e);
	s = strdup(j.error ? "" : hw_json__cstr(&j));
	hw_json__free(&j);
	return s;
}

static int has(const char *line, const char *want)
{
	if (strstr(line, want))
		return 1;
	fprintf(stderr, "    want %s\n    in   %s\n", want, line);
	return 0;
}

TEST(ecs_image_kept_follows_content)
{
	struct hw_host h = hw_test__host();
	struct hw_process p;
	char exe[64], cwd[64], args[64], want[256], *first[6] = {0};

	memset(&p, 0, sizeof(p));
	p.k.pid = 10;
	snprintf(p.entity_id, sizeof(p.entity_id), "ent");
	snprintf(p.k.comm, sizeof(p.k.comm), "comm0");
	p.flags = HW_PROC_EXEC;
	p.exe = exe;
	p.cwd = cwd;
	p.args = args;
	/* six images, more than are kept, in the same buffers, twice over: each line is what it
	 * was the first time and names its own image */
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < 6; i++) {
			char *l;

			snprintf(exe, sizeof(exe), "/bin/p%d", i);
			snprintf(cwd, sizeof(cwd), "/w%d", i);
			p.args_len =
			    (__u32)snprintf(args, sizeof(args), "p%d%c-x%c%d", i, 0, 0, i) + 1;
			l = line_of(&h, &p);
			snprintf(want, sizeof(want),
				 "\"name\":\"p%d\",\"executable\":\"/bin/p%d\",\"args\":[\"p%d\","
				 "\"-x\",\"%d\"],\"args_count\":3,\"working_directory\":\"/w%d\"",
				 i, i, i, i, i);
			CHECK(has(l, want));
			if (!round)
				first[i] = l;
			else {
				CHECK_EQ(strcmp(l, first[i]), 0);
				free(l);
			}
		}
	for (int i = 0; i < 6; i++)
		free(first[i]);

	/* the same bytes of argv, the NULs elsewhere: other arguments */
	{
		char *a, *b;

		snprintf(exe, sizeof(exe), "/bin/q");
		memcpy(args, "ab\0c", 5);
		p.args_len = 5;
		a = line_of(&h, &p);
		memcpy(args, "a\0bc", 5);
		b = line_of(&h, &p);
		CHECK(has(a, "\"args\":[\"ab\",\"c\"],\"args_count\":2"));
		CHECK(has(b, "\"args\":[\"a\",\"bc\"],\"args_count\":2"));
		free(a);
		free(b);
	}
	/* one byte of the working directory changed in place */
	{
		char *a;

		snprintf(cwd, sizeof(cwd), "/w1");
		free(line_of(&h, &p));
		cwd[2] = '2';
		a = line_of(&h, &p);
		CHECK(has(a, "\"working_directory\":\"/w2\""));
		free(a);
	}
	/* the executable gone (comm names it) and back; the working directory gone */
	{
		char *a;

		snprintf(exe, sizeof(exe), "/bin/comm0");
		free(line_of(&h, &p));
		p.exe = NULL;
		a = line_of(&h, &p);
		CHECK(has(a, "\"name\":\"comm0\",\"args\""));
		CHECK(!strstr(a, "\"executable\""));
		free(a);
		p.exe = exe;
		p.cwd = NULL;
		a = line_of(&h, &p);
		CHECK(has(a, "\"name\":\"comm0\",\"executable\":\"/bin/comm0\",\"args\""));
		CHECK(!strstr(a, "\"working_directory\""));
		free(a);
		p.cwd = cwd;
	}
	/* an executable that needs escaping, written escaped, kept or not */
	for (int i = 0; i < 2; i++) {
		char *a;

		snprintf(exe, sizeof(exe), "/bin/a\"b");
		a = line_of(&h, &p);
		CHECK(has(a, "\"name\":\"a\\\"b\",\"executable\":\"/bin/a\\\"b\""));
		free(a);
	}
}

/* argv over what a line may carry: cut, and said so (hopwatch.truncated), the same whether
 * the image was kept or not; then a shorter argv in the same buffer is whole again. */
TEST(ecs_image_kept_keeps_the_cut)
{
	struct hw_host h = hw_test__host();
	struct hw_process p;
	__u32 n = 40000, len = 0;
	char *args = malloc(n * 3), *a, *b;

	if (!CHECK(args))
		return;
	for (__u32 i = 0; i < n; i++)
		len += (__u32)sprintf(args + len, "%02u", i % 100) + 1;
	memset(&p, 0, sizeof(p));
	p.k.pid = 11;
	snprintf(p.entity_id, sizeof(p.entity_id), "ent");
	snprintf(p.k.comm, sizeof(p.k.comm), "big");
	p.flags = HW_PROC_EXEC;
	p.exe = "/bin/big";
	p.args = args;
	p.args_len = len;
	a = line_of(&h, &p);
	b = line_of(&h, &p);
	CHECK(has(a, "\"args_count\":40000"));
	CHECK(has(a, "\"truncated\":[\"process.args\"]"));
	CHECK_EQ(strcmp(a, b), 0);
	free(a);
	free(b);
	/* 800 empty arguments: more than a line carries (HW_ECS_ARGS_MAX), few enough bytes to
	 * be kept */
	memset(args, 0, 800);
	p.args_len = 800;
	a = line_of(&h, &p);
	b = line_of(&h, &p);
	CHECK(has(a, "\"args_count\":800"));
	CHECK(has(a, "\"truncated\":[\"process.args\"]"));
	CHECK_EQ(strcmp(a, b), 0);
	free(a);
	free(b);
	for (__u32 i = 0; i < 9; i++)
		args[i] = "00\0"
			  "01\0"
			  "02"[i];
	p.args_len = 9;
	a = line_of(&h, &p);
	CHECK(has(a, "\"args\":[\"00\",\"01\",\"02\"],\"args_count\":3"));
	CHECK(!strstr(a, "\"truncated\""));
	free(a);
	free(args);
}
