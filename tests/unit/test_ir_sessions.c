/* user/ir/sessions.c: what `hopwatch sessions` keeps of a stream, fed facts directly. */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "ir/sessions.h"
#include "test.h"

static void fact(struct hw_fact *f, enum hw_fact_kind kind, unsigned long long ts, const char *sid)
{
	memset(f, 0, sizeof(*f));
	f->kind = kind;
	f->ts = ts;
	snprintf(f->host_id, sizeof(f->host_id), "h1");
	snprintf(f->host_name, sizeof(f->host_name), "web-1");
	snprintf(f->session_id, sizeof(f->session_id), "%s", sid);
}

/* A flood of connections that never log in (a brute force, a scanner) is forgotten as each
 * fails: more of them than the table holds leaves room for the session that does log in. */
TEST(ir_sessions_failed_logins_do_not_fill_the_table)
{
	struct hw_config cfg;
	struct hw_ir *ir = NULL;
	struct hw_fact *f = calloc(1, sizeof(*f));
	struct hw_ir_session **v;
	unsigned long long ts = 1000000000ull;
	char sid[32];
	size_t n = 0;

	if (!CHECK(f) || !CHECK(!hw_config__init(&cfg)))
		goto out;
	ir = hw_ir__new(&cfg);
	if (!CHECK(ir))
		goto out;
	for (unsigned int i = 0; i < HW_IR_MAX_SESSIONS + 1000; i++, ts += 1000) {
		snprintf(sid, sizeof(sid), "fail%u", i);
		fact(f, HW_F_FORK, ts, sid); /* the handler, in its session from the fork */
		f->pid = 1000 + i % 30000;
		snprintf(f->entity_id, sizeof(f->entity_id), "e%u", i);
		hw_ir__feed(ir, f, NULL);
		fact(f, HW_F_LOGIN, ts + 1, sid);
		f->failure = 1;
		hw_ir__feed(ir, f, NULL);
	}
	fact(f, HW_F_LOGIN, ts, "real");
	snprintf(f->user, sizeof(f->user), "mallory");
	snprintf(f->src.ip, sizeof(f->src.ip), "198.51.100.7");
	f->src.port = 40000;
	hw_ir__feed(ir, f, NULL);
	v = hw_ir__sessions(ir, 0, &n);
	if (!CHECK_EQ(n, 1) || !CHECK(v))
		goto out;
	CHECK(!strcmp(v[0]->id, "real"));
	CHECK(!strcmp(v[0]->user, "mallory"));
	CHECK_EQ(hw_ir__dropped(ir), 0);
out:
	hw_ir__free(ir);
	hw_config__free(&cfg);
	free(f);
}

/* A process event of the session before its login (the handler's fork), then the login: one
 * session, its handler counted. */
TEST(ir_sessions_process_before_login)
{
	struct hw_config cfg;
	struct hw_ir *ir = NULL;
	struct hw_fact *f = calloc(1, sizeof(*f));
	struct hw_ir_session **v;
	size_t n = 0;

	if (!CHECK(f) || !CHECK(!hw_config__init(&cfg)))
		goto out;
	ir = hw_ir__new(&cfg);
	if (!CHECK(ir))
		goto out;
	fact(f, HW_F_FORK, 5, "s1");
	snprintf(f->entity_id, sizeof(f->entity_id), "handler");
	hw_ir__feed(ir, f, NULL);
	fact(f, HW_F_LOGIN, 7, "s1");
	f->session_start = 4;
	hw_ir__feed(ir, f, NULL);
	v = hw_ir__sessions(ir, 0, &n);
	if (!CHECK_EQ(n, 1) || !CHECK(v))
		goto out;
	CHECK_EQ(v[0]->nprocs, 1);
	CHECK_EQ(v[0]->start, 4);
	CHECK_EQ(v[0]->login, 7);
out:
	hw_ir__free(ir);
	hw_config__free(&cfg);
	free(f);
}
