/* Agent configuration. One table lists every key with its type, field, bounds and default;
 * hw_config__apply() is the only code that writes a field, so defaults, the INI file (read by
 * libinih) and --set are validated the same way and give the same messages. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <ini.h>

#include "hopwatch/limits.h"
#include "collect/partition.h"
#include "config.h"
#include "stream/url.h"

#define MSEC	 HW_NSEC_PER_MSEC
#define SEC	 HW_NSEC_PER_SEC
#define HOUR	 (3600 * SEC)
#define DAY	 (86400 * SEC)
#define YEAR	 (365 * DAY)
#define XSTR_(x) #x
#define XSTR(x)	 XSTR_(x)

enum kind { K_U32, K_DURATION, K_SIZE, K_FORMAT, K_BOOL, K_STR, K_CIDRS, K_PORTS, K_STRS };

/* What a malformed value of each kind is called in a message, and how to write one. */
static const char *const kind_what[K_STRS + 1][2] = {
    [K_U32] = {"number", NULL}, /* NULL: the bounds */
    [K_DURATION] = {"duration", "use 500ms, 30s, 10m, 8h, 2d"},
    [K_SIZE] = {"size", "use 100, 64K, 512M, 1G"},
    [K_FORMAT] = {"format", "use json, ocsf, text or auto"},
    [K_BOOL] = {"switch", "use on or off"},
    [K_PORTS] = {"port", "use 1..65535"},
};

struct key {
	const char *section;
	const char *name;
	enum kind kind;
	size_t off;		     /* of the field in struct hw_config */
	unsigned long long min, max; /* numbers, durations, sizes; max bytes of a string */
	const char *def;	     /* the default as written in a file; NULL = unset */
	unsigned int flags;
	int (*valid)(const char *s); /* K_STR: a validator from parse.h, 0 or -EINVAL */
	const char *what, *hint;     /* K_STR: for the message when valid() fails */
};

#define F_POW2	   1 /* K_SIZE: a power of two */
#define F_NONEMPTY 2 /* K_STR: an empty value is an error, rather than "unset" */
#define F_NOSPACE  4 /* K_STR, K_STRS: no whitespace */
#define F_LINES	   8 /* K_FORMAT: a streaming sink's: json or ocsf (no text, no auto) */

/* The field type of each kind, checked by KEY(): a key whose field has another type does not
 * build. */
#define T_K_U32	     unsigned int
#define T_K_DURATION unsigned long long
#define T_K_SIZE     unsigned long long
#define T_K_FORMAT   enum hw_format
#define T_K_BOOL     int
#define T_K_STR	     char *
#define T_K_CIDRS    struct hw_cidr_list
#define T_K_PORTS    struct hw_port_list
#define T_K_STRS     struct hw_str_list
#define FIELD(f, t)                                                                                \
	__builtin_choose_expr(                                                                     \
	    __builtin_types_compatible_p(__typeof__(((struct hw_config *)0)->f), t),               \
	    offsetof(struct hw_config, f), (void)0)
/* A key: section, name, kind, field, then (positional) min, max, default, flags, ... */
#define KEY(s, n, k, f, ...)                                                                       \
	{                                                                                          \
		.section = s, .name = n, .kind = k, .off = FIELD(f, T_##k), __VA_ARGS__            \
	}

static int valid_host_port(const char *s)
{
	return hw_parse_host_port(s, NULL, 0, NULL);
}

/* detect.raw_socket_programs, detect.file_writers: a program by its whole path, never by a
 * name any copy can take */
static int valid_full_path(const char *s)
{
	return s[0] == '/' && !strstr(s, "/../") && !strstr(s, "//") ? 0 : -1;
}

/* agent.control_socket: an absolute path (its directory is made 0700 when missing), or ""
 * for none */
static int valid_socket_path(const char *s)
{
	if (!*s)
		return 0;
	return s[0] == '/' && s[1] && s[strlen(s) - 1] != '/' && !strstr(s, "/../") &&
		       !strstr(s, "//")
		   ? 0
		   : -1;
}

/* output.nats_compress */
static int valid_codec(const char *s)
{
	return strcmp(s, "none") && strcmp(s, "gzip") && strcmp(s, "zstd") ? -EINVAL : 0;
}

/* output.nats_profile, output.syslog_profile */
static int valid_profile(const char *s)
{
	return strcmp(s, "fleet") && strcmp(s, "full") ? -EINVAL : 0;
}

/* JetStream stream and consumer names: letters, digits, '_' and '-' */
static int valid_stream_name(const char *s)
{
	if (!*s)
		return -1;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
			return -1;
	return 0;
}

/* detect.watch_paths: an absolute path or ~/ (every home), '*' only at the end, no "." or ".."
 * component (the kernel compares names, user/model/files.c) */
static int valid_watch_path(const char *s)
{
	const char *star = strchr(s, '*');

	if (s[0] != '/' && strncmp(s, "~/", 2))
		return -1;
	if (star && star[1])
		return -1;
	if (strstr(s, "/./") || strstr(s, "/../") || strstr(s, "//") || strlen(s) > 120)
		return -1;
	return 0;
}

static const struct key keys[] = {
    KEY("agent", "host_name", K_STR, host_name, .max = 255, .flags = F_NOSPACE),
    KEY("agent", "netns", K_STR, netns),
    KEY("agent", "args_max", K_U32, args_max, 256, HW_ARGS_MAX, XSTR(HW_ARGS_MAX_DEFAULT)),
    KEY("agent", "ringbuf_size", K_SIZE, ringbuf_size, 64 << 10, 256 << 20, "4M", F_POW2),
    KEY("agent", "poll_interval", K_DURATION, poll_interval_ns, MSEC, SEC, "50ms"),
    KEY("agent", "proc_table_max", K_U32, proc_table_max, 16, 1000000, "4096"),
    KEY("agent", "proc_exited_ttl", K_DURATION, proc_exited_ttl_ns, SEC, DAY, "30s"),
    KEY("agent", "conn_table_max", K_U32, conn_table_max, 1024, 4194304, "65536"),
    KEY("agent", "conn_report_interval", K_DURATION, conn_report_interval_ns, SEC, DAY, "10m"),
    KEY("agent", "seccomp", K_BOOL, seccomp, .def = "on"),
    KEY("agent", "control_socket", K_STR, control_socket, .max = 107, .flags = F_NOSPACE,
	.valid = valid_socket_path, .what = "socket path",
	.hint = "use an absolute path, or nothing for none", .def = "/run/hopwatch/agent.sock"),

    KEY("detect", "internal_nets", K_CIDRS, internal_nets,
	.def = "10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, fc00::/7"),
    KEY("detect", "admin_ports", K_PORTS, admin_ports,
	.def = "22, 23, 135, 445, 3389, 5900, 5985, 5986"),
    KEY("detect", "remote_services", K_STRS, remote_services,
	.def = "sshd, sshd-session, xrdp, xrdp-sesman, in.telnetd, telnetd, vncserver, Xvnc, "
	       "x11vnc"),
    KEY("detect", "long_session", K_DURATION, long_session_ns, MSEC, YEAR, "8h"),
    KEY("detect", "long_connection", K_DURATION, long_connection_ns, MSEC, YEAR, "4h"),
    KEY("detect", "fanout_hosts", K_U32, fanout_hosts, 1, 256, "5"),
    KEY("detect", "fanout_window", K_DURATION, fanout_window_ns, MSEC, YEAR, "10m"),
    KEY("detect", "bruteforce_failures", K_U32, bruteforce_failures, 1, 256, "5"),
    KEY("detect", "bruteforce_window", K_DURATION, bruteforce_window_ns, MSEC, YEAR, "5m"),
    KEY("detect", "allow_sources", K_CIDRS, allow_sources),
    KEY("detect", "allow_programs", K_STRS, allow_programs),
    KEY("detect", "allow_services", K_STRS, allow_services),
    KEY("detect", "allow_relays", K_STRS, allow_relays),
    KEY("detect", "raw_socket_programs", K_STRS, raw_socket_programs, .flags = F_NOSPACE,
	.valid = valid_full_path, .what = "program path",
	.hint = "use a full path, e.g. /usr/sbin/dhclient",
	.def = "/usr/sbin/dhclient, /sbin/dhclient, /usr/sbin/dhcpcd, /usr/bin/tcpdump, "
	       "/usr/sbin/tcpdump, /usr/bin/dumpcap, /usr/sbin/NetworkManager, "
	       "/usr/lib/systemd/systemd-networkd, /lib/systemd/systemd-networkd, /usr/sbin/lldpd, "
	       "/usr/sbin/wpa_supplicant, /usr/sbin/hostapd, /usr/sbin/dnsmasq, /usr/sbin/dhcpd, "
	       "/usr/sbin/keepalived, /usr/sbin/pppd, /usr/bin/ping, /usr/bin/arping, "
	       "/usr/sbin/arping"),
    KEY("detect", "raw_bridge_connection", K_DURATION, raw_bridge_connection_ns, MSEC, YEAR, "10m"),
    KEY("detect", "watch_paths", K_STRS, watch_paths, .flags = F_NOSPACE, .valid = valid_watch_path,
	.what = "watch path",
	.hint = "use /dir/file, /dir/prefix* or ~/.ssh/authorized_keys*, at most 120 bytes",
	.def = "~/.ssh/authorized_keys*, /etc/cron*, /var/spool/cron, /etc/systemd/system, "
	       "/lib/systemd/system, /etc/ld.so.preload, /etc/pam.d, /etc/sudoers*, /etc/passwd, "
	       "/etc/shadow, /etc/ssh/sshd_config*"),
    KEY("detect", "file_writers", K_STRS, file_writers, .flags = F_NOSPACE,
	.valid = valid_full_path, .what = "program path", .hint = "use a full path: /usr/bin/dpkg",
	.def = "/usr/bin/dpkg, /usr/bin/rpm, /usr/bin/dnf, /usr/bin/yum, /usr/bin/apk"),
    KEY("detect", "transfer_window", K_DURATION, transfer_window_ns, MSEC, YEAR, "1h"),

    KEY("output", "format", K_FORMAT, format, .def = "auto"),
    KEY("output", "file", K_STR, file),
    KEY("output", "nats_format", K_FORMAT, nats_format, .def = "json", .flags = F_LINES,
	.what = "format", .hint = "use json or ocsf"),
    KEY("output", "syslog_format", K_FORMAT, syslog_format, .def = "json", .flags = F_LINES,
	.what = "format", .hint = "use json or ocsf"),
    KEY("output", "nats_url", K_STR, nats_url, .valid = hw_parse_nats_urls, .what = "NATS URL list",
	.hint = "use nats://host:4222, tls://host:4222, ..."),
    KEY("output", "nats_subject", K_STR, nats_subject, .def = "hopwatch", .flags = F_NONEMPTY,
	.valid = hw_parse_nats_subject, .what = "subject",
	.hint = "use tokens of A-Z a-z 0-9 _ - separated by '.'"),
    KEY("output", "syslog", K_STR, syslog, .valid = valid_host_port, .what = "address",
	.hint = "use host:port, e.g. logs.example.com:514 or [2001:db8::1]:514"),
    KEY("output", "spool_dir", K_STR, spool_dir, .def = "/var/lib/hopwatch/spool",
	.flags = F_NONEMPTY),
    KEY("output", "spool_max", K_SIZE, spool_max, 1 << 20, ~0ULL, "1G"),
    KEY("output", "nats_stream", K_STR, nats_stream, .def = "HOPWATCH", .flags = F_NONEMPTY,
	.max = 32, .valid = valid_stream_name, .what = "stream name",
	.hint = "use A-Z a-z 0-9 _ -"),
    KEY("output", "nats_batch_lines", K_U32, nats_batch_lines, 1, 4096, "1000"),
    KEY("output", "nats_batch_bytes", K_SIZE, nats_batch_bytes, 4096, 8 << 20, "512K"),
    KEY("output", "nats_batch_delay", K_DURATION, nats_batch_delay_ns, 0, SEC, "100ms"),
    KEY("output", "nats_compress", K_STR, nats_compress, .def = "zstd", .flags = F_NONEMPTY,
	.valid = valid_codec, .what = "compression", .hint = "use none, gzip or zstd"),
    KEY("output", "nats_profile", K_STR, nats_profile, .def = "fleet", .flags = F_NONEMPTY,
	.valid = valid_profile, .what = "profile", .hint = "use fleet or full"),
    KEY("output", "syslog_profile", K_STR, syslog_profile, .def = "fleet", .flags = F_NONEMPTY,
	.valid = valid_profile, .what = "profile", .hint = "use fleet or full"),
    KEY("output", "fleet_summary_interval", K_DURATION, fleet_summary_interval_ns, SEC, HOUR, "1m"),
    KEY("output", "nats_ca", K_STR, nats_ca),
    KEY("output", "nats_cert", K_STR, nats_cert),
    KEY("output", "nats_key", K_STR, nats_key),
    KEY("output", "syslog_ca", K_STR, syslog_ca),
    KEY("output", "syslog_cert", K_STR, syslog_cert),
    KEY("output", "syslog_key", K_STR, syslog_key),

    KEY("collect", "durable", K_STR, collect_durable, .def = "hopwatch-collector",
	.flags = F_NONEMPTY, .max = 64, .valid = valid_stream_name, .what = "consumer name",
	.hint = "use A-Z a-z 0-9 _ -"),
    KEY("collect", "subject", K_STR, collect_subject, .def = "hopwatch.collector.alerts",
	.flags = F_NONEMPTY, .valid = hw_parse_nats_subject, .what = "subject",
	.hint = "use tokens of A-Z a-z 0-9 _ - separated by '.'"),
    KEY("collect", "memory_max", K_SIZE, collect_memory_max, 16 << 20, ~0ULL, "2G"),
    KEY("collect", "host_memory_max", K_SIZE, collect_host_memory_max, 1 << 20, ~0ULL, "64M"),
    KEY("collect", "host_alerts", K_U32, collect_host_alerts, 1, 1000000, "60"),
    KEY("collect", "host_idle", K_DURATION, collect_host_idle_ns, SEC, 30 * DAY, "1h"),
    KEY("collect", "partitions", K_U32, collect_partitions, 0, HW_COLLECT_PARTITIONS_MAX, "0"),
    KEY("collect", "partition", K_STR, collect_partition, .valid = hw_parse_partition_list,
	.what = "partition list", .hint = "use numbers and ranges below collect.partitions: 0,2-3"),
    KEY("collect", "ack_wait", K_DURATION, collect_ack_wait_ns, SEC, 3600 * SEC, "60s"),
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static const char *const formats[] = {
    [HW_FORMAT_AUTO] = "auto",
    [HW_FORMAT_JSON] = "json",
    [HW_FORMAT_TEXT] = "text",
    [HW_FORMAT_OCSF] = "ocsf",
};

/* The three list types share one layout, so one code path replaces and frees them. */
struct any_list {
	void *v;
	size_t n;
};
_Static_assert(sizeof(struct hw_cidr_list) == sizeof(struct any_list) &&
		   sizeof(struct hw_port_list) == sizeof(struct any_list) &&
		   sizeof(struct hw_str_list) == sizeof(struct any_list) &&
		   offsetof(struct hw_str_list, n) == offsetof(struct any_list, n),
	       "list layouts differ");

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

/* n bytes of v, shortened for a message, the password of a URL in it redacted. */
static void quote(const char *v, size_t n, char *buf, size_t len)
{
	char raw[HW_CONFIG_LINE_MAX + 1], red[HW_CONFIG_LINE_MAX + 1];

	snprintf(raw, sizeof(raw), "%.*s", (int)(n < HW_CONFIG_LINE_MAX ? n : HW_CONFIG_LINE_MAX),
		 v);
	hw_url__redact(raw, red, sizeof(red));
	n = strlen(red);
	if (n < len)
		snprintf(buf, len, "%s", red);
	else
		snprintf(buf, len, "%.*s...", (int)(len - 4), red);
}

/* Writes the bounds for a message: "1ms..1s", "256..16384" or "at least 1M". */
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

/* The message for a value parse_value() rejected with ret. */
static int value_error(const struct key *k, int ret, const char *q, char *why, size_t len)
{
	const char *what = k->what ? k->what : kind_what[k->kind][0];
	const char *hint = k->what ? k->hint : kind_what[k->kind][1];
	char bounds[80];

	format_bounds(k, bounds, sizeof(bounds));
	if (ret == -ERANGE)
		return fail(why, len, ret, NULL, "'%s' is out of range (%s)", q, bounds);
	if (k->kind == K_U32)
		return fail(why, len, ret, NULL, "invalid number '%s' (use %s)", q, bounds);
	return fail(why, len, ret, NULL, "invalid %s '%s' (%s)", what, q, hint);
}

/* Frees what a field owns: a string, or a list and, for K_STRS, its strings. */
static void free_field(const struct key *k, void *field)
{
	struct any_list l;

	if (k->kind == K_STR) {
		free(*(char **)field);
	} else if (k->kind == K_CIDRS || k->kind == K_PORTS || k->kind == K_STRS) {
		memcpy(&l, field, sizeof(l));
		for (size_t i = 0; k->kind == K_STRS && i < l.n; i++)
			free(((char **)l.v)[i]);
		free(l.v);
	}
}

/* Parses a string value (or a string list item) into a new copy in *out. */
static int parse_string(const struct key *k, const char *v, const char *q, char **out, char *why,
			size_t len)
{
	size_t n = strlen(v), max = k->max ? k->max : 4095;

	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f ||
		    ((k->flags & F_NOSPACE) && isspace((unsigned char)v[i])))
			return fail(why, len, -EINVAL, NULL, "'%s' contains a %scontrol character",
				    q, k->flags & F_NOSPACE ? "space or " : "");
	if (n > max)
		return fail(why, len, -EINVAL, NULL, "'%s' is longer than %zu bytes", q, max);
	if (k->valid && k->valid(v))
		return value_error(k, -EINVAL, q, why, len);
	*out = strdup(v);
	return *out ? 0 : fail(why, len, -ENOMEM, NULL, "out of memory");
}

/* Parses value as the key's type into out: an unsigned long long, an unsigned int, an enum, a
 * string, or one item of a list. Writes the problem into why. */
static int parse_value(const struct key *k, const char *value, void *out, char *why, size_t len)
{
	char q[72], cwhy[128];
	unsigned long long v;
	unsigned int u;
	int ret = -EINVAL;

	quote(value, strlen(value), q, sizeof(q));
	switch (k->kind) {
	case K_U32:
		ret = hw_parse_u32(value, (unsigned int)k->min, (unsigned int)k->max, out);
		break;
	case K_DURATION:
	case K_SIZE:
		ret = k->kind == K_SIZE ? hw_parse_size(value, &v) : hw_parse_duration(value, &v);
		if (!ret && (v < k->min || v > k->max))
			ret = -ERANGE;
		if (!ret && (k->flags & F_POW2) && (v & (v - 1))) {
			v = 1ULL << (63 - __builtin_clzll(v));
			hw_format_size(v, cwhy, 32);
			hw_format_size(2 * v, cwhy + 32, 32);
			return fail(why, len, -EINVAL, NULL,
				    "'%s' is not a power of two (use %s or %s)", q, cwhy,
				    cwhy + 32);
		}
		if (!ret)
			*(unsigned long long *)out = v;
		break;
	case K_FORMAT:
		for (u = 0; u < sizeof(formats) / sizeof(formats[0]); u++) {
			if ((k->flags & F_LINES) && u != HW_FORMAT_JSON && u != HW_FORMAT_OCSF)
				continue;
			if (!strcmp(value, formats[u])) {
				*(enum hw_format *)out = (enum hw_format)u;
				ret = 0;
			}
		}
		break;
	case K_BOOL:
		if (!strcmp(value, "on") || !strcmp(value, "off")) {
			*(int *)out = value[1] == 'n';
			ret = 0;
		}
		break;
	case K_CIDRS:
		ret = hw_parse_cidr_why(value, out, cwhy, sizeof(cwhy));
		return ret ? fail(why, len, ret, NULL, "invalid CIDR '%s': %s", q, cwhy) : 0;
	case K_PORTS:
		ret = hw_parse_u32(value, 1, 65535, &u) ? -EINVAL : 0;
		if (!ret)
			*(unsigned short *)out = (unsigned short)u;
		break;
	case K_STR:
	case K_STRS:
		return parse_string(k, value, q, out, why, len);
	}
	return ret ? value_error(k, ret, q, why, len) : 0;
}

/* Parses a comma-separated list into a new array, then replaces the field's list with it. */
static int apply_list(const struct key *k, void *field, const char *value, char *why, size_t len)
{
	size_t size = k->kind == K_CIDRS   ? sizeof(struct hw_cidr)
		      : k->kind == K_PORTS ? sizeof(unsigned short)
					   : sizeof(char *);
	char item[HW_CONFIG_LINE_MAX], q[72];
	struct hw_parse_list it;
	size_t n = 0, i, slen;
	char *v = NULL; /* the new array */
	const char *s;
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
			ret = parse_value(k, item, v + i * size, why, len);
		if (ret)
			goto free_items;
	}
	free_field(k, field);
	memcpy(field, &(struct any_list){v, n}, sizeof(struct any_list));
	return 0;

free_items:
	free_field(k, &(struct any_list){v, i});
	return ret;
}

/* Parses value and, when it is valid, replaces the field's value with it (parse_value() writes
 * numbers only once they are valid). */
static int apply_value(const struct key *k, void *field, const char *value, char *why, size_t len)
{
	char *str = NULL;
	int ret;

	if (k->kind == K_CIDRS || k->kind == K_PORTS || k->kind == K_STRS)
		return apply_list(k, field, value, why, len);
	if (k->kind != K_STR)
		return parse_value(k, value, field, why, len);
	if (!*value && (k->flags & F_NONEMPTY))
		return fail(why, len, -EINVAL, NULL, "must not be empty");
	if (*value && (ret = parse_value(k, value, &str, why, len)))
		return ret;
	free_field(k, field);
	*(char **)field = str;
	return 0;
}

int hw_config__apply(struct hw_config *c, const char *section, const char *key, const char *value,
		     const char *origin, char *err, size_t errlen)
{
	bool known_section = false;
	const struct key *k;
	char why[512];
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
	if (k == keys + NKEYS && !*section)
		return fail(err, errlen, -EINVAL, origin,
			    "key '%.64s' is outside a section (use [agent], [detect] or [output])",
			    key);
	if (k == keys + NKEYS && !known_section)
		return fail(err, errlen, -EINVAL, origin,
			    "unknown section '%.64s' (use agent, detect or output)", section);
	if (k == keys + NKEYS)
		return fail(err, errlen, -EINVAL, origin, "unknown key '%s.%.64s'", section, key);
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
	for (const struct key *k = keys; k < keys + NKEYS; k++)
		free_field(k, (char *)c + k->off);
	memset(c, 0, sizeof(*c));
}

/* One load: the stream read, the line reached and the first error. */
struct load {
	struct hw_config *c;
	const char *name;
	FILE *f;
	size_t total;
	int lineno, err, err_line, read_errno;
	char *msg;
	size_t msglen;
};

/* The ini_reader: one line per call, always ending in '\n'. Leading whitespace and a UTF-8 BOM
 * are dropped, so libinih never sees an indented line and never takes one for a continuation
 * of the previous value. A NUL byte, a line too long for libinih's buffer or an oversized file
 * is an error, after which the reader ends the stream: parsing stops at the first error. */
static char *read_line(char *buf, int num, void *stream)
{
	struct load *l = stream;
	size_t n = 0, skip = 0, max = num > 2 ? (size_t)num - 2 : 0;
	char *end;
	int ch;

	if (l->err || (ch = getc(l->f)) == EOF)
		return NULL;
	l->lineno++;
	for (;; ch = getc(l->f)) {
		if (ch != EOF && ++l->total > HW_CONFIG_FILE_MAX)
			l->err =
			    fail(l->msg, l->msglen, -EFBIG, NULL,
				 "%s: file is larger than %d bytes", l->name, HW_CONFIG_FILE_MAX);
		else if (ch == EOF || ch == '\n')
			break;
		else if (!ch)
			l->err = fail(l->msg, l->msglen, -EINVAL, NULL,
				      "%s:%d: contains a NUL byte (not a text file?)", l->name,
				      l->lineno);
		else if (n == max)
			l->err =
			    fail(l->msg, l->msglen, -EINVAL, NULL,
				 "%s:%d: line is longer than %zu bytes", l->name, l->lineno, max);
		if (l->err) {
			l->err_line = l->lineno;
			return NULL;
		}
		buf[n++] = (char)ch;
	}
	if (ferror(l->f))
		return NULL;
	if (l->lineno == 1 && n >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3))
		skip = 3;
	while (skip < n && isspace((unsigned char)buf[skip]))
		skip++;
	n -= skip;
	memmove(buf, buf + skip, n);
	buf[n++] = '\n';
	buf[n] = '\0';
	/* libinih ignores what follows "[section]": a key written there would be lost */
	end = buf[0] == '[' ? strchr(buf, ']') : NULL;
	if (end && !strchr(";#\n", end[1 + strspn(end + 1, " \t\r")])) {
		l->err = fail(l->msg, l->msglen, -EINVAL, NULL, "%s:%d: text after '[section]'",
			      l->name, l->lineno);
		l->err_line = l->lineno;
		return NULL;
	}
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

static int load(struct hw_config *c, FILE *f, const char *name, char *err, size_t errlen)
{
	struct load l = {.c = c, .name = name, .f = f, .msg = err, .msglen = errlen};
	int ret, saved_max = 0;

	if (&ini_max_line) {
		saved_max = ini_max_line;
		ini_max_line = HW_CONFIG_LINE_MAX;
	}
	errno = 0;
	ret = ini_parse_stream(read_line, &l, on_key, &l);
	l.read_errno = ferror(f) ? (errno ? errno : EIO) : 0;
	if (&ini_max_line)
		ini_max_line = saved_max;

	if (l.read_errno)
		return fail(err, errlen, -l.read_errno, NULL, "cannot read config '%s': %s", name,
			    strerror(l.read_errno));
	if (ret == -2)
		return fail(err, errlen, -ENOMEM, NULL, "%s: out of memory", name);
	if (ret > 0 && (!l.err || ret < l.err_line))
		return fail(err, errlen, -EINVAL, NULL,
			    "%s:%d: syntax error (expected '[section]' or 'key = value')", name,
			    ret);
	return l.err;
}

/* A config file is a regular file: a FIFO or a device would hang or never end. Opened
 * non-blocking so that a FIFO without a writer is refused rather than waited on. */
int hw_config__load_file(struct hw_config *c, const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC), ret;
	struct stat st;
	FILE *f;

	if (fd < 0 || fstat(fd, &st)) {
		ret = -errno;
		if (fd >= 0)
			close(fd);
		return fail(err, errlen, ret, NULL, "cannot read config '%s': %s", path,
			    strerror(-ret));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return fail(err, errlen, -EINVAL, NULL,
			    "cannot read config '%s': not a regular file", path);
	}
	f = fcntl(fd, F_SETFL, 0) ? NULL : fdopen(fd, "re");
	if (!f) {
		ret = -errno;
		close(fd);
		return fail(err, errlen, ret, NULL, "cannot read config '%s': %s", path,
			    strerror(-ret));
	}
	ret = load(c, f, path, err, errlen);
	fclose(f);
	return ret;
}

int hw_config__load_buffer(struct hw_config *c, const void *data, size_t len, const char *name,
			   char *err, size_t errlen)
{
	FILE *f;
	int ret;

	if (!len)
		return 0;
	f = fmemopen((void *)data, len, "r");
	if (!f)
		return fail(err, errlen, -errno, NULL, "cannot read config '%s': %s", name,
			    strerror(errno));
	ret = load(c, f, name, err, errlen);
	fclose(f);
	return ret;
}

/* s without leading and trailing whitespace, cut in place. */
static char *trim(char *s)
{
	char *end = s + strlen(s);

	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	while (isspace((unsigned char)*s))
		s++;
	return s;
}

int hw_config__set(struct hw_config *c, const char *assignment, char *err, size_t errlen)
{
	char *s, *name, *value, *dot, q[72];
	int ret;

	assignment = assignment ? assignment : "";
	s = strdup(assignment);
	if (!s)
		return fail(err, errlen, -ENOMEM, NULL, "--set: out of memory");
	value = strchr(s, '=');
	if (value)
		*value++ = '\0';
	name = trim(s);
	dot = strchr(name, '.');
	if (!value || !dot || dot == name || !dot[1]) {
		quote(assignment, strlen(assignment), q, sizeof(q));
		ret = fail(err, errlen, -EINVAL, NULL, "--set '%s': expected section.key=value", q);
		goto out;
	}
	*dot = '\0';
	ret = hw_config__apply(c, name, dot + 1, trim(value), "--set ", err, errlen);
out:
	free(s);
	return ret;
}
