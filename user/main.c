/* hopwatch: command line, wiring, and the only place that exits.
 * Exit codes: 0 success, 1 the system refused (no BTF, no privileges, a program that does not
 * load), 2 bad usage (flags, config, files). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/agent.h"
#include "check.h"
#include "cli.h"
#include "collect/collect.h"
#include "config.h"
#include "ir/report.h"
#include "ir/sessions_cmd.h"
#include "lib/heap.h"
#include "replay.h"

static const char usage_text[] =
    "Usage: hopwatch COMMAND [OPTIONS]\n"
    "\n"
    "eBPF endpoint telemetry for Linux: traces processes and network connections in the\n"
    "kernel and writes them as ECS JSON lines (OCSF with -o ocsf, text on a terminal), so\n"
    "remote access and lateral movement can be followed from the first second, including\n"
    "what started before the agent.\n"
    "\n"
    "Commands:\n"
    "  run        load the BPF programs, report running processes, then stream events\n"
    "             and the alerts of the detection rules\n"
    "  replay     run the detection rules over recorded event streams (run --record)\n"
    "             and write the alerts ('hopwatch replay --help')\n"
    "  collect    consume a fleet's events from NATS JetStream, run the rules per host\n"
    "             and stitch ssh hops across hosts into hop-chain alerts\n"
    "             ('hopwatch collect --help')\n"
    "  sessions   the remote sessions: who is logged in, from where, since when, doing\n"
    "             what, and where they went next; live, or from recordings\n"
    "             ('hopwatch sessions --help')\n"
    "  check      report what this kernel supports and what would not work; exit 1 if\n"
    "             'run' would fail\n"
    "  version    print the version\n"
    "  help       print this help ('hopwatch run --help' for the options of run)\n"
    "\n"
    "Exit status: 0 success; 1 the kernel or system refused (no BTF, not root, a program\n"
    "that does not load or attach, a spool in use) or output lines were lost; 2 bad usage\n"
    "(flags, config values, unreadable files); 3 replay found malformed lines (and\n"
    "processed the rest).\n"
    "\n"
    "Documentation: README.md, docs/configuration.md, docs/events.md, docs/rules.md.\n";

static const char run_usage_text[] =
    "Usage: hopwatch run [OPTIONS]\n"
    "\n"
    "Loads the BPF programs, attaches them, takes a snapshot of the running processes (/proc)\n"
    "and TCP sockets (sock_diag), writes an 'agent-started' event, one 'existing_process',\n"
    "'existing_connection' or 'existing_listener' event per thing that was already there,\n"
    "then one event per exec, fork and exit, TCP connect (connection_attempted), accept\n"
    "(connection_accepted), listen and close (disconnect, with bytes each way), and UDP flow,\n"
    "remote logins (user_login with success or failure, user_logout, existing_session for\n"
    "sessions open before the agent; every process of a session carries its\n"
    "hopwatch.session.id), plus a 'connection_open' report of every connection still open each\n"
    "agent.conn_report_interval (10m), until stopped. Every event also goes through the\n"
    "detection rules (lateral-movement, admin-fanout, long-session, long-connection,\n"
    "reverse-shell, service-shell, brute-force, tunnel: docs/rules.md), whose alerts\n"
    "(event.kind \"alert\") follow the event that raised them. SIGINT and SIGTERM (or\n"
    "--duration) stop it cleanly: the ring buffer is drained, an 'agent-stopped' event with\n"
    "the counters (events, alerts, drops, errors, lost_output) is written, and it exits 0;\n"
    "1 when output lines were lost (a full disk: it keeps tracing, counts every lost line,\n"
    "never writes a cut one, and an 'output-resumed' event says how many once writing works\n"
    "again). Standard output closed by its reader ('hopwatch run | head') ends it with 0.\n"
    "SIGHUP reopens the output file and the recording (for logrotate). Output files are not\n"
    "opened through symbolic links nor when another user owns them; the spool of a streaming\n"
    "sink must be root's, mode 0700, and used by one agent at a time.\n"
    "\n"
    "Options:\n"
    "  -c, --config FILE       read settings from an INI file (none by default: the\n"
    "                          embedded defaults; the service uses\n"
    "                          /etc/hopwatch/hopwatch.conf)\n"
    "  -o, --format json|ocsf|text\n"
    "                          json: ECS JSON lines; ocsf: the same events as OCSF 1.8\n"
    "                          JSON lines (docs/events.md); text: one readable line per\n"
    "                          event (default: text when standard output is a terminal,\n"
    "                          else json); same as --set output.format=...; the\n"
    "                          recording (--record) is ECS whatever the format\n"
    "      --output PATH|-     write events to PATH (appended) or '-' for standard output\n"
    "                          (default: output.file if set, else standard output)\n"
    "  -d, --duration DUR      stop after DUR: 500ms, 30s, 10m, 8h, 2d\n"
    "  -s, --set SECTION.KEY=VALUE\n"
    "                          override one config key; may be repeated; applied after\n"
    "                          the config file (e.g. --set agent.args_max=8192)\n"
    "      --netns PATH        report only processes and sockets of the network namespace\n"
    "                          at PATH (e.g. /run/netns/NAME or /proc/PID/ns/net); same as\n"
    "                          --set agent.netns=PATH\n"
    "      --host-name NAME    host.name in every event (default: the hostname); same as\n"
    "                          --set agent.host_name=NAME\n"
    "      --record PATH       also write the raw event stream to PATH (appended): every\n"
    "                          event as ECS JSON plus the engine's clock ticks (one a\n"
    "                          second), so 'hopwatch replay PATH' gives the same alerts\n"
    "  -v, --verbose           print libbpf's messages (verifier logs) to stderr\n"
    "  -h, --help              print this help\n"
    "\n"
    "Keys, defaults and formats: docs/configuration.md. Event fields: docs/events.md.\n"
    "Rules and their knobs: docs/rules.md.\n";

static const char replay_usage_text[] =
    "Usage: hopwatch replay [OPTIONS] FILE...\n"
    "\n"
    "Runs the detection rules over recorded event streams and writes their alerts (nothing\n"
    "else) to standard output. FILE is a recording made with 'hopwatch run --record', or any\n"
    "file of hopwatch ECS JSON lines (an output file); '-' reads standard input. Each host\n"
    "(host.id) gets its own engine. A recording carries the agent's clock ticks, so timed\n"
    "rules (long-session, long-connection) fire at the same moments as they did live and\n"
    "the alerts are the same, byte for byte, when the same settings are given; a stream\n"
    "without ticks is ticked at each event's time. Alert lines in the input are skipped.\n"
    "\n"
    "Malformed lines (bad JSON, no @timestamp or event.action, over 1 MiB) are reported on\n"
    "standard error as FILE:LINE with the reason (the first 20), counted, and skipped; the\n"
    "rest is processed. A summary line goes to standard error at the end.\n"
    "\n"
    "Options:\n"
    "  -c, --config FILE       read settings from an INI file (the [detect] keys matter)\n"
    "  -o, --format json|ocsf|text\n"
    "                          ECS JSON lines, OCSF 1.8 Detection Findings, or one readable\n"
    "                          line per alert (default: text when standard output is a\n"
    "                          terminal, else json)\n"
    "  -s, --set SECTION.KEY=VALUE\n"
    "                          override one config key; may be repeated\n"
    "  -h, --help              print this help\n"
    "\n"
    "Exit status: 0 success; 2 bad usage or a file that cannot be read; 1 the alerts could\n"
    "not be written; 3 some lines were malformed (the alerts of the rest were written).\n"
    "\n"
    "Environment: the heap asks for transparent huge pages as it grows, unless\n"
    "GLIBC_TUNABLES is set (even empty): then malloc does as it says (hopwatch(8)).\n";

static int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"format", required_argument, NULL, 'o'},
	    {"output", required_argument, NULL, 'O'},
	    {"duration", required_argument, NULL, 'd'},
	    {"set", required_argument, NULL, 's'},
	    {"netns", required_argument, NULL, 'n'},
	    {"host-name", required_argument, NULL, 'H'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {"record", required_argument, NULL, 'R'},
	    {0},
	};
	struct hw_config cfg;
	struct hw_run_opts ro = {.cfg = &cfg};
	struct hw_cli cli;
	const char *duration = NULL;
	char err[1024], msg[1200];
	int c, ret = HW_EXIT_USAGE;

	if (hw_cli__init(&cli, "run", argc) || hw_config__init(&cfg)) {
		fprintf(stderr, "hopwatch: out of memory\n");
		hw_cli__free(&cli);
		return HW_EXIT_REFUSED;
	}
	while ((c = hw_cli__getopt(&cli, argc, argv, ":c:o:d:s:vh", opts, &ret)) != -1) {
		int r = 0;

		if (c == HW_CLI_STOP)
			goto out;
		switch (c) {
		case 'o':
			r = hw_cli__key(&cli, "output.format", optarg);
			break;
		case 'O':
			ro.output = optarg;
			break;
		case 'd':
			duration = optarg;
			break;
		case 'n':
			r = hw_cli__key(&cli, "agent.netns", optarg);
			break;
		case 'H':
			r = hw_cli__key(&cli, "agent.host_name", optarg);
			break;
		case 'v':
			ro.verbose = 1;
			break;
		case 'h':
			fputs(run_usage_text, stdout);
			ret = 0;
			goto out;
		case 'R':
			ro.record = optarg;
			break;
		default:
			break;
		}
		if (r) {
			ret = r;
			goto out;
		}
	}
	if (optind < argc) {
		snprintf(msg, sizeof(msg), "unexpected argument '%s'", argv[optind]);
		ret = hw_cli__usage(&cli, msg);
		goto out;
	}
	if ((duration && hw_cli__duration(duration, &ro.duration_ns)) || hw_cli__load(&cli, &cfg))
		goto out;
	ret = hw_agent_run(&ro, err, sizeof(err));
	if (ret)
		fprintf(stderr, "hopwatch: %s\n", err);
out:
	hw_cli__free(&cli);
	hw_config__free(&cfg);
	return ret;
}

static int cmd_replay(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"format", required_argument, NULL, 'o'},
	    {"set", required_argument, NULL, 's'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	const char *fmt = NULL;
	struct hw_config cfg;
	struct hw_replay_stats st;
	struct hw_cli cli;
	int c, ret = HW_EXIT_USAGE, text;

	if (hw_cli__init(&cli, "replay", argc + 1) || hw_config__init(&cfg)) {
		fprintf(stderr, "hopwatch: out of memory\n");
		hw_cli__free(&cli);
		return HW_EXIT_REFUSED;
	}
	while ((c = hw_cli__getopt(&cli, argc, argv, ":c:o:s:h", opts, &ret)) != -1) {
		if (c == HW_CLI_STOP)
			goto out;
		if (c == 'o') {
			fmt = optarg; /* the last -o, over every --set */
		} else if (c == 'h') {
			fputs(replay_usage_text, stdout);
			ret = 0;
			goto out;
		}
	}
	if (optind >= argc) {
		ret = hw_cli__usage(&cli, "no FILE to replay (a recording, or '-' for stdin)");
		goto out;
	}
	if (fmt && (ret = hw_cli__key(&cli, "output.format", fmt)))
		goto out;
	ret = HW_EXIT_USAGE;
	if (hw_cli__load(&cli, &cfg))
		goto out;
	text =
	    cfg.format == HW_FORMAT_TEXT || (cfg.format == HW_FORMAT_AUTO && isatty(STDOUT_FILENO));
	ret = hw_replay(&cfg, text, argv + optind, argc - optind, stdout, stderr, &st);
	if (!ret)
		fprintf(
		    stderr,
		    "hopwatch: replayed %llu lines: %llu events from %llu hosts, %llu alerts, %llu "
		    "malformed\n",
		    st.lines, st.events, st.hosts, st.alerts, st.malformed);
	if (!ret && st.malformed)
		ret = HW_EXIT_MALFORMED;
out:
	hw_cli__free(&cli);
	hw_config__free(&cfg);
	return ret;
}

/* collect and replay keep a model of every host: their heap goes on transparent huge pages
 * (lib/heap.h). A GLIBC_TUNABLES that is set, even empty, leaves malloc to what it says. */
static void heap_hugepages(void)
{
	if (!getenv("GLIBC_TUNABLES"))
		hw_heap__huge_init();
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;
	const struct hw_cli top_cli = {0}, check_cli = {.cmd = "check"};

	if (!cmd || !strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
		fputs(usage_text, cmd ? stdout : stderr);
		return cmd ? 0 : HW_EXIT_USAGE;
	}
	if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
		printf("hopwatch %s\n", HW_VERSION);
		return 0;
	}
	if (!strcmp(cmd, "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(cmd, "check")) {
		if (argc > 2) {
			if (!strcmp(argv[2], "--help") || !strcmp(argv[2], "-h")) {
				puts("Usage: hopwatch check\n\nReports the kernel, its BTF, the "
				     "privileges, and whether every BPF program loads and "
				     "attaches.\n"
				     "Exit status 0 when 'hopwatch run' would work, 1 when not.");
				return 0;
			}
			return hw_cli__usage(&check_cli, "check takes no arguments");
		}
		return hw_check(stdout);
	}
	if (!strcmp(cmd, "replay") || !strcmp(cmd, "collect"))
		heap_hugepages();
	if (!strcmp(cmd, "replay"))
		return cmd_replay(argc - 1, argv + 1);
	if (!strcmp(cmd, "collect"))
		return hw_collect_main(argc - 1, argv + 1);
	if (!strcmp(cmd, "sessions"))
		return hw_sessions_main(argc - 1, argv + 1);
	if (!strcmp(cmd, "report"))
		return hw_report_main(argc - 1, argv + 1);
	{
		char msg[300];

		snprintf(msg, sizeof(msg), "unknown command '%s'", cmd);
		return hw_cli__usage(&top_cli, msg);
	}
}
