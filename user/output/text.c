/* Text lines: "TIME ACTION pid=.. ppid=.. user=.. [sid=..] [tty=..] EXE ARGS". */
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect/fact.h"
#include "lib/addr.h"
#include "output/text.h"

static int reserve(struct hw_text *t, size_t more)
{
	size_t cap;
	char *b;

	if (t->error)
		return -1;
	if (t->len + more + 1 <= t->cap)
		return 0;
	cap = t->cap ? t->cap : 256;
	while (cap < t->len + more + 1)
		cap *= 2;
	b = realloc(t->buf, cap);
	if (!b) {
		t->error = -ENOMEM;
		return -1;
	}
	t->buf = b;
	t->cap = cap;
	return 0;
}

__attribute__((format(printf, 2, 3))) static void put(struct hw_text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (reserve(t, 128))
		return;
	va_start(ap, fmt);
	n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= t->cap - t->len) {
		if (reserve(t, (size_t)n))
			return;
		va_start(ap, fmt);
		vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
		va_end(ap);
	}
	t->len += (size_t)n;
}

/* One argument or path: printable ASCII as is, the rest as \xNN; quoted when it has spaces or
 * quotes or is empty. UTF-8 is escaped too: a terminal line must not hide anything. */
void hw_text__word(struct hw_text *t, const char *s, size_t n)
{
	int quote = n == 0;
	size_t i;

	for (i = 0; i < n && !quote; i++)
		quote = s[i] == ' ' || s[i] == '"' || s[i] == '\'';
	if (reserve(t, n * 4 + 2))
		return;
	if (quote)
		t->buf[t->len++] = '"';
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"') {
			t->buf[t->len++] = (char)c;
		} else if (c == '\\' || c == '"') {
			t->buf[t->len++] = '\\';
			t->buf[t->len++] = (char)c;
		} else {
			t->len += (size_t)snprintf(t->buf + t->len, 5, "\\x%02x", c);
		}
	}
	if (quote)
		t->buf[t->len++] = '"';
	t->buf[t->len] = 0;
}

static void addr_port(struct hw_text *t, __u16 family, const __u8 *addr, __u16 port);

static void when(struct hw_text *t, const struct hw_host *h, __u64 ts_ns)
{
	char ts[HW_TIME_LEN];

	hw_format_time(hw_host__wall_ns(h, ts_ns), ts);
	ts[23] = 0; /* milliseconds are enough on a terminal */
	put(t, "%s ", ts);
}

void hw_text__raw(struct hw_text *t, const char *s, size_t n)
{
	if (reserve(t, n))
		return;
	memcpy(t->buf + t->len, s, n);
	t->len += n;
	t->buf[t->len] = 0;
}

void hw_text__exe(struct hw_text *t, const struct hw_process *p)
{
	if (p->exe) {
		hw_text__word(t, p->exe, strlen(p->exe));
		return;
	}
	hw_text__raw(t, "[", 1);
	hw_text__word(t, p->k.comm, strnlen(p->k.comm, sizeof(p->k.comm)));
	hw_text__raw(t, "]", 1);
}

void hw_text__reset(struct hw_text *t)
{
	t->len = 0;
	t->error = 0;
	if (t->buf)
		t->buf[0] = 0;
}

void hw_text__free(struct hw_text *t)
{
	free(t->buf);
	memset(t, 0, sizeof(*t));
}

void hw_text__proc_event(struct hw_text *t, const struct hw_host *h, const struct hw_proc_event *e)
{
	const struct hw_process *p = e->p;
	const struct hw_proc *k = &p->k;

	when(t, h, e->ts_ns);
	put(t, "%-8s pid=%u ppid=%u user=", e->action, k->pid, k->ppid);
	if (e->user_name)
		hw_text__word(t, e->user_name, strlen(e->user_name));
	else
		put(t, "%u", k->uid);
	if (k->euid != k->uid)
		put(t, " euid=%u", k->euid);
	if (k->sessionid != (__u32)-1)
		put(t, " auid=%u sid=%u", k->loginuid, k->sessionid);
	if (k->tty[0])
		put(t, " tty=%s", k->tty);
	if (p->session_id[0])
		put(t, " session=%s", p->session_id);
	if (p->stdio_known && strcmp(e->action, "fork") && strcmp(e->action, "exit") &&
	    (hw_stdio_is_socket(p->stdio[0]) || hw_stdio_is_socket(p->stdio[1])))
		put(t, " stdio=%s,%s,%s", hw_stdio_name(p->stdio[0]), hw_stdio_name(p->stdio[1]),
		    hw_stdio_name(p->stdio[2]));
	if (p->flags & HW_PROC_EXITED) {
		__u32 sig = p->exit_code & 0x7f;

		if (sig)
			put(t, " signal=%u", sig);
		else
			put(t, " code=%u", (p->exit_code >> 8) & 0xff);
	}
	put(t, " ");
	hw_text__exe(t, p);
	/* argv[0] is usually the executable again: show the rest */
	for (__u32 i = 0, n = 0; i < p->args_len; n++) {
		const char *a = p->args + i;
		const char *nul = memchr(a, 0, p->args_len - i);
		__u32 len = nul ? (__u32)(nul - a) : p->args_len - i;

		if (n > 0) {
			put(t, " ");
			hw_text__word(t, a, len);
		}
		i += len + 1;
	}
	if (p->flags & HW_EXEC_ARGS_TRUNCATED)
		put(t, " [...]");
	put(t, "\n");
}

void hw_text__session_event(struct hw_text *t, const struct hw_host *h,
			    const struct hw_session_view *v)
{
	const struct hw_session *s = v->s;

	when(t, h, v->ts_ns);
	put(t, "%-8s", v->action);
	if (v->outcome)
		put(t, " %s", v->outcome);
	put(t, " user=");
	if (s->user[0])
		hw_text__word(t, s->user, strlen(s->user));
	else
		put(t, "?");
	put(t, " from ");
	addr_port(t, s->addr.family, s->addr.daddr, s->addr.dport);
	put(t, " to ");
	addr_port(t, s->addr.family, s->addr.saddr, s->addr.sport);
	put(t, " service=%s", s->service);
	if (s->auth_method[0])
		put(t, " method=%s", s->auth_method);
	if (v->reason)
		put(t, " reason=\"%s\"", v->reason);
	put(t, " session=%s", s->id);
	if (v->bytes)
		put(t, " sent=%llu recv=%llu", (unsigned long long)v->bytes->to_client,
		    (unsigned long long)v->bytes->from_client);
	if (!v->outcome || !strcmp(v->action, "user_logout")) {
		char ts[HW_TIME_LEN];

		hw_format_time(hw_host__wall_ns(h, s->start_ns), ts);
		ts[19] = 0;
		put(t, " since=%sZ", ts);
	}
	put(t, "\n");
}

void hw_text__agent_event(struct hw_text *t, const struct hw_host *h,
			  const struct hw_agent_event *e)
{
	const struct hw_agent_counters *c = e->counters;

	when(t, h, e->ts_ns);
	put(t, "%-8s hopwatch %s pid=%u host=%s", e->action, e->version, e->pid, h->name);
	if (e->netns)
		put(t, " netns=%s", e->netns);
	if (e->output)
		put(t, " output=%s lost=%llu error=\"%s\"", e->output,
		    (unsigned long long)e->output_lost, e->output_error);
	else if (c)
		put(t, " events=%llu alerts=%llu drops=%llu errors=%llu",
		    (unsigned long long)c->events, (unsigned long long)c->alerts,
		    (unsigned long long)c->drops,
		    (unsigned long long)(c->errors + c->decode_errors + c->lost_output));
	else
		put(t, " snapshot_processes=%llu snapshot_sockets=%llu snapshot_sessions=%llu",
		    (unsigned long long)e->snapshot_procs, (unsigned long long)e->snapshot_socks,
		    (unsigned long long)e->snapshot_sessions);
	for (int i = 0; i < e->ndegraded; i++)
		put(t, "%s%s", i ? "," : " degraded=", e->degraded[i]);
	put(t, "\n");
}

static void addr_port(struct hw_text *t, __u16 family, const __u8 *addr, __u16 port)
{
	char buf[HW_ADDR_TEXT_LEN];

	hw_addr__ntop(family, addr, buf, sizeof(buf));
	put(t, family == AF_INET6 ? "[%s]:%u" : "%s:%u", buf, port);
}

void hw_text__net_event(struct hw_text *t, const struct hw_host *h, const struct hw_net_view *v)
{
	const struct hw_sock_addr *a = v->addr;

	when(t, h, v->ts_ns);
	put(t, "%-8s pid=%u", v->action, v->p ? v->p->k.pid : v->owner_pid);
	if (v->user_name)
		put(t, " user=%s", v->user_name);
	if (v->p && v->p->k.sessionid != (__u32)-1)
		put(t, " auid=%u sid=%u", v->p->k.loginuid, v->p->k.sessionid);
	put(t, " %s ", a->protocol == IPPROTO_UDP ? "udp" : "tcp");
	addr_port(t, a->family, a->saddr, a->sport);
	if (strcmp(v->action, "listen") && strcmp(v->action, "existing_listener")) {
		put(t, v->direction == HW_DIR_INGRESS ? " <- " : " -> ");
		addr_port(t, a->family, a->daddr, a->dport);
	}
	if (v->error)
		put(t, " failed=%s", strerror(v->error));
	if (v->have_bytes)
		put(t, " sent=%llu recv=%llu", (unsigned long long)v->bytes_sent,
		    (unsigned long long)v->bytes_received);
	if (v->start_ns && v->ts_ns > v->start_ns && strcmp(v->action, "connection_attempted") &&
	    strcmp(v->action, "connection_accepted"))
		put(t, " age=%.3fs", (double)(v->ts_ns - v->start_ns) / 1e9);
	if (v->closed_by)
		put(t, " closed_by=%s", v->closed_by == HW_CLOSED_LOCAL ? "local" : "remote");
	if (v->p && v->p->exe) {
		put(t, " ");
		hw_text__word(t, v->p->exe, strlen(v->p->exe));
	}
	put(t, "\n");
}
