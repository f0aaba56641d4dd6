/* `hopwatch sessions`: its command line, the reading of recordings and JSON files (or, with no
 * FILE, the live one-shot snapshot of sessions_live.c) and the choice of output. */
#include <errno.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "detect/jsonread.h"
#include "ir/input.h"
#include "ir/sessions.h"
#include "ir/sessions_cmd.h"
#include "lib/clock.h"
#include "lib/lineread.h"
#include "lib/progress.h"

static const char usage_text[] =
    "Usage: hopwatch sessions [OPTIONS] [FILE...]\n"
    "\n"
    "Lists remote sessions (ssh and the other detect.remote_services): host, user,\n"
    "service, source address and port, since (the true start, also for sessions that\n"
    "began before the agent: marked '*'), end or 'open', duration, idle time (since the\n"
    "session's last event; live: since its terminal's last input), bytes from and to the\n"
    "client, processes, outbound TCP connections, hops (outbound connections to\n"
    "detect.admin_ports), alerts, and the session id.\n"
    "\n"
    "With FILE (a recording made with 'hopwatch run --record', any hopwatch ECS JSON\n"
    "output, the events of many hosts; '-' reads standard input): every session of the\n"
    "input, ended ones included, grouped by host. The detection rules run over the input\n"
    "as in 'hopwatch replay', so a recording's sessions get their alerts; alert lines of\n"
    "the input (an output file's, the collector's output with its hop-chain alerts, given\n"
    "with the hosts' recordings) count too. Malformed lines are reported (the first 20),\n"
    "counted and skipped.\n"
    "\n"
    "Without FILE: the sessions open on this host now. When an agent runs ('hopwatch run'),\n"
    "it is asked at its control socket (agent.control_socket, /run/hopwatch/agent.sock:\n"
    "root only): its processes, connections and sessions now and the alerts it raised (the\n"
    "last 256). Otherwise, or with --snapshot or --netns, a one-shot snapshot of /proc and\n"
    "the kernel's sockets (as the agent takes at start; no BPF is loaded). Needs root.\n"
    "\n"
    "Options:\n"
    "  -o, --format table|json  a table (default), or one JSON object per session\n"
    "                          (fields: docs/incident-response.md)\n"
    "  -t, --tree ID           print the process tree of session ID (a unique prefix is\n"
    "                          enough), with each process's connections and alerts\n"
    "  -c, --config FILE       read settings from an INI file ([detect] keys)\n"
    "  -s, --set SECTION.KEY=VALUE\n"
    "                          override one config key; may be repeated\n"
    "      --netns PATH        live: the sessions of the network namespace at PATH\n"
    "                          (a one-shot snapshot)\n"
    "      --snapshot          live: a one-shot snapshot even when an agent runs\n"
    "  -h, --help              print this help\n"
    "\n"
    "Exit status: 0 success; 1 the system refused (live without root, the agent refused,\n"
    "output not written); 2 bad usage, unreadable files, an unknown session ID; 3 some lines\n"
    "were malformed (the rest was read).\n";

struct reader {
	struct hw_ir *ir;
	struct hw_ir_input in;
	/* the agent's answer: the terminals of the sessions' processes, for their idle time */
	int want_ttys;
	struct hw_ir_tty *ttys;
	char (*tty_store)[2][64];
	size_t nttys, tty_cap;
};

#define TTYS_MAX 65536

static void keep_tty(struct reader *r, const char *session_id, const char *tty)
{
	if (!session_id[0] || !tty || !tty[0] || r->nttys == TTYS_MAX)
		return;
	if (r->nttys == r->tty_cap) {
		size_t cap = r->tty_cap ? r->tty_cap * 2 : 64;
		void *s = realloc(r->tty_store, cap * sizeof(*r->tty_store));

		if (!s)
			return;
		r->tty_store = s;
		r->tty_cap = cap;
	}
	snprintf(r->tty_store[r->nttys][0], 64, "%s", session_id);
	snprintf(r->tty_store[r->nttys][1], 64, "%s", tty);
	r->nttys++;
}

/* the agent's answer: each snapshot process's terminal, for its session's idle time */
static int on_fact(void *ctx, const struct hw_fact *f, const struct hw_jdoc *d)
{
	struct reader *r = ctx;

	if (r->want_ttys && f->kind == HW_F_PROC_SNAPSHOT)
		keep_tty(r, f->session_id, hw_jdoc__str(d, "hopwatch.tty"));
	return 0;
}

/* Asks the running agent at path (agent.control_socket). 0 with *asked set when it answered
 * (its lines fed to r->ir); 0 without *asked when nobody answers there (no socket, a stale
 * one, or one this user may not reach: the one-shot snapshot says the rest); else an exit
 * status, the error line printed. */
static int ask_agent(struct reader *r, const char *path, unsigned long long *now_ns, int *asked)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	char line[256];
	FILE *in;
	int fd, c, ret;

	*asked = 0;
	if (!path || !*path || strlen(path) >= sizeof(sun.sun_path))
		return 0;
	memcpy(sun.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun))) {
		close(fd);
		return 0;
	}
	/* a refusal is one line of text, an answer JSON lines: look without taking */
	do
		c = (int)recv(fd, line, 1, MSG_PEEK);
	while (c < 0 && errno == EINTR);
	in = fdopen(fd, "r");
	if (!in) {
		close(fd);
		return 0;
	}
	if (c == 1 && line[0] == 'h') { /* "hopwatch: refused: ..." */
		if (!fgets(line, sizeof(line), in))
			line[0] = 0;
		line[strcspn(line, "\n")] = 0;
		hw_jread__printable(line);
		fprintf(stderr, "%s\n", line[0] ? line : "hopwatch: the agent refused");
		fclose(in);
		return HW_EXIT_REFUSED;
	}
	r->want_ttys = 1;
	ret = hw_ir_input__read(&r->in, path, in);
	fclose(in);
	if (ret)
		return ret;
	hw_ir_input__alerts(&r->in);
	*now_ns = hw_clock__real_ns();
	r->ttys = calloc(r->nttys + 1, sizeof(*r->ttys));
	if (r->ttys) {
		for (size_t i = 0; i < r->nttys; i++) {
			r->ttys[i].session_id = r->tty_store[i][0];
			r->ttys[i].tty = r->tty_store[i][1];
		}
		hw_ir__tty_idle(r->ir, *now_ns, r->ttys, r->nttys);
	}
	*asked = 1;
	return 0;
}

/* The session named id, or a unique one whose id starts with it. */
static int find_session(struct hw_ir_session **v, size_t n, const char *id, size_t *out)
{
	size_t len = strlen(id), found = 0;

	for (size_t i = 0; i < n; i++) {
		if (!strcmp(v[i]->id, id)) {
			*out = i;
			return 0;
		}
	}
	for (size_t i = 0; i < n && len; i++) {
		if (!strncmp(v[i]->id, id, len)) {
			*out = i;
			found++;
		}
	}
	if (found == 1)
		return 0;
	return found ? -EEXIST : -ENOENT;
}

static int print(struct hw_ir *ir, unsigned long long now, int json, const char *tree)
{
	size_t n = 0, at = 0;
	struct hw_ir_session **v = hw_ir__sessions(ir, now, &n);
	char msg[200];
	int err;

	if (tree) {
		err = find_session(v, n, tree, &at);
		if (err) {
			snprintf(msg, sizeof(msg), "%s session '%s' in the input",
				 err == -EEXIST ? "more than one" : "no", tree);
			hw_jread__printable(msg);
			fprintf(stderr, "hopwatch: %s\n", msg);
			return HW_EXIT_USAGE;
		}
		err =
		    json ? hw_ir__print_json(stdout, v + at, 1) : hw_ir__print_tree(stdout, v[at]);
	} else {
		err = json ? hw_ir__print_json(stdout, v, n) : hw_ir__print_table(stdout, v, n);
	}
	if (err || fflush(stdout)) {
		fprintf(stderr, "hopwatch: cannot write the sessions: %s\n",
			strerror(err ? -err : errno));
		return HW_EXIT_REFUSED;
	}
	return 0;
}

int hw_sessions_main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"format", required_argument, NULL, 'o'}, {"tree", required_argument, NULL, 't'},
	    {"config", required_argument, NULL, 'c'}, {"set", required_argument, NULL, 's'},
	    {"netns", required_argument, NULL, 'n'},  {"snapshot", no_argument, NULL, 'S'},
	    {"help", no_argument, NULL, 'h'},	      {0},
	};
	const char *tree = NULL, *netns = NULL;
	struct reader r = {0};
	struct hw_config cfg;
	struct hw_cli cli;
	char msg[1200], err[1024];
	unsigned long long now = 0;
	int c, json = 0, snapshot = 0, ret = HW_EXIT_USAGE;

	if (hw_cli__init(&cli, "sessions", argc) || hw_config__init(&cfg)) {
		fprintf(stderr, "hopwatch: out of memory\n");
		hw_cli__free(&cli);
		return HW_EXIT_REFUSED;
	}
	while ((c = hw_cli__getopt(&cli, argc, argv, ":o:t:c:s:h", opts, &ret)) != -1) {
		if (c == HW_CLI_STOP)
			goto out;
		switch (c) {
		case 'o':
			if (!strcmp(optarg, "json") || !strcmp(optarg, "table")) {
				json = !strcmp(optarg, "json");
				break;
			}
			snprintf(msg, sizeof(msg), "--format: unknown format '%s' (table or json)",
				 optarg);
			ret = hw_cli__usage(&cli, msg);
			goto out;
		case 't':
			tree = optarg;
			break;
		case 'n':
			netns = optarg;
			break;
		case 'S':
			snapshot = 1;
			break;
		case 'h':
			fputs(usage_text, stdout);
			ret = 0;
			goto out;
		default:
			break;
		}
	}
	if ((netns || snapshot) && optind < argc) {
		ret = hw_cli__usage(
		    &cli, netns ? "--netns is for the live host: give it without FILE"
				: "--snapshot is for the live host: give it without FILE");
		goto out;
	}
	if (hw_cli__load(&cli, &cfg))
		goto out;
	r.ir = hw_ir__new(&cfg);
	if (!r.ir || hw_ir_input__init(&r.in, r.ir)) {
		fprintf(stderr, "hopwatch: out of memory\n");
		ret = HW_EXIT_REFUSED;
		goto out;
	}
	r.in.on_fact = on_fact;
	r.in.ctx = &r;
	if (optind < argc) {
		ret = hw_ir_input__files(&r.in, argv + optind, argc - optind);
	} else {
		int asked = 0;

		ret = 0;
		if (!netns && !snapshot)
			ret = ask_agent(&r, cfg.control_socket, &now, &asked);
		if (!ret && !asked) {
			ret = hw_ir__live(r.ir, &cfg, netns, &now, err, sizeof(err));
			if (ret)
				fprintf(stderr, "hopwatch: %s\n", err);
		}
	}
	if (ret)
		goto out;
	ret = print(r.ir, now, json, tree);
	if (hw_ir__dropped(r.ir) || r.in.dropped)
		fprintf(stderr,
			"hopwatch: %llu sessions, processes, connections or alerts not kept "
			"(more than %u of a kind)\n",
			hw_ir__dropped(r.ir) + r.in.dropped, HW_IR_MAX_ITEMS);
	if (!ret && r.in.malformed) {
		fprintf(stderr, "hopwatch: %llu malformed lines skipped\n", r.in.malformed);
		ret = HW_EXIT_MALFORMED;
	}
out:
	hw_ir_input__free(&r.in);
	hw_ir__free(r.ir);
	free(r.ttys);
	free(r.tty_store);
	hw_cli__free(&cli);
	hw_config__free(&cfg);
	return ret;
}
