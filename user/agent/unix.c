/* Agent-socket records -> agent_socket_used events: the caller and the sshd that bound the
 * socket from the process table, the socket's session as the owner's. A record whose owner
 * the agent knows no more (exited: its sockets are gone, the inode may be another's now) is
 * dropped. */
#include "agent/agent_int.h"
#include "detect/fact_unix.h"
#include "output/ecs_unix.h"

void hw_agent__unix_record(struct hw_agent *a, const struct hw_unix_event *e)
{
	struct hw_process *p = hw_proc_table__upsert(a->procs, &e->proc);
	struct hw_process *owner = hw_proc_table__get(a->procs, e->owner_pid, e->owner_start_ns);
	struct hw_unix_view v = {
	    .action = HW_UNIX_ACTION,
	    .ts_ns = e->hdr.ts_ns,
	    .p = p,
	    .owner = owner,
	    .owner_uid = e->owner_uid,
	    .ino = e->ino,
	    .dev = e->dev,
	    .path = e->path,
	    .user_path = e->user_path,
	};

	if (!p) {
		a->counters.lost_output++;
		return;
	}
	if (!owner || (owner->flags & HW_PROC_EXITED))
		return;
	hw_sessions__mark(a->sessions, p);
	hw_sessions__mark(a->sessions, owner);
	v.session = owner->session_id;
	v.user_name = hw_users__name(a->users, p->k.uid);
	v.euser_name = p->k.euid == p->k.uid ? v.user_name : hw_users__name(a->users, p->k.euid);
	v.owner_user = hw_users__name(a->users, e->owner_uid);
	hw_emit__unix(a, &v);
}
