/* The sessions model's input (see input.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ir/input.h"
#include "lib/lineread.h"
#include "lib/progress.h"
#include "parse.h"

#define REPORT_MAX 20

int hw_ir_input__init(struct hw_ir_input *in, struct hw_ir *ir)
{
	memset(in, 0, sizeof(*in));
	in->ir = ir;
	in->doc = calloc(1, sizeof(*in->doc));
	in->f = calloc(1, sizeof(*in->f));
	if (!in->doc || !in->f) {
		hw_ir_input__free(in);
		return -ENOMEM;
	}
	return 0;
}

void hw_ir_input__free(struct hw_ir_input *in)
{
	if (in->doc)
		hw_jdoc__free(in->doc);
	free(in->doc);
	free(in->f);
	for (size_t i = 0; i < in->nalerts; i++)
		free(in->alerts[i]);
	free(in->alerts);
	in->doc = NULL;
	in->f = NULL;
	in->alerts = NULL;
	in->nalerts = in->calerts = 0;
}

static void bad_line(struct hw_ir_input *in, const char *name, unsigned long long lineno, char *why)
{
	hw_jread__printable(why);
	in->malformed++;
	if (in->malformed <= REPORT_MAX)
		fprintf(stderr, "hopwatch: %s:%llu: malformed event: %s\n", name, lineno, why);
	else if (in->malformed == REPORT_MAX + 1)
		fprintf(stderr, "hopwatch: more malformed lines; only the count is reported\n");
}

static int keep_alert(struct hw_ir_input *in, const char *line, size_t n)
{
	if (in->nalerts >= HW_IR_INPUT_ALERTS) {
		in->dropped++;
		return 0;
	}
	if (in->nalerts == in->calerts) {
		size_t c = in->calerts ? in->calerts * 2 : 64;
		char **v = realloc(in->alerts, c * sizeof(*v));

		if (!v)
			return -ENOMEM;
		in->alerts = v;
		in->calerts = c;
	}
	in->alerts[in->nalerts] = strndup(line, n);
	if (!in->alerts[in->nalerts])
		return -ENOMEM;
	in->nalerts++;
	return 0;
}

/* One line; 0, or -ENOMEM. */
static int one_line(struct hw_ir_input *in, const char *name, unsigned long long lineno,
		    const char *line, size_t n)
{
	struct hw_ir_extra x = {0};
	unsigned long long ns;
	char why[200];
	int err;

	if (hw_jdoc__parse(in->doc, line, n)) {
		snprintf(why, sizeof(why), "%s", in->doc->err);
		bad_line(in, name, lineno, why);
		return 0;
	}
	if (hw_fact__from_json(in->f, in->doc, why, sizeof(why))) {
		bad_line(in, name, lineno, why);
		return 0;
	}
	in->events++;
	if (in->on_fact && (err = in->on_fact(in->ctx, in->f, in->doc)))
		return err;
	if (in->f->kind == HW_F_ALERT)
		return keep_alert(in, line, n);
	if (hw_jdoc__str(in->doc, "process.start") &&
	    !hw_parse_rfc3339(hw_jdoc__str(in->doc, "process.start"), &ns))
		x.proc_start = ns;
	x.auth_method = hw_jdoc__str(in->doc, "hopwatch.session.auth_method");
	x.ended_by = hw_jdoc__str(in->doc, "hopwatch.session.ended_by");
	hw_ir__feed(in->ir, in->f, &x);
	return 0;
}

int hw_ir_input__read(struct hw_ir_input *in, const char *name, FILE *f)
{
	struct hw_lineread lr;
	struct hw_progress pr;
	const char *line;
	size_t n;
	unsigned long long lineno = 0;
	char why[200];
	int got, err = 0;

	if (hw_lineread__init(&lr, f, HW_JREAD_MAX_LINE)) {
		fprintf(stderr, "hopwatch: out of memory\n");
		return HW_EXIT_REFUSED;
	}
	hw_progress__start(&pr, name, fileno(f));
	while (!err && (got = hw_lineread__next(&lr, &line, &n)) != 0 && got != -EIO) {
		lineno++;
		hw_progress__line(&pr, (got == -E2BIG ? HW_JREAD_MAX_LINE : n) + 1);
		if (got == -E2BIG) {
			snprintf(why, sizeof(why), "line longer than %u bytes", HW_JREAD_MAX_LINE);
			bad_line(in, name, lineno, why);
			continue;
		}
		while (n && (line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
			n--;
		if (n)
			err = one_line(in, name, lineno, line, n);
	}
	hw_progress__end(&pr);
	hw_lineread__free(&lr);
	if (err) {
		fprintf(stderr, "hopwatch: out of memory\n");
		return HW_EXIT_REFUSED;
	}
	if (got == -EIO) {
		fprintf(stderr, "hopwatch: cannot read '%s': %s\n", name, strerror(lr.err));
		return HW_EXIT_USAGE;
	}
	return 0;
}

void hw_ir_input__alerts(struct hw_ir_input *in)
{
	char why[200];

	for (size_t i = 0; i < in->nalerts; i++) {
		if (hw_jdoc__parse(in->doc, in->alerts[i], strlen(in->alerts[i])) ||
		    hw_fact__from_json(in->f, in->doc, why, sizeof(why)))
			continue; /* parsed once already */
		hw_ir__alert_line(in->ir, in->f, in->doc);
		free(in->alerts[i]);
		in->alerts[i] = NULL;
	}
	for (size_t i = 0; i < in->nalerts; i++)
		free(in->alerts[i]);
	in->nalerts = 0;
}

int hw_ir_input__files(struct hw_ir_input *in, char *const *files, int nfiles)
{
	int ret = 0;

	for (int i = 0; i < nfiles && !ret; i++) {
		int is_stdin = !strcmp(files[i], "-");
		FILE *f = is_stdin ? stdin : fopen(files[i], "re");

		if (!f) {
			fprintf(stderr, "hopwatch: cannot open '%s': %s\n", files[i],
				strerror(errno));
			return HW_EXIT_USAGE;
		}
		ret = hw_ir_input__read(in, is_stdin ? "(stdin)" : files[i], f);
		if (!is_stdin)
			fclose(f);
	}
	if (!ret)
		hw_ir_input__alerts(in);
	return ret;
}
