/* The agent's streaming sinks (NATS JetStream, syslog): every event and alert line emit.c
 * writes goes into each sink's spool with a message id, and each sink is pumped once per poll
 * round; a full spool that dropped lines becomes an alert the caller emits. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent/agent_int.h"
#include "lib/str.h"
#include "output/alert.h"
#include "output/ocsf.h"
#include "stream/nats.h"
#include "stream/spool.h"
#ifdef HW_HAVE_SYSLOG
#include "stream/syslog.h"
#endif

#define PUMP_BUDGET_MS	   20 /* per sink and poll round */
#define CLOSE_BUDGET_MS	   3000
#define OVERFLOW_REPORT_NS (60ULL * 1000000000ULL)

/* mkdir -p of the spool directory's parents with the modes the package gives them (its
 * parent, /var/lib/hopwatch, 0750 root:root; the ones above 0755), whatever the umask.
 * Directories that exist are left as they are. */
static int make_parents(const char *path)
{
	char buf[4096];
	size_t n = strlen(path), last = 0;

	if (!n || n >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, n + 1);
	while (n > 1 && buf[n - 1] == '/')
		buf[--n] = 0;
	for (size_t i = 1; i < n; i++)
		if (buf[i] == '/' && buf[i - 1] != '/')
			last = i;
	for (size_t i = 1; i <= last; i++) {
		mode_t mode = i == last ? 0750 : 0755;

		if (buf[i] != '/' || buf[i - 1] == '/')
			continue;
		buf[i] = 0;
		if (!mkdir(buf, mode)) {
			if (chmod(buf, mode))
				return -errno;
		} else if (errno != EEXIST) {
			return -errno;
		}
		buf[i] = '/';
	}
	return 0;
}

/* The spool of one sink: output.spool_dir/NAME, both directories of this user, mode 0700
 * (made so when missing), never through a symbolic link. Returns NULL with err set and errno
 * EBUSY (another agent holds it: the system refused), else a bad setting. */
static struct hw_spool *open_spool(const struct hw_config *cfg, const char *name, char *err,
				   size_t errlen)
{
	char dir[4200], why[4400];
	struct hw_spool *sp;
	int e = make_parents(cfg->spool_dir), fd;

	if (e) {
		snprintf(err, errlen, "output.spool_dir '%s': %s", cfg->spool_dir, strerror(-e));
		errno = -e;
		return NULL;
	}
	fd = hw_spool__open_dir(cfg->spool_dir, why, sizeof(why));
	if (fd < 0) {
		snprintf(err, errlen, "output.spool_dir: %s", why);
		errno = -fd;
		return NULL;
	}
	close(fd);
	snprintf(dir, sizeof(dir), "%s/%s", cfg->spool_dir, name);
	sp = hw_spool__open(dir, cfg->spool_max, why, sizeof(why));
	if (!sp) {
		e = errno;
		snprintf(err, errlen, "output.spool_dir: %s", why);
		errno = e;
	}
	return sp;
}

int hw_agent__open_spools(struct hw_agent *a, char *err, size_t errlen)
{
	const struct hw_config *cfg = a->cfg;

	if (cfg->nats_url && !(a->streams.spools[0] = open_spool(cfg, "nats", err, errlen)))
		return errno == EBUSY ? 1 : 2;
	if (cfg->syslog && !(a->streams.spools[1] = open_spool(cfg, "syslog", err, errlen)))
		return errno == EBUSY ? 1 : 2;
	return 0;
}

int hw_agent__open_streams(struct hw_agent *a, char *err, size_t errlen)
{
	const struct hw_config *cfg = a->cfg;
	struct hw_spool *sp;
	struct hw_stream *st;

	if ((cfg->nats_format == HW_FORMAT_OCSF || cfg->syslog_format == HW_FORMAT_OCSF) &&
	    !(a->streams.socsf = hw_ocsf__new())) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	snprintf(a->streams.run_id, sizeof(a->streams.run_id), "%llx",
		 (unsigned long long)hw_host__wall_ns(&a->host, hw_agent__now()));
	if (cfg->nats_url) {
		sp = a->streams.spools[0];
		a->streams.spools[0] = NULL;
		st = hw_nats__new(cfg, sp, a->host.name, err, errlen);
		if (!st) {
			hw_spool__close(sp);
			return -1;
		}
		a->streams.ocsf[a->streams.n] = cfg->nats_format == HW_FORMAT_OCSF;
		if (!strcmp(cfg->nats_profile, "fleet"))
			a->streams.fleet |= 1u << a->streams.n;
		a->streams.v[a->streams.n++] = st;
	}
	if (cfg->syslog) {
#ifndef HW_HAVE_SYSLOG
		snprintf(err, errlen,
			 "output.syslog: this sink is not available yet in this version");
		return -1;
#else
		sp = a->streams.spools[1];
		a->streams.spools[1] = NULL;
		st = hw_syslog__new(cfg, sp, a->host.name, err, errlen);
		if (!st) {
			hw_spool__close(sp);
			return -1;
		}
		a->streams.ocsf[a->streams.n] = cfg->syslog_format == HW_FORMAT_OCSF;
		if (!strcmp(cfg->syslog_profile, "fleet"))
			a->streams.fleet |= 1u << a->streams.n;
		a->streams.v[a->streams.n++] = st;
#endif
	}
	return 0;
}

/* Builds the spool record of line in a->streams.rec: kind 'e' or 'a', the message id, '\n',
 * the line without its newline. Returns its length, 0 when out of memory. */
static size_t make_record(struct hw_agent *a, char kind, const char *id, size_t n, const char *line,
			  size_t len)
{
	struct hw_agent_streams *s = &a->streams;
	size_t need;

	if (len && line[len - 1] == '\n')
		len--;
	need = 1 + n + 1 + len;
	if (need > s->rec_cap) {
		char *b = realloc(s->rec, need * 2);

		if (!b)
			return 0;
		s->rec = b;
		s->rec_cap = need * 2;
	}
	s->rec[0] = kind;
	memcpy(s->rec + 1, id, n);
	s->rec[1 + n] = '\n';
	memcpy(s->rec + 2 + n, line, len);
	return need;
}

/* "host.run.seq", the line's message id, as snprintf would write it into id (every streamed
 * line has one: built by hand, the format's parsing cost more than the rest of the id). */
static int line_id(char *id, size_t cap, const char *host, const char *run, unsigned long long seq)
{
	size_t h = strlen(host), r = strlen(run), n;

	if (h + r + 2 + 21 > cap)
		return snprintf(id, cap, "%s.%s.%llu", host, run, seq);
	memcpy(id, host, h);
	id[h] = '.';
	memcpy(id + h + 1, run, r);
	id[h + 1 + r] = '.';
	n = h + r + 2;
	return (int)(n + hw_str__u64(id + n, seq));
}

void hw_agent__stream_line(struct hw_agent *a, char kind, const char *line, size_t len,
			   unsigned int mask)
{
	struct hw_agent_streams *s = &a->streams;
	char id[160];
	size_t need;
	int n;

	if (!s->n || !len || !(mask & ((1u << s->n) - 1)))
		return;
	/* the ECS record for the sinks that take ECS, then the OCSF one for the others; each
	 * sink numbers its own lines (the profiles give the sinks different lines) */
	for (int ocsf = 0; ocsf < 2; ocsf++) {
		const char *l = line;
		size_t ll = len;
		int r = 1, todo = 0;

		for (int i = 0; i < s->n; i++)
			todo += s->ocsf[i] == ocsf && (mask >> i & 1);
		if (!todo)
			continue;
		if (ocsf)
			r = hw_ocsf__translate(s->socsf, line, len, &l, &ll); /* 0: a tick */
		if (r < 0) {
			a->counters.lost_output++;
			continue;
		}
		for (int i = 0; i < s->n && r > 0; i++) {
			if (s->ocsf[i] != ocsf || !(mask >> i & 1))
				continue;
			n = line_id(id, sizeof(id), a->host.id, s->run_id, ++s->seq[i]);
			need = make_record(a, kind, id, (size_t)n, l, ll);
			if (!need) {
				a->counters.lost_output++;
				continue;
			}
			if (hw_spool__append(s->v[i]->spool, s->rec, need))
				s->lost++; /* in lost_output at the end (hw_agent__lost_writes) */
			else if (hw_spool__peek_due(s->v[i]->spool))
				/* a burst between two poll rounds: the sink takes its lines while
				 * the spool still has them in memory */
				s->v[i]->pump(s->v[i], hw_clock__mono_ns(), PUMP_BUDGET_MS);
		}
	}
}

int hw_agent__pump_streams(struct hw_agent *a, __u64 boot_ns, struct hw_alert *al)
{
	unsigned long long now = hw_clock__mono_ns(), dropped = 0;

	for (int i = 0; i < a->streams.n; i++) {
		struct hw_stream *s = a->streams.v[i];

		hw_spool__flush(s->spool); /* a failure is counted by the spool */
		s->pump(s, now, PUMP_BUDGET_MS);
		dropped += hw_spool__dropped(s->spool);
	}
	a->counters.spool_dropped = dropped;
	if (dropped <= a->streams.dropped_reported ||
	    (a->streams.overflow_reported_ns &&
	     now - a->streams.overflow_reported_ns < OVERFLOW_REPORT_NS))
		return 0;
	memset(al, 0, sizeof(*al));
	al->ts = hw_host__wall_ns(&a->host, boot_ns);
	al->rule_id = "spool-overflow";
	al->rule_name = "Events lost: a streaming sink's spool is full";
	al->severity = 73;
	al->severity_name = "high";
	al->host_id = a->host.id;
	al->host_name = a->host.name;
	al->count = (unsigned int)(dropped - a->streams.dropped_reported);
	snprintf(al->id, sizeof(al->id), "%016llx", (unsigned long long)al->ts);
	snprintf(al->message, sizeof(al->message),
		 "the spool of a streaming sink reached output.spool_max (%llu bytes) while "
		 "the sink was down or slow: the %llu oldest lines were dropped",
		 (unsigned long long)a->cfg->spool_max, dropped - a->streams.dropped_reported);
	a->streams.dropped_reported = dropped;
	a->streams.overflow_reported_ns = now;
	return 1;
}

int hw_agent__streams_behind(const struct hw_agent *a)
{
	for (int i = 0; i < a->streams.n; i++)
		if (a->streams.v[i]->behind)
			return 1;
	return 0;
}

void hw_agent__close_streams(struct hw_agent *a)
{
	for (int i = 0; i < a->streams.n; i++) {
		struct hw_stream *s = a->streams.v[i];

		hw_spool__flush(s->spool);
		s->close(s, CLOSE_BUDGET_MS);
	}
	a->streams.n = 0;
	for (int i = 0; i < 2; i++) {
		hw_spool__close(a->streams.spools[i]); /* opened, never handed to a sink */
		a->streams.spools[i] = NULL;
	}
	free(a->streams.rec);
	a->streams.rec = NULL;
	hw_ocsf__free(a->streams.socsf);
	a->streams.socsf = NULL;
}
