/* The session table's insides, shared by model/sessions.c (the table, the pairing of accept,
 * fork, libpam calls and close) and model/sessions_relay.c (xrdp's relay to its session
 * manager and the desktop). Not for other files. */
#ifndef HW_SESSIONS_INT_H
#define HW_SESSIONS_INT_H

#include "model/sessions.h"

struct hw_sessions {
	const struct hw_host *host;
	struct hw_sessions_opts o;
	struct hw_session *head; /* newest first */
	size_t count, ended;
	unsigned int closing; /* sessions in HW_SESS_CLOSING */
};

/* Says what happened (before x can be ended and freed). */
void hw_sessions__change(struct hw_sessions *s, const char *action, __u64 ts_ns,
			 const struct hw_session *x, const char *outcome, const char *reason,
			 const struct hw_process *p, const struct hw_session_bytes *b);
/* p is the process pid started at start_ns (pid 0: none). */
int hw_sessions__same(const struct hw_process *p, __u32 pid, __u64 start_ns);
/* The oldest session whose relay p serves and whose authentication is not decided yet. */
struct hw_session *hw_sessions__relay_of(struct hw_sessions *s, const struct hw_process *p);
/* The session whose desktop parent, its session manager, forks next; NULL none. */
struct hw_session *hw_sessions__desktop_due(struct hw_sessions *s, const struct hw_process *parent);
/* The session whose relay is the connection cookie. */
struct hw_session *hw_sessions__by_relay(struct hw_sessions *s, __u64 cookie);
/* A session closed before a login whose relay may still bring libpam records at now_ns. */
int hw_sessions__relay_pending(const struct hw_session *x, __u64 now_ns);

#endif
