/* The second stage's line: a fact as the stitcher reads it (see stitch_line.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "collect/stitch_line.h"

#define FIELDS 21 /* the mark and 20 values */

struct out {
	char *p, *end; /* end: room for the NUL */
};

static void raw(struct out *o, const char *s, size_t n)
{
	if (n > (size_t)(o->end - o->p))
		n = (size_t)(o->end - o->p); /* never: HW_STITCH_LINE_MAX holds the longest */
	memcpy(o->p, s, n);
	o->p += n;
}

static void str(struct out *o, const char *s, size_t size)
{
	raw(o, "\t", 1);
	for (size_t i = 0; i < size && s[i] && o->p + 2 <= o->end; i++) {
		char c = s[i];
		const char *e = c == '\\'   ? "\\\\"
				: c == '\t' ? "\\t"
				: c == '\n' ? "\\n"
				: c == '\r' ? "\\r"
					    : NULL;

		if (e)
			raw(o, e, 2);
		else
			*o->p++ = c;
	}
}

static void u64(struct out *o, unsigned long long v)
{
	char b[24];

	raw(o, b, (size_t)snprintf(b, sizeof(b), "\t%llu", v));
}

size_t hw_stitch_line__write(char *out, const struct hw_fact *f)
{
	struct out o = {out, out + HW_STITCH_LINE_MAX};
	const char *action = hw_fact__action(f->kind);
	char flags[4], *fl = flags;

	if (!action)
		return 0;
	raw(&o, "~1\t", 3);
	raw(&o, action, strlen(action));
	u64(&o, f->ts);
	str(&o, f->host_id, sizeof(f->host_id));
	str(&o, f->host_name, sizeof(f->host_name));
	u64(&o, f->pid);
	str(&o, f->entity_id, sizeof(f->entity_id));
	str(&o, f->executable, sizeof(f->executable));
	str(&o, f->name, sizeof(f->name));
	str(&o, f->user, sizeof(f->user));
	str(&o, f->session_id, sizeof(f->session_id));
	str(&o, f->src.ip, sizeof(f->src.ip));
	u64(&o, f->src.port);
	str(&o, f->dst.ip, sizeof(f->dst.ip));
	u64(&o, f->dst.port);
	str(&o, f->conn_id, sizeof(f->conn_id));
	u64(&o, f->conn_start);
	str(&o, f->service, sizeof(f->service));
	u64(&o, f->session_start);
	str(&o, f->sock_session, sizeof(f->sock_session));
	/* last, never empty: the line never ends with a tab (readers trim trailing blanks) */
	if (f->egress)
		*fl++ = 'e';
	if (f->udp)
		*fl++ = 'u';
	if (f->failure)
		*fl++ = 'f';
	if (fl == flags)
		*fl++ = '-';
	*fl = 0;
	str(&o, flags, sizeof(flags));
	*o.p = 0;
	return (size_t)(o.p - out);
}

/* --- reading ------------------------------------------------------------------------------ */

struct in {
	const char *p, *end;
	int field; /* 1-based number of the field read last */
	char *err;
	size_t errlen;
};

static const char *const names[FIELDS] = {
    "mark",	     "action",		 "ts",		"host.id",	  "host.name",
    "pid",	     "entity_id",	 "executable",	"name",		  "user",
    "session_id",    "source.ip",	 "source.port", "destination.ip", "destination.port",
    "connection id", "connection start", "service",	"session start",  "agent socket session",
    "flags"};

static int bad(struct in *in, const char *what)
{
	snprintf(in->err, in->errlen, "stitcher line: field %d (%s) %s", in->field,
		 in->field >= 1 && in->field <= FIELDS ? names[in->field - 1] : "?", what);
	return -EINVAL;
}

/* the next field's bytes as they stand */
static int next(struct in *in, const char **s, size_t *n)
{
	const char *t;

	if (in->field && in->p >= in->end)
		return in->field++, bad(in, "missing");
	if (in->field)
		in->p++; /* the tab before it */
	in->field++;
	t = memchr(in->p, '\t', (size_t)(in->end - in->p));
	*s = in->p;
	*n = (size_t)((t ? t : in->end) - in->p);
	in->p += *n;
	return 0;
}

static int get_str(struct in *in, char *dst, size_t size)
{
	const char *s;
	size_t n, o = 0;

	if (next(in, &s, &n))
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == '\\') {
			c = ++i < n ? s[i] : 0;
			c = c == '\\'  ? '\\'
			    : c == 't' ? '\t'
			    : c == 'n' ? '\n'
			    : c == 'r' ? '\r'
				       : 0;
			if (!c)
				return bad(in, "has a bad escape");
		} else if (!c || c == '\n' || c == '\r') {
			return bad(in, "has a control byte");
		}
		if (o + 1 >= size)
			return bad(in, "is too long");
		dst[o++] = c;
	}
	dst[o] = 0;
	return 0;
}

static int get_u64(struct in *in, unsigned long long *v, unsigned long long max)
{
	const char *s;
	size_t n;

	if (next(in, &s, &n))
		return -EINVAL;
	*v = 0;
	if (!n || n > 20 || (n > 1 && s[0] == '0'))
		return bad(in, "is not a number");
	for (size_t i = 0; i < n; i++) {
		unsigned int d = (unsigned int)(s[i] - '0');

		if (d > 9 || *v > (max - d) / 10)
			return bad(in, d > 9 ? "is not a number" : "is too large");
		*v = *v * 10 + d;
	}
	return 0;
}

static int get_uint(struct in *in, unsigned int *v, unsigned long long max)
{
	unsigned long long x;

	if (get_u64(in, &x, max))
		return -EINVAL;
	*v = (unsigned int)x;
	return 0;
}

int hw_stitch_line__read(struct hw_fact *f, const char *line, size_t len, char *err, size_t errlen)
{
	struct in in = {line, line + len, 0, err, errlen};
	char action[32], flags[8];
	const char *s;
	size_t n;

	memset(f, 0, sizeof(*f));
	if (next(&in, &s, &n))
		return -EINVAL;
	if (n != 2 || s[0] != HW_STITCH_LINE_MARK || s[1] != '1')
		return bad(&in, "is not '~1'");
	if (get_str(&in, action, sizeof(action)))
		return -EINVAL;
	f->kind = hw_fact__kind(action);
	/* the kind's first action, as the writer names it (detect/fact.c's one table) */
	if (f->kind == HW_F_OTHER || strcmp(hw_fact__action(f->kind), action))
		return bad(&in, "is not the action a kind of event is written with");
	if (get_u64(&in, &f->ts, ~0ULL) || get_str(&in, f->host_id, sizeof(f->host_id)) ||
	    get_str(&in, f->host_name, sizeof(f->host_name)) ||
	    get_uint(&in, &f->pid, 0xffffffffULL) ||
	    get_str(&in, f->entity_id, sizeof(f->entity_id)) ||
	    get_str(&in, f->executable, sizeof(f->executable)) ||
	    get_str(&in, f->name, sizeof(f->name)) || get_str(&in, f->user, sizeof(f->user)) ||
	    get_str(&in, f->session_id, sizeof(f->session_id)) ||
	    get_str(&in, f->src.ip, sizeof(f->src.ip)) || get_uint(&in, &f->src.port, 65535) ||
	    get_str(&in, f->dst.ip, sizeof(f->dst.ip)) || get_uint(&in, &f->dst.port, 65535) ||
	    get_str(&in, f->conn_id, sizeof(f->conn_id)) || get_u64(&in, &f->conn_start, ~0ULL) ||
	    get_str(&in, f->service, sizeof(f->service)) ||
	    get_u64(&in, &f->session_start, ~0ULL) ||
	    get_str(&in, f->sock_session, sizeof(f->sock_session)) ||
	    get_str(&in, flags, sizeof(flags)))
		return -EINVAL;
	if (strcmp(flags, "-")) {
		for (char *c = flags; *c; c++) {
			int *bit = *c == 'e'   ? &f->egress
				   : *c == 'u' ? &f->udp
				   : *c == 'f' ? &f->failure
					       : NULL;

			if (!bit || *bit)
				return bad(&in, "is not a set of e, u, f or '-'");
			*bit = 1;
		}
		if (!flags[0])
			return bad(&in, "is empty");
	}
	if (in.p != in.end)
		return in.field++, bad(&in, "is one too many");
	return 0;
}
