/* ECS JSON for process, network, session and agent events (field reference: docs/events.md).
 *
 * Every line written here is read back by the detection engine, replay and the collector
 * (detect/jsonread.h): a line must never exceed what that reader takes. Everything but
 * process.args is bounded by the structures it comes from (a few dozen values, paths of a
 * few KiB); process.args is cut to HW_ECS_ARGS_MAX elements and HW_ECS_ARGS_BYTES bytes, and
 * should a line still not fit, it is written again with fewer arguments (hopwatch.truncated
 * says so, process.args_count keeps the whole count). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "detect/fact.h"
#include "detect/jsonread.h"
#include "lib/str.h"
#include "output/ecs.h"
#include "output/ecs_int.h"
#include "output/ecs_file.h"

static void bound_init(struct args_bound *b)
{
	*b = (struct args_bound){.max = HW_ECS_ARGS_MAX, .bytes = HW_ECS_ARGS_BYTES};
}

/* The line written since m fits the reader. */
static int fits(const struct hw_json *j, struct hw_json_mark m)
{
	return j->values - m.values <= HW_JREAD_MAX_LEAVES && j->len - m.len <= HW_JREAD_MAX_LINE;
}

/* After a line that does not fit: rewinds it and shrinks the bound by what was over (each
 * argument is one value and each argv byte at least one output byte). Returns 1 to write the
 * line again, 0 when there is nothing left to cut (the line is then dropped with -E2BIG). */
static int refit(struct hw_json *j, struct hw_json_mark m, struct args_bound *b)
{
	size_t values = j->values - m.values, len = j->len - m.len;
	size_t over_v = values > HW_JREAD_MAX_LEAVES ? values - HW_JREAD_MAX_LEAVES : 0;
	size_t over_b = len > HW_JREAD_MAX_LINE ? len - HW_JREAD_MAX_LINE : 0;

	hw_json__rewind(j, m);
	if (!b->written || over_v > b->written || over_b > b->written_bytes) {
		if (!b->written) {
			hw_json__set_error(j, -E2BIG);
			return 0;
		}
		b->max = 0;
	} else {
		b->max = b->written - (__u32)over_v;
		b->bytes = b->written_bytes - (__u32)over_b;
	}
	b->cut = 0;
	return 1;
}

/* Writes the line built by call until it fits the reader (see refit). */
#define ENCODE_FITTED(j, call)                                                                     \
	do {                                                                                       \
		struct hw_json_mark m_ = hw_json__mark(j);                                         \
		struct args_bound b_;                                                              \
                                                                                                   \
		bound_init(&b_);                                                                   \
		for (;;) {                                                                         \
			call;                                                                      \
			if ((j)->error || fits(j, m_) || !refit(j, m_, &b_))                       \
				break;                                                             \
		}                                                                                  \
	} while (0)

/* The helpers below take their key as HW_JK("name") gives it (output/json.h). */

static void process(struct hw_json *j, const struct hw_host *h, const struct hw_process *p,
		    const char *user_name, const char *euser_name, struct args_bound *b)
{
	const struct hw_proc *k = &p->k;

	hw_json__kbegin_object(j, HW_JK("process"));
	hw_json__ku64(j, HW_JK("pid"), k->pid);
	hw_json__kstring(j, HW_JK("entity_id"), p->entity_id);
	hw_ecs__image(j, p, b); /* ecs_image.c */
	hw_ecs__time(j, HW_JK("start"), h, k->start_ns);
	hw_json__kbegin_object(j, HW_JK("thread"));
	hw_json__ku64(j, HW_JK("id"), k->tid);
	hw_json__end_object(j);
	if (k->tty[0]) {
		hw_json__kbegin_object(j, HW_JK("tty"));
		hw_json__kbegin_object(j, HW_JK("char_device"));
		hw_json__ku64(j, HW_JK("major"), k->tty_major);
		hw_json__ku64(j, HW_JK("minor"), k->tty_minor);
		hw_json__end_object(j);
		hw_json__end_object(j);
	}
	if (k->ppid) {
		hw_json__kbegin_object(j, HW_JK("parent"));
		hw_json__ku64(j, HW_JK("pid"), k->ppid);
		hw_json__kstring(j, HW_JK("entity_id"), p->parent_entity_id);
		hw_json__end_object(j);
	}
	if (p->flags & HW_PROC_EXITED) {
		__u32 sig = p->exit_code & 0x7f;

		/* a signal death reads as the shell shows it: 128 + signal */
		hw_json__ki64(j, HW_JK("exit_code"), sig ? 128 + sig : (p->exit_code >> 8) & 0xff);
		hw_ecs__time(j, HW_JK("end"), h, p->exit_ns);
	}
	hw_json__end_object(j);

	hw_ecs__user_group(j, k->uid, user_name, k->euid, euser_name, k->gid);
}

/* process.*, user.* and group.* of a network event: one process makes many (a client's
 * connects, a server's accepts), so the last one is kept encoded with every input it is made
 * of (the fields process() reads, the wall times of its start and end, the user names, the
 * argument bound) and written again while these stay the same: the same bytes, a copy. */
#define FRAG_KEY_MAX 2048
#define FRAG_OUT_MAX 4096

struct frag {
	size_t klen, olen, values;
	struct args_bound bound; /* what was written of argv */
	char key[FRAG_KEY_MAX];
	char out[FRAG_OUT_MAX];
};

static __thread struct frag frag_last;

struct frag_key {
	char *buf;
	size_t len;
	int over;
};

static void key_put(struct frag_key *k, const void *v, size_t n)
{
	if (k->over || n > FRAG_KEY_MAX - k->len) {
		k->over = 1;
		return;
	}
	memcpy(k->buf + k->len, v, n);
	k->len += n;
}

/* a string or NULL, told apart from "" and from its neighbours by its length */
static void key_str(struct frag_key *k, const char *s)
{
	size_t n = s ? strlen(s) : (size_t)-1;

	key_put(k, &n, sizeof(n));
	if (s)
		key_put(k, s, n);
}

/* The inputs of process(); 0 when they do not fit the key (not kept then). */
static size_t frag_key(char *buf, const struct hw_host *h, const struct hw_process *p,
		       const char *user_name, const char *euser_name, const struct args_bound *b)
{
	const struct hw_proc *k = &p->k;
	struct frag_key fk = {.buf = buf};
	__u64 start = hw_host__wall_ns(h, k->start_ns), end = hw_host__wall_ns(h, p->exit_ns);
	__u32 ids[] = {k->pid,	     k->tid,	   k->ppid,	 k->uid,      k->euid,
		       k->gid,	     k->tty_major, k->tty_minor, !!k->tty[0], p->flags,
		       p->exit_code, p->args_len,  b->max,	 b->bytes,    (__u32)b->cut};

	key_put(&fk, ids, sizeof(ids));
	key_put(&fk, &start, sizeof(start));
	key_put(&fk, &end, sizeof(end));
	key_str(&fk, k->comm);
	key_str(&fk, p->entity_id);
	key_str(&fk, p->parent_entity_id);
	key_str(&fk, p->exe);
	key_str(&fk, p->cwd);
	key_str(&fk, user_name);
	key_str(&fk, euser_name);
	if (p->args_len)
		key_put(&fk, p->args, p->args_len);
	return fk.over ? 0 : fk.len;
}

static void process_kept(struct hw_json *j, const struct hw_host *h, const struct hw_process *p,
			 const char *user_name, const char *euser_name, struct args_bound *b)
{
	struct frag *f = &frag_last;
	char key[FRAG_KEY_MAX];
	size_t klen = frag_key(key, h, p, user_name, euser_name, b), len0, values0;

	if (klen && f->klen == klen && !memcmp(f->key, key, klen)) {
		hw_json__members(j, f->out, f->olen, f->values);
		*b = f->bound; /* the same max and bytes: they are in the key */
		return;
	}
	len0 = j->len;
	values0 = j->values;
	process(j, h, p, user_name, euser_name, b);
	f->klen = 0;
	if (!klen || !hw_ecs__keep(j, len0, values0, f->out, FRAG_OUT_MAX, &f->olen, &f->values))
		return;
	f->bound = *b;
	memcpy(f->key, key, klen);
	f->klen = klen;
}

static void session_id(struct hw_json *j, const char *id)
{
	if (!id || !id[0])
		return;
	hw_json__kbegin_object(j, HW_JK("session"));
	hw_json__kstring(j, HW_JK("id"), id);
	hw_json__end_object(j);
}

/* hopwatch.truncated: the fields of p cut short, by the kernel side (agent.args_max, path
 * depth) or by this encoder (b->cut). */
static void truncated(struct hw_json *j, const struct hw_process *p, const struct args_bound *b)
{
	if (!b->cut && !(p->flags & (HW_EXEC_ARGS_TRUNCATED | HW_EXEC_EXE_TRUNCATED |
				     HW_EXEC_CWD_TRUNCATED | HW_EXEC_ARGS_FAULT)))
		return;
	hw_json__kbegin_array(j, HW_JK("truncated"));
	if (b->cut || p->flags & (HW_EXEC_ARGS_TRUNCATED | HW_EXEC_ARGS_FAULT))
		hw_json__string(j, NULL, "process.args");
	if (p->flags & HW_EXEC_EXE_TRUNCATED)
		hw_json__string(j, NULL, "process.executable");
	if (p->flags & HW_EXEC_CWD_TRUNCATED)
		hw_json__string(j, NULL, "process.working_directory");
	hw_json__end_array(j);
}

/* The members of "hopwatch" that describe a process (process events only: a network event
 * has its own hopwatch.netns, the socket's). */
static void process_extras(struct hw_json *j, const struct hw_process *p,
			   const struct args_bound *b)
{
	const struct hw_proc *k = &p->k;

	hw_json__kstring(j, HW_JK("comm"), k->comm);
	session_id(j, p->session_id);
	if (k->loginuid != (__u32)-1 || k->sessionid != (__u32)-1) {
		hw_json__kbegin_object(j, HW_JK("audit"));
		if (k->loginuid != (__u32)-1)
			hw_json__ku64(j, HW_JK("loginuid"), k->loginuid);
		if (k->sessionid != (__u32)-1)
			hw_json__ku64(j, HW_JK("sessionid"), k->sessionid);
		hw_json__end_object(j);
	}
	if (k->tty[0])
		hw_json__kstring(j, HW_JK("tty"), k->tty);
	if (k->netns)
		hw_json__ku64(j, HW_JK("netns"), k->netns);
	if (k->cgroup_id)
		hw_json__ku64(j, HW_JK("cgroup_id"), k->cgroup_id);
	if (p->flags & HW_EXEC_EXE_UNLINKED)
		hw_json__kbool(j, HW_JK("exe_unlinked"), 1);
	if (p->exe && p->exe_mode) {
		/* "%04o" of the permission bits */
		char mode[4];

		for (int i = 0; i < 4; i++)
			mode[i] = (char)('0' + ((p->exe_mode & 07777) >> (9 - 3 * i) & 7));
		hw_json__kbegin_object(j, HW_JK("exe"));
		hw_json__ku64(j, HW_JK("uid"), p->exe_uid);
		hw_json__kplain(j, HW_JK("mode"), mode, 4);
		hw_json__kbool(j, HW_JK("trusted"), hw_process__exe_trusted(p));
		hw_ecs__exe_inode(j, p); /* ecs_file.c */
		hw_json__end_object(j);
	}
	truncated(j, p, b);
	if (p->flags & HW_PROC_EXITED && p->exit_code & 0x7f) {
		hw_json__kbegin_object(j, HW_JK("exit"));
		hw_json__ku64(j, HW_JK("signal"), p->exit_code & 0x7f);
		hw_json__kbool(j, HW_JK("core_dumped"), !!(p->exit_code & 0x80));
		hw_json__end_object(j);
	}
}

static void endpoint(struct hw_json *j, const char *qk, size_t ql, __u16 family, const __u8 *addr,
		     __u16 port, int have_bytes, __u64 bytes);

static void proc_event(struct hw_json *j, const struct hw_host *h, const struct hw_proc_event *e,
		       struct args_bound *b)
{
	int snapshot = !strcmp(e->action, "existing_process");
	int exiting = !strcmp(e->action, "exit");

	hw_ecs__head(j, h, e->ts_ns, snapshot ? "state" : "event", "process",
		     snapshot  ? "info"
		     : exiting ? "end"
			       : "start",
		     e->action, "hopwatch.process");
	hw_ecs__head_end(j, h);
	process(j, h, e->p, e->user_name, e->euser_name, b);
	hw_json__kbegin_object(j, HW_JK("hopwatch"));
	process_extras(j, e->p, b);
	if (e->p->stdio_known && (snapshot || !strcmp(e->action, "exec"))) {
		hw_json__kbegin_array(j, HW_JK("stdio"));
		for (int i = 0; i < 3; i++)
			hw_json__string(j, NULL, hw_stdio_name(e->p->stdio[i]));
		hw_json__end_array(j);
	}
	if (e->stdio_sock) {
		const struct hw_sock_addr *s = e->stdio_sock;

		/* the other end of a shell on a socket: where a reverse shell goes */
		hw_json__kbegin_object(j, HW_JK("stdio_socket"));
		hw_ecs__lit(j, HW_JK("transport"), s->protocol == IPPROTO_UDP ? "udp" : "tcp");
		endpoint(j, HW_JK("local"), s->family, s->saddr, s->sport, 0, 0);
		endpoint(j, HW_JK("remote"), s->family, s->daddr, s->dport, 0, 0);
		if (e->stdio_direction)
			hw_ecs__lit(j, HW_JK("direction"),
				    e->stdio_direction == HW_DIR_EGRESS ? "egress" : "ingress");
		if (e->stdio_conn_id)
			hw_json__kstring(j, HW_JK("connection_id"), e->stdio_conn_id);
		hw_json__end_object(j);
	}
	hw_json__end_object(j);
	hw_json__end_object(j);
	hw_json__end_line(j);
}

void hw_ecs__proc_event(struct hw_json *j, const struct hw_host *h, const struct hw_proc_event *e)
{
	if (e->slim) {
		hw_ecs__slim_proc_event(j, h, e); /* ecs_conn.c */
		return;
	}
	ENCODE_FITTED(j, proc_event(j, h, e, &b_));
}

/* inet_ntop of the family (anything but AF_INET6 as AF_INET), "" when it fails; IPv4, the
 * usual case, formatted here (inet_ntop goes through sprintf). */
static void ip_string(struct hw_json *j, const char *qk, size_t ql, __u16 family, const __u8 *addr)
{
	char buf[INET6_ADDRSTRLEN], *o = buf;

	if (family != AF_INET6) {
		for (int i = 0; i < 4; i++) {
			unsigned int v = addr[i];

			if (v >= 100)
				*o++ = (char)('0' + v / 100);
			if (v >= 10)
				*o++ = (char)('0' + v / 10 % 10);
			*o++ = (char)('0' + v % 10);
			if (i < 3)
				*o++ = '.';
		}
	} else if (inet_ntop(AF_INET6, addr, buf, sizeof(buf))) {
		o = buf + strlen(buf);
	}
	hw_json__kplain(j, qk, ql, buf, (size_t)(o - buf));
}

static void endpoint(struct hw_json *j, const char *qk, size_t ql, __u16 family, const __u8 *addr,
		     __u16 port, int have_bytes, __u64 bytes)
{
	hw_json__kbegin_object(j, qk, ql);
	ip_string(j, HW_JK("ip"), family, addr);
	hw_json__ku64(j, HW_JK("port"), port);
	if (have_bytes)
		hw_json__ku64(j, HW_JK("bytes"), bytes);
	hw_json__end_object(j);
}

static const char *errno_name(__s32 err)
{
	switch (err) {
	case ECONNREFUSED:
		return "ECONNREFUSED";
	case ETIMEDOUT:
		return "ETIMEDOUT";
	case EHOSTUNREACH:
		return "EHOSTUNREACH";
	case ENETUNREACH:
		return "ENETUNREACH";
	case ECONNRESET:
		return "ECONNRESET";
	case EACCES:
		return "EACCES";
	case EPERM:
		return "EPERM";
	case EADDRNOTAVAIL:
		return "EADDRNOTAVAIL";
	case EADDRINUSE:
		return "EADDRINUSE";
	default:
		return NULL;
	}
}

static void net_event(struct hw_json *j, const struct hw_host *h, const struct hw_net_view *v,
		      struct args_bound *b)
{
	const struct hw_sock_addr *a = v->addr;
	int ingress = v->direction == HW_DIR_INGRESS;
	int listen = !strcmp(v->action, "listen") || !strcmp(v->action, "existing_listener");
	int state = !strncmp(v->action, "existing_", 9) || !strcmp(v->action, "connection_open");
	int end = !strcmp(v->action, "disconnect") || !strcmp(v->action, "connection_closed");
	const char *type = listen ? "info" : end ? "end" : state ? "info" : "start";

	hw_ecs__head(j, h, v->ts_ns, state ? "state" : "event", "network", type, v->action,
		     "hopwatch.network");
	if (!strcmp(v->action, "connection_attempted"))
		hw_ecs__lit(j, HW_JK("outcome"), v->error ? "failure" : "success");
	if ((end || !strcmp(v->action, "connection_open")) && v->start_ns &&
	    v->ts_ns >= v->start_ns)
		hw_json__ku64(j, HW_JK("duration"), v->ts_ns - v->start_ns);
	hw_ecs__head_end(j, h);
	/* local end and remote end, as ECS source/destination by direction */
	if (listen) {
		endpoint(j, HW_JK("source"), a->family, a->saddr, a->sport, 0, 0);
	} else if (ingress) {
		endpoint(j, HW_JK("source"), a->family, a->daddr, a->dport, v->have_bytes,
			 v->bytes_received);
		endpoint(j, HW_JK("destination"), a->family, a->saddr, a->sport, v->have_bytes,
			 v->bytes_sent);
	} else {
		endpoint(j, HW_JK("source"), a->family, a->saddr, a->sport, v->have_bytes,
			 v->bytes_sent);
		endpoint(j, HW_JK("destination"), a->family, a->daddr, a->dport, v->have_bytes,
			 v->bytes_received);
	}
	hw_json__kbegin_object(j, HW_JK("network"));
	hw_ecs__lit(j, HW_JK("transport"), a->protocol == IPPROTO_UDP ? "udp" : "tcp");
	hw_ecs__lit(j, HW_JK("type"), a->family == AF_INET6 ? "ipv6" : "ipv4");
	if (!listen)
		hw_ecs__lit(j, HW_JK("direction"), ingress ? "ingress" : "egress");
	if (v->have_bytes)
		hw_json__ku64(j, HW_JK("bytes"), v->bytes_sent + v->bytes_received);
	hw_json__end_object(j);
	if (v->error) {
		const char *name = errno_name(v->error);

		char num[16];

		hw_json__kbegin_object(j, HW_JK("error"));
		if (!name) {
			/* error.code is a keyword in ECS: the number as a string */
			snprintf(num, sizeof(num), "%d", (int)v->error);
			name = num;
		}
		hw_json__kstring(j, HW_JK("code"), name);
		hw_json__kstring(j, HW_JK("message"), strerror(v->error));
		hw_json__end_object(j);
	}
	if (v->p && v->slim) {
		hw_ecs__process_id(j, v->p); /* ecs_conn.c */
		hw_json__end_object(j);
	} else if (v->p) {
		process_kept(j, h, v->p, v->user_name, v->euser_name, b);
	} else if (v->owner_pid) {
		hw_json__kbegin_object(j, HW_JK("process"));
		hw_json__ku64(j, HW_JK("pid"), v->owner_pid);
		if (v->owner_entity_id)
			hw_json__kstring(j, HW_JK("entity_id"), v->owner_entity_id);
		if (v->owner_exe)
			hw_json__kstring(j, HW_JK("executable"), v->owner_exe);
		hw_json__end_object(j);
	}
	hw_json__kbegin_object(j, HW_JK("hopwatch"));
	if (v->p)
		session_id(j, v->p->session_id);
	else
		session_id(j, v->session_id);
	if (v->conn_id) {
		hw_json__kbegin_object(j, HW_JK("connection"));
		hw_json__kstring(j, HW_JK("id"), v->conn_id);
		if (v->start_ns)
			hw_ecs__time(j, HW_JK("start"), h, v->start_ns);
		if (v->closed_by)
			hw_ecs__lit(j, HW_JK("closed_by"),
				    v->closed_by == HW_CLOSED_LOCAL ? "local" : "remote");
		hw_json__end_object(j);
	}
	if (v->netns)
		hw_json__ku64(j, HW_JK("netns"), v->netns);
	if (v->p && !v->slim)
		truncated(j, v->p, b);
	hw_json__end_object(j);
	hw_json__end_object(j);
	hw_json__end_line(j);
}

void hw_ecs__net_event(struct hw_json *j, const struct hw_host *h, const struct hw_net_view *v)
{
	ENCODE_FITTED(j, net_event(j, h, v, &b_));
}

void hw_ecs__session_event(struct hw_json *j, const struct hw_host *h,
			   const struct hw_session_view *v)
{
	const struct hw_session *s = v->s;
	const struct hw_sock_addr *a = &s->addr;
	int logout = !strcmp(v->action, "user_logout");
	int state = !strcmp(v->action, "existing_session");
	hw_ecs__head(j, h, v->ts_ns, state ? "state" : "event",
		     logout || state ? "session" : "authentication",
		     state    ? "info"
		     : logout ? "end"
			      : "start",
		     v->action, "hopwatch.session");
	if (v->outcome)
		hw_json__kstring(j, HW_JK("outcome"), v->outcome);
	if (v->reason)
		hw_json__kstring(j, HW_JK("reason"), v->reason);
	if (logout && v->ts_ns >= s->start_ns)
		hw_json__ku64(j, HW_JK("duration"), v->ts_ns - s->start_ns);
	hw_ecs__head_end(j, h);
	hw_json__kbegin_object(j, HW_JK("user"));
	if (s->uid != (__u32)-1)
		hw_ecs__id(j, HW_JK("id"), s->uid);
	if (s->user[0])
		hw_json__kstring(j, HW_JK("name"), s->user);
	hw_json__end_object(j);
	/* the client is the source, the service's end the destination */
	endpoint(j, HW_JK("source"), a->family, a->daddr, a->dport, !!v->bytes,
		 v->bytes ? v->bytes->from_client : 0);
	endpoint(j, HW_JK("destination"), a->family, a->saddr, a->sport, !!v->bytes,
		 v->bytes ? v->bytes->to_client : 0);
	hw_json__kbegin_object(j, HW_JK("network"));
	hw_json__kstring(j, HW_JK("transport"), "tcp");
	hw_ecs__lit(j, HW_JK("type"), a->family == AF_INET6 ? "ipv6" : "ipv4");
	hw_json__kstring(j, HW_JK("direction"), "ingress");
	hw_json__end_object(j);
	if (v->p) {
		/* only the handler's identity: user.* above is the session's user */
		hw_json__kbegin_object(j, HW_JK("process"));
		hw_json__ku64(j, HW_JK("pid"), v->p->k.pid);
		hw_json__kstring(j, HW_JK("entity_id"), v->p->entity_id);
		if (v->p->exe) {
			hw_json__kstring(j, HW_JK("name"), hw_str__base_name(v->p->exe));
			hw_json__kstring(j, HW_JK("executable"), v->p->exe);
		}
		hw_json__end_object(j);
	}
	hw_json__kbegin_object(j, HW_JK("hopwatch"));
	hw_json__kbegin_object(j, HW_JK("session"));
	hw_json__kstring(j, HW_JK("id"), s->id);
	hw_json__kstring(j, HW_JK("service"), s->service);
	if (s->auth_method[0])
		hw_json__kstring(j, HW_JK("auth_method"), s->auth_method);
	hw_ecs__time(j, HW_JK("start"), h, s->start_ns);
	if (s->login_ns)
		hw_ecs__time(j, HW_JK("login"), h, s->login_ns);
	if (s->audit_sid != (__u32)-1)
		hw_json__ku64(j, HW_JK("audit_sessionid"), s->audit_sid);
	if (s->auth_failures)
		hw_json__ku64(j, HW_JK("auth_failures"), s->auth_failures);
	if (v->bytes && v->bytes->closed_by)
		hw_json__kstring(j, HW_JK("ended_by"),
				 v->bytes->closed_by == HW_CLOSED_LOCAL ? "server" : "client");
	hw_json__end_object(j);
	/* a login (or an attempt that reached pam_open_session): what the kernel confirms */
	if (s->state == HW_SESS_ACTIVE || s->login_ns || s->unverified) {
		hw_json__kbegin_object(j, HW_JK("login"));
		hw_json__kbool(j, HW_JK("verified"), s->verified);
		if (!s->verified && s->unverified)
			hw_json__kstring(j, HW_JK("unverified_reason"), s->unverified);
		hw_json__end_object(j);
	}
	hw_json__end_object(j);
	hw_json__end_object(j);
	hw_json__end_line(j);
}

void hw_ecs__agent_event(struct hw_json *j, const struct hw_host *h, const struct hw_agent_event *e)
{
	const struct hw_agent_counters *c = e->counters;

	hw_ecs__head(j, h, e->ts_ns, "state", "host", "info", e->action, "hopwatch.agent");
	hw_ecs__head_end(j, h);
	hw_json__kbegin_object(j, HW_JK("agent"));
	hw_json__kstring(j, HW_JK("type"), "hopwatch");
	hw_json__kstring(j, HW_JK("version"), e->version);
	hw_json__end_object(j);
	hw_json__kbegin_object(j, HW_JK("hopwatch"));
	hw_json__kbegin_object(j, HW_JK("agent"));
	hw_json__ku64(j, HW_JK("pid"), e->pid);
	if (e->netns)
		hw_json__kstring(j, HW_JK("netns"), e->netns);
	if (e->output) {
		hw_json__end_object(j);
		hw_json__kbegin_object(j, HW_JK("output"));
		hw_json__kstring(j, HW_JK("name"), e->output);
		hw_json__ku64(j, HW_JK("lost"), e->output_lost);
		hw_json__kstring(j, HW_JK("error"), e->output_error);
	} else if (!c) {
		hw_json__kbegin_object(j, HW_JK("snapshot"));
		hw_json__ku64(j, HW_JK("processes"), e->snapshot_procs);
		hw_json__ku64(j, HW_JK("sockets"), e->snapshot_socks);
		hw_json__ku64(j, HW_JK("sessions"), e->snapshot_sessions);
		hw_json__end_object(j);
	} else {
		hw_json__ku64(j, HW_JK("events"), c->events);
		hw_json__ku64(j, HW_JK("alerts"), c->alerts);
		hw_json__ku64(j, HW_JK("drops"), c->drops);
		hw_json__ku64(j, HW_JK("errors"), c->errors);
		hw_json__ku64(j, HW_JK("read_errors"), c->read_errors);
		hw_json__ku64(j, HW_JK("decode_errors"), c->decode_errors);
		hw_json__ku64(j, HW_JK("lost_output"), c->lost_output);
		hw_json__ku64(j, HW_JK("conn_misses"), c->conn_misses);
		hw_json__ku64(j, HW_JK("conn_table_full"), c->conn_table_full);
		hw_json__ku64(j, HW_JK("spool_dropped"), c->spool_dropped);
		hw_json__ku64(j, HW_JK("engine_full"), c->engine_full);
	}
	hw_json__end_object(j);
	if (e->ndegraded) {
		hw_json__kbegin_array(j, HW_JK("degraded"));
		for (int i = 0; i < e->ndegraded; i++)
			hw_json__string(j, NULL, e->degraded[i]);
		hw_json__end_array(j);
	}
	hw_json__end_object(j);
	hw_json__end_object(j);
	hw_json__end_line(j);
}

/* ecs_int.h: the first bound always fits a process's members (see HW_ECS_ARGS_MAX) */
void hw_ecs__process_part(struct hw_json *j, const struct hw_host *h, const struct hw_process *p,
			  const char *user_name, const char *euser_name,
			  void (*more)(struct hw_json *j, const void *ctx), const void *ctx)
{
	struct args_bound b;

	bound_init(&b);
	process(j, h, p, user_name, euser_name, &b);
	hw_json__begin_object(j, "hopwatch");
	process_extras(j, p, &b);
	if (more)
		more(j, ctx);
	hw_json__end_object(j);
}

/* ecs_int.h: the pieces the loopback summary (ecs_conn.c) shares */
void hw_ecs__endpoint(struct hw_json *j, const char *qk, size_t ql, __u16 family, const __u8 *addr,
		      __u16 port, int have_bytes, __u64 bytes)
{
	endpoint(j, qk, ql, family, addr, port, have_bytes, bytes);
}
