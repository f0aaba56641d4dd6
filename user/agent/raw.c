/* Raw-socket records -> raw_socket_opened events: the caller from the process table (its
 * image and session as the agent knows them), the socket as asked. */
#include "agent/agent_int.h"
#include "detect/fact_raw.h"
#include "output/ecs_raw.h"

void hw_agent__raw_record(struct hw_agent *a, const struct hw_raw_socket_event *e)
{
	struct hw_process *p = hw_proc_table__upsert(a->procs, &e->proc);
	struct hw_raw_view v = {
	    .action = HW_RAW_ACTION,
	    .ts_ns = e->hdr.ts_ns,
	    .p = p,
	    .family = e->family,
	    .type = e->type,
	    .protocol = e->protocol,
	    .ret = e->ret,
	};

	if (!p) {
		a->counters.lost_output++;
		return;
	}
	v.user_name = hw_users__name(a->users, p->k.uid);
	v.euser_name = p->k.euid == p->k.uid ? v.user_name : hw_users__name(a->users, p->k.euid);
	hw_emit__raw(a, &v);
}
