/* Session table: few entries (one per remote connection to a service), a list is enough. */
#include <stdlib.h>
#include <string.h>

#include "model/sessions.h"

struct hw_sessions {
	const struct hw_host *host;
	struct hw_session *head; /* newest first */
	size_t count, ended, max_ended;
};

struct hw_sessions *hw_sessions__new(const struct hw_host *host, size_t max_ended)
{
	struct hw_sessions *s = calloc(1, sizeof(*s));

	if (s) {
		s->host = host;
		s->max_ended = max_ended;
	}
	return s;
}

void hw_sessions__free(struct hw_sessions *s)
{
	if (!s)
		return;
	for (struct hw_session *x = s->head, *n; x; x = n) {
		n = x->next;
		free(x);
	}
	free(s);
}

struct hw_session *hw_sessions__add(struct hw_sessions *s, __u64 cookie)
{
	struct hw_session *x = calloc(1, sizeof(*x));

	if (!x)
		return NULL;
	x->cookie = cookie;
	x->uid = (__u32)-1;
	x->audit_sid = (__u32)-1;
	hw_id__session(s->host->key, cookie, x->id);
	x->next = s->head;
	s->head = x;
	s->count++;
	return x;
}

struct hw_session *hw_sessions__by_cookie(struct hw_sessions *s, __u64 cookie)
{
	for (struct hw_session *x = s->head; x; x = x->next)
		if (x->cookie == cookie && x->state != HW_SESS_ENDED)
			return x;
	return NULL;
}

struct hw_session *hw_sessions__by_audit(struct hw_sessions *s, __u32 audit_sid)
{
	if (audit_sid == (__u32)-1)
		return NULL;
	for (struct hw_session *x = s->head; x; x = x->next)
		if (x->audit_sid == audit_sid)
			return x;
	return NULL;
}

struct hw_session *hw_sessions__by_handler(struct hw_sessions *s, __u32 pid, __u64 start_ns)
{
	for (struct hw_session *x = s->head; x; x = x->next)
		if (x->state != HW_SESS_PENDING && x->handler_pid == pid &&
		    x->handler_start_ns == start_ns)
			return x;
	return NULL;
}

struct hw_session *hw_sessions__pending_of(struct hw_sessions *s, __u32 listener_pid,
					   __u64 listener_start_ns)
{
	struct hw_session *oldest = NULL;

	for (struct hw_session *x = s->head; x; x = x->next)
		if (x->state == HW_SESS_PENDING && x->listener_pid == listener_pid &&
		    x->listener_start_ns == listener_start_ns)
			oldest = x; /* the list is newest first */
	return oldest;
}

struct hw_session *hw_sessions__by_id(struct hw_sessions *s, const char *id)
{
	if (!id || !id[0])
		return NULL;
	for (struct hw_session *x = s->head; x; x = x->next)
		if (!strcmp(x->id, id))
			return x;
	return NULL;
}

void hw_sessions__each(struct hw_sessions *s, void (*fn)(struct hw_session *x, void *ctx),
		       void *ctx)
{
	for (struct hw_session *x = s->head; x; x = x->next)
		fn(x, ctx);
}

void hw_sessions__end(struct hw_sessions *s, struct hw_session *x)
{
	struct hw_session **pp, *last_ended = NULL, **last_pp = NULL;

	if (x->state == HW_SESS_ENDED)
		return;
	x->state = HW_SESS_ENDED;
	s->ended++;
	if (s->ended <= s->max_ended)
		return;
	/* free the oldest ended session: the last ended one in the list */
	for (pp = &s->head; *pp; pp = &(*pp)->next) {
		if ((*pp)->state == HW_SESS_ENDED) {
			last_ended = *pp;
			last_pp = pp;
		}
	}
	if (last_ended) {
		*last_pp = last_ended->next;
		free(last_ended);
		s->ended--;
		s->count--;
	}
}

size_t hw_sessions__count(const struct hw_sessions *s)
{
	return s->count;
}
