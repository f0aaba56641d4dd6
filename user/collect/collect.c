/* hopwatch collect (see collect.h): options, the NATS JetStream consumer loop or the files of
 * --replay. The NATS consumer loop is collect_nats.c's, the output collect_out.c's, the judging
 * fleet.c's (engines per host, the stitcher).
 *
 * Delivery is at least once: a batch is fetched, every message fed, the output flushed and the
 * alerts published, then the batch acknowledged. A collector that dies before the ack leaves
 * the batch to be delivered again (to itself after a restart, or to another instance sharing
 * the durable consumer). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nats/nats.h>

#include "cli.h"
#include "collect/collect.h"
#include "collect/collect_int.h"
#include "stream/batch.h"
#include "stream/nats_opts.h"
#include "config.h"
#include "detect/jsonread.h"
#include "lib/clock.h"
#include "lib/lineread.h"
#include "lib/progress.h"
#include "model/host.h"
#include "output/alert.h"
#include "output/json.h"
#include "output/sink.h"
#include "output/text.h"
#include "parse.h"
#include "stream/url.h"
static const char usage_text[] =
    "Usage: hopwatch collect [OPTIONS] [--nats URL]\n"
    "       hopwatch collect [OPTIONS] --replay FILE...\n"
    "\n"
    "Reads the events that agents publish to NATS JetStream (hopwatch run --set\n"
    "output.nats_url=...) from the stream output.nats_stream, subjects PREFIX.HOST.events,\n"
    "through the durable pull consumer collect.durable (created when missing; collectors\n"
    "sharing it share the messages). Each host (its subject, with the host.id and\n"
    "host.name it first came with) gets its own detection engine, so the rules of\n"
    "'hopwatch run' fire here too, and the hosts' connections are stitched\n"
    "together: an outbound connection on one host and the session or accepted connection it\n"
    "opened on another are one hop, and a chain of two hops or more (A -> B -> C, each hop made\n"
    "from the session the previous one opened) raises a 'hop-chain' alert naming the host,\n"
    "user, program and time of every hop. Alerts go to the output (ECS JSON lines, OCSF or\n"
    "text) and are published to collect.subject. The first line is a 'collector-started' state\n"
    "event, the last a 'collector-stopped' one with the counters, which also go to standard\n"
    "error. Malformed messages are counted and skipped (the first 20 described on standard\n"
    "error). SIGINT, SIGTERM or --duration stop it cleanly; SIGHUP reopens the output file.\n"
    "\n"
    "Options:\n"
    "  -c, --config FILE       read settings from an INI file ([output] nats_*, [collect],\n"
    "                          [detect])\n"
    "      --nats URL[,URL]... NATS servers (nats://host:4222, tls://...); same as --set\n"
    "                          output.nats_url=...; TLS files: output.nats_ca, nats_cert,\n"
    "                          nats_key\n"
    "      --replay FILE...    read recorded streams or output files of several hosts\n"
    "                          instead of NATS ('-' for standard input), then stop\n"
    "  -o, --format json|ocsf|text\n"
    "                          ECS JSON lines, OCSF 1.8 lines (Detection Findings, the\n"
    "                          collector's start and stop), or one readable line per alert\n"
    "                          (default: text when standard output is a terminal, else\n"
    "                          json); alerts published to collect.subject stay ECS\n"
    "      --output PATH|-     write to PATH (appended) or '-' for standard output (default:\n"
    "                          output.file if set, else standard output)\n"
    "  -d, --duration DUR      stop after DUR: 500ms, 30s, 10m, 8h, 2d\n"
    "  -s, --set SECTION.KEY=VALUE\n"
    "                          override one config key; may be repeated\n"
    "  -h, --help              print this help\n"
    "\n"
    "Keys: collect.durable (hopwatch-collector), collect.subject\n"
    "(hopwatch.collector.alerts), output.nats_subject (hopwatch), output.nats_stream\n"
    "(HOPWATCH); limits: collect.memory_max (2G), collect.host_memory_max (64M),\n"
    "collect.host_alerts (60 a minute per rule), collect.host_idle (1h); scaling out:\n"
    "collect.partitions (0: none), collect.partition, collect.ack_wait (60s). Deployment:\n"
    "docs/collector.md.\n"
    "\n"
    "Exit status: 0 success; 1 NATS never reached or JetStream refused, or the output\n"
    "could not be written; 2 bad usage or unreadable files; 3 --replay found malformed lines\n"
    "(the rest was processed).\n"
    "\n"
    "Environment: the heap asks for transparent huge pages as it grows, unless\n"
    "GLIBC_TUNABLES is set (even empty): then malloc does as it says (hopwatch(8)).\n";
static volatile sig_atomic_t stop_requested, reopen_requested;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		reopen_requested = 1;
	else
		stop_requested = 1;
}

unsigned long long hw_collect__wall_ns(void)
{
	return hw_clock__real_ns();
}

int hw_collect__stopping(void)
{
	return stop_requested;
}

void hw_collect__signals(struct collector *c)
{
	if (reopen_requested) {
		reopen_requested = 0;
		if (hw_sink__reopen(c->out))
			fprintf(stderr, "hopwatch: cannot reopen '%s': %s, ignoring\n",
				hw_sink__name(c->out), strerror(errno));
	}
}

/* --- --replay ----------------------------------------------------------------------------- */

static int replay_file(struct collector *c, const char *name, FILE *in)
{
	struct hw_lineread lr;
	struct hw_progress pr;
	const char *line;
	char why[300], where[600];
	size_t len;
	unsigned long long lineno = 0;
	int got = 0, ret = 0;

	if (hw_lineread__init(&lr, in, HW_JREAD_MAX_LINE)) {
		fprintf(stderr, "hopwatch: out of memory\n");
		return HW_EXIT_REFUSED;
	}
	hw_progress__start(&pr, name, fileno(in));
	while (!stop_requested &&
	       ((got = hw_lineread__next(&lr, &line, &len)) > 0 || got == -E2BIG)) {
		int r;

		lineno++;
		hw_progress__line(&pr, (got == -E2BIG ? HW_JREAD_MAX_LINE : len) + 1);
		/* nothing recorded is from the future */
		hw_fleet__bound(c->fleet, hw_collect__wall_ns());
		if (got == -E2BIG) {
			/* refused as the reader would, without ever holding it whole */
			snprintf(where, sizeof(where), "%s:%llu", name, lineno);
			snprintf(why, sizeof(why), "line longer than %u bytes", HW_JREAD_MAX_LINE);
			hw_fleet__refuse(c->fleet);
			hw_collect__report_malformed(c, where, why);
			continue;
		}
		r = hw_fleet__feed(c->fleet, NULL, line, len, why, sizeof(why));
		if (r == -EINVAL) {
			snprintf(where, sizeof(where), "%s:%llu", name, lineno);
			hw_collect__report_malformed(c, where, why);
		} else if (r) {
			fprintf(stderr, "hopwatch: %s:%llu: %s\n", name, lineno, why);
			ret = HW_EXIT_REFUSED;
			break;
		}
		hw_collect__signals(c);
	}
	hw_progress__end(&pr);
	hw_lineread__free(&lr);
	if (!ret && got == -EIO) {
		fprintf(stderr, "hopwatch: cannot read '%s': %s\n", name, strerror(lr.err));
		ret = HW_EXIT_USAGE;
	}
	return ret;
}

static int run_replay(struct collector *c, char **files, int nfiles)
{
	struct hw_fleet_stats fs;
	int ret = 0;

	hw_collect__state_line(c, "collector-started", 0);
	for (int i = 0; i < nfiles && !ret && !stop_requested; i++) {
		int is_stdin = !strcmp(files[i], "-");
		FILE *in = is_stdin ? stdin : fopen(files[i], "re");

		if (!in) {
			fprintf(stderr, "hopwatch: cannot open '%s': %s\n", files[i],
				strerror(errno));
			ret = HW_EXIT_USAGE;
			break;
		}
		ret = replay_file(c, is_stdin ? "(stdin)" : files[i], in);
		if (!is_stdin)
			fclose(in);
	}
	hw_fleet__flush(c->fleet);
	hw_collect__state_line(c, "collector-stopped", 1);
	if (hw_sink__flush(c->out))
		c->lost_output++;
	hw_collect__summary(c);
	hw_fleet__stats(c->fleet, &fs, NULL);
	if (!ret && c->lost_output)
		ret = HW_EXIT_REFUSED;
	if (!ret && fs.malformed)
		ret = HW_EXIT_MALFORMED;
	return ret;
}

/* --- the command -------------------------------------------------------------------------- */

static void install_signals(void)
{
	struct sigaction sa = {0};

	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

int hw_collect_main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'}, {"nats", required_argument, NULL, 'N'},
	    {"set", required_argument, NULL, 's'},    {"format", required_argument, NULL, 'o'},
	    {"output", required_argument, NULL, 'O'}, {"duration", required_argument, NULL, 'd'},
	    {"replay", required_argument, NULL, 'R'}, {"partition", required_argument, NULL, 'P'},
	    {"help", no_argument, NULL, 'h'},	      {0},
	};
	struct hw_config cfg;
	struct collector c = {.cfg = &cfg};
	const char *duration = NULL, *output = NULL, *partition = NULL;
	char **files = calloc((size_t)argc + 1, sizeof(*files));
	char err[1024], msg[1200];
	int nfiles = 0, have_nats = 0, ch, ret = HW_EXIT_USAGE;
	unsigned long long duration_ns = 0;
	struct hw_cli cli;

	if (hw_cli__init(&cli, "collect", argc + 2) || !files || hw_config__init(&cfg)) {
		fprintf(stderr, "hopwatch: out of memory\n");
		hw_cli__free(&cli);
		free(files);
		return HW_EXIT_REFUSED;
	}
	while ((ch = hw_cli__getopt(&cli, argc, argv, ":c:o:d:s:h", opts, &ret)) != -1) {
		int r = 0;

		switch (ch) {
		case HW_CLI_STOP:
			goto out;
		case 'N':
			r = hw_cli__key(&cli, "output.nats_url", optarg);
			have_nats = 1;
			break;
		case 'o':
			r = hw_cli__key(&cli, "output.format", optarg);
			break;
		case 'O':
			output = optarg;
			break;
		case 'd':
			duration = optarg;
			break;
		case 'R':
			files[nfiles++] = optarg;
			break;
		case 'P':
			partition = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			ret = 0;
			goto out;
		default:
			break;
		}
		if (r) {
			ret = r;
			goto out;
		}
	}
	/* --replay a b c: the files after the first are arguments */
	for (; optind < argc; optind++) {
		if (!nfiles) {
			snprintf(msg, sizeof(msg), "unexpected argument '%s'", argv[optind]);
			ret = hw_cli__usage(&cli, msg);
			goto out;
		}
		files[nfiles++] = argv[optind];
	}
	if (partition) {
		char *list = NULL, n_s[16];
		unsigned int n;
		int r = hw_partition__option(partition, &list, &n, err, sizeof(err));

		if (r) {
			if (r == -EINVAL)
				fprintf(stderr, "hopwatch: %s\n", err);
			ret = r == -EINVAL ? HW_EXIT_USAGE : HW_EXIT_REFUSED;
			goto out;
		}
		snprintf(n_s, sizeof(n_s), "%u", n);
		r = hw_cli__key(&cli, "collect.partition", list);
		free(list);
		if (r || (r = hw_cli__key(&cli, "collect.partitions", n_s))) {
			ret = r;
			goto out;
		}
	}
	if (nfiles && have_nats) {
		ret = hw_cli__usage(&cli,
				    "--replay reads files instead of NATS: give one of --replay "
				    "and --nats");
		goto out;
	}
	if ((duration && hw_cli__duration(duration, &duration_ns)) || hw_cli__load(&cli, &cfg))
		goto out;
	if (nfiles && (cfg.collect_partitions || cfg.collect_partition)) {
		ret = hw_cli__usage(&cli, "--replay judges every host it reads: --partition and "
					  "collect.partition(s) are for NATS");
		goto out;
	}
	if (!nfiles && !cfg.nats_url) {
		ret =
		    hw_cli__usage(&cli, "no NATS server: give --nats URL (or output.nats_url), or "
					"--replay FILE...");
		goto out;
	}
	/* every file readable before anything starts */
	for (int i = 0; i < nfiles; i++) {
		if (strcmp(files[i], "-") && access(files[i], R_OK)) {
			fprintf(stderr, "hopwatch: cannot open '%s': %s\n", files[i],
				strerror(errno));
			goto out;
		}
	}
	if (!output)
		output = cfg.file;
	c.out = hw_sink__new(output);
	if (!c.out) {
		fprintf(stderr, "hopwatch: cannot open '%s': %s\n", output, strerror(errno));
		goto out;
	}
	c.text = cfg.format == HW_FORMAT_TEXT ||
		 (cfg.format == HW_FORMAT_AUTO && (!output || !strcmp(output, "-")) &&
		  isatty(STDOUT_FILENO));
	if (cfg.format == HW_FORMAT_OCSF && !(c.ocsf = hw_ocsf__new())) {
		fprintf(stderr, "hopwatch: out of memory\n");
		ret = HW_EXIT_REFUSED;
		goto out;
	}
	if (gethostname(c.host_name, sizeof(c.host_name) - 1))
		snprintf(c.host_name, sizeof(c.host_name), "unknown");
	c.fleet = hw_fleet__new(&cfg, hw_collect__alert, &c);
	if (!c.fleet) {
		fprintf(stderr, "hopwatch: out of memory\n");
		ret = HW_EXIT_REFUSED;
		goto out;
	}
	if (!nfiles && (ret = hw_collect__partitions(&c)))
		goto out;
	ret = HW_EXIT_USAGE;
	stop_requested = reopen_requested = 0;
	install_signals();
	if (nfiles) {
		c.source = "replay";
		ret = run_replay(&c, files, nfiles);
	} else {
		c.source = "nats";
		ret = hw_collect__run_nats(&c, duration_ns ? hw_clock__mono_ns() + duration_ns : 0);
	}
out:
	hw_fleet__free(c.fleet);
	hw_fleet__free(c.sfleet);
	free(c.fwd.buf);
	free(c.fwd.keys);
	hw_seqset__free(&c.seen);
	hw_sink__free(c.out);
	hw_json__free(&c.j);
	hw_json__free(&c.pj);
	hw_text__free(&c.t);
	hw_ocsf__free(c.ocsf);
	hw_cli__free(&cli);
	free(files);
	hw_config__free(&cfg);
	return ret;
}
