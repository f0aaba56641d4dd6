/* Views to facts without JSON (see fact_view.h). Each step below names the ECS field of
 * output/ecs.c it stands for and the rule of detect/fact.c that reads it back. No allocation,
 * no formatting but the ip text. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "detect/fact_file.h"
#include "detect/fact_view.h"
#include "lib/str.h"
#include "output/ecs.h"
#include "output/json.h"

/* A string field as the reader gets it back, cut as fact.c's copy() cuts (NULL reads as ""). */
static inline void put(char *dst, size_t cap, const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	if (!s) {
		dst[0] = 0;
		return;
	}
	/* plain ASCII, the usual case, copied as is (checked eight bytes at a time) */
	{
		size_t n = strlen(s), k = 0;
		uint64_t w, high = 0;

		if (n > cap - 1)
			n = cap - 1;
		for (; k + 8 <= n; k += 8) {
			memcpy(&w, u + k, sizeof(w));
			high |= w;
		}
		for (; k < n; k++)
			high |= u[k];
		if (!(high & 0x8080808080808080ull)) {
			memcpy(dst, s, n);
			dst[n] = 0;
			return;
		}
	}
	/* the rest repaired like the encoder does */
	while (i < cap - 1 && u[i] && u[i] < 0x80) {
		dst[i] = (char)u[i];
		i++;
	}
	if (i == cap - 1 || !u[i]) {
		dst[i] = 0;
		return;
	}
	hw_json__read_back(dst + i, cap - i, s + i, strlen(s + i));
}

/* A time field: the encoder writes hw_host__wall_ns() as RFC 3339 with nanoseconds, which
 * reads back as the same number for every 64-bit value (up to 2554-07-21T23:34:33.709551615Z,
 * the reader's bound), so the fact has the number itself. */
static void ip4_text(char *o, const __u8 *a)
{
	for (int i = 0; i < 4; i++) {
		unsigned int v = a[i];

		if (v >= 100)
			*o++ = (char)('0' + v / 100);
		if (v >= 10)
			*o++ = (char)('0' + v / 10 % 10);
		*o++ = (char)('0' + v % 10);
		*o++ = i < 3 ? '.' : 0;
	}
}

/* ip_string(): inet_ntop of the family (anything but AF_INET6 as AF_INET), "" when it fails. */
static void ip_text(char *dst, size_t cap, __u16 family, const __u8 *addr)
{
	char buf[INET6_ADDRSTRLEN];

	if (family != AF_INET6) {
		ip4_text(buf, addr);
	} else if (!inet_ntop(AF_INET6, addr, buf, sizeof(buf))) {
		buf[0] = 0;
	}
	put(dst, cap, buf);
}

/* endpoint(): source.* or destination.* */
static void ep(struct hw_fact_ep *e, __u16 family, const __u8 *addr, __u16 port, int have_bytes,
	       __u64 bytes)
{
	ip_text(e->ip, sizeof(e->ip), family, addr);
	e->port = port;
	e->have_bytes = !!have_bytes;
	e->bytes = have_bytes ? bytes : 0;
}

/* fact.c: a process without process.name is named after its executable, as read back and cut
 * (a cut may end inside a character: copied as is, like fact.c's copy()). */
static void name_from_exe(struct hw_fact *f)
{
	const char *b;
	size_t n;

	if (f->name[0] || !f->executable[0])
		return;
	b = hw_str__base_name(f->executable);
	n = strnlen(b, sizeof(f->name) - 1);
	memcpy(f->name, b, n);
	f->name[n] = 0;
}

/* process.args as args() writes them within the first bound (a line never needs a second:
 * see HW_ECS_ARGS_MAX), the first HW_FACT_ARGS kept. */
static void args(struct hw_fact *f, const struct hw_process *p)
{
	__u32 i = 0, written = 0, bytes = 0;

	while (i < p->args_len && f->nargs < HW_FACT_ARGS) {
		const char *a = p->args + i;
		const char *nul = memchr(a, 0, p->args_len - i);
		__u32 n = nul ? (__u32)(nul - a) : p->args_len - i;

		if (written >= HW_ECS_ARGS_MAX || n > HW_ECS_ARGS_BYTES - bytes)
			break; /* cut here: nothing after is written */
		hw_json__read_back(f->args[f->nargs++], HW_FACT_ARG_LEN, a, n);
		written++;
		bytes += n;
		i += n + 1;
	}
}

/* process() and user.*: the process of a process event, or of a network event that has one. */
static void process(struct hw_fact *f, const struct hw_process *p, const char *user_name)
{
	const struct hw_proc *k = &p->k;

	f->pid = k->pid;
	put(f->entity_id, sizeof(f->entity_id), p->entity_id);
	put(f->name, sizeof(f->name), p->exe ? hw_str__base_name(p->exe) : k->comm);
	put(f->executable, sizeof(f->executable), p->exe);
	if (p->flags & HW_PROC_EXEC || p->args_len)
		args(f, p);
	if (k->ppid) {
		f->ppid = k->ppid;
		put(f->parent_entity_id, sizeof(f->parent_entity_id), p->parent_entity_id);
	}
	name_from_exe(f);
	put(f->user, sizeof(f->user), user_name);
	f->root = k->uid == 0 && k->euid == 0;
}

/* header() and header_end(): @timestamp, event.action, host.* */
static void header(struct hw_fact *f, const struct hw_host *h, __u64 ts_ns, const char *action)
{
	memset(f, 0, sizeof(*f));
	f->ts = hw_host__wall_ns(h, ts_ns);
	f->kind = hw_fact__kind(action);
	put(f->host_id, sizeof(f->host_id), h->id);
	put(f->host_name, sizeof(f->host_name), h->name);
}

static int relevant(const struct hw_fact *f)
{
	return f->kind != HW_F_OTHER && f->kind != HW_F_TICK;
}

void hw_fact__proc_event(struct hw_fact *f, const struct hw_host *h, const struct hw_proc_event *e)
{
	const struct hw_process *p = e->p;

	header(f, h, e->ts_ns, e->action);
	if (!relevant(f))
		return;
	process(f, p, e->user_name);
	/* process_extras() */
	put(f->session_id, sizeof(f->session_id), p->session_id);
	f->unlinked = !!(p->flags & HW_EXEC_EXE_UNLINKED);
	f->exe_trusted = p->exe && p->exe_mode && hw_process__exe_trusted(p);
	hw_fact__exe_inode(f, p);
	if (p->stdio_known && (f->kind == HW_F_PROC_SNAPSHOT || f->kind == HW_F_EXEC))
		for (int i = 0; i < 3; i++)
			f->stdio[i] = p->stdio[i] <= HW_IO_CLOSED ? p->stdio[i] : HW_IO_UNKNOWN;
	if (e->stdio_sock) {
		const struct hw_sock_addr *s = e->stdio_sock;

		ep(&f->stdio_local, s->family, s->saddr, s->sport, 0, 0);
		ep(&f->stdio_remote, s->family, s->daddr, s->dport, 0, 0);
		f->stdio_ingress = e->stdio_direction && e->stdio_direction != HW_DIR_EGRESS;
		put(f->stdio_conn, sizeof(f->stdio_conn), e->stdio_conn_id);
	}
}

void hw_fact__net_event(struct hw_fact *f, const struct hw_host *h, const struct hw_net_view *v)
{
	const struct hw_sock_addr *a = v->addr;
	int ingress = v->direction == HW_DIR_INGRESS, listen;

	header(f, h, v->ts_ns, v->action);
	if (!relevant(f))
		return;
	listen = f->kind == HW_F_LISTEN;
	f->failure = f->kind == HW_F_CONNECT && v->error;
	/* the local end and the remote end, as source/destination by direction */
	if (listen) {
		ep(&f->src, a->family, a->saddr, a->sport, 0, 0);
	} else if (ingress) {
		ep(&f->src, a->family, a->daddr, a->dport, v->have_bytes, v->bytes_received);
		ep(&f->dst, a->family, a->saddr, a->sport, v->have_bytes, v->bytes_sent);
	} else {
		ep(&f->src, a->family, a->saddr, a->sport, v->have_bytes, v->bytes_sent);
		ep(&f->dst, a->family, a->daddr, a->dport, v->have_bytes, v->bytes_received);
	}
	f->udp = a->protocol == IPPROTO_UDP;
	f->egress = !listen && !ingress;
	if (v->p) {
		process(f, v->p, v->user_name);
		put(f->session_id, sizeof(f->session_id), v->p->session_id);
	} else {
		if (v->owner_pid) {
			f->pid = v->owner_pid;
			put(f->entity_id, sizeof(f->entity_id), v->owner_entity_id);
			put(f->executable, sizeof(f->executable), v->owner_exe);
			name_from_exe(f);
		}
		put(f->session_id, sizeof(f->session_id), v->session_id);
	}
	if (v->conn_id) {
		put(f->conn_id, sizeof(f->conn_id), v->conn_id);
		if (v->start_ns)
			f->conn_start = hw_host__wall_ns(h, v->start_ns);
	}
}

void hw_fact__session_event(struct hw_fact *f, const struct hw_host *h,
			    const struct hw_session_view *v)
{
	const struct hw_session *s = v->s;
	const struct hw_sock_addr *a = &s->addr;

	header(f, h, v->ts_ns, v->action);
	if (!relevant(f))
		return;
	f->failure = v->outcome && !strcmp(v->outcome, "failure");
	f->root = s->uid == 0; /* user.id, no user.effective */
	put(f->user, sizeof(f->user), s->user);
	/* the client is the source, the service's end the destination */
	ep(&f->src, a->family, a->daddr, a->dport, !!v->bytes,
	   v->bytes ? v->bytes->from_client : 0);
	ep(&f->dst, a->family, a->saddr, a->sport, !!v->bytes, v->bytes ? v->bytes->to_client : 0);
	if (v->p) {
		f->pid = v->p->k.pid;
		put(f->entity_id, sizeof(f->entity_id), v->p->entity_id);
		if (v->p->exe) {
			put(f->name, sizeof(f->name), hw_str__base_name(v->p->exe));
			put(f->executable, sizeof(f->executable), v->p->exe);
		}
		name_from_exe(f);
	}
	put(f->session_id, sizeof(f->session_id), s->id);
	put(f->service, sizeof(f->service), s->service);
	f->session_start = hw_host__wall_ns(h, s->start_ns);
	if (s->state == HW_SESS_ACTIVE || s->login_ns || s->unverified)
		f->login_verified = !!s->verified;
}

void hw_fact__agent_event(struct hw_fact *f, const struct hw_host *h,
			  const struct hw_agent_event *e)
{
	/* agent-started, agent-stopped: nothing of them is a fact but the time and the host */
	header(f, h, e->ts_ns, e->action);
}

void hw_fact__tick(struct hw_fact *f, unsigned long long wall_ns, const char *host_name,
		   const char *host_id)
{
	memset(f, 0, sizeof(*f));
	f->ts = wall_ns;
	f->kind = HW_F_TICK;
	put(f->host_id, sizeof(f->host_id), host_id);
	put(f->host_name, sizeof(f->host_name), host_name);
}

/* hw_fact__diff */

enum ftype { F_STR, F_U32, F_INT, F_U64, F_U8 };

/* clang-format off */
#define FN(f, t) {#f, offsetof(struct hw_fact, f), sizeof(((struct hw_fact *)0)->f), t}
#define FS(f) FN(f, F_STR)
#define FEP(e) FS(e.ip), FN(e.port, F_U32), FN(e.bytes, F_U64), FN(e.have_bytes, F_INT)

static const struct field {
	const char *name;
	size_t off, size;
	enum ftype type;
} fields[] = {
	FN(kind, F_INT), FN(ts, F_U64), FS(host_id), FS(host_name), FN(pid, F_U32),
	FN(ppid, F_U32), FS(entity_id), FS(parent_entity_id), FS(executable), FS(name),
	FS(args[0]), FS(args[1]), FS(args[2]), FN(nargs, F_U32), FS(user), FN(stdio[0], F_U8),
	FN(stdio[1], F_U8), FN(stdio[2], F_U8), FN(unlinked, F_INT), FN(exe_trusted, F_INT),
	FN(root, F_INT), FS(session_id), FEP(stdio_local), FEP(stdio_remote), FS(stdio_conn),
	FN(stdio_ingress, F_INT), FEP(src), FEP(dst), FS(conn_id), FN(conn_start, F_U64),
	FN(egress, F_INT), FN(udp, F_INT), FN(failure, F_INT), FS(service),
	FN(session_start, F_U64), FN(login_verified, F_INT), FN(raw_family, F_U32),
	FN(raw_type, F_U32), FN(raw_protocol, F_U32), FS(sock_session), FS(sock_owner),
	FS(sock_path), FN(sock_ino, F_U64), FN(sock_owner_uid, F_U32), FN(uid, F_U32),
};
/* clang-format on */

_Static_assert(HW_FACT_ARGS == 3, "fields[] lists args[0..2]");

static unsigned long long num_of(const void *p, enum ftype t)
{
	switch (t) {
	case F_U32:
		return *(const unsigned int *)p;
	case F_INT:
		return (unsigned long long)(long long)*(const int *)p;
	case F_U64:
		return *(const unsigned long long *)p;
	default:
		return *(const unsigned char *)p;
	}
}

int hw_fact__diff(const struct hw_fact *a, const struct hw_fact *b, char *out, size_t outlen)
{
	size_t used = 0;
	int n = 0;

	if (outlen)
		out[0] = 0;
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		const struct field *d = &fields[i];
		const char *pa = (const char *)a + d->off, *pb = (const char *)b + d->off;
		int w = 0;

		if (d->type == F_STR) {
			/* the bytes after the NUL too: both sides zero them */
			if (!memcmp(pa, pb, d->size))
				continue;
			if (n < 4 && used < outlen)
				w = snprintf(out + used, outlen - used, "%s%s: '%.*s' != '%.*s'",
					     n ? "; " : "", d->name, (int)d->size, pa, (int)d->size,
					     pb);
		} else {
			unsigned long long va = num_of(pa, d->type), vb = num_of(pb, d->type);

			if (va == vb)
				continue;
			if (n < 4 && used < outlen)
				w = snprintf(out + used, outlen - used, "%s%s: %llu != %llu",
					     n ? "; " : "", d->name, va, vb);
		}
		if (w > 0)
			used += (size_t)w < outlen - used ? (size_t)w : outlen - used;
		n++;
	}
	return n;
}
