/* The fleet profile's own lines (docs/streaming.md "Profiles", fields in docs/events.md): the
 * loopback summary (its table and its line), the slim fork and exit, the process by its
 * identity that its network lines carry (output/ecs.c writes the rest of them). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/hash.h"
#include "lib/str.h"
#include "output/ecs_conn.h"
#include "output/ecs_int.h"

static int loopback(__u16 family, const __u8 *a)
{
	static const __u8 v6_lo[16] = {[15] = 1};
	static const __u8 v4_mapped[12] = {[10] = 0xff, [11] = 0xff};

	if (family != AF_INET6)
		return a[0] == 127;
	if (!memcmp(a, v6_lo, 16))
		return 1;
	return !memcmp(a, v4_mapped, 12) && a[12] == 127;
}

int hw_addr__loopback_pair(const struct hw_sock_addr *a)
{
	return loopback(a->family, a->saddr) && loopback(a->family, a->daddr);
}

static uint64_t key_hash(const char *entity, __u16 port, __u8 dir, __u32 netns)
{
	uint64_t h = hw_fnv__str(HW_FNV0, entity);

	return hw_fnv__u64(h,
			   (unsigned long long)port << 40 | (unsigned long long)dir << 32 | netns);
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

void hw_loopsum__add(struct hw_loopsum *s, const struct hw_net_view *v)
{
	const struct hw_sock_addr *a = v->addr;
	const char *entity = v->p ? v->p->entity_id : v->owner_entity_id ? v->owner_entity_id : "";
	__u8 dir = v->direction == HW_DIR_INGRESS ? HW_DIR_INGRESS : HW_DIR_EGRESS;
	__u16 port = dir == HW_DIR_INGRESS ? a->sport : a->dport;
	uint64_t h = key_hash(entity, port, dir, v->netns);
	struct hw_loopsum_entry *e = NULL;

	if (!s->tail)
		s->tail = &s->head;
	for (struct hw_hnode *n = hw_htab__first(&s->keys, h); n; n = hw_htab__next(n, h)) {
		struct hw_loopsum_entry *c = (struct hw_loopsum_entry *)n;

		if (c->port == port && c->direction == dir && c->netns == v->netns &&
		    !strcmp(c->entity_id, entity)) {
			e = c;
			break;
		}
	}
	if (!e && entity[0] && s->n < (s->max ? s->max : HW_LOOPSUM_MAX)) {
		e = calloc(1, sizeof(*e));
		if (e && hw_htab__add(&s->keys, &e->node, h)) {
			free(e);
			e = NULL;
		}
		if (e) {
			const char *exe = v->p ? v->p->exe : v->owner_exe;

			hw_str__copy(e->entity_id, sizeof(e->entity_id), entity);
			e->exe = dup_or_null(exe);
			e->name = dup_or_null(exe    ? hw_str__base_name(exe)
					      : v->p ? v->p->k.comm
						     : NULL);
			e->pid = v->p ? v->p->k.pid : v->owner_pid;
			e->netns = v->netns;
			e->port = port;
			e->direction = dir;
			e->family = a->family;
			*s->tail = e;
			s->tail = &e->next;
			s->n++;
		}
	}
	if (!e) {
		/* the table is full (or the owner unknown): counted, without a process */
		e = &s->overflow;
		e->family = a->family;
		e->direction = 0;
	}
	if (!e->count && !e->failed)
		e->first_ns = v->ts_ns;
	e->last_ns = v->ts_ns;
	if (v->error) {
		e->failed++;
		return;
	}
	e->count++;
	e->bytes_sent += v->bytes_sent;
	e->bytes_received += v->bytes_received;
}

size_t hw_loopsum__count(const struct hw_loopsum *s)
{
	return s->n + !!(s->overflow.count || s->overflow.failed);
}

static void entry_free(struct hw_loopsum_entry *e)
{
	free(e->exe);
	free(e->name);
	free(e);
}

size_t hw_loopsum__flush(struct hw_loopsum *s, const struct hw_host *h, __u64 ts_ns,
			 struct hw_json *j, void (*fn)(struct hw_json *j, void *ctx), void *ctx)
{
	size_t lines = 0;
	struct hw_loopsum_entry *e = s->head, *next;

	for (; e; e = next) {
		next = e->next;
		hw_json__reset(j);
		hw_ecs__loopback_summary(j, h, ts_ns, e);
		fn(j, ctx);
		lines++;
		hw_htab__del(&s->keys, &e->node);
		entry_free(e);
	}
	s->head = NULL;
	s->tail = &s->head;
	s->n = 0;
	if (s->overflow.count || s->overflow.failed) {
		hw_json__reset(j);
		hw_ecs__loopback_summary(j, h, ts_ns, &s->overflow);
		fn(j, ctx);
		lines++;
		memset(&s->overflow, 0, sizeof(s->overflow));
	}
	return lines;
}

void hw_loopsum__free(struct hw_loopsum *s)
{
	struct hw_loopsum_entry *e = s->head, *next;

	for (; e; e = next) {
		next = e->next;
		entry_free(e);
	}
	free(s->keys.b);
	memset(s, 0, sizeof(*s));
}

void hw_ecs__loopback_summary(struct hw_json *j, const struct hw_host *h, __u64 ts_ns,
			      const struct hw_loopsum_entry *e)
{
	int ingress = e->direction == HW_DIR_INGRESS;

	hw_ecs__head(j, h, ts_ns, "event", "network", "connection", "loopback_summary",
		     "hopwatch.network");
	hw_ecs__time(j, HW_JK("start"), h, e->first_ns);
	hw_ecs__time(j, HW_JK("end"), h, e->last_ns);
	hw_ecs__head_end(j, h);
	/* the loopback address and the server's port (the local end's for a server) */
	hw_json__kbegin_object(j, HW_JK("destination"));
	hw_json__kplain(j, HW_JK("ip"), e->family == AF_INET6 ? "::1" : "127.0.0.1",
			e->family == AF_INET6 ? 3 : 9);
	if (e->direction)
		hw_json__ku64(j, HW_JK("port"), e->port);
	hw_json__end_object(j);
	hw_json__kbegin_object(j, HW_JK("network"));
	hw_json__kplain(j, HW_JK("transport"), "tcp", 3);
	hw_json__kplain(j, HW_JK("type"), e->family == AF_INET6 ? "ipv6" : "ipv4", 4);
	if (e->direction)
		hw_json__kplain(j, HW_JK("direction"), ingress ? "ingress" : "egress",
				ingress ? 7 : 6);
	hw_json__ku64(j, HW_JK("bytes"), e->bytes_sent + e->bytes_received);
	hw_json__end_object(j);
	if (e->entity_id[0]) {
		hw_json__kbegin_object(j, HW_JK("process"));
		hw_json__ku64(j, HW_JK("pid"), e->pid);
		hw_json__kstring(j, HW_JK("entity_id"), e->entity_id);
		if (e->name)
			hw_json__kstring(j, HW_JK("name"), e->name);
		if (e->exe)
			hw_json__kstring(j, HW_JK("executable"), e->exe);
		hw_json__end_object(j);
	}
	hw_json__kbegin_object(j, HW_JK("hopwatch"));
	hw_json__kbegin_object(j, HW_JK("summary"));
	hw_json__ku64(j, HW_JK("connections"), e->count);
	if (e->failed)
		hw_json__ku64(j, HW_JK("failed"), e->failed);
	hw_json__ku64(j, HW_JK("bytes_sent"), e->bytes_sent);
	hw_json__ku64(j, HW_JK("bytes_received"), e->bytes_received);
	if (!e->entity_id[0])
		hw_json__kbool(j, HW_JK("overflow"), 1);
	hw_json__end_object(j);
	if (e->netns)
		hw_json__ku64(j, HW_JK("netns"), e->netns);
	hw_json__end_object(j);
	hw_json__end_object(j);
	hw_json__end_line(j);
}

static void session(struct hw_json *j, const char *id)
{
	if (!id || !id[0])
		return;
	hw_json__kbegin_object(j, HW_JK("session"));
	hw_json__kstring(j, HW_JK("id"), id);
	hw_json__end_object(j);
}

/* The fleet profile's process: who it is (pid, entity_id, name, executable), no more. */
void hw_ecs__process_id(struct hw_json *j, const struct hw_process *p)
{
	hw_json__kbegin_object(j, HW_JK("process"));
	hw_json__ku64(j, HW_JK("pid"), p->k.pid);
	hw_json__kstring(j, HW_JK("entity_id"), p->entity_id);
	hw_json__kstring(j, HW_JK("name"), p->exe ? hw_str__base_name(p->exe) : p->k.comm);
	if (p->exe)
		hw_json__kstring(j, HW_JK("executable"), p->exe);
}

/* A fleet-profile fork (the identity, the parent, the start and the ids the rules read: user
 * ids, hopwatch.exe.trusted, the session; no args, cwd or tty) or exit (pid, entity_id, name,
 * exit_code, end, the session). */
void hw_ecs__slim_proc_event(struct hw_json *j, const struct hw_host *h,
			     const struct hw_proc_event *e)
{
	const struct hw_process *p = e->p;
	const struct hw_proc *k = &p->k;
	int exiting = !strcmp(e->action, "exit");

	hw_ecs__head(j, h, e->ts_ns, "event", "process", exiting ? "end" : "start", e->action,
		     "hopwatch.process");
	hw_ecs__head_end(j, h);
	if (exiting) {
		/* the process is known from its fork or exec: who ended, how and when */
		hw_json__kbegin_object(j, HW_JK("process"));
		hw_json__ku64(j, HW_JK("pid"), k->pid);
		hw_json__kstring(j, HW_JK("entity_id"), p->entity_id);
		hw_json__kstring(j, HW_JK("name"), p->exe ? hw_str__base_name(p->exe) : k->comm);
	} else {
		hw_ecs__process_id(j, p);
		hw_ecs__time(j, HW_JK("start"), h, k->start_ns);
	}
	if (k->ppid && !exiting) {
		hw_json__kbegin_object(j, HW_JK("parent"));
		hw_json__ku64(j, HW_JK("pid"), k->ppid);
		hw_json__kstring(j, HW_JK("entity_id"), p->parent_entity_id);
		hw_json__end_object(j);
	}
	if (p->flags & HW_PROC_EXITED) {
		__u32 sig = p->exit_code & 0x7f;

		hw_json__ki64(j, HW_JK("exit_code"), sig ? 128 + sig : (p->exit_code >> 8) & 0xff);
		hw_ecs__time(j, HW_JK("end"), h, p->exit_ns);
	}
	hw_json__end_object(j);
	if (!exiting) {
		hw_json__kbegin_object(j, HW_JK("user"));
		hw_ecs__id(j, HW_JK("id"), k->uid);
		hw_json__kbegin_object(j, HW_JK("effective"));
		hw_ecs__id(j, HW_JK("id"), k->euid);
		hw_json__end_object(j);
		hw_json__end_object(j);
	}
	hw_json__kbegin_object(j, HW_JK("hopwatch"));
	session(j, p->session_id);
	if (!exiting && p->exe && p->exe_mode) {
		hw_json__kbegin_object(j, HW_JK("exe"));
		hw_json__kbool(j, HW_JK("trusted"), hw_process__exe_trusted(p));
		hw_json__end_object(j);
	}
	hw_json__end_object(j);
	hw_json__end_object(j);
	hw_json__end_line(j);
}
