/* ECS JSON lines back into the facts the rules use (see fact.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "detect/fact.h"
#include "hopwatch/events.h"

_Static_assert(HW_IO_TCP == HW_STDIO_TCP && HW_IO_UNIX == HW_STDIO_UNIX &&
		       HW_IO_PTY == HW_STDIO_PTY && HW_IO_CHAR == HW_STDIO_CHAR &&
		       HW_IO_CLOSED == HW_STDIO_CLOSED,
	       "hw_stdio follows HW_STDIO_*");

static const char *const stdio_names[] = {
	[HW_IO_UNKNOWN] = "unknown", [HW_IO_TCP] = "tcp",   [HW_IO_UDP] = "udp",
	[HW_IO_UNIX] = "unix",	     [HW_IO_SOCKET] = "socket", [HW_IO_PTY] = "pty",
	[HW_IO_TTY] = "tty",	     [HW_IO_PIPE] = "pipe", [HW_IO_FILE] = "file",
	[HW_IO_CHAR] = "char",	     [HW_IO_CLOSED] = "closed",
};

const char *hw_stdio_name(unsigned int kind)
{
	return kind < sizeof(stdio_names) / sizeof(stdio_names[0]) ? stdio_names[kind] : "unknown";
}

unsigned int hw_stdio_parse(const char *name)
{
	for (unsigned int i = 0; i < sizeof(stdio_names) / sizeof(stdio_names[0]); i++)
		if (!strcmp(stdio_names[i], name))
			return i;
	return HW_IO_UNKNOWN;
}

static int digits(const char *s, int n, unsigned int *out)
{
	unsigned int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned int)(s[i] - '0');
	}
	*out = v;
	return 0;
}

int hw_parse_rfc3339(const char *s, unsigned long long *ns)
{
	unsigned int y, mo, d, h, mi, sec, oh = 0, om = 0;
	unsigned long long frac = 0;
	long long off = 0;
	int fd = 0;
	struct tm tm = {0};
	time_t t;

	if (strlen(s) < 20 || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) ||
	    s[7] != '-' || digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') ||
	    digits(s + 11, 2, &h) || s[13] != ':' || digits(s + 14, 2, &mi) || s[16] != ':' ||
	    digits(s + 17, 2, &sec))
		return -EINVAL;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 60)
		return -EINVAL;
	{
		static const unsigned char mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
		int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

		if (d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap))
			return -EINVAL;
	}
	s += 19;
	if (*s == '.') {
		s++;
		while (*s >= '0' && *s <= '9') {
			if (fd < 9) {
				frac = frac * 10 + (unsigned long long)(*s - '0');
				fd++;
			}
			s++;
		}
		if (!fd)
			return -EINVAL;
		while (fd < 9) {
			frac *= 10;
			fd++;
		}
	}
	if (*s == 'Z' || *s == 'z') {
		s++;
	} else if (*s == '+' || *s == '-') {
		if (digits(s + 1, 2, &oh) || s[3] != ':' || digits(s + 4, 2, &om) || oh > 23 ||
		    om > 59)
			return -EINVAL;
		off = (long long)(oh * 3600 + om * 60) * (*s == '-' ? -1 : 1);
		s += 6;
	} else {
		return -EINVAL;
	}
	if (*s)
		return -EINVAL;
	tm.tm_year = (int)y - 1900;
	tm.tm_mon = (int)mo - 1;
	tm.tm_mday = (int)d;
	tm.tm_hour = (int)h;
	tm.tm_min = (int)mi;
	tm.tm_sec = (int)sec;
	t = timegm(&tm);
	if (t == (time_t)-1 || (long long)t - off < 0)
		return -EINVAL;
	/* ns since the epoch must fit 64 bits: up to 2554-07-21T23:34:33.709551615Z */
	if ((unsigned long long)((long long)t - off) > 18446744073ULL ||
	    ((unsigned long long)((long long)t - off) == 18446744073ULL && frac > 709551615ULL))
		return -EINVAL;
	*ns = (unsigned long long)((long long)t - off) * 1000000000ULL + frac;
	return 0;
}

static void copy(char *dst, size_t len, const char *src)
{
	size_t n = src ? strnlen(src, len - 1) : 0;

	memcpy(dst, src ? src : "", n);
	dst[n] = 0;
}

static unsigned long long num(const struct hw_jdoc *d, const char *path)
{
	unsigned long long v = 0;

	return hw_jdoc__u64(d, path, &v) ? 0 : v;
}

static int time_field(const struct hw_jdoc *d, const char *path, unsigned long long *out)
{
	const char *s = hw_jdoc__str(d, path);

	*out = 0;
	return s ? hw_parse_rfc3339(s, out) : 0;
}

static void endpoint(const struct hw_jdoc *d, int source, struct hw_fact_ep *ep)
{
	unsigned long long v;

	copy(ep->ip, sizeof(ep->ip), hw_jdoc__str(d, source ? "source.ip" : "destination.ip"));
	ep->port = (unsigned int)num(d, source ? "source.port" : "destination.port");
	ep->have_bytes = !hw_jdoc__u64(d, source ? "source.bytes" : "destination.bytes", &v);
	ep->bytes = ep->have_bytes ? v : 0;
}

static const struct {
	const char *action;
	enum hw_fact_kind kind;
} actions[] = {
	{"exec", HW_F_EXEC},
	{"fork", HW_F_FORK},
	{"exit", HW_F_EXIT},
	{"existing_process", HW_F_PROC_SNAPSHOT},
	{"connection_attempted", HW_F_CONNECT},
	{"connection_accepted", HW_F_ACCEPT},
	{"disconnect", HW_F_DISCONNECT},
	{"listen", HW_F_LISTEN},
	{"existing_listener", HW_F_LISTEN},
	{"existing_connection", HW_F_CONN_SNAPSHOT},
	{"connection_open", HW_F_CONN_OPEN},
	{"user_login", HW_F_LOGIN},
	{"user_logout", HW_F_LOGOUT},
	{"existing_session", HW_F_SESSION_SNAPSHOT},
	{"agent-started", HW_F_AGENT_STARTED},
	{"agent-stopped", HW_F_AGENT_STOPPED},
	{"tick", HW_F_TICK},
	{"file_created", HW_F_FILE},
	{"file_modified", HW_F_FILE},
	{"file_renamed", HW_F_FILE},
	{"file_deleted", HW_F_FILE},
	{"file_mode_changed", HW_F_FILE},
};

enum hw_fact_kind hw_fact__kind(const char *action)
{
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		if (!strcmp(actions[i].action, action))
			return actions[i].kind;
	return HW_F_OTHER;
}

int hw_fact__from_json(struct hw_fact *f, const struct hw_jdoc *d, char *err, size_t errlen)
{
	const char *action = hw_jdoc__str(d, "event.action");
	const char *ts = hw_jdoc__str(d, "@timestamp");
	const char *kind = hw_jdoc__str(d, "event.kind");
	const char *s;
	const struct hw_jleaf *l;

	memset(f, 0, sizeof(*f));
	if (!ts) {
		snprintf(err, errlen, "no @timestamp");
		return -EINVAL;
	}
	if (hw_parse_rfc3339(ts, &f->ts)) {
		snprintf(err, errlen, "@timestamp '%.40s' is not RFC 3339", ts);
		hw_jread__printable(err);
		return -EINVAL;
	}
	if (!action) {
		snprintf(err, errlen, "no event.action");
		return -EINVAL;
	}
	if (kind && !strcmp(kind, "alert")) {
		f->kind = HW_F_ALERT;
		return 0;
	}
	f->kind = hw_fact__kind(action);
	copy(f->host_id, sizeof(f->host_id), hw_jdoc__str(d, "host.id"));
	copy(f->host_name, sizeof(f->host_name), hw_jdoc__str(d, "host.name"));
	if (f->kind == HW_F_OTHER || f->kind == HW_F_TICK)
		return 0;

	f->pid = (unsigned int)num(d, "process.pid");
	f->ppid = (unsigned int)num(d, "process.parent.pid");
	copy(f->entity_id, sizeof(f->entity_id), hw_jdoc__str(d, "process.entity_id"));
	copy(f->parent_entity_id, sizeof(f->parent_entity_id),
	     hw_jdoc__str(d, "process.parent.entity_id"));
	copy(f->executable, sizeof(f->executable), hw_jdoc__str(d, "process.executable"));
	copy(f->name, sizeof(f->name), hw_jdoc__str(d, "process.name"));
	if (!f->name[0] && f->executable[0]) {
		s = strrchr(f->executable, '/');
		copy(f->name, sizeof(f->name), s ? s + 1 : f->executable);
	}
	l = hw_jdoc__get(d, "process.args");
	for (const struct hw_jleaf *first = l; l && l < d->leaves + d->n && l->path == first->path;
	     l++)
		if (l->type == HW_J_STRING && f->nargs < HW_FACT_ARGS)
			copy(f->args[f->nargs++], HW_FACT_ARG_LEN, l->val);
	copy(f->user, sizeof(f->user), hw_jdoc__str(d, "user.name"));
	l = hw_jdoc__get(d, "hopwatch.stdio");
	for (int i = 0; l && i < 3 && l < d->leaves + d->n && !strcmp(l->path, "hopwatch.stdio");
	     i++, l++)
		f->stdio[i] = l->type == HW_J_STRING ? (unsigned char)hw_stdio_parse(l->val) : 0;
	copy(f->session_id, sizeof(f->session_id), hw_jdoc__str(d, "hopwatch.session.id"));
	l = hw_jdoc__get(d, "hopwatch.exe_unlinked");
	f->unlinked = l && l->type == HW_J_TRUE;
	copy(f->stdio_local.ip, sizeof(f->stdio_local.ip),
	     hw_jdoc__str(d, "hopwatch.stdio_socket.local.ip"));
	f->stdio_local.port = (unsigned int)num(d, "hopwatch.stdio_socket.local.port");
	copy(f->stdio_remote.ip, sizeof(f->stdio_remote.ip),
	     hw_jdoc__str(d, "hopwatch.stdio_socket.remote.ip"));
	f->stdio_remote.port = (unsigned int)num(d, "hopwatch.stdio_socket.remote.port");
	copy(f->stdio_conn, sizeof(f->stdio_conn),
	     hw_jdoc__str(d, "hopwatch.stdio_socket.connection_id"));
	s = hw_jdoc__str(d, "hopwatch.stdio_socket.direction");
	f->stdio_ingress = s && !strcmp(s, "ingress");
	l = hw_jdoc__get(d, "hopwatch.exe.trusted");
	f->exe_trusted = l && l->type == HW_J_TRUE;
	hw_fact__exe_inode_from_json(f, d);
	s = hw_jdoc__str(d, "user.id");
	f->root = s && !strcmp(s, "0");
	s = hw_jdoc__str(d, "user.effective.id");
	if (s && strcmp(s, "0"))
		f->root = 0;

	endpoint(d, 1, &f->src);
	endpoint(d, 0, &f->dst);
	copy(f->conn_id, sizeof(f->conn_id), hw_jdoc__str(d, "hopwatch.connection.id"));
	s = hw_jdoc__str(d, "network.direction");
	f->egress = s && !strcmp(s, "egress");
	s = hw_jdoc__str(d, "network.transport");
	f->udp = s && !strcmp(s, "udp");
	s = hw_jdoc__str(d, "event.outcome");
	f->failure = s && !strcmp(s, "failure");
	copy(f->service, sizeof(f->service), hw_jdoc__str(d, "hopwatch.session.service"));
	l = hw_jdoc__get(d, "hopwatch.login.verified");
	f->login_verified = l && l->type == HW_J_TRUE;
	if (f->kind == HW_F_FILE)
		hw_fact__file_from_json(f, d, action);
	if (time_field(d, "hopwatch.connection.start", &f->conn_start) ||
	    time_field(d, "hopwatch.session.start", &f->session_start)) {
		snprintf(err, errlen, "a start time is not RFC 3339");
		return -EINVAL;
	}
	return 0;
}
