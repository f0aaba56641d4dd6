/* Replay (see replay.h). Recordings carry the agent's clock ticks, so timed rules fire at the
 * same moments as they did live; a stream without ticks (an output file) is ticked at each
 * event's own time instead. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "detect/engine.h"
#include "detect/factscan.h"
#include "detect/smap.h"
#include "lib/hash.h"
#include "lib/heap.h"
#include "lib/lineread.h"
#include "lib/progress.h"
#include "output/alert.h"
#include "output/ocsf.h"
#include "replay.h"

#define MAX_HOSTS  4096
#define REPORT_MAX 20

/* A host is its host.id and host.name together: machines cloned from one image share a
 * machine-id, and are still two hosts (as in sessions and report). */
struct host_engine {
	struct hw_snode node; /* keyed by the hash of id and name */
	char id[sizeof(((struct hw_fact *)0)->host_id)];
	char name[sizeof(((struct hw_fact *)0)->host_name)];
	struct hw_engine *e;
	int ticks_seen;
	int started; /* an agent-started was fed: the next one is a new run */
};

struct replay {
	const struct hw_config *cfg;
	int text;
	FILE *out;
	int write_error;
	struct hw_json j;
	struct hw_text t;
	struct hw_ocsf *ocsf; /* -o ocsf, else NULL */
	struct hw_smap hosts;
	struct host_engine *last; /* the previous line's host: most lines are its */
	size_t n;
	struct hw_replay_stats *st;
};

static void on_alert(const struct hw_alert *a, void *ctx)
{
	struct replay *r = ctx;
	const char *buf;
	size_t len;

	if (r->text) {
		hw_text__alert(&r->t, a);
		buf = r->t.buf;
		len = r->t.error ? 0 : r->t.len;
	} else {
		hw_json__reset(&r->j);
		hw_ecs__alert(&r->j, a);
		buf = r->j.buf;
		len = r->j.error ? 0 : r->j.len;
		if (len && hw_ocsf__line(r->ocsf, &buf, &len) <= 0)
			len = 0;
	}
	r->st->alerts++;
	if (!len || fwrite(buf, 1, len, r->out) != len)
		r->write_error = 1;
}

/* The host's engine, made at its first line; NULL when there are too many hosts, the memory
 * runs out, or (a crafted recording) two hosts' keys share a hash: *why says which. */
static struct host_engine *engine_for(struct replay *r, const struct hw_fact *f, const char **why)
{
	uint64_t h;
	struct host_engine *he = r->last;
	char key[20];

	/* the same strings find the same host by their hash: what the lookup below returns */
	if (he && !strcmp(he->id, f->host_id) && !strcmp(he->name, f->host_name))
		return he;
	h = hw_fnv__cstr(hw_fnv__cstr(HW_FNV0, f->host_id), f->host_name);
	snprintf(key, sizeof(key), "%016llx", (unsigned long long)h);
	he = (struct host_engine *)hw_smap__get(&r->hosts, key);
	if (he) {
		if (strcmp(he->id, f->host_id) || strcmp(he->name, f->host_name)) {
			*why = "host.id and host.name collide with another host's hash";
			return NULL;
		}
		r->last = he;
		return he;
	}
	*why = "too many hosts, or out of memory";
	if (r->n >= MAX_HOSTS)
		return NULL;
	he = calloc(1, sizeof(*he));
	if (!he)
		return NULL;
	snprintf(he->id, sizeof(he->id), "%s", f->host_id);
	snprintf(he->name, sizeof(he->name), "%s", f->host_name);
	he->e = hw_engine__new(r->cfg, on_alert, r);
	hw_heap__grown();
	if (he->e)
		hw_engine__one_host(he->e); /* keyed by host.id and host.name */
	if (!he->e || hw_smap__put(&r->hosts, &he->node, key)) {
		hw_engine__free(he->e);
		free(he);
		return NULL;
	}
	r->n++;
	r->st->hosts++;
	r->last = he;
	return he;
}

static void free_host(struct hw_snode *n, void *ctx)
{
	(void)ctx;
	hw_engine__free(((struct host_engine *)n)->e);
	free(n);
}

static int replay_file(struct replay *r, const char *name, FILE *in, FILE *err,
		       struct hw_factscan *fs, struct hw_fact *f)
{
	struct hw_lineread lr;
	struct hw_progress pr;
	const char *line;
	char why[200];
	size_t n;
	unsigned long long lineno = 0;
	int got;

	if (hw_lineread__init(&lr, in, HW_JREAD_MAX_LINE)) {
		fprintf(err, "hopwatch: out of memory\n");
		return 1;
	}
	hw_progress__start(&pr, name, fileno(in));
	/* a line over the reader's limit is never read whole: skipped to its newline */
	while ((got = hw_lineread__next(&lr, &line, &n)) != 0 && got != -EIO) {
		struct host_engine *he;
		const char *bad_host = "";

		lineno++;
		r->st->lines++;
		if (!(lineno & 1023))
			hw_heap__grown(); /* the models grew */
		hw_progress__line(&pr, (got == -E2BIG ? HW_JREAD_MAX_LINE : n) + 1);
		if (got == -E2BIG) {
			snprintf(why, sizeof(why), "line longer than %u bytes", HW_JREAD_MAX_LINE);
			goto malformed;
		}
		while (n && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' ' ||
			     line[n - 1] == '\t'))
			n--;
		if (!n)
			continue; /* blank lines are not events */
		if (hw_factscan__line(fs, line, n, f, why, sizeof(why)))
			goto malformed;
		if (f->kind == HW_F_ALERT)
			continue; /* alerts of the input are not events: replay makes its own */
		he = engine_for(r, f, &bad_host);
		if (he && f->kind == HW_F_AGENT_STARTED && he->started) {
			/* another run of the agent (recordings appended): it started afresh */
			hw_engine__free(he->e);
			he->e = hw_engine__new(r->cfg, on_alert, r);
			he->ticks_seen = 0;
			if (!he->e) {
				snprintf(why, sizeof(why), "out of memory");
				goto malformed;
			}
			hw_engine__one_host(he->e);
		}
		if (!he) {
			snprintf(why, sizeof(why), "%s", bad_host);
			goto malformed;
		}
		if (f->kind == HW_F_AGENT_STARTED)
			he->started = 1;
		if (f->kind == HW_F_TICK) {
			he->ticks_seen = 1;
		} else if (!he->ticks_seen && f->kind != HW_F_AGENT_STARTED) {
			struct hw_fact t = {.kind = HW_F_TICK, .ts = f->ts};

			memcpy(t.host_id, f->host_id, sizeof(t.host_id));
			memcpy(t.host_name, f->host_name, sizeof(t.host_name));
			hw_engine__feed(he->e, &t);
		}
		r->st->events++;
		hw_engine__feed(he->e, f);
		continue;
	malformed:
		/* the reason may quote the input: keep the report one printable line */
		for (char *c = why; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				*c = '?';
		r->st->malformed++;
		if (r->st->malformed <= REPORT_MAX)
			fprintf(err, "hopwatch: %s:%llu: malformed event: %s\n", name, lineno, why);
		else if (r->st->malformed == REPORT_MAX + 1)
			fprintf(err,
				"hopwatch: more malformed lines; only the count is reported\n");
	}
	hw_progress__end(&pr);
	hw_lineread__free(&lr);
	if (got == -EIO) {
		fprintf(err, "hopwatch: cannot read '%s': %s\n", name, strerror(lr.err));
		return 2;
	}
	return 0;
}

int hw_replay(const struct hw_config *cfg, int text, char *const *files, int nfiles, FILE *out,
	      FILE *err, struct hw_replay_stats *st)
{
	struct replay r = {.cfg = cfg, .text = text, .out = out, .st = st};
	struct hw_factscan fs;
	int fs_err = hw_factscan__init(&fs);
	struct hw_fact *f = calloc(1, sizeof(*f));
	int ret = 0;

	memset(st, 0, sizeof(*st));
	if (cfg->format == HW_FORMAT_OCSF)
		r.ocsf = hw_ocsf__new();
	if (fs_err || !f || (cfg->format == HW_FORMAT_OCSF && !r.ocsf)) {
		fprintf(err, "hopwatch: out of memory\n");
		ret = 1;
		goto out;
	}
	for (int i = 0; i < nfiles && !ret; i++) {
		int is_stdin = !strcmp(files[i], "-");
		FILE *in = is_stdin ? stdin : fopen(files[i], "re");

		if (!in) {
			fprintf(err, "hopwatch: cannot open '%s': %s\n", files[i], strerror(errno));
			ret = 2;
			break;
		}
		ret = replay_file(&r, is_stdin ? "(stdin)" : files[i], in, err, &fs, f);
		if (!is_stdin)
			fclose(in);
	}
	if (fflush(out) || r.write_error) {
		fprintf(err, "hopwatch: cannot write the alerts: %s\n", strerror(errno));
		if (!ret)
			ret = 1;
	}
out:
	hw_smap__each(&r.hosts, free_host, NULL);
	hw_smap__free(&r.hosts);
	hw_factscan__free(&fs);
	free(f);
	hw_json__free(&r.j);
	hw_text__free(&r.t);
	hw_ocsf__free(r.ocsf);
	return ret;
}
