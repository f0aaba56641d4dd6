/* Facts straight from views (detect/fact_view.h) against facts read back from the ECS line
 * written for the same view: fact(view) == fact(parse(encode(view))), field by field, for every
 * action the agent emits and the edge cases of each field (no executable, names from comm or
 * from a path ending in '/', arguments cut by count, size and the encoder's bound, ill-formed
 * UTF-8 and control characters, cuts inside a character, unknown users, partial root, stdio
 * kinds out of range, stdio sockets IPv4/IPv6/v4-mapped with and without a connection, UDP,
 * failures with named and unnamed errnos, owners known by pid only, snapshots, sessions with
 * and without a login, verified or not, closed by either end), and the tick. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "detect/fact.h"
#include "detect/fact_view.h"
#include "detect/factscan.h"
#include "detect/jsonread.h"
#include "output/alert.h"
#include "output/ecs.h"
#include "test.h"

static struct hw_host host(void)
{
	struct hw_host h;

	memset(&h, 0, sizeof(h));
	snprintf(h.name, sizeof(h.name), "web-1\xc3\xa9\xff");
	snprintf(h.id, sizeof(h.id), "0123456789abcdef0123456789abcdef");
	snprintf(h.boot_id, sizeof(h.boot_id), "bid");
	h.ns_per_tick = 10000000;
	h.boot_to_real_ns = 1795795200123456789LL;
	return h;
}

static struct hw_jdoc *doc(void)
{
	static struct hw_jdoc *d;

	if (!d)
		d = calloc(1, sizeof(*d));
	return d;
}

/* Both facts of one encoded line; 1 when equal, else a check failure naming the fields. */
static int same(const char *what, struct hw_json *j, const struct hw_fact *view)
{
	struct hw_fact line;
	char err[400];
	int n;

	if (!CHECK_EQ(j->error, 0))
		return 0;
	if (!CHECK_EQ(hw_jdoc__parse(doc(), j->buf, j->len), 0)) {
		printf("    %s: reader: %s\n", what, doc()->err);
		return 0;
	}
	if (!CHECK_EQ(hw_fact__from_json(&line, doc(), err, sizeof(err)), 0)) {
		printf("    %s: %s\n", what, err);
		return 0;
	}
	n = hw_fact__diff(view, &line, err, sizeof(err));
	if (n) {
		hw_test__fail(__FILE__, __LINE__, "%s: %d fields differ: %s\n      line: %s", what,
			      n, err, j->buf);
		return 0;
	}
	/* nothing outside the listed fields either (padding is zero on both sides) */
	if (!CHECK(!memcmp(view, &line, sizeof(line))))
		return 0;
	/* replay's scanner (detect/factscan.c) reads the agent's own lines itself, to the same
	 * fact */
	{
		static struct hw_factscan fs;
		struct hw_fact fast;

		if (!fs.kept && !CHECK_EQ(hw_factscan__init(&fs), 0))
			return 0;
		if (!CHECK_EQ(hw_factscan__scan(&fs, j->buf, j->len), 0) ||
		    !CHECK_EQ(hw_fact__from_json(&fast, fs.kept, err, sizeof(err)), 0)) {
			printf("    %s: scanner left the line: %s\n", what, j->buf);
			return 0;
		}
		return CHECK(!memcmp(&fast, &line, sizeof(line)));
	}
}

static int proc_same(const char *what, const struct hw_host *h, const struct hw_proc_event *e)
{
	struct hw_json j;
	struct hw_fact f;
	int ok;

	hw_json__init(&j);
	hw_ecs__proc_event(&j, h, e);
	memset(&f, 0xa5, sizeof(f)); /* the builder must set every byte */
	hw_fact__proc_event(&f, h, e);
	ok = same(what, &j, &f);
	hw_json__free(&j);
	return ok;
}

static int net_same(const char *what, const struct hw_host *h, const struct hw_net_view *v)
{
	struct hw_json j;
	struct hw_fact f;
	int ok;

	hw_json__init(&j);
	hw_ecs__net_event(&j, h, v);
	memset(&f, 0xa5, sizeof(f));
	hw_fact__net_event(&f, h, v);
	ok = same(what, &j, &f);
	hw_json__free(&j);
	return ok;
}

static int session_same(const char *what, const struct hw_host *h, const struct hw_session_view *v)
{
	struct hw_json j;
	struct hw_fact f;
	int ok;

	hw_json__init(&j);
	hw_ecs__session_event(&j, h, v);
	memset(&f, 0xa5, sizeof(f));
	hw_fact__session_event(&f, h, v);
	ok = same(what, &j, &f);
	hw_json__free(&j);
	return ok;
}

static int agent_same(const char *what, const struct hw_host *h, const struct hw_agent_event *e)
{
	struct hw_json j;
	struct hw_fact f;
	int ok;

	hw_json__init(&j);
	hw_ecs__agent_event(&j, h, e);
	memset(&f, 0xa5, sizeof(f));
	hw_fact__agent_event(&f, h, e);
	ok = same(what, &j, &f);
	hw_json__free(&j);
	return ok;
}

static void proc(struct hw_process *p, const char *exe, const char *args, __u32 args_len)
{
	memset(p, 0, sizeof(*p));
	p->k.pid = 4242;
	p->k.tid = 4242;
	p->k.ppid = 1;
	p->k.start_ns = 5000000000ULL;
	p->k.uid = p->k.euid = p->k.gid = 1000;
	p->k.loginuid = p->k.sessionid = (__u32)-1;
	memcpy(p->k.comm, "bash", 5);
	memcpy(p->entity_id, "AAAAAAAAAAAAAAAAAAAAA1", 23);
	memcpy(p->parent_entity_id, "AAAAAAAAAAAAAAAAAAAAA0", 23);
	p->exe = (char *)exe;
	p->cwd = "/tmp";
	p->args = (char *)args;
	p->args_len = args_len;
	p->flags = HW_PROC_EXEC;
	p->exe_uid = (__u32)-1;
}

static void v4(__u8 *a, __u8 a0, __u8 a1, __u8 a2, __u8 a3)
{
	memset(a, 0, 16);
	a[0] = a0;
	a[1] = a1;
	a[2] = a2;
	a[3] = a3;
}

static void mapped(__u8 *a, __u8 a0, __u8 a1, __u8 a2, __u8 a3)
{
	memset(a, 0, 16);
	a[10] = a[11] = 0xff;
	a[12] = a0;
	a[13] = a1;
	a[14] = a2;
	a[15] = a3;
}

static void sock(struct hw_sock_addr *s, int family, int proto)
{
	memset(s, 0, sizeof(*s));
	s->family = (__u16)family;
	s->protocol = (__u8)proto;
	s->sport = 40001;
	s->dport = 4444;
	if (family == AF_INET6) {
		inet_pton(AF_INET6, "2001:db8::1:0:0:7", s->saddr);
		inet_pton(AF_INET6, "fe80::1", s->daddr);
	} else {
		v4(s->saddr, 198, 18, 0, 2);
		v4(s->daddr, 10, 0, 200, 255);
	}
}

/* A long path with a 2-byte character straddling the fact's 255-byte cut, bad UTF-8 before. */
static char *long_exe(void)
{
	static char buf[600];
	size_t n = 0;

	memcpy(buf, "/opt/\xff\xfe\xc3/", 9);
	n = 9;
	while (n < 253)
		buf[n++] = 'x';
	buf[n++] = '\xc3';
	buf[n++] = '\xa9';
	memcpy(buf + n, "/tool", 6);
	return buf;
}

/* A directory path over the fact's 255 bytes whose cut leaves a base name ending inside a
 * character: the name taken from it keeps the cut bytes as they are. */
static const char *cut_dir(void)
{
	static char buf[300];

	buf[0] = '/';
	memset(buf + 1, 'a', 250);
	memcpy(buf + 251, "/yy\xc3\xa9/", 7);
	return buf;
}

TEST(fact_view_exec)
{
	struct hw_host h = host();
	struct hw_process p;
	struct hw_sock_addr s;
	static const char argv[] = "bash\0-c\0echo 0123456789012345678901234567890123456789"
				   "0123456789012345678901234567890123456789\0four";
	struct hw_proc_event e = {
	    .action = "exec", .ts_ns = 7000000001ULL, .user_name = "alice", .euser_name = "alice"};

	proc(&p, "/usr/bin/bash", argv, sizeof(argv) - 1); /* no NUL at the end */
	p.stdio_known = 1;
	p.stdio[0] = HW_STDIO_TCP;
	p.stdio[1] = HW_STDIO_PTY;
	p.stdio[2] = 200; /* out of range: "unknown" */
	memcpy(p.session_id, "SSSSSSSSSSSSSSSSSSSSS1", 23);
	e.p = &p;
	proc_same("exec, args cut to 63 bytes", &h, &e);

	sock(&s, AF_INET, IPPROTO_TCP);
	e.stdio_sock = &s;
	proc_same("exec on a socket, no connection", &h, &e);
	e.stdio_conn_id = "CCCCCCCCCCCCCCCCCCCCC1";
	e.stdio_direction = HW_DIR_INGRESS;
	proc_same("exec on an ingress socket", &h, &e);
	e.stdio_direction = HW_DIR_EGRESS;
	sock(&s, AF_INET6, IPPROTO_TCP);
	proc_same("exec on an IPv6 egress socket", &h, &e);
	sock(&s, AF_INET6, IPPROTO_UDP);
	mapped(s.saddr, 127, 0, 0, 1);
	mapped(s.daddr, 198, 18, 0, 9);
	proc_same("exec on a v4-mapped UDP socket", &h, &e);
	e.stdio_sock = NULL;
	e.stdio_conn_id = NULL;
	e.stdio_direction = 0;

	/* root, partial root, unknown users */
	p.k.uid = p.k.euid = 0;
	e.user_name = e.euser_name = "root";
	proc_same("exec as root", &h, &e);
	p.k.euid = 1000;
	e.euser_name = NULL;
	proc_same("exec uid 0 euid 1000", &h, &e);
	p.k.uid = 4000000;
	p.k.euid = 0;
	e.user_name = NULL;
	proc_same("exec unknown uid, euid 0", &h, &e);

	/* a trusted executable, an unlinked one, an untrusted one */
	p.exe_uid = 0;
	p.exe_mode = 0100755;
	proc_same("trusted exe", &h, &e);
	p.flags |= HW_EXEC_EXE_UNLINKED;
	proc_same("unlinked exe", &h, &e);
	p.flags &= ~HW_EXEC_EXE_UNLINKED;
	p.exe_mode = 0100777;
	proc_same("world-writable exe", &h, &e);
	p.flags |= HW_EXEC_EXE_TRUNCATED | HW_EXEC_ARGS_TRUNCATED;
	proc_same("truncation flags", &h, &e);
}

TEST(fact_view_exec_names_and_bytes)
{
	struct hw_host h = host();
	struct hw_process p;
	static const char bad[] = "\xff\xfe\0-\x01\x1f\x7f\"\\\0\xe2\x82\0\xf0\x9f\x98\x80\xc0\xaf"
				  "\xed\xa0\x80\0";
	static char big[HW_ECS_ARGS_BYTES + 10];
	static char many[2 * 1000];
	struct hw_proc_event e = {.action = "exec",
				  .ts_ns = 8000000000ULL,
				  .user_name = "\xc3(user\x7f",
				  .euser_name = "bob"};

	proc(&p, NULL, bad, sizeof(bad) - 1);
	memcpy(p.k.comm, "x\xff\xc3\xa9\x01y", 7);
	e.p = &p;
	proc_same("no exe: name from comm, ill-formed UTF-8 everywhere", &h, &e);
	p.exe = "/usr/lib/dir/";
	proc_same("exe ending in '/'", &h, &e);
	p.exe = "";
	proc_same("empty exe", &h, &e);
	p.exe = long_exe();
	proc_same("exe cut inside a character", &h, &e);
	p.exe = "/\xe2\x82";
	proc_same("exe of a truncated character", &h, &e);

	/* the first argument over the encoder's byte bound: none written */
	memset(big, 'a', sizeof(big));
	p.exe = "/bin/x";
	p.args = big;
	p.args_len = sizeof(big);
	proc_same("an argument over HW_ECS_ARGS_BYTES", &h, &e);
	/* the second one over it */
	big[10] = 0;
	proc_same("the second argument over the bound", &h, &e);
	/* empty arguments, more elements than HW_ECS_ARGS_MAX */
	memset(many, 0, sizeof(many));
	p.args = many;
	p.args_len = sizeof(many);
	proc_same("1000 empty arguments", &h, &e);
	p.args_len = 0;
	p.args = NULL;
	proc_same("exec without argv", &h, &e);
	p.flags = 0;
	proc_same("no exec flag, no argv", &h, &e);
}

TEST(fact_view_process_lifecycle)
{
	struct hw_host h = host();
	struct hw_process p;
	static const char argv[] = "sleep\0"
				   "100";
	struct hw_proc_event e = {.ts_ns = 9000000000ULL, .user_name = "u", .euser_name = "u"};

	proc(&p, "/usr/bin/sleep", argv, sizeof(argv));
	p.stdio_known = 1;
	p.stdio[0] = HW_STDIO_UNIX;
	p.stdio[1] = HW_STDIO_CLOSED;
	p.stdio[2] = HW_STDIO_CHAR;
	e.p = &p;
	e.action = "fork"; /* stdio is not written for a fork */
	proc_same("fork", &h, &e);
	p.k.ppid = 0; /* no parent */
	proc_same("fork without a parent", &h, &e);
	e.action = "existing_process";
	proc_same("existing_process", &h, &e);
	p.flags |= HW_PROC_EXITED | HW_PROC_SNAPSHOT;
	p.exit_code = 0x8b; /* SIGSEGV, core */
	p.exit_ns = 9500000000ULL;
	e.action = "exit";
	proc_same("exit by a signal", &h, &e);
	p.exit_code = 3 << 8;
	proc_same("exit 3", &h, &e);
	p.k.tty[0] = 'p';
	p.k.loginuid = 1000;
	p.k.cgroup_id = 77;
	proc_same("exit with tty, audit and cgroup", &h, &e);
}

static void net_view(struct hw_net_view *v, const char *action, struct hw_sock_addr *a,
		     const struct hw_process *p)
{
	memset(v, 0, sizeof(*v));
	v->action = action;
	v->ts_ns = 10000000000ULL;
	v->addr = a;
	v->p = p;
	v->user_name = "svc";
	v->euser_name = "svc";
	v->netns = 4026531840U;
}

TEST(fact_view_network)
{
	static const char *const actions[] = {
	    "connection_attempted", "connection_accepted", "disconnect",      "listen",
	    "existing_listener",    "existing_connection", "connection_open", "udp_flow",
	};
	static const int families[] = {AF_INET, AF_INET6, -AF_INET6 /* v4-mapped */};
	struct hw_host h = host();
	struct hw_process p;
	struct hw_sock_addr a;
	struct hw_net_view v;
	static const char argv[] = "nc\0-e\0/bin/sh\0x";
	char what[160];

	proc(&p, "/usr/bin/nc", argv, sizeof(argv));
	memcpy(p.session_id, "SSSSSSSSSSSSSSSSSSSSS2", 23);
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
		for (size_t fi = 0; fi < 3; fi++) {
			for (int variant = 0; variant < 6; variant++) {
				int fam = families[fi] < 0 ? AF_INET6 : families[fi];

				sock(&a, fam, variant == 5 ? IPPROTO_UDP : IPPROTO_TCP);
				if (families[fi] < 0) {
					mapped(a.saddr, 198, 18, 0, 2);
					mapped(a.daddr, 198, 18, 1, 3);
				}
				net_view(&v, actions[i], &a, variant < 2 ? &p : NULL);
				v.direction = variant & 1 ? HW_DIR_INGRESS : HW_DIR_EGRESS;
				if (strcmp(actions[i], "listen") && strncmp(actions[i], "udp", 3))
					v.conn_id = "CCCCCCCCCCCCCCCCCCCCC2";
				if (variant != 3)
					v.start_ns = 9000000000ULL;
				if (variant & 1) {
					v.have_bytes = 1;
					v.bytes_sent = 12345;
					v.bytes_received = (__u64)1 << 40;
				}
				v.closed_by = (__u8)(variant % 3);
				if (variant == 2) {
					v.owner_pid = 77;
					v.owner_entity_id = "OOOOOOOOOOOOOOOOOOOOO7";
					v.owner_exe = "/usr/sbin/sshd";
					v.session_id = "SSSSSSSSSSSSSSSSSSSSS3";
				}
				if (variant == 3) {
					v.owner_pid = 78;
					v.owner_exe = fi == 0 ? "/srv/\xff/dir/" : cut_dir();
				}
				if (variant == 4 && fi == 0)
					a.family = 0; /* unknown: written as IPv4 */
				if (variant == 4)
					v.session_id = "";
				if (!strcmp(actions[i], "connection_attempted") && variant >= 3)
					v.error = variant == 3 ? ECONNREFUSED : EIO;
				if (variant == 1)
					p.k.uid = p.k.euid = 0;
				else
					p.k.uid = p.k.euid = 1000;
				snprintf(what, sizeof(what), "%s family %d variant %d", actions[i],
					 families[fi], variant);
				net_same(what, &h, &v);
			}
		}
	}
}

static void session(struct hw_session *s, int family)
{
	memset(s, 0, sizeof(*s));
	memcpy(s->id, "XXXXXXXXXXXXXXXXXXXXX1", 23);
	sock(&s->addr, family, IPPROTO_TCP);
	s->addr.sport = 22;
	s->addr.dport = 51000;
	snprintf(s->service, sizeof(s->service), "sshd");
	snprintf(s->user, sizeof(s->user), "carol");
	snprintf(s->auth_method, sizeof(s->auth_method), "publickey");
	s->start_ns = 11000000000ULL;
	s->uid = (__u32)-1;
	s->audit_sid = (__u32)-1;
}

TEST(fact_view_sessions)
{
	struct hw_host h = host();
	struct hw_session s;
	struct hw_process p;
	struct hw_session_bytes b = {
	    .from_client = 4000, .to_client = 90000, .closed_by = HW_CLOSED_REMOTE};
	struct hw_session_view v = {.ts_ns = 12000000000ULL, .s = &s};

	proc(&p, "/usr/sbin/sshd", "sshd\0", 5);
	session(&s, AF_INET);
	v.action = "user_login";
	v.outcome = "failure";
	v.reason = "wrong password";
	session_same("a failed login, no handler", &h, &v);
	s.auth_failures = 2;
	v.p = &p;
	v.bytes = &b;
	session_same("a failed login closed by the client", &h, &v);
	v.bytes = NULL;
	s.state = HW_SESS_ACTIVE;
	s.login_ns = 11500000000ULL;
	s.uid = 1000;
	s.audit_sid = 5;
	s.verified = 1;
	v.outcome = "success";
	v.reason = NULL;
	session_same("a verified login", &h, &v);
	s.verified = 0;
	s.unverified = "no loginuid";
	session_same("an unverified login", &h, &v);
	s.uid = 0;
	s.user[0] = 0;
	p.exe = NULL;
	session_same("root, no user name, handler without exe", &h, &v);
	p.exe = "/opt/\xc3/";
	session_same("handler exe ending in '/'", &h, &v);
	v.action = "user_logout";
	v.outcome = NULL;
	v.bytes = &b;
	b.closed_by = HW_CLOSED_LOCAL;
	session_same("logout closed by the server", &h, &v);
	b.closed_by = 0;
	session_same("logout, closer unknown", &h, &v);
	session(&s, AF_INET6);
	v.action = "existing_session";
	v.bytes = NULL;
	v.p = NULL;
	session_same("existing_session IPv6, not logged in", &h, &v);
	mapped(s.addr.saddr, 198, 18, 0, 2);
	mapped(s.addr.daddr, 198, 18, 0, 1);
	s.state = HW_SESS_ACTIVE;
	s.verified = 1;
	snprintf(s.service, sizeof(s.service), "a-service-name-of-31-characters");
	session_same("existing_session v4-mapped, long service", &h, &v);
}

TEST(fact_view_agent_and_tick)
{
	struct hw_host h = host();
	struct hw_agent_counters c = {.events = 10, .alerts = 2};
	const char *degraded[] = {"no-pam"};
	struct hw_agent_event e = {.action = "agent-started",
				   .ts_ns = 1,
				   .version = "1.0",
				   .pid = 9,
				   .netns = "/run/netns/b",
				   .snapshot_procs = 3,
				   .degraded = degraded,
				   .ndegraded = 1};
	struct hw_json j;
	struct hw_fact f;
	static const unsigned long long walls[] = {0, 1, 1795795200123456789ULL,
						   18446744073709551615ULL};

	agent_same("agent-started", &h, &e);
	e.action = "agent-stopped";
	e.counters = &c;
	agent_same("agent-stopped", &h, &e);
	e.action = "output-resumed";
	e.counters = NULL;
	e.output = "stdout";
	e.output_lost = 3;
	e.output_error = "Broken pipe";
	agent_same("output-resumed (not a fact the rules use)", &h, &e);
	/* the clock at its ends: every 64-bit wall time reads back as itself */
	for (size_t i = 0; i < sizeof(walls) / sizeof(walls[0]); i++) {
		hw_json__init(&j);
		hw_ecs__tick(&j, walls[i], h.name, h.id);
		memset(&f, 0xa5, sizeof(f));
		hw_fact__tick(&f, walls[i], h.name, h.id);
		same("tick", &j, &f);
		hw_json__free(&j);
	}
	/* a boot clock before the wall clock's epoch, as a host with a bad RTC has */
	h.boot_to_real_ns = -5000000000LL;
	e.action = "agent-started";
	e.output = NULL;
	agent_same("agent-started before the epoch", &h, &e);
}

/* The compare itself: every field's difference is found and named. */
TEST(fact_view_diff_names_each_field)
{
	struct hw_fact a, b;
	char out[200];
	struct {
		size_t off;
		const char *name;
	} probes[] = {
	    {offsetof(struct hw_fact, kind), "kind"},
	    {offsetof(struct hw_fact, ts), "ts"},
	    {offsetof(struct hw_fact, host_name), "host_name"},
	    {offsetof(struct hw_fact, args[2]), "args[2]"},
	    {offsetof(struct hw_fact, stdio[2]), "stdio[2]"},
	    {offsetof(struct hw_fact, stdio_remote.port), "stdio_remote.port"},
	    {offsetof(struct hw_fact, dst.have_bytes), "dst.have_bytes"},
	    {offsetof(struct hw_fact, login_verified), "login_verified"},
	};

	memset(&a, 0, sizeof(a));
	CHECK_EQ(hw_fact__diff(&a, &a, out, sizeof(out)), 0);
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		b = a;
		((unsigned char *)&b)[probes[i].off] = 1;
		CHECK_EQ(hw_fact__diff(&a, &b, out, sizeof(out)), 1);
		CHECK(!strncmp(out, probes[i].name, strlen(probes[i].name)));
	}
	/* a byte after a string's NUL counts too: both builders zero it */
	b = a;
	b.user[40] = 'x';
	CHECK_EQ(hw_fact__diff(&a, &b, out, sizeof(out)), 1);
}
