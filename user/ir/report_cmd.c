/* `hopwatch report`: its command line, the reading of recordings, output files and the
 * collector's output into the sessions model (ir/sessions.h), every alert kept for the list
 * (the rules' and the input's), and the page written to standard output or -o FILE. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "detect/jsonread.h"
#include "ir/input.h"
#include "ir/report.h"
#include "ir/sessions_int.h" /* hw_ir__copy */
#include "lib/lineread.h"
#include "lib/progress.h"

#define REPORT_MAX 20

static const char usage_text[] =
    "Usage: hopwatch report [OPTIONS] FILE...\n"
    "\n"
    "Writes one self-contained HTML page about the remote sessions of the input: a hop\n"
    "graph (hosts and outside addresses as nodes; every session's login and every hop as\n"
    "an arrow labelled with the user, the time and the method, alerted hops in red), a\n"
    "timeline per session (login, commands, connections, alerts, logout) and the list of\n"
    "alerts, each linked to its session and its hop. The page needs no network: its CSS,\n"
    "script and SVG are inline, and its Content-Security-Policy forbids every fetch; open\n"
    "it in any browser, offline. It holds user names, commands and addresses: hand it on\n"
    "as you would the recording.\n"
    "\n"
    "FILE is a recording ('hopwatch run --record'), any hopwatch ECS JSON output, or the\n"
    "collector's output ('hopwatch collect', its hop-chain alerts), of one host or many;\n"
    "'-' reads standard input. Give a fleet's recordings with the collector's output: the\n"
    "hop-chain alerts then light up the hops of their chain. The detection rules run over\n"
    "the input as in 'hopwatch replay', so a recording's sessions get their alerts; an\n"
    "alert the input holds too is listed once. Sessions are rebuilt as 'hopwatch sessions'\n"
    "does. Malformed lines are reported (the first 20), counted and skipped. Progress goes\n"
    "to standard error when it is a terminal.\n"
    "\n"
    "Everything that came from the events (process names, arguments, user and host names)\n"
    "is data, never markup: it is embedded as escaped JSON and put on the page as text.\n"
    "\n"
    "Options:\n"
    "  -o, --output FILE       write the page to FILE (created mode 0600, replaced if it\n"
    "                          exists; never through a symbolic link nor into another\n"
    "                          user's file) instead of standard output, which must not\n"
    "                          be a terminal\n"
    "  -c, --config FILE       read settings from an INI file ([detect] keys)\n"
    "  -s, --set SECTION.KEY=VALUE\n"
    "                          override one config key; may be repeated\n"
    "  -h, --help              print this help\n"
    "\n"
    "Exit status: 0 success; 1 the page could not be written; 2 bad usage, unreadable\n"
    "files, no hopwatch event in the input; 3 some lines were malformed (the page was\n"
    "written from the rest).\n";

struct reader {
	struct hw_ir *ir;
	struct hw_report rep;
	struct hw_ir_input in;
};

/* every element of the array at path (hw_jdoc leaves share their array's path) */
static int jarray(const struct hw_jdoc *d, const char *path, char *out, size_t each, int max)
{
	int n = 0;

	for (size_t i = 0; i < d->n && n < max; i++) {
		const struct hw_jleaf *l = &d->leaves[i];

		if (l->type == HW_J_STRING && l->in_array && !strcmp(l->path, path))
			hw_ir__copy(out + (size_t)n++ * each, each, l->val);
	}
	return n;
}

void hw_report__alert_of_line(struct hw_rp_alert *a, const struct hw_fact *f,
			      const struct hw_jdoc *d)
{
	unsigned long long sev = 0;

	memset(a, 0, sizeof(*a));
	a->ts = f->ts;
	hw_ir__copy(a->host_id, sizeof(a->host_id), hw_jdoc__str(d, "host.id"));
	hw_ir__copy(a->host_name, sizeof(a->host_name), hw_jdoc__str(d, "host.name"));
	hw_ir__copy(a->sid, sizeof(a->sid), hw_jdoc__str(d, "hopwatch.session.id"));
	hw_ir__copy(a->eid, sizeof(a->eid), hw_jdoc__str(d, "process.entity_id"));
	hw_ir__copy(a->conn, sizeof(a->conn), hw_jdoc__str(d, "hopwatch.connection.id"));
	hw_ir__copy(a->id, sizeof(a->id), hw_jdoc__str(d, "event.id"));
	hw_ir__copy(a->rule, sizeof(a->rule), hw_jdoc__str(d, "event.action"));
	hw_ir__copy(a->severity, sizeof(a->severity), hw_jdoc__str(d, "hopwatch.alert.severity"));
	hw_ir__copy(a->user, sizeof(a->user), hw_jdoc__str(d, "user.name"));
	hw_ir__copy(a->message, sizeof(a->message), hw_jdoc__str(d, "message"));
	if (!hw_jdoc__u64(d, "event.severity", &sev) && sev <= 100)
		a->sev = (int)sev;
	a->nhosts =
	    jarray(d, "hopwatch.alert.hosts", a->hosts[0], sizeof(a->hosts[0]), HW_RP_HOSTS);
	a->nrelated = jarray(d, "hopwatch.alert.related_ids", a->related[0], sizeof(a->related[0]),
			     HW_RP_RELATED);
}

void hw_report__alert_of_rule(struct hw_rp_alert *a, const struct hw_alert *al)
{
	memset(a, 0, sizeof(*a));
	a->ts = al->ts;
	a->sev = al->severity;
	hw_ir__copy(a->host_id, sizeof(a->host_id), al->host_id);
	hw_ir__copy(a->host_name, sizeof(a->host_name), al->host_name);
	hw_ir__copy(a->sid, sizeof(a->sid), al->session_id);
	hw_ir__copy(a->eid, sizeof(a->eid), al->entity_id);
	hw_ir__copy(a->conn, sizeof(a->conn), al->connection_id);
	hw_ir__copy(a->id, sizeof(a->id), al->id);
	hw_ir__copy(a->rule, sizeof(a->rule), al->rule_id);
	hw_ir__copy(a->severity, sizeof(a->severity), al->severity_name);
	hw_ir__copy(a->user, sizeof(a->user), al->user);
	hw_ir__copy(a->message, sizeof(a->message), al->message);
	for (int i = 0; i < al->nhosts && i < HW_RP_HOSTS; i++)
		hw_ir__copy(a->hosts[a->nhosts++], sizeof(a->hosts[0]), al->hosts[i]);
}

static void on_rule_alert(const struct hw_alert *al, void *ctx)
{
	struct reader *r = ctx;
	struct hw_rp_alert a;

	hw_report__alert_of_rule(&a, al);
	if (hw_report__add_alert(&r->rep, &a))
		r->rep.dropped++;
}

/* every alert line of the input goes on the page's list (input.c puts it on its session) */
static int on_fact(void *ctx, const struct hw_fact *f, const struct hw_jdoc *d)
{
	struct reader *r = ctx;
	struct hw_rp_alert a;

	if (f->kind != HW_F_ALERT)
		return 0;
	hw_report__alert_of_line(&a, f, d);
	return hw_report__add_alert(&r->rep, &a) ? -ENOMEM : 0;
}

/* The output: standard output (not a terminal) or path, created 0600, never through a symbolic
 * link, never another user's file nor anything but a regular file (checked before it is
 * emptied). */
static FILE *open_output(const char *path, int *ret)
{
	const char *why = NULL;
	struct stat st;
	int fd;
	FILE *out;

	*ret = HW_EXIT_USAGE;
	if (!path) {
		if (isatty(STDOUT_FILENO)) {
			const struct hw_cli cli = {.cmd = "report"};

			hw_cli__usage(&cli, "standard output is a terminal: redirect it "
					    "(> report.html) or give -o FILE");
			return NULL;
		}
		return stdout;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600);
	if (fd < 0) {
		fprintf(stderr, "hopwatch: cannot create '%s': %s\n", path,
			errno == ELOOP	 ? "it is a symbolic link"
			: errno == ENXIO ? "not a regular file" /* a FIFO without a reader */
					 : strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st))
		why = strerror(errno);
	else if (!S_ISREG(st.st_mode))
		why = "not a regular file";
	else if (st.st_uid != geteuid())
		why = "another user owns it";
	else if (ftruncate(fd, 0))
		why = strerror(errno);
	if (why) {
		fprintf(stderr, "hopwatch: cannot create '%s': %s\n", path, why);
		close(fd);
		return NULL;
	}
	out = fdopen(fd, "w");
	if (!out) {
		close(fd);
		fprintf(stderr, "hopwatch: out of memory\n");
		*ret = HW_EXIT_REFUSED;
	}
	return out;
}

static int write_page(struct reader *r, FILE *out, const char *path)
{
	size_t n = 0;
	struct hw_ir_session **v = hw_ir__sessions(r->ir, 0, &n);
	int err = hw_report__page(out, v, n, &r->rep);

	if (!err && fflush(out))
		err = -errno;
	if (out != stdout && fclose(out) && !err)
		err = -errno;
	if (err && path)
		unlink(path); /* no half page left behind */
	if (err == -ENOMEM) {
		fprintf(stderr, "hopwatch: out of memory\n");
		return HW_EXIT_REFUSED;
	}
	if (err) {
		fprintf(stderr, "hopwatch: cannot write the report to '%s': %s\n",
			path ? path : "(stdout)", strerror(err == -EIO ? EIO : -err));
		return HW_EXIT_REFUSED;
	}
	return 0;
}

int hw_report_main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"output", required_argument, NULL, 'o'},
	    {"config", required_argument, NULL, 'c'},
	    {"set", required_argument, NULL, 's'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	const char *path = NULL;
	struct reader r = {0};
	struct hw_config cfg;
	struct hw_cli cli;
	int c, ret = HW_EXIT_USAGE;
	FILE *out = NULL;

	if (hw_cli__init(&cli, "report", argc) || hw_config__init(&cfg)) {
		fprintf(stderr, "hopwatch: out of memory\n");
		hw_cli__free(&cli);
		return HW_EXIT_REFUSED;
	}
	while ((c = hw_cli__getopt(&cli, argc, argv, ":o:c:s:h", opts, &ret)) != -1) {
		if (c == HW_CLI_STOP)
			goto out;
		if (c == 'o') {
			path = optarg;
		} else if (c == 'h') {
			fputs(usage_text, stdout);
			ret = 0;
			goto out;
		}
	}
	if (optind >= argc) {
		ret = hw_cli__usage(&cli, "report needs FILE: a recording, an output file or the "
					  "collector's output ('-' for standard input)");
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
	hw_ir__on_alert(r.ir, on_rule_alert, &r);
	if (!path && isatty(STDOUT_FILENO)) { /* before reading a large input for nothing */
		open_output(NULL, &ret);
		goto out;
	}
	r.in.on_fact = on_fact;
	r.in.ctx = &r;
	ret = hw_ir_input__files(&r.in, argv + optind, argc - optind);
	if (ret)
		goto out;
	if (!r.in.events) {
		fprintf(stderr, "hopwatch: no hopwatch event in the input%s\n",
			r.in.malformed ? " (every line was malformed)" : "");
		ret = HW_EXIT_USAGE;
		goto out;
	}
	out = open_output(path, &ret);
	if (!out)
		goto out;
	ret = write_page(&r, out, path);
	if (hw_ir__dropped(r.ir) || r.rep.dropped || r.in.dropped)
		fprintf(stderr,
			"hopwatch: %llu sessions, processes, connections or alerts not kept "
			"(more than %u of a kind)\n",
			hw_ir__dropped(r.ir) + r.rep.dropped + r.in.dropped, HW_IR_MAX_ITEMS);
	if (!ret && r.in.malformed) {
		fprintf(stderr, "hopwatch: %llu malformed lines skipped\n", r.in.malformed);
		ret = HW_EXIT_MALFORMED;
	}
out:
	hw_ir__free(r.ir);
	hw_report__free(&r.rep);
	hw_ir_input__free(&r.in);
	hw_cli__free(&cli);
	hw_config__free(&cfg);
	return ret;
}
