/* Agent configuration. One table lists every key with its type, field, bounds and default;
 * hw_config__apply() is the only code that writes a field, so defaults, the INI file (read by
 * libinih) and --set are validated the same way and give the same messages. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ini.h>

#include "hopwatch/limits.h"
#include "config.h"

#define MSEC  HW_NSEC_PER_MSEC
#define SEC   HW_NSEC_PER_SEC
#define DAY   (86400 * SEC)
#define XSTR_(x) #x
#define XSTR(x)  XSTR_(x)

enum kind { K_U32, K_DURATION, K_SIZE, K_FORMAT, K_STR, K_CIDRS, K_PORTS, K_STRS };

/* Checks a string (or a string list item); on error writes the problem into why. q is the
 * value quoted for the message. */
typedef int (*check_fn)(const char *v, const char *q, char *why, size_t len);

struct key {
	const char *section;
	const char *name;
	enum kind kind;
	size_t off;                   /* of the field in struct hw_config */
	unsigned long long min, max;  /* numbers, durations, sizes */
	const char *def;              /* the default as written in a file; NULL = unset */
	unsigned int flags;
	check_fn check;               /* K_STR, K_STRS */
};

#define F_POW2     1 /* K_SIZE: a power of two */
#define F_NONEMPTY 2 /* K_STR: an empty value is an error, rather than "unset" */

/* Offset of a field, which must have type t: a mismatch with the key's kind does not build. */
#define FIELD(f, t)                                                                                \
	(offsetof(struct hw_config, f) +                                                           \
	 sizeof(char[__builtin_types_compatible_p(__typeof__(((struct hw_config *)0)->f), t) ? 1   \
											     : -1]) -  \
	 1)

#define U32(s, n, f, lo, hi, d) {s, n, K_U32, FIELD(f, unsigned int), lo, hi, d, 0, NULL}
#define DUR(s, n, f, lo, hi, d) {s, n, K_DURATION, FIELD(f, unsigned long long), lo, hi, d, 0, NULL}
#define SIZE(s, n, f, lo, hi, d, fl)                                                               \
	{s, n, K_SIZE, FIELD(f, unsigned long long), lo, hi, d, fl, NULL}
#define STR(s, n, f, d, fl, chk) {s, n, K_STR, FIELD(f, char *), 0, 0, d, fl, chk}
#define CIDRS(s, n, f, d)        {s, n, K_CIDRS, FIELD(f, struct hw_cidr_list), 0, 0, d, 0, NULL}
#define PORTS(s, n, f, d)        {s, n, K_PORTS, FIELD(f, struct hw_port_list), 1, 65535, d, 0, NULL}
#define STRS(s, n, f, d, chk)    {s, n, K_STRS, FIELD(f, struct hw_str_list), 0, 0, d, 0, chk}

static int check_text(const char *v, const char *q, char *why, size_t len);
static int check_host_name(const char *v, const char *q, char *why, size_t len);
static int check_nats_urls(const char *v, const char *q, char *why, size_t len);
static int check_subject(const char *v, const char *q, char *why, size_t len);
static int check_host_port(const char *v, const char *q, char *why, size_t len);

static const struct key keys[] = {
	STR("agent", "host_name", host_name, NULL, 0, check_host_name),
	STR("agent", "netns", netns, NULL, 0, check_text),
	U32("agent", "args_max", args_max, 256, HW_ARGS_MAX, XSTR(HW_ARGS_MAX_DEFAULT)),
	SIZE("agent", "ringbuf_size", ringbuf_size, 64 << 10, 256 << 20, "4M", F_POW2),
	DUR("agent", "poll_interval", poll_interval_ns, MSEC, SEC, "50ms"),
	U32("agent", "proc_table_max", proc_table_max, 16, 1000000, "4096"),
	DUR("agent", "proc_exited_ttl", proc_exited_ttl_ns, SEC, DAY, "30s"),

	CIDRS("detect", "internal_nets", internal_nets,
	      "10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, fc00::/7"),
	PORTS("detect", "admin_ports", admin_ports, "22, 23, 135, 445, 3389, 5900, 5985, 5986"),
	STRS("detect", "remote_services", remote_services,
	     "sshd, xrdp, xrdp-sesman, in.telnetd, telnetd, vncserver, Xvnc, x11vnc", check_text),
	DUR("detect", "long_session", long_session_ns, MSEC, 365 * DAY, "8h"),
	DUR("detect", "long_connection", long_connection_ns, MSEC, 365 * DAY, "4h"),
	U32("detect", "fanout_hosts", fanout_hosts, 1, 100000, "5"),
	DUR("detect", "fanout_window", fanout_window_ns, MSEC, 365 * DAY, "10m"),
	U32("detect", "bruteforce_failures", bruteforce_failures, 1, 100000, "5"),
	DUR("detect", "bruteforce_window", bruteforce_window_ns, MSEC, 365 * DAY, "5m"),
	CIDRS("detect", "allow_sources", allow_sources, NULL),
	STRS("detect", "allow_programs", allow_programs, NULL, check_text),

	{"output", "format", K_FORMAT, FIELD(format, enum hw_format), 0, 0, "auto", 0, NULL},
	STR("output", "file", file, NULL, 0, check_text),
	STR("output", "nats_url", nats_url, NULL, 0, check_nats_urls),
	STR("output", "nats_subject", nats_subject, "hopwatch", F_NONEMPTY, check_subject),
	STR("output", "syslog", syslog, NULL, 0, check_host_port),
	STR("output", "spool_dir", spool_dir, "/var/lib/hopwatch/spool", F_NONEMPTY, check_text),
	SIZE("output", "spool_max", spool_max, 1 << 20, ~0ULL, "1G", 0),
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

/* Writes "<origin><fmt...>" into err, with control characters replaced so that the message
 * stays one printable line whatever the input held. Returns ret. */
__attribute__((format(printf, 5, 6))) static int fail(char *err, size_t errlen, int ret,
						       const char *origin, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!err || !errlen)
		return ret;
	n = snprintf(err, errlen, "%s", origin ? origin : "");
	if (n < 0 || (size_t)n >= errlen)
		n = (int)strlen(err);
	va_start(ap, fmt);
	vsnprintf(err + n, errlen - n, fmt, ap);
	va_end(ap);
	for (char *p = err; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return ret;
}

/* A value (or n bytes of it) shortened for a message. */
static void quote(const char *v, size_t n, char *buf, size_t len)
{
	if (n < len)
		snprintf(buf, len, "%.*s", (int)n, v);
	else
		snprintf(buf, len, "%.*s...", (int)(len - 4), v);
}

static int check_text(const char *v, const char *q, char *why, size_t len)
{
	size_t n = strlen(v);

	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
			return fail(why, len, -EINVAL, NULL, "'%s' contains a control character", q);
	if (n >= 4096)
		return fail(why, len, -EINVAL, NULL, "'%s' is longer than 4095 bytes", q);
	return 0;
}

static int check_host_name(const char *v, const char *q, char *why, size_t len)
{
	for (const char *p = v; *p; p++)
		if (isspace((unsigned char)*p) || (unsigned char)*p < 0x20 || *p == 0x7f)
			return fail(why, len, -EINVAL, NULL, "'%s' contains a space or control character",
				    q);
	if (strlen(v) > 255)
		return fail(why, len, -EINVAL, NULL, "'%s' is longer than 255 bytes", q);
	return 0;
}

static int check_nats_urls(const char *v, const char *q, char *why, size_t len)
{
	static const char *const schemes[] = {"nats://", "tls://", "ws://", "wss://"};
	struct hw_parse_list it;
	const char *item, *sep;
	size_t n, i;
	int ret;

	hw_parse_list_init(&it, v);
	while ((ret = hw_parse_list_next(&it, &item, &n)) > 0) {
		for (i = 0; i < n; i++)
			if (isspace((unsigned char)item[i]) || (unsigned char)item[i] < 0x20 ||
			    item[i] == 0x7f)
				goto bad;
		sep = memmem(item, n, "://", 3);
		if (!sep)
			continue;
		for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
			if ((size_t)(sep + 3 - item) == strlen(schemes[i]) &&
			    !strncmp(item, schemes[i], strlen(schemes[i])) && sep + 3 < item + n)
				break;
		if (i == sizeof(schemes) / sizeof(schemes[0]))
			goto bad;
	}
	if (!ret)
		return 0;
bad:
	return fail(why, len, -EINVAL, NULL,
		    "invalid NATS URL list '%s' (use nats://host:4222, tls://host:4222, ..., "
		    "comma-separated)",
		    q);
}

static int check_subject(const char *v, const char *q, char *why, size_t len)
{
	bool token = false;

	for (const char *p = v; *p; p++) {
		if (*p == '.' && token)
			token = false;
		else if (isalnum((unsigned char)*p) || *p == '_' || *p == '-')
			token = true;
		else
			goto bad;
	}
	if (token && strlen(v) <= 255)
		return 0;
bad:
	return fail(why, len, -EINVAL, NULL,
		    "invalid subject '%s' (use tokens of A-Z a-z 0-9 _ - separated by '.')", q);
}

static int check_host_port(const char *v, const char *q, char *why, size_t len)
{
	unsigned short port;

	if (hw_parse_host_port(v, NULL, 0, &port))
		return fail(why, len, -EINVAL, NULL,
			    "invalid address '%s' (use host:port, e.g. logs.example.com:514 or "
			    "[2001:db8::1]:514)",
			    q);
	return 0;
}

static void str_list_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Parses one list item into elem (of the key's element type); writes the problem into why. */
static int parse_item(const struct key *k, const char *item, void *elem, char *why, size_t len)
{
	char q[72], cwhy[128];
	unsigned int port;
	int ret;

	quote(item, strlen(item), q, sizeof(q));
	switch (k->kind) {
	case K_CIDRS:
		ret = hw_parse_cidr_why(item, elem, cwhy, sizeof(cwhy));
		return ret ? fail(why, len, ret, NULL, "invalid CIDR '%s': %s", q, cwhy) : 0;
	case K_PORTS:
		if (hw_parse_u32(item, 1, 65535, &port))
			return fail(why, len, -EINVAL, NULL, "invalid port '%s' (use 1..65535)", q);
		*(unsigned short *)elem = (unsigned short)port;
		return 0;
	default:
		ret = k->check ? k->check(item, q, why, len) : 0;
		if (ret)
			return ret;
		*(char **)elem = strdup(item);
		return *(char **)elem ? 0 : fail(why, len, -ENOMEM, NULL, "out of memory");
	}
}

/* Parses a comma-separated list into a new array, then replaces the field's list with it. */
static int apply_list(const struct key *k, void *field, const char *value, char *why, size_t len)
{
	size_t size = k->kind == K_CIDRS ? sizeof(struct hw_cidr)
		      : k->kind == K_PORTS ? sizeof(unsigned short)
					   : sizeof(char *);
	char item[HW_CONFIG_LINE_MAX], q[72];
	struct hw_parse_list it;
	const char *s;
	size_t n = 0, i = 0, slen;
	char *v = NULL;
	int ret;

	hw_parse_list_init(&it, value);
	while ((ret = hw_parse_list_next(&it, &s, &slen)) > 0)
		n++;
	quote(value, strlen(value), q, sizeof(q));
	if (ret)
		return fail(why, len, ret, NULL, "empty item in list '%s'", q);
	if (n && !(v = calloc(n, size)))
		return fail(why, len, -ENOMEM, NULL, "out of memory");

	hw_parse_list_init(&it, value);
	for (i = 0; hw_parse_list_next(&it, &s, &slen) > 0; i++) {
		quote(s, slen, item, sizeof(item));
		if (slen >= sizeof(item))
			ret = fail(why, len, -EINVAL, NULL, "item '%.64s...' is too long", item);
		else
			ret = parse_item(k, item, v + i * size, why, len);
		if (ret)
			goto free_items;
	}

	switch (k->kind) {
	case K_CIDRS:
		free(((struct hw_cidr_list *)field)->v);
		*(struct hw_cidr_list *)field = (struct hw_cidr_list){(struct hw_cidr *)v, n};
		break;
	case K_PORTS:
		free(((struct hw_port_list *)field)->v);
		*(struct hw_port_list *)field = (struct hw_port_list){(unsigned short *)v, n};
		break;
	default:
		str_list_free(((struct hw_str_list *)field)->v, ((struct hw_str_list *)field)->n);
		*(struct hw_str_list *)field = (struct hw_str_list){(char **)v, n};
		break;
	}
	return 0;

free_items:
	if (k->kind == K_STRS)
		str_list_free((char **)v, i);
	else
		free(v);
	return ret;
}

/* Writes "bounds" for a range message: "1ms..1s" or "at least 1M". */
static void format_bounds(const struct key *k, char *buf, size_t len)
{
	char lo[32], hi[32];

	if (k->kind == K_DURATION) {
		hw_format_duration(k->min, lo, sizeof(lo));
		hw_format_duration(k->max, hi, sizeof(hi));
	} else if (k->kind == K_SIZE) {
		hw_format_size(k->min, lo, sizeof(lo));
		hw_format_size(k->max, hi, sizeof(hi));
	} else {
		snprintf(lo, sizeof(lo), "%llu", k->min);
		snprintf(hi, sizeof(hi), "%llu", k->max);
	}
	if (k->max == ~0ULL)
		snprintf(buf, len, "at least %s", lo);
	else
		snprintf(buf, len, "%s..%s", lo, hi);
}

/* Parses value as the key's type and stores it; writes the problem into why. */
static int apply_value(const struct key *k, void *field, const char *value, char *why, size_t len)
{
	unsigned long long v = 0;
	char q[72], bounds[80];
	unsigned int u;
	char *s;
	int ret;

	quote(value, strlen(value), q, sizeof(q));
	format_bounds(k, bounds, sizeof(bounds));
	switch (k->kind) {
	case K_U32:
		ret = hw_parse_u32(value, (unsigned int)k->min, (unsigned int)k->max, &u);
		if (ret == -EINVAL)
			return fail(why, len, ret, NULL, "invalid number '%s' (use %s)", q, bounds);
		if (ret)
			return fail(why, len, ret, NULL, "'%s' is out of range (%s)", q, bounds);
		*(unsigned int *)field = u;
		return 0;
	case K_DURATION:
	case K_SIZE:
		ret = k->kind == K_SIZE ? hw_parse_size(value, &v) : hw_parse_duration(value, &v);
		if (ret == -EINVAL && k->kind == K_SIZE)
			return fail(why, len, ret, NULL, "invalid size '%s' (use 100, 64K, 512M, 1G)",
				    q);
		if (ret == -EINVAL)
			return fail(why, len, ret, NULL,
				    "invalid duration '%s' (use 500ms, 30s, 10m, 8h, 2d)", q);
		if (ret || v < k->min || v > k->max)
			return fail(why, len, -ERANGE, NULL, "'%s' is out of range (%s)", q, bounds);
		if ((k->flags & F_POW2) && (v & (v - 1)))
			return fail(why, len, -EINVAL, NULL, "'%s' is not a power of two (%s)", q,
				    bounds);
		*(unsigned long long *)field = v;
		return 0;
	case K_FORMAT:
		if (!strcmp(value, "auto"))
			*(enum hw_format *)field = HW_FORMAT_AUTO;
		else if (!strcmp(value, "json"))
			*(enum hw_format *)field = HW_FORMAT_JSON;
		else if (!strcmp(value, "text"))
			*(enum hw_format *)field = HW_FORMAT_TEXT;
		else
			return fail(why, len, -EINVAL, NULL,
				    "invalid format '%s' (use json, text or auto)", q);
		return 0;
	case K_STR:
		if (!*value && (k->flags & F_NONEMPTY))
			return fail(why, len, -EINVAL, NULL, "must not be empty");
		ret = *value && k->check ? k->check(value, q, why, len) : 0;
		if (ret)
			return ret;
		s = NULL;
		if (*value && !(s = strdup(value)))
			return fail(why, len, -ENOMEM, NULL, "out of memory");
		free(*(char **)field);
		*(char **)field = s;
		return 0;
	default:
		return apply_list(k, field, value, why, len);
	}
}

int hw_config__apply(struct hw_config *c, const char *section, const char *key, const char *value,
		     const char *origin, char *err, size_t errlen)
{
	char why[512];
	bool known_section = false;
	const struct key *k;
	int ret;

	section = section ? section : "";
	key = key ? key : "";
	for (k = keys; k < keys + NKEYS; k++) {
		if (strcmp(k->section, section))
			continue;
		known_section = true;
		if (!strcmp(k->name, key))
			break;
	}
	if (k == keys + NKEYS) {
		if (!*section)
			return fail(err, errlen, -EINVAL, origin,
				    "key '%.64s' is outside a section (use [agent], [detect] or "
				    "[output])",
				    key);
		if (!known_section)
			return fail(err, errlen, -EINVAL, origin,
				    "unknown section '%.64s' (use agent, detect or output)", section);
		return fail(err, errlen, -EINVAL, origin, "unknown key '%s.%.64s'", section, key);
	}
	ret = apply_value(k, (char *)c + k->off, value ? value : "", why, sizeof(why));
	if (ret)
		return fail(err, errlen, ret, origin, "%s.%s: %s", k->section, k->name, why);
	return 0;
}

int hw_config__init(struct hw_config *c)
{
	int ret;

	memset(c, 0, sizeof(*c));
	for (const struct key *k = keys; k < keys + NKEYS; k++) {
		if (!k->def)
			continue;
		ret = hw_config__apply(c, k->section, k->name, k->def, NULL, NULL, 0);
		if (ret) {
			hw_config__free(c);
			return ret;
		}
	}
	return 0;
}

void hw_config__free(struct hw_config *c)
{
	if (!c)
		return;
	for (const struct key *k = keys; k < keys + NKEYS; k++) {
		void *field = (char *)c + k->off;

		if (k->kind == K_STR)
			free(*(char **)field);
		else if (k->kind == K_CIDRS)
			free(((struct hw_cidr_list *)field)->v);
		else if (k->kind == K_PORTS)
			free(((struct hw_port_list *)field)->v);
		else if (k->kind == K_STRS)
			str_list_free(((struct hw_str_list *)field)->v,
				      ((struct hw_str_list *)field)->n);
	}
	memset(c, 0, sizeof(*c));
}

/* State of one load: where lines come from (a FILE or memory) and the first error. */
struct load {
	struct hw_config *c;
	const char *name;
	FILE *f;
	const unsigned char *p;
	size_t left, total;
	int lineno, err, err_line, read_errno;
	char *msg;
	size_t msglen;
};

static int next_byte(struct load *l)
{
	int ch;

	if (!l->f)
		return l->left ? (l->left--, *l->p++) : EOF;
	ch = getc(l->f);
	if (ch == EOF && ferror(l->f))
		l->read_errno = errno ? errno : EIO;
	return ch;
}

/* The ini_reader: one line per call, always ending in '\n'. Leading whitespace and a UTF-8 BOM
 * are dropped, so libinih never sees an indented line and never takes one for a continuation
 * of the previous value. A NUL byte, a line too long for libinih's buffer or an oversized file
 * is an error, after which the reader ends the stream: parsing stops at the first error. */
static char *read_line(char *buf, int num, void *stream)
{
	struct load *l = stream;
	size_t n = 0, skip = 0, max = num > 2 ? (size_t)num - 2 : 0;
	int ch;

	if (l->err || l->read_errno || (ch = next_byte(l)) == EOF)
		return NULL;
	l->lineno++;
	for (; ch != EOF && ch != '\n'; ch = next_byte(l)) {
		if (++l->total > HW_CONFIG_FILE_MAX)
			l->err = fail(l->msg, l->msglen, -EFBIG, NULL,
				      "%s: larger than %d bytes", l->name, HW_CONFIG_FILE_MAX);
		else if (!ch)
			l->err = fail(l->msg, l->msglen, -EINVAL, NULL, "%s:%d: contains a NUL byte (not a text file?)",
				      l->name, l->lineno);
		else if (n == max)
			l->err = fail(l->msg, l->msglen, -EINVAL, NULL,
				      "%s:%d: line is longer than %zu bytes", l->name, l->lineno, max);
		if (l->err) {
			l->err_line = l->lineno;
			return NULL;
		}
		buf[n++] = (char)ch;
	}
	if (l->read_errno)
		return NULL;
	if (l->lineno == 1 && n >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3))
		skip = 3;
	while (skip < n && isspace((unsigned char)buf[skip]))
		skip++;
	n -= skip;
	memmove(buf, buf + skip, n);
	buf[n++] = '\n';
	buf[n] = '\0';
	return buf;
}

static int on_key(void *user, const char *section, const char *name, const char *value)
{
	struct load *l = user;
	char origin[1024];

	if (l->err)
		return 0;
	snprintf(origin, sizeof(origin), "%s:%d: ", l->name, l->lineno);
	l->err = hw_config__apply(l->c, section, name, value, origin, l->msg, l->msglen);
	l->err_line = l->lineno;
	return !l->err;
}

/* Debian's libinih makes its line limit a run-time variable (upstream fixes it at 200 bytes at
 * build time). Weak, so that the agent still links against a libinih without it. */
extern int ini_max_line __attribute__((weak));

static int load(struct load *l)
{
	int ret, saved_max = 0;

	if (&ini_max_line) {
		saved_max = ini_max_line;
		ini_max_line = HW_CONFIG_LINE_MAX;
	}
	ret = ini_parse_stream(read_line, l, on_key, l);
	if (&ini_max_line)
		ini_max_line = saved_max;

	if (l->read_errno)
		return fail(l->msg, l->msglen, -l->read_errno, NULL, "cannot read config '%s': %s",
			    l->name, strerror(l->read_errno));
	if (ret == -2)
		return fail(l->msg, l->msglen, -ENOMEM, NULL, "%s: out of memory", l->name);
	if (ret > 0 && (!l->err || ret < l->err_line))
		return fail(l->msg, l->msglen, -EINVAL, NULL,
			    "%s:%d: syntax error (expected '[section]' or 'key = value')", l->name,
			    ret);
	return l->err;
}

int hw_config__load_file(struct hw_config *c, const char *path, char *err, size_t errlen)
{
	struct load l = {.c = c, .name = path, .msg = err, .msglen = errlen};
	int ret;

	l.f = fopen(path, "re");
	if (!l.f) {
		ret = -errno;
		return fail(err, errlen, ret, NULL, "cannot read config '%s': %s", path,
			    strerror(-ret));
	}
	ret = load(&l);
	fclose(l.f);
	return ret;
}

int hw_config__load_buffer(struct hw_config *c, const void *data, size_t len, const char *name,
			   char *err, size_t errlen)
{
	struct load l = {.c = c, .name = name, .p = data, .left = len, .msg = err, .msglen = errlen};

	return load(&l);
}

int hw_config__set(struct hw_config *c, const char *assignment, char *err, size_t errlen)
{
	char *s, *name, *value, *dot, *end, q[72];
	int ret;

	s = strdup(assignment ? assignment : "");
	if (!s)
		return fail(err, errlen, -ENOMEM, NULL, "--set: out of memory");
	value = strchr(s, '=');
	if (value)
		*value++ = '\0';
	for (name = s; isspace((unsigned char)*name); name++)
		;
	for (end = name + strlen(name); end > name && isspace((unsigned char)end[-1]);)
		*--end = '\0';
	dot = strchr(name, '.');
	if (!value || !dot || dot == name || !dot[1]) {
		quote(assignment ? assignment : "", strlen(assignment ? assignment : ""), q,
		      sizeof(q));
		ret = fail(err, errlen, -EINVAL, NULL, "--set '%s': expected section.key=value", q);
		goto out;
	}
	*dot = '\0';
	while (isspace((unsigned char)*value))
		value++;
	for (end = value + strlen(value); end > value && isspace((unsigned char)end[-1]);)
		*--end = '\0';
	ret = hw_config__apply(c, name, dot + 1, value, "--set ", err, errlen);
out:
	free(s);
	return ret;
}
