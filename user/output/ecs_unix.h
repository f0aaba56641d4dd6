/* The agent_socket_used event (docs/events.md, "Agent sockets"): its view and its ECS line.
 * The encoder is ecs_unix.c (with the text line), the engine's fact detect/fact_unix.c. */
#ifndef HW_OUTPUT_ECS_UNIX_H
#define HW_OUTPUT_ECS_UNIX_H

#include <linux/types.h>

#include "model/host.h"
#include "model/proc_table.h"
#include "output/json.h"
#include "output/text.h"

#define HW_UNIX_ACTION "agent_socket_used"

/* A connect() to a unix socket an sshd session bound (struct hw_unix_event). */
struct hw_unix_view {
	const char *action;		    /* HW_UNIX_ACTION */
	__u64 ts_ns;			    /* CLOCK_BOOTTIME */
	const struct hw_process *p;	    /* the caller */
	const char *user_name, *euser_name; /* of p's uid and euid, NULL when they have none */
	const struct hw_process *owner;	    /* the sshd that bound the socket */
	const char *owner_user;		    /* its uid's name, NULL when it has none */
	__u32 owner_uid;
	const char *session;   /* the session the socket belongs to (the owner's), "" none */
	__u64 ino;	       /* the socket file */
	__u32 dev;	       /* kernel encoding: major << 20 | minor */
	const char *path;      /* the name it was bound to */
	const char *user_path; /* the name the caller connected to */
};

void hw_ecs__unix_event(struct hw_json *j, const struct hw_host *h, const struct hw_unix_view *v);
void hw_text__unix_event(struct hw_text *t, const struct hw_host *h, const struct hw_unix_view *v);

#endif
