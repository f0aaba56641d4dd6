/* The session lab of tests/unit/test_sessions*.c: a session table fed with processes of a real
 * process table, every change it decides recorded (struct seen). */
#ifndef HW_TEST_SESSIONS_LAB_H
#define HW_TEST_SESSIONS_LAB_H

#include "model/proc_table.h"
#include "model/sessions.h"

#define SEC 1000000000ULL

struct seen {
	char action[16], outcome[16], reason[80], unverified[80];
	char user[64], auth_method[24], id[HW_ENTITY_ID_LEN];
	__u64 ts_ns;
	__u32 pid; /* the process named, 0: the handler */
	__u32 auth_failures;
	int verified, have_bytes;
	struct hw_session_bytes bytes;
};

struct lab {
	struct hw_host host;
	struct hw_proc_table *procs;
	struct hw_sessions *s;
	struct hw_str_list services;
	char *names[3]; /* sshd, /usr/sbin/xrdp, xrdp-sesman */
	struct seen seen[16];
	int n;
};

/* A lab whose table keeps max_ended ended sessions; 0 (a failed CHECK) when it could not be
 * made. */
int sl_init(struct lab *l, size_t max_ended);
void sl_free(struct lab *l);
/* A process of the table: exe owned by exe_uid with mode 0755 (trusted when root's). */
struct hw_process *sl_proc(struct lab *l, __u32 pid, __u32 ppid, __u32 uid, const char *exe,
			   __u32 exe_uid);
struct hw_sock_addr sl_addr(void);
/* A libpam call of p: op returned ret (user: pam_start's) at ts_ns. */
void sl_pam(struct lab *l, struct hw_process *p, __u32 op, int ret, const char *user, __u64 ts_ns);
/* sshd (pid 100, root) accepts cookie at t=1s and forks its handler (pid 101, handler_uid). */
struct hw_process *sl_accept_fork(struct lab *l, __u64 cookie, __u32 handler_uid);
/* pam_open_session returns 0 in h, whose audit loginuid and sessionid it set. */
void sl_login(struct lab *l, struct hw_process *h, __u32 loginuid, __u32 sessionid, __u64 ts_ns);

#endif
