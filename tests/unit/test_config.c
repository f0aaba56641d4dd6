/* Unit tests of the configuration (user/config.c): defaults, files, --set, messages. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"
#include "config.h"

#define SEC HW_NSEC_PER_SEC

static int load(struct hw_config *c, const char *text, char *err)
{
	err[0] = '\0';
	return hw_config__load_buffer(c, text, strlen(text), "t.conf", err, 512);
}

static bool cidrs_are(const struct hw_cidr_list *l, const char *const *want, size_t n)
{
	char buf[64];

	if (l->n != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		hw_format_cidr(&l->v[i], buf, sizeof(buf));
		if (strcmp(buf, want[i]))
			return false;
	}
	return true;
}

static bool strs_are(const struct hw_str_list *l, const char *const *want, size_t n)
{
	if (l->n != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (strcmp(l->v[i], want[i]))
			return false;
	return true;
}

static bool ports_are(const struct hw_port_list *l, const unsigned short *want, size_t n)
{
	return l->n == n && (!n || !memcmp(l->v, want, n * sizeof(*want)));
}

#define N(a) (sizeof(a) / sizeof(a[0]))

/* The defaults are those of docs/configuration.md and INTERFACE.md. */
TEST(config_defaults)
{
	static const char *const nets[] = {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
					   "fc00::/7"};
	static const unsigned short ports[] = {22, 23, 135, 445, 3389, 5900, 5985, 5986};
	/* INTERFACE.md's list, with sshd-session (OpenSSH >= 9.8's per-connection handler) */
	static const char *const services[] = {"sshd",	      "sshd-session", "xrdp",
					       "xrdp-sesman", "in.telnetd",   "telnetd",
					       "vncserver",   "Xvnc",	      "x11vnc"};
	struct hw_config c;

	if (!CHECK_EQ(hw_config__init(&c), 0))
		return;
	CHECK(c.host_name == NULL);
	CHECK(c.netns == NULL);
	CHECK_EQ(c.args_max, 4096);
	CHECK_EQ(c.ringbuf_size, 4 << 20);
	CHECK_EQ(c.poll_interval_ns, 50 * HW_NSEC_PER_MSEC);
	CHECK_EQ(c.proc_table_max, 4096);
	CHECK_EQ(c.proc_exited_ttl_ns, 30 * SEC);
	CHECK_EQ(c.seccomp, 1);

	CHECK(cidrs_are(&c.internal_nets, nets, N(nets)));
	CHECK(ports_are(&c.admin_ports, ports, N(ports)));
	CHECK(strs_are(&c.remote_services, services, N(services)));
	CHECK_EQ(c.long_session_ns, 8 * 3600 * SEC);
	CHECK_EQ(c.long_connection_ns, 4 * 3600 * SEC);
	CHECK_EQ(c.fanout_hosts, 5);
	CHECK_EQ(c.fanout_window_ns, 600 * SEC);
	CHECK_EQ(c.bruteforce_failures, 5);
	CHECK_EQ(c.bruteforce_window_ns, 300 * SEC);
	CHECK(c.allow_sources.n == 0 && c.allow_sources.v == NULL);
	CHECK(c.allow_programs.n == 0 && c.allow_programs.v == NULL);

	CHECK_EQ(c.format, HW_FORMAT_AUTO);
	CHECK(c.file == NULL);
	CHECK(c.nats_url == NULL);
	CHECK_STREQ(c.nats_subject, "hopwatch");
	CHECK(c.syslog == NULL);
	CHECK_STREQ(c.spool_dir, "/var/lib/hopwatch/spool");
	CHECK_EQ(c.spool_max, 1ULL << 30);
	CHECK_STREQ(c.nats_profile, "fleet");
	CHECK_STREQ(c.syslog_profile, "fleet");
	CHECK_EQ(c.fleet_summary_interval_ns, 60ULL * 1000000000ULL);
	hw_config__free(&c);
}

static const char every_key[] = "# every key, none at its default\n"
				"[agent]\n"
				"host_name = web-1.example.com\n"
				"netns = /run/netns/blue\n"
				"args_max = 16384\n"
				"ringbuf_size = 64M\n"
				"poll_interval = 100ms\n"
				"proc_table_max = 1000000\n"
				"proc_exited_ttl = 2m\n"
				"\n"
				"[detect]\n"
				"internal_nets = 198.18.0.0/15, 2001:db8::/32\n"
				"admin_ports = 22, 2222\n"
				"remote_services = sshd, /opt/remote/bin/agentd\n"
				"long_session = 2d\n"
				"long_connection = 30m\n"
				"fanout_hosts = 3\n"
				"fanout_window = 1h\n"
				"bruteforce_failures = 10\n"
				"bruteforce_window = 90s\n"
				"allow_sources = 198.18.0.1, 10.9.0.0/16\n"
				"allow_programs = /usr/bin/rsync, backupd\n"
				"\n"
				"[output]\n"
				"format = text\n"
				"file = /var/log/hopwatch/events.ndjson\n"
				"nats_url = nats://198.18.0.9:4222, tls://nats.example.com:4443\n"
				"nats_subject = corp.hopwatch\n"
				"syslog = [2001:db8::5]:6514\n"
				"spool_dir = /srv/spool\n"
				"spool_max = 512M\n";

static void check_every_key(const struct hw_config *c)
{
	static const char *const nets[] = {"198.18.0.0/15", "2001:db8::/32"};
	static const char *const allow[] = {"198.18.0.1/32", "10.9.0.0/16"};
	static const unsigned short ports[] = {22, 2222};
	static const char *const services[] = {"sshd", "/opt/remote/bin/agentd"};
	static const char *const programs[] = {"/usr/bin/rsync", "backupd"};

	CHECK_STREQ(c->host_name, "web-1.example.com");
	CHECK_STREQ(c->netns, "/run/netns/blue");
	CHECK_EQ(c->args_max, 16384);
	CHECK_EQ(c->ringbuf_size, 64 << 20);
	CHECK_EQ(c->poll_interval_ns, 100 * HW_NSEC_PER_MSEC);
	CHECK_EQ(c->proc_table_max, 1000000);
	CHECK_EQ(c->proc_exited_ttl_ns, 120 * SEC);
	CHECK(cidrs_are(&c->internal_nets, nets, N(nets)));
	CHECK(ports_are(&c->admin_ports, ports, N(ports)));
	CHECK(strs_are(&c->remote_services, services, N(services)));
	CHECK_EQ(c->long_session_ns, 2 * 86400 * SEC);
	CHECK_EQ(c->long_connection_ns, 1800 * SEC);
	CHECK_EQ(c->fanout_hosts, 3);
	CHECK_EQ(c->fanout_window_ns, 3600 * SEC);
	CHECK_EQ(c->bruteforce_failures, 10);
	CHECK_EQ(c->bruteforce_window_ns, 90 * SEC);
	CHECK(cidrs_are(&c->allow_sources, allow, N(allow)));
	CHECK(strs_are(&c->allow_programs, programs, N(programs)));
	CHECK_EQ(c->format, HW_FORMAT_TEXT);
	CHECK_STREQ(c->file, "/var/log/hopwatch/events.ndjson");
	CHECK_STREQ(c->nats_url, "nats://198.18.0.9:4222, tls://nats.example.com:4443");
	CHECK_STREQ(c->nats_subject, "corp.hopwatch");
	CHECK_STREQ(c->syslog, "[2001:db8::5]:6514");
	CHECK_STREQ(c->spool_dir, "/srv/spool");
	CHECK_EQ(c->spool_max, 512 << 20);
}

TEST(config_every_key_buffer)
{
	struct hw_config c;
	char err[512];

	hw_config__init(&c);
	CHECK_EQ(load(&c, every_key, err), 0);
	CHECK_STREQ(err, "");
	check_every_key(&c);
	hw_config__free(&c);
}

TEST(config_every_key_file)
{
	char path[] = "/tmp/hw_test_config_XXXXXX", err[512];
	struct hw_config c;
	int fd = mkstemp(path);

	if (!CHECK(fd >= 0))
		return;
	CHECK_EQ(write(fd, every_key, strlen(every_key)), (long long)strlen(every_key));
	close(fd);
	hw_config__init(&c);
	CHECK_EQ(hw_config__load_file(&c, path, err, sizeof(err)), 0);
	check_every_key(&c);
	hw_config__free(&c);
	unlink(path);
}

TEST(config_unreadable_file)
{
	struct hw_config c;
	char err[512];

	hw_config__init(&c);
	CHECK_EQ(hw_config__load_file(&c, "/nonexistent/x.conf", err, sizeof(err)), -ENOENT);
	CHECK_STREQ(err, "cannot read config '/nonexistent/x.conf': No such file or directory");
	CHECK_EQ(hw_config__load_file(&c, "/", err, sizeof(err)), -EINVAL);
	CHECK_STREQ(err, "cannot read config '/': not a regular file");
	/* finding 14: a FIFO hung the agent (nobody writes to it); refused at once */
	{
		char fifo[] = "/tmp/hw-config-fifo-XXXXXX";
		int fd = mkstemp(fifo);

		if (CHECK(fd >= 0)) {
			close(fd);
			unlink(fifo);
			CHECK(!mkfifo(fifo, 0600));
			CHECK_EQ(hw_config__load_file(&c, fifo, err, sizeof(err)), -EINVAL);
			CHECK(strstr(err, "not a regular file") != NULL);
			unlink(fifo);
		}
	}
	CHECK_EQ(c.fanout_hosts, 5);
	hw_config__free(&c);
}

TEST(config_unknown_names)
{
	struct hw_config c;
	char err[512];

	hw_config__init(&c);
	CHECK_EQ(load(&c, "[detect]\nfanout_hosts = 7\nfoo = 1\n", err), -EINVAL);
	CHECK_STREQ(err, "t.conf:3: unknown key 'detect.foo'");
	CHECK_EQ(c.fanout_hosts, 7); /* keys before the error stay applied */
	CHECK_EQ(load(&c, "\n[detcet]\nlong_session = 8h\n", err), -EINVAL);
	CHECK_STREQ(err, "t.conf:3: unknown section 'detcet' (use agent, detect or output)");
	CHECK_EQ(load(&c, "long_session = 8h\n", err), -EINVAL);
	CHECK_STREQ(err, "t.conf:1: key 'long_session' is outside a section (use [agent], "
			 "[detect] or [output])");
	CHECK_EQ(load(&c, "[Detect]\nlong_session = 8h\n", err), -EINVAL);
	CHECK_STREQ(err, "t.conf:2: unknown section 'Detect' (use agent, detect or output)");
	CHECK_EQ(load(&c, "[detect]\nLong_Session = 8h\n", err), -EINVAL);
	CHECK_STREQ(err, "t.conf:2: unknown key 'detect.Long_Session'");
	CHECK_EQ(hw_config__set(&c, "detect.foo=1", err, sizeof(err)), -EINVAL);
	CHECK_STREQ(err, "--set unknown key 'detect.foo'");
	CHECK_EQ(hw_config__set(&c, "nope.foo=1", err, sizeof(err)), -EINVAL);
	CHECK_STREQ(err, "--set unknown section 'nope' (use agent, detect or output)");
	hw_config__free(&c);
}

TEST(config_bad_values_name_the_key)
{
	static const struct {
		const char *set, *msg;
	} cases[] = {
	    {"detect.long_session=8x", "--set detect.long_session: invalid duration '8x' (use "
				       "500ms, 30s, 10m, 8h, 2d)"},
	    {"detect.fanout_hosts=0", "--set detect.fanout_hosts: '0' is out of range (1..256)"},
	    {"detect.fanout_hosts=five",
	     "--set detect.fanout_hosts: invalid number 'five' (use 1..256)"},
	    {"agent.poll_interval=2s", "--set agent.poll_interval: '2s' is out of range (1ms..1s)"},
	    {"agent.args_max=255", "--set agent.args_max: '255' is out of range (256..16384)"},
	    {"agent.ringbuf_size=3M",
	     "--set agent.ringbuf_size: '3M' is not a power of two (use 2M or 4M)"},
	    {"agent.ringbuf_size=32K",
	     "--set agent.ringbuf_size: '32K' is out of range (64K..256M)"},
	    {"agent.ringbuf_size=lots",
	     "--set agent.ringbuf_size: invalid size 'lots' (use 100, 64K, 512M, 1G)"},
	    {"output.spool_max=1K", "--set output.spool_max: '1K' is out of range (at least 1M)"},
	    {"detect.long_session=99999999999999999999d",
	     "--set detect.long_session: '99999999999999999999d' is out of range (1ms..365d)"},
	    {"detect.internal_nets=10.0.0.0/8, 10.0.0.1/8",
	     "--set detect.internal_nets: invalid CIDR '10.0.0.1/8': host bits are set after the "
	     "/8 prefix (the network is 10.0.0.0/8)"},
	    {"detect.allow_sources=10.0.0.0/8,,", "--set detect.allow_sources: empty item in list "
						  "'10.0.0.0/8,,'"},
	    {"detect.admin_ports=22,0",
	     "--set detect.admin_ports: invalid port '0' (use 1..65535)"},
	    {"detect.admin_ports=ssh",
	     "--set detect.admin_ports: invalid port 'ssh' (use 1..65535)"},
	    {"output.format=yaml",
	     "--set output.format: invalid format 'yaml' (use json, ocsf, text or auto)"},
	    {"output.nats_subject=a..b", "--set output.nats_subject: invalid subject 'a..b' (use "
					 "tokens of A-Z a-z 0-9 _ - separated by '.')"},
	    {"output.nats_subject=", "--set output.nats_subject: must not be empty"},
	    {"output.syslog=logs.example.com",
	     "--set output.syslog: invalid address 'logs.example.com' (use host:port, e.g. "
	     "logs.example.com:514 or [2001:db8::1]:514)"},
	    {"output.nats_url=http://x:80",
	     "--set output.nats_url: invalid NATS URL list 'http://x:80' (use nats://host:4222, "
	     "tls://host:4222, ...)"},
	    {"output.spool_dir=", "--set output.spool_dir: must not be empty"},
	    {"output.nats_profile=lean",
	     "--set output.nats_profile: invalid profile 'lean' (use fleet or full)"},
	    {"output.syslog_profile=", "--set output.syslog_profile: must not be empty"},
	    {"output.fleet_summary_interval=2h",
	     "--set output.fleet_summary_interval: '2h' is out of range (1s..1h)"},
	    {"agent.host_name=my host",
	     "--set agent.host_name: 'my host' contains a space or control character"},
	    {"agent.netns=/run/\x01x", "--set agent.netns: '/run/?x' contains a control character"},
	};
	struct hw_config c;
	char err[512];

	hw_config__init(&c);
	for (size_t i = 0; i < N(cases); i++) {
		err[0] = '\0';
		if (!CHECK(hw_config__set(&c, cases[i].set, err, sizeof(err)) < 0))
			printf("    input '%s'\n", cases[i].set);
		CHECK_STREQ(err, cases[i].msg);
	}
	/* a failed set leaves the old value */
	CHECK_EQ(c.fanout_hosts, 5);
	CHECK_EQ(c.internal_nets.n, 4);
	CHECK_STREQ(c.nats_subject, "hopwatch");
	CHECK_EQ(c.ringbuf_size, 4 << 20);

	CHECK_EQ(
	    load(&c, "[agent]\n\n; a comment\n\n\n\n\n\n\n\n[detect]\nlong_session = 8x\n", err),
	    -EINVAL);
	CHECK_STREQ(err, "t.conf:12: detect.long_session: invalid duration '8x' (use 500ms, 30s, "
			 "10m, 8h, 2d)");
	hw_config__free(&c);
}

TEST(config_valid_edge_values)
{
	static const char *const good[] = {
	    "agent.args_max=256",
	    "agent.args_max=16384",
	    "agent.ringbuf_size=64K",
	    "agent.ringbuf_size=256MiB",
	    "agent.poll_interval=1ms",
	    "agent.poll_interval=1s",
	    "agent.proc_table_max=16",
	    "output.spool_max=1M",
	    "output.spool_max=16777215T",
	    "output.nats_subject=a-b_c.D9",
	    "output.syslog=10.0.0.1:514",
	    "output.format=json",
	    "output.nats_url=localhost:4222",
	    "output.nats_url=wss://h:443,ws://h:80",
	    "detect.long_session=1ms",
	    "detect.long_session=365d",
	    "detect.admin_ports=65535",
	};
	struct hw_config c;
	char err[512];

	hw_config__init(&c);
	for (size_t i = 0; i < N(good); i++) {
		if (!CHECK_EQ(hw_config__set(&c, good[i], err, sizeof(err)), 0))
			printf("    %s\n", err);
	}
	CHECK_EQ(c.format, HW_FORMAT_JSON);
	CHECK(c.spool_max == 16777215ULL << 40);
	hw_config__free(&c);
}

TEST(config_set_syntax)
{
	static const char *const bad[] = {
	    "detect.fanout_hosts", "fanout_hosts=5", ".x=1", "detect.=1", "=5", ""};
	struct hw_config c;
	char err[512], want[128];

	hw_config__init(&c);
	for (size_t i = 0; i < N(bad); i++) {
		CHECK_EQ(hw_config__set(&c, bad[i], err, sizeof(err)), -EINVAL);
		snprintf(want, sizeof(want), "--set '%s': expected section.key=value", bad[i]);
		CHECK_STREQ(err, want);
	}
	CHECK_EQ(hw_config__set(&c, NULL, err, sizeof(err)), -EINVAL);
	CHECK_EQ(hw_config__set(&c, " detect.fanout_hosts = 7 ", err, sizeof(err)), 0);
	CHECK_EQ(c.fanout_hosts, 7);
	/* the value is everything after the first '=' */
	CHECK_EQ(hw_config__set(&c, "output.file=/tmp/a=b", err, sizeof(err)), 0);
	CHECK_STREQ(c.file, "/tmp/a=b");
	/* an error with no buffer is still an error */
	CHECK_EQ(hw_config__set(&c, "detect.fanout_hosts=0", NULL, 0), -ERANGE);
	CHECK_EQ(hw_config__set(&c, "detect.fanout_hosts=0", err, 0), -ERANGE);
	hw_config__free(&c);
}

TEST(config_set_overrides_file_and_lists_replace)
{
	static const unsigned short file_ports[] = {22, 2222};
	static const unsigned short set_ports[] = {3389};
	struct hw_config c;
	char err[512];

	hw_config__init(&c);
	CHECK_EQ(load(&c,
		      "[detect]\nadmin_ports = 22\nadmin_ports = 22, 2222\nfanout_hosts = 9\n"
		      "allow_sources = 10.0.0.0/8\nallow_programs = a, b\n",
		      err),
		 0);
	CHECK(ports_are(&c.admin_ports, file_ports, N(file_ports))); /* last wins, replaced */
	CHECK_EQ(c.fanout_hosts, 9);
	CHECK_EQ(c.allow_sources.n, 1);
	CHECK_EQ(hw_config__set(&c, "detect.admin_ports=3389", err, sizeof(err)), 0);
	CHECK(ports_are(&c.admin_ports, set_ports, N(set_ports)));
	CHECK_EQ(hw_config__set(&c, "detect.fanout_hosts=2", err, sizeof(err)), 0);
	CHECK_EQ(c.fanout_hosts, 2);
	/* an empty value empties a list */
	CHECK_EQ(hw_config__set(&c, "detect.allow_sources=", err, sizeof(err)), 0);
	CHECK(c.allow_sources.n == 0 && c.allow_sources.v == NULL);
	CHECK_EQ(load(&c, "[detect]\nallow_programs =\ninternal_nets = \n", err), 0);
	CHECK(c.allow_programs.n == 0 && c.allow_programs.v == NULL);
	CHECK(c.internal_nets.n == 0);
	/* and unsets an optional string */
	CHECK_EQ(hw_config__set(&c, "output.file=/x", err, sizeof(err)), 0);
	CHECK_EQ(hw_config__set(&c, "output.file=", err, sizeof(err)), 0);
	CHECK(c.file == NULL);
	CHECK_EQ(hw_config__set(&c, "agent.host_name=", err, sizeof(err)), 0);
	CHECK(c.host_name == NULL);
	hw_config__free(&c);
}

TEST(config_file_syntax)
{
	struct hw_config c;
	char err[512];

	hw_config__init(&c);
	/* comments, indentation, CRLF, a BOM, ':' as separator */
	CHECK_EQ(load(&c,
		      "\xef\xbb\xbf# comment\r\n; comment\r\n  [detect]\r\n"
		      "\tfanout_hosts = 7 ; inline comment\r\n"
		      "    bruteforce_failures = 9\r\n"
		      "long_session: 1h\r\n",
		      err),
		 0);
	CHECK_EQ(c.fanout_hosts, 7);
	CHECK_EQ(c.bruteforce_failures, 9); /* not a continuation of fanout_hosts */
	CHECK_EQ(c.long_session_ns, 3600 * SEC);
	/* '#' is not an inline comment */
	CHECK_EQ(load(&c, "[detect]\nfanout_hosts = 7 # seven\n", err), -EINVAL);
	CHECK_STREQ(err, "t.conf:2: detect.fanout_hosts: invalid number '7 # seven' (use "
			 "1..256)");
	CHECK_EQ(load(&c, "[detect\nfanout_hosts = 7\n", err), -EINVAL);
	CHECK_STREQ(err, "t.conf:1: syntax error (expected '[section]' or 'key = value')");
	CHECK_EQ(load(&c, "[detect] fanout_hosts = 6\n", err), -EINVAL);
	CHECK_STREQ(err, "t.conf:1: text after '[section]'");
	CHECK_EQ(load(&c, "[agent]  ; comment\n[detect]\t# comment\r\nfanout_hosts = 6\n", err), 0);
	CHECK_EQ(c.fanout_hosts, 6);
	CHECK_EQ(load(&c, "[detect]\n  192.168.0.0/16\n", err), -EINVAL);
	CHECK_STREQ(err, "t.conf:2: syntax error (expected '[section]' or 'key = value')");
	/* the first error wins, a syntax error included */
	CHECK_EQ(load(&c, "[detect]\njunk\nfanout_hosts = 0\n", err), -EINVAL);
	CHECK_STREQ(err, "t.conf:2: syntax error (expected '[section]' or 'key = value')");
	CHECK_EQ(load(&c, "[detect]\nfanout_hosts = 0\njunk\n", err), -ERANGE);
	CHECK_STREQ(err, "t.conf:2: detect.fanout_hosts: '0' is out of range (1..256)");
	/* no trailing newline, empty file */
	CHECK_EQ(load(&c, "[detect]\nfanout_hosts = 8", err), 0);
	CHECK_EQ(c.fanout_hosts, 8);
	CHECK_EQ(load(&c, "", err), 0);
	CHECK_EQ(c.fanout_hosts, 8);
	hw_config__free(&c);
}

TEST(config_file_hostile_input)
{
	static const char nul[] = "[detect]\nfanout_hosts = 7\0 junk\n";
	struct hw_config c;
	char err[512], *big;
	size_t n = 2 * HW_CONFIG_FILE_MAX;

	hw_config__init(&c);
	CHECK_EQ(hw_config__load_buffer(&c, nul, sizeof(nul) - 1, "t.conf", err, sizeof(err)),
		 -EINVAL);
	CHECK_STREQ(err, "t.conf:2: contains a NUL byte (not a text file?)");

	big = malloc(n + 1);
	if (!CHECK(big))
		goto out;
	/* one long line */
	memset(big, 'a', n);
	big[n] = '\0';
	CHECK_EQ(load(&c, big, err), -EINVAL);
	CHECK_STREQ(err, "t.conf:1: line is longer than 4094 bytes");
	/* the longest line that fits */
	memcpy(big, "[detect]\nallow_programs = ", 26);
	memset(big + 26, 'p', 4094 - 17);
	big[9 + 4094] = '\n';
	big[9 + 4095] = '\0';
	CHECK_EQ(load(&c, big, err), 0);
	if (CHECK_EQ(c.allow_programs.n, 1))
		CHECK_EQ(strlen(c.allow_programs.v[0]), 4094 - 17);
	big[9 + 4094] = 'p';
	big[9 + 4095] = '\0';
	CHECK_EQ(load(&c, big, err), -EINVAL);
	CHECK_STREQ(err, "t.conf:2: line is longer than 4094 bytes");
	/* too many lines */
	for (size_t i = 0; i < n; i += 2)
		memcpy(big + i, "#\n", 2);
	CHECK_EQ(load(&c, big, err), -EFBIG);
	CHECK_STREQ(err, "t.conf: file is larger than 1048576 bytes");
	/* binary garbage and control characters stay out of the message */
	CHECK_EQ(load(&c, "[detect]\nfanout_hosts = \x1b[31m\xff\n", err), -EINVAL);
	CHECK_STREQ(err, "t.conf:2: detect.fanout_hosts: invalid number '?[31m\xff' (use "
			 "1..256)");
	CHECK_EQ(load(&c, "\x7f\x45\x4c\x46\x02\x01\x01", err), -EINVAL);
	CHECK_STREQ(err, "t.conf:1: syntax error (expected '[section]' or 'key = value')");
	free(big);
out:
	hw_config__free(&c);
}

TEST(config_long_value_is_cut_in_messages)
{
	struct hw_config c;
	char err[512], set[300];

	hw_config__init(&c);
	snprintf(set, sizeof(set), "detect.long_session=%0200d", 7);
	CHECK_EQ(hw_config__set(&c, set, err, sizeof(err)), -EINVAL);
	CHECK(strlen(err) < 200);
	CHECK(strstr(err, "...' (use 500ms") != NULL);
	/* a small buffer truncates, never overflows */
	CHECK_EQ(hw_config__set(&c, set, err, 16), -EINVAL);
	CHECK_STREQ(err, "--set detect.lo");
	hw_config__free(&c);
}

/* Run under valgrind: nothing leaks when a load or a set fails half way through a list. */
TEST(config_free_after_failure)
{
	struct hw_config c;
	char err[512];

	hw_config__init(&c);
	CHECK_EQ(load(&c,
		      "[agent]\nhost_name = a\nhost_name = b\n[detect]\nremote_services = x, y\n"
		      "allow_programs = p, q, r\x01, s\n",
		      err),
		 -EINVAL);
	CHECK_STREQ(err, "t.conf:6: detect.allow_programs: 'r?' contains a control character");
	CHECK_STREQ(c.host_name, "b");
	CHECK_EQ(c.allow_programs.n, 0);
	CHECK_EQ(
	    hw_config__set(&c, "detect.internal_nets=10.0.0.0/8, fc00::/7, x", err, sizeof(err)),
	    -EINVAL);
	CHECK_EQ(c.internal_nets.n, 4);
	hw_config__free(&c);
	hw_config__free(&c); /* twice is fine */

	memset(&c, 0, sizeof(c));
	hw_config__free(&c); /* so is a zeroed struct */
	hw_config__free(NULL);
}

TEST(config_lookup_cidr)
{
	struct hw_config c;
	unsigned char a[16];
	char err[512];

	hw_config__init(&c);
	inet_pton(AF_INET, "198.18.0.7", a);
	CHECK_EQ(hw_cidrs_contain(c.internal_nets.v, c.internal_nets.n, AF_INET, a), 0);
	CHECK_EQ(hw_config__set(&c, "detect.internal_nets=198.18.0.0/15", err, sizeof(err)), 0);
	CHECK_EQ(hw_cidrs_contain(c.internal_nets.v, c.internal_nets.n, AF_INET, a), 1);
	inet_pton(AF_INET6, "::ffff:198.18.0.7", a);
	CHECK_EQ(hw_cidrs_contain(c.internal_nets.v, c.internal_nets.n, AF_INET6, a), 1);
	hw_config__free(&c);
}

/* agent.seccomp: on or off, nothing else */
TEST(config_seccomp_switch)
{
	struct hw_config c;
	char err[256] = "";

	if (!CHECK_EQ(hw_config__init(&c), 0))
		return;
	CHECK_EQ(hw_config__set(&c, "agent.seccomp=off", err, sizeof(err)), 0);
	CHECK_EQ(c.seccomp, 0);
	CHECK_EQ(hw_config__set(&c, "agent.seccomp=on", err, sizeof(err)), 0);
	CHECK_EQ(c.seccomp, 1);
	CHECK_EQ(hw_config__set(&c, "agent.seccomp=yes", err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "invalid switch 'yes' (use on or off)") != NULL);
	CHECK_EQ(c.seccomp, 1); /* unchanged by the refused value */
	CHECK_EQ(hw_config__set(&c, "agent.seccomp=", err, sizeof(err)), -EINVAL);
	hw_config__free(&c);
}

/* deploy/hopwatch.conf, the file the package installs, loads and states the defaults. */
TEST(deploy_config_is_the_defaults)
{
	struct hw_config def, c;
	char err[512] = "";

	if (!CHECK(!hw_config__init(&def)) || !CHECK(!hw_config__init(&c)))
		return;
	if (!CHECK(!hw_config__load_file(&c, "deploy/hopwatch.conf", err, sizeof(err))))
		printf("    %s\n", err);
	CHECK_STREQ(c.file, "/var/log/hopwatch/events.ndjson");
	CHECK_EQ(c.format, HW_FORMAT_JSON);
	CHECK(c.host_name == NULL && c.netns == NULL);
	CHECK_EQ(c.args_max, def.args_max);
	CHECK_EQ(c.ringbuf_size, def.ringbuf_size);
	CHECK_EQ(c.poll_interval_ns, def.poll_interval_ns);
	CHECK_EQ(c.proc_table_max, def.proc_table_max);
	CHECK_EQ(c.proc_exited_ttl_ns, def.proc_exited_ttl_ns);
	CHECK_EQ(c.conn_report_interval_ns, def.conn_report_interval_ns);
	CHECK_EQ(c.conn_table_max, def.conn_table_max);
	CHECK_EQ(c.seccomp, def.seccomp);
	CHECK_EQ(c.internal_nets.n, def.internal_nets.n);
	CHECK(!memcmp(c.internal_nets.v, def.internal_nets.v,
		      def.internal_nets.n * sizeof(*def.internal_nets.v)));
	CHECK_EQ(c.admin_ports.n, def.admin_ports.n);
	CHECK(!memcmp(c.admin_ports.v, def.admin_ports.v,
		      def.admin_ports.n * sizeof(*def.admin_ports.v)));
	CHECK_EQ(c.remote_services.n, def.remote_services.n);
	for (size_t i = 0; i < c.remote_services.n && i < def.remote_services.n; i++)
		CHECK_STREQ(c.remote_services.v[i], def.remote_services.v[i]);
	CHECK_EQ(c.long_session_ns, def.long_session_ns);
	CHECK_EQ(c.long_connection_ns, def.long_connection_ns);
	CHECK_EQ(c.fanout_hosts, def.fanout_hosts);
	CHECK_EQ(c.fanout_window_ns, def.fanout_window_ns);
	CHECK_EQ(c.bruteforce_failures, def.bruteforce_failures);
	CHECK_EQ(c.bruteforce_window_ns, def.bruteforce_window_ns);
	CHECK_EQ(c.allow_sources.n, 0);
	CHECK_EQ(c.allow_programs.n, 0);
	CHECK_STREQ(c.nats_subject, def.nats_subject);
	CHECK_STREQ(c.spool_dir, def.spool_dir);
	CHECK_EQ(c.spool_max, def.spool_max);
	hw_config__free(&c);
	hw_config__free(&def);
}
