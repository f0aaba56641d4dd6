/* ECS JSON lines back into the facts the rules use (see fact.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "detect/fact.h"
#include "detect/fact_fields.h"
#include "detect/fact_raw.h"
#include "detect/fact_unix.h"
#include "hopwatch/events.h"

_Static_assert(HW_IO_TCP == HW_STDIO_TCP && HW_IO_UNIX == HW_STDIO_UNIX &&
		   HW_IO_PTY == HW_STDIO_PTY && HW_IO_CHAR == HW_STDIO_CHAR &&
		   HW_IO_CLOSED == HW_STDIO_CLOSED,
	       "hw_stdio follows HW_STDIO_*");

static const char *const stdio_names[] = {
    [HW_IO_UNKNOWN] = "unknown", [HW_IO_TCP] = "tcp",	    [HW_IO_UDP] = "udp",
    [HW_IO_UNIX] = "unix",	 [HW_IO_SOCKET] = "socket", [HW_IO_PTY] = "pty",
    [HW_IO_TTY] = "tty",	 [HW_IO_PIPE] = "pipe",	    [HW_IO_FILE] = "file",
    [HW_IO_CHAR] = "char",	 [HW_IO_CLOSED] = "closed",
};

const char *hw_stdio_name(unsigned int kind)
{
	return kind < sizeof(stdio_names) / sizeof(stdio_names[0]) ? stdio_names[kind] : "unknown";
}

unsigned int hw_stdio_parse(const char *name)
{
	for (unsigned int i = 0; i < sizeof(stdio_names) / sizeof(stdio_names[0]); i++)
		if (stdio_names[i][0] == name[0] && !strcmp(stdio_names[i], name))
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
	/* the date and time of the last line: the lines of one second share them */
	static __thread char last[19];
	static __thread time_t last_t = -1;
	unsigned int y, mo, d, h, mi, sec, oh = 0, om = 0;
	unsigned long long frac = 0;
	long long off = 0;
	int fd = 0;
	time_t t;

	if (strnlen(s, 20) < 20)
		return -EINVAL;
	if (last_t >= 0 && !memcmp(s, last, sizeof(last))) {
		t = last_t;
		s += 19;
		goto fraction;
	}
	if (digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) || s[7] != '-' ||
	    digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') || digits(s + 11, 2, &h) ||
	    s[13] != ':' || digits(s + 14, 2, &mi) || s[16] != ':' || digits(s + 17, 2, &sec))
		return -EINVAL;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 60)
		return -EINVAL;
	{
		static const unsigned char mdays[] = {31, 29, 31, 30, 31, 30,
						      31, 31, 30, 31, 30, 31};
		int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

		if (d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap))
			return -EINVAL;
	}
	{
		/* timegm() without the time zone machinery: days from the civil date, in 400-year
		 * eras from 0000-03-01 (a second 60 runs into the next minute, as timegm's does) */
		long long yy = (long long)y - (mo <= 2), era = yy / 400, yoe = yy - era * 400;
		long long mp = mo > 2 ? mo - 3 : mo + 9; /* months since March */
		long long doy = (153 * mp + 2) / 5 + (long long)d - 1;
		long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
		long long days = era * 146097 + doe - 719468;

		t = (time_t)(days * 86400 + (long long)h * 3600 + (long long)mi * 60 +
			     (long long)sec);
	}
	memcpy(last, s, sizeof(last));
	last_t = t;
	s += 19;
fraction:
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
	if ((long long)t - off < 0)
		return -EINVAL;
	/* ns since the epoch must fit 64 bits: up to 2554-07-21T23:34:33.709551615Z */
	if ((unsigned long long)((long long)t - off) > 18446744073ULL ||
	    ((unsigned long long)((long long)t - off) == 18446744073ULL && frac > 709551615ULL))
		return -EINVAL;
	*ns = (unsigned long long)((long long)t - off) * 1000000000ULL + frac;
	return 0;
}

const char *const hw_fact_field_path[HW_FF_COUNT] = {
#define HW_FF_PATH(id, path) [HW_FF_##id] = path,
    HW_FACT_FIELDS(HW_FF_PATH)
#undef HW_FF_PATH
};

/* The path hashes, computed once. */
static unsigned int field_hash[HW_FF_COUNT];

__attribute__((constructor)) static void hash_fields(void)
{
	for (int i = 0; i < HW_FF_COUNT; i++)
		field_hash[i] = hw_jread__hash(hw_fact_field_path[i]);
}

const struct hw_jleaf *hw_fact__leaf(const struct hw_jdoc *d, enum hw_fact_field f)
{
	if (d->by_field)
		return d->by_field[f];
	return hw_jdoc__get_h(d, hw_fact_field_path[f], field_hash[f]);
}

const char *hw_fact__str(const struct hw_jdoc *d, enum hw_fact_field f)
{
	const struct hw_jleaf *l = hw_fact__leaf(d, f);

	return l && l->type == HW_J_STRING ? l->val : NULL;
}

int hw_fact__u64(const struct hw_jdoc *d, enum hw_fact_field f, unsigned long long *out)
{
	return hw_jleaf__u64(hw_fact__leaf(d, f), out);
}

/* s is lit (a short word): most values differ in their first byte, and that takes no call */
static inline int is(const char *s, const char *lit)
{
	return s && s[0] == lit[0] && !strcmp(s, lit);
}

static void copy(char *dst, size_t len, const char *src)
{
	size_t n = src ? strnlen(src, len - 1) : 0;

	memcpy(dst, src ? src : "", n);
	dst[n] = 0;
}

static unsigned long long num(const struct hw_jdoc *d, enum hw_fact_field f)
{
	unsigned long long v = 0;

	return hw_fact__u64(d, f, &v) ? 0 : v;
}

static int time_field(const struct hw_jdoc *d, enum hw_fact_field f, unsigned long long *out)
{
	const char *s = hw_fact__str(d, f);

	*out = 0;
	return s ? hw_parse_rfc3339(s, out) : 0;
}

static void endpoint(const struct hw_jdoc *d, int source, struct hw_fact_ep *ep)
{
	unsigned long long v;

	copy(ep->ip, sizeof(ep->ip),
	     hw_fact__str(d, source ? HW_FF_SOURCE_IP : HW_FF_DESTINATION_IP));
	ep->port = (unsigned int)num(d, source ? HW_FF_SOURCE_PORT : HW_FF_DESTINATION_PORT);
	ep->have_bytes =
	    !hw_fact__u64(d, source ? HW_FF_SOURCE_BYTES : HW_FF_DESTINATION_BYTES, &v);
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
    {"connection_closed", HW_F_CONN_CLOSED},
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
    {"raw_socket_opened", HW_F_RAW_SOCKET},
    {"agent_socket_used", HW_F_AGENT_SOCKET},
    {"file_created", HW_F_FILE},
    {"file_modified", HW_F_FILE},
    {"file_renamed", HW_F_FILE},
    {"file_deleted", HW_F_FILE},
    {"file_mode_changed", HW_F_FILE},
};

const char *hw_fact__action(enum hw_fact_kind kind)
{
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		if (actions[i].kind == kind)
			return actions[i].action;
	return NULL;
}

enum hw_fact_kind hw_fact__kind(const char *action)
{
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		if (actions[i].action[0] == action[0] && !strcmp(actions[i].action, action))
			return actions[i].kind;
	return HW_F_OTHER;
}

int hw_fact__from_json(struct hw_fact *f, const struct hw_jdoc *d, char *err, size_t errlen)
{
	const char *action = hw_fact__str(d, HW_FF_EVENT_ACTION);
	const char *ts = hw_fact__str(d, HW_FF_TIMESTAMP);
	const char *kind = hw_fact__str(d, HW_FF_EVENT_KIND);
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
	if (is(kind, "alert")) {
		f->kind = HW_F_ALERT;
		return 0;
	}
	f->kind = hw_fact__kind(action);
	copy(f->host_id, sizeof(f->host_id), hw_fact__str(d, HW_FF_HOST_ID));
	copy(f->host_name, sizeof(f->host_name), hw_fact__str(d, HW_FF_HOST_NAME));
	if (f->kind == HW_F_OTHER || f->kind == HW_F_TICK)
		return 0;

	f->pid = (unsigned int)num(d, HW_FF_PROCESS_PID);
	f->ppid = (unsigned int)num(d, HW_FF_PROCESS_PARENT_PID);
	copy(f->entity_id, sizeof(f->entity_id), hw_fact__str(d, HW_FF_PROCESS_ENTITY_ID));
	copy(f->parent_entity_id, sizeof(f->parent_entity_id),
	     hw_fact__str(d, HW_FF_PROCESS_PARENT_ENTITY_ID));
	copy(f->executable, sizeof(f->executable), hw_fact__str(d, HW_FF_PROCESS_EXECUTABLE));
	copy(f->name, sizeof(f->name), hw_fact__str(d, HW_FF_PROCESS_NAME));
	if (!f->name[0] && f->executable[0]) {
		s = strrchr(f->executable, '/');
		copy(f->name, sizeof(f->name), s ? s + 1 : f->executable);
	}
	l = hw_fact__leaf(d, HW_FF_PROCESS_ARGS);
	/* the elements of an array follow its first leaf, with the same path */
	for (const struct hw_jleaf *first = l;
	     l && l < d->leaves + d->n && l->path == first->path && f->nargs < HW_FACT_ARGS; l++)
		if (l->type == HW_J_STRING)
			copy(f->args[f->nargs++], HW_FACT_ARG_LEN, l->val);
	copy(f->user, sizeof(f->user), hw_fact__str(d, HW_FF_USER_NAME));
	l = hw_fact__leaf(d, HW_FF_HOPWATCH_STDIO);
	for (const struct hw_jleaf *first = l;
	     l && l - first < 3 && l < d->leaves + d->n && l->path == first->path; l++)
		f->stdio[l - first] =
		    l->type == HW_J_STRING ? (unsigned char)hw_stdio_parse(l->val) : 0;
	copy(f->session_id, sizeof(f->session_id), hw_fact__str(d, HW_FF_HOPWATCH_SESSION_ID));
	l = hw_fact__leaf(d, HW_FF_HOPWATCH_EXE_UNLINKED);
	f->unlinked = l && l->type == HW_J_TRUE;
	copy(f->stdio_local.ip, sizeof(f->stdio_local.ip),
	     hw_fact__str(d, HW_FF_HOPWATCH_STDIO_SOCKET_LOCAL_IP));
	f->stdio_local.port = (unsigned int)num(d, HW_FF_HOPWATCH_STDIO_SOCKET_LOCAL_PORT);
	copy(f->stdio_remote.ip, sizeof(f->stdio_remote.ip),
	     hw_fact__str(d, HW_FF_HOPWATCH_STDIO_SOCKET_REMOTE_IP));
	f->stdio_remote.port = (unsigned int)num(d, HW_FF_HOPWATCH_STDIO_SOCKET_REMOTE_PORT);
	copy(f->stdio_conn, sizeof(f->stdio_conn),
	     hw_fact__str(d, HW_FF_HOPWATCH_STDIO_SOCKET_CONNECTION_ID));
	s = hw_fact__str(d, HW_FF_HOPWATCH_STDIO_SOCKET_DIRECTION);
	f->stdio_ingress = is(s, "ingress");
	l = hw_fact__leaf(d, HW_FF_HOPWATCH_EXE_TRUSTED);
	f->exe_trusted = l && l->type == HW_J_TRUE;
	hw_fact__exe_inode_from_json(f, d);
	s = hw_fact__str(d, HW_FF_USER_ID);
	f->root = is(s, "0");
	s = hw_fact__str(d, HW_FF_USER_EFFECTIVE_ID);
	if (s && !is(s, "0"))
		f->root = 0;

	endpoint(d, 1, &f->src);
	endpoint(d, 0, &f->dst);
	copy(f->conn_id, sizeof(f->conn_id), hw_fact__str(d, HW_FF_HOPWATCH_CONNECTION_ID));
	s = hw_fact__str(d, HW_FF_NETWORK_DIRECTION);
	f->egress = is(s, "egress");
	s = hw_fact__str(d, HW_FF_NETWORK_TRANSPORT);
	f->udp = is(s, "udp");
	s = hw_fact__str(d, HW_FF_EVENT_OUTCOME);
	f->failure = is(s, "failure");
	copy(f->service, sizeof(f->service), hw_fact__str(d, HW_FF_HOPWATCH_SESSION_SERVICE));
	l = hw_fact__leaf(d, HW_FF_HOPWATCH_LOGIN_VERIFIED);
	f->login_verified = l && l->type == HW_J_TRUE;
	if (f->kind == HW_F_FILE)
		hw_fact__file_from_json(f, d, action);
	if (time_field(d, HW_FF_HOPWATCH_CONNECTION_START, &f->conn_start) ||
	    time_field(d, HW_FF_HOPWATCH_SESSION_START, &f->session_start)) {
		snprintf(err, errlen, "a start time is not RFC 3339");
		return -EINVAL;
	}
	if (f->kind == HW_F_RAW_SOCKET)
		hw_fact__raw_from_json(f, d);
	if (f->kind == HW_F_AGENT_SOCKET)
		hw_fact__unix_from_json(f, d);
	return 0;
}
