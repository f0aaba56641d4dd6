/* Remote-access sessions: one inbound connection to a remote-access service together with
 * every process and connection made for it (DESIGN.md). A session begins when a service
 * process accepts a connection; the per-connection process it forks next handles it (sshd,
 * xrdp: accept, then fork); pam_open_session's return makes it a login, and the audit
 * sessionid that pam_loginuid then set marks every process of it, through sudo, setsid and
 * daemonizing; lineage from the handler covers services without pam_loginuid. The close of
 * the connection ends it. */
#ifndef HW_SESSIONS_H
#define HW_SESSIONS_H

#include <stddef.h>
#include <linux/types.h>

#include "hopwatch/events.h"
#include "model/host.h"

#define HW_SESS_PENDING 0 /* accepted, no handler process yet */
#define HW_SESS_HANDLED 1 /* a handler process owns it: authenticating */
#define HW_SESS_ACTIVE  2 /* logged in */
#define HW_SESS_ENDED   3
#define HW_SESS_CLOSING 4 /* closed before a login; its failure is decided a moment later */

struct hw_session {
	struct hw_session *next;
	char id[HW_ENTITY_ID_LEN];
	__u64 cookie; /* the connection */
	struct hw_sock_addr addr; /* saddr:sport the service's end, daddr:dport the client */
	char service[32];
	char user[64]; /* the user tried or logged in, "" unknown */
	char auth_method[24];
	__u64 start_ns;   /* accepted (or the handler's start, for the snapshot) */
	__u64 login_ns;   /* pam_open_session returned, 0 before */
	__u64 listener_start_ns, handler_start_ns;
	__u32 listener_pid, handler_pid;
	__u32 uid;       /* loginuid, (u32)-1 unknown */
	__u32 audit_sid; /* (u32)-1 until the login */
	__u32 auth_failures;
	__u8 state;
	__u8 password_ok; /* pam_authenticate succeeded */
	__u8 failure_reported;
	__u8 verified; /* the kernel confirms the login (hw_session_verify) */
	const char *unverified; /* why not, when logged in and not verified (a static string) */
	/* HW_SESS_CLOSING: the close, kept until the records before it have surely arrived */
	__u64 closed_ns, closed_from_client, closed_to_client;
	__u8 closed_by;
};

struct hw_sessions;

struct hw_sessions *hw_sessions__new(const struct hw_host *host, size_t max_ended);
void hw_sessions__free(struct hw_sessions *s);
/* A new session for an accepted connection of a service; NULL on allocation failure. */
struct hw_session *hw_sessions__add(struct hw_sessions *s, __u64 cookie);
struct hw_session *hw_sessions__by_cookie(struct hw_sessions *s, __u64 cookie);
struct hw_session *hw_sessions__by_audit(struct hw_sessions *s, __u32 audit_sid);
struct hw_session *hw_sessions__by_handler(struct hw_sessions *s, __u32 pid, __u64 start_ns);
/* The oldest pending session accepted by this listener (the next fork handles it). */
struct hw_session *hw_sessions__pending_of(struct hw_sessions *s, __u32 listener_pid,
					   __u64 listener_start_ns);
struct hw_session *hw_sessions__by_id(struct hw_sessions *s, const char *id);
/* Calls fn for every session, newest first. */
void hw_sessions__each(struct hw_sessions *s, void (*fn)(struct hw_session *x, void *ctx),
		       void *ctx);
/* Marks a session ended; the oldest ended ones beyond max_ended are freed. */
void hw_sessions__end(struct hw_sessions *s, struct hw_session *x);
size_t hw_sessions__count(const struct hw_sessions *s);

#endif
