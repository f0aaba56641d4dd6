/* Remote-access sessions: one inbound connection to a remote-access service together with
 * every process and connection made for it (docs/architecture.md, docs/events.md). A session
 * begins when a service process accepts a connection; the per-connection process it forks next
 * handles it (sshd, xrdp: accept, then fork); pam_open_session's return makes it a login, and
 * the audit sessionid that pam_loginuid then set marks every process of it, through sudo,
 * setsid and daemonizing; lineage from the handler covers services without pam_loginuid. The
 * close of the connection ends it.
 *
 * xrdp splits a login over two services: its handler connects over loopback to xrdp-sesman,
 * which authenticates in its own long-lived process and forks the desktop that opens the PAM
 * session. The two ends of that connection (the handler's connect, sesman's accept) make it
 * the session's relay; sesman's libpam calls go to the oldest undecided relay it serves, its
 * next fork after a good password is the session's desktop, and the desktop's exit, not the
 * RDP connection's close, ends the session (it outlives its client).
 *
 * The pairing is pure: it is fed the agent's records (accept, fork, libpam calls, close, the
 * clock for the grace after a close) and the processes of the model, does no I/O and reads no
 * clock, and says what happened through the function it was made with (a hw_session_change:
 * a login, a failure, a logout), which the agent turns into an event. tests/unit/
 * test_sessions*.c drive it. */
#ifndef HW_SESSIONS_H
#define HW_SESSIONS_H

#include <stddef.h>
#include <linux/types.h>

#include "config.h"
#include "hopwatch/events.h"
#include "model/host.h"
#include "model/proc_table.h"

#define HW_SESS_PENDING 0 /* accepted, no handler process yet */
#define HW_SESS_HANDLED 1 /* a handler process owns it: authenticating */
#define HW_SESS_ACTIVE	2 /* logged in */
#define HW_SESS_ENDED	3
#define HW_SESS_CLOSING 4 /* closed before a login; its failure is decided a moment later */

struct hw_session {
	struct hw_session *next;
	char id[HW_ENTITY_ID_LEN];
	__u64 cookie;		  /* the connection */
	struct hw_sock_addr addr; /* saddr:sport the service's end, daddr:dport the client */
	char service[32];
	char user[64]; /* the user tried or logged in, "" unknown */
	char auth_method[24];
	__u64 start_ns; /* accepted (or the handler's start, for the snapshot) */
	__u64 login_ns; /* pam_open_session returned, 0 before */
	__u64 listener_start_ns, handler_start_ns;
	__u32 listener_pid, handler_pid;
	__u32 uid;	 /* loginuid, (u32)-1 unknown */
	__u32 audit_sid; /* (u32)-1 until the login */
	__u32 auth_failures;
	__u8 state;
	__u8 password_ok; /* pam_authenticate succeeded */
	__u8 failure_reported;
	__u8 verified;		/* the kernel confirms the login (hw_sessions__pam, __snapshot) */
	const char *unverified; /* why not, when logged in and not verified (a static string) */
	/* HW_SESS_CLOSING: the close, kept until the records before it have surely arrived */
	__u64 closed_ns, closed_from_client, closed_to_client;
	__u8 closed_by;
	/* xrdp: the session manager (xrdp-sesman) accepts a loopback connection (relay_cookie)
	 * from this session's handler and authenticates on it in its own process (relay_pid);
	 * after a good password it forks the desktop process (desktop_pid), which opens the PAM
	 * session and whose exit, not the RDP connection's close, ends the login */
	__u64 relay_cookie, relay_start_ns, relay_closed_ns, desktop_start_ns;
	__u32 relay_pid, desktop_pid;
	__u32 relay_audit_sid; /* the session manager's own audit sessionid */
	__u8 relay_done;  /* the relay's authentication is decided: no more libpam records on it */
	__u8 conn_closed; /* the connection closed while the desktop lives on */
	__u8 desktop_ended; /* the desktop exited before a login */
	__u8 reattached;    /* a reconnection to a running desktop: its connection is the session */
	__u8 handler_connected; /* handler_conn: the handler's last connection */
	struct hw_sock_addr handler_conn;
	__u32 handler_netns;
};

/* What a session's connection carried, at its close. */
struct hw_session_bytes {
	__u64 from_client, to_client;
	__u8 closed_by; /* HW_CLOSED_*: local is the service's end */
};

/* One thing the pairing decided: a user_login (outcome "success", "failure" or "unknown"), a
 * user_logout. Given while x is still valid: the function must copy what it keeps. */
struct hw_session_change {
	const char *action;
	__u64 ts_ns; /* CLOCK_BOOTTIME of the record that decided it */
	const struct hw_session *x;
	const char *outcome;
	const char *reason;		      /* failures: why */
	const struct hw_process *p;	      /* the process libpam ran in; NULL: the handler */
	const struct hw_session_bytes *bytes; /* a logout, a failure decided by the close */
};

struct hw_sessions_opts {
	const struct hw_str_list *services; /* detect.remote_services: names or absolute paths */
	/* the name of a uid, NULL when it has none (the agent's users table) */
	const char *(*user_name)(void *ctx, __u32 uid);
	void *user_ctx;
	/* called for every change, in the order they happen */
	void (*change)(const struct hw_session_change *c, void *ctx);
	void *change_ctx;
	size_t max_ended; /* ended sessions kept (process marks may still name them) */
};

/* How long a session closed before any login waits for a libpam record that says why: a
 * failed pam_authenticate reported by the kernel before the close may reach the agent after it
 * (the records of several CPUs, a reader that fell behind). Its kernel time, not its arrival,
 * decides: a failure returned before the close is "authentication failed". */
#define HW_SESS_CLOSE_GRACE_NS 2000000000ULL

struct hw_sessions;

/* o is copied; what it points to must outlive the table. */
struct hw_sessions *hw_sessions__new(const struct hw_host *host, const struct hw_sessions_opts *o);
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

/* The pairing. */
/* A process of a remote-access service: one of o->services, and a root-owned program in
 * root-owned directories (hw_process__exe_trusted): a copy named sshd in a directory a user
 * can write is any other program, and its libpam calls are no login. */
int hw_sessions__is_service(const struct hw_sessions *s, const struct hw_process *p);
/* listener accepted the connection cookie (addr, accepted at start_ns): a session when it is
 * a service. */
void hw_sessions__accept(struct hw_sessions *s, __u64 cookie, const struct hw_sock_addr *addr,
			 __u64 start_ns, const struct hw_process *listener);
/* parent forked child: the handler of the connection parent accepted last, else the child of
 * a session's process, marked with it. */
void hw_sessions__fork(struct hw_sessions *s, struct hw_process *child,
		       const struct hw_process *parent);
/* Marks p with the session its audit sessionid belongs to, if any (once per sessionid). */
void hw_sessions__mark(struct hw_sessions *s, struct hw_process *p);
/* A libpam call of p (marked first): who tried, a failed password, the login. A login needs
 * p to run as root; the kernel verifies it by p's audit loginuid. */
void hw_sessions__pam(struct hw_sessions *s, struct hw_process *p, const struct hw_pam_event *e);
/* The connection cookie closed at ts_ns: a logout, or a failure decided once the grace is
 * over (hw_sessions__settle). */
void hw_sessions__close(struct hw_sessions *s, __u64 cookie, __u64 ts_ns,
			const struct hw_session_bytes *b);
/* listener, a service, accepted the connection cookie (addr: its end, then the peer's) in
 * netns: when the other end is the last connection the handler of a session still
 * authenticating made (hw_sessions__connect), the connection is that session's relay to a session
 * manager (xrdp to xrdp-sesman) and 1 is returned; the caller then makes no session of it
 * (hw_sessions__accept). 0 otherwise. */
int hw_sessions__relay(struct hw_sessions *s, __u64 cookie, const struct hw_sock_addr *addr,
		       __u32 netns, const struct hw_process *listener);
/* p connected (addr: its end, then the peer) in netns: when p is the handler of a session
 * still authenticating, the connection may be its relay (hw_sessions__relay pairs the two
 * ends; the handler may have closed its end before the session manager accepts). */
void hw_sessions__connect(struct hw_sessions *s, const struct hw_process *p,
			  const struct hw_sock_addr *addr, __u32 netns);
/* p exited at ts_ns: a session's desktop process ending is its logout. */
void hw_sessions__exit(struct hw_sessions *s, const struct hw_process *p, __u64 ts_ns);
/* Reports the sessions closed before a login whose grace is over at now_ns (all of them when
 * all is set: the agent stops). */
void hw_sessions__settle(struct hw_sessions *s, __u64 now_ns, int all);
/* Sessions in HW_SESS_CLOSING. */
unsigned int hw_sessions__closing(const struct hw_sessions *s);
/* The start-up snapshot: p, a service process holding the accepted connection cookie, is the
 * handler of a session that began before the agent (parent: p's parent, NULL unknown); its
 * audit sessionid, if pam_loginuid set one, says it is logged in. p is marked. Returns the new
 * session, NULL when p is no service or the connection has one already. */
struct hw_session *hw_sessions__snapshot(struct hw_sessions *s, __u64 cookie,
					 const struct hw_sock_addr *addr, struct hw_process *p,
					 const struct hw_process *parent);

#endif
