/* Process records (exec, fork, exit) -> process table -> views (output/event.h) -> emit.c;
 * and the processes the /proc snapshot found (existing_process). Every process is marked with
 * the remote session it belongs to (model/sessions.c). */
#include <string.h>

#include "agent/agent_int.h"
#include "decode.h"

static void proc_view(struct hw_agent *a, const char *action, __u64 ts_ns,
		      const struct hw_process *p, const struct hw_sock_addr *stdio_sock)
{
	struct hw_proc_event e = {
	    .action = action,
	    .ts_ns = ts_ns,
	    .p = p,
	    .user_name = hw_users__name(a->users, p->k.uid),
	};

	if (stdio_sock && stdio_sock->family) {
		const struct hw_conn *c =
		    hw_conn_table__find_addr(a->conns, stdio_sock, p->k.netns);

		e.stdio_sock = stdio_sock;
		if (c) {
			e.stdio_conn_id = c->id;
			e.stdio_direction = c->direction;
		}
	}
	e.euser_name = p->k.euid == p->k.uid ? e.user_name : hw_users__name(a->users, p->k.euid);
	hw_emit__proc(a, &e);
}

void hw_agent__exec_record(struct hw_agent *a, const struct hw_exec_event *e)
{
	char exe[HW_PATH_MAX + 8], cwd[HW_PATH_MAX + 8];
	struct hw_process *p = hw_proc_table__upsert(a->procs, &e->proc);

	if (!p) {
		a->counters.lost_output++;
		return;
	}
	hw_decode_path(&e->exe, e->flags & HW_EXEC_EXE_TRUNCATED, exe, sizeof(exe));
	hw_decode_path(&e->cwd, e->flags & HW_EXEC_CWD_TRUNCATED, cwd, sizeof(cwd));
	if (hw_process__set_image(p, exe, cwd, e->args, e->args_len, e->flags)) {
		a->counters.lost_output++;
		return;
	}
	hw_process__set_exe_owner(p, e->exe_uid, e->exe_mode);
	p->exe_ino = e->exe_ino; /* the file rules follow files by inode (transfer-exec) */
	p->exe_dev = e->exe_dev;
	memcpy(p->stdio, e->stdio, sizeof(p->stdio));
	p->stdio_known = 1;
	hw_sessions__mark(a->sessions, p);
	proc_view(a, "exec", e->hdr.ts_ns, p, &e->stdio_sock);
}

void hw_agent__fork_record(struct hw_agent *a, const struct hw_fork_event *e)
{
	struct hw_process *child = hw_proc_table__upsert(a->procs, &e->proc), *parent;

	if (!child) {
		a->counters.lost_output++;
		return;
	}
	parent = hw_proc_table__get(a->procs, e->proc.ppid, e->proc.parent_start_ns);
	if (parent)
		hw_process__inherit(child, parent);
	hw_sessions__fork(a->sessions, child, parent);
	hw_sessions__mark(a->sessions, child);
	proc_view(a, "fork", e->hdr.ts_ns, child, NULL);
}

void hw_agent__exit_record(struct hw_agent *a, const struct hw_exit_event *e)
{
	struct hw_process *p = hw_proc_table__upsert(a->procs, &e->proc);

	if (!p) {
		a->counters.lost_output++;
		return;
	}
	hw_proc_table__exit(a->procs, p, e->hdr.ts_ns, e->exit_code);
	hw_sessions__mark(a->sessions, p);
	proc_view(a, "exit", e->hdr.ts_ns, p, NULL);
	hw_sessions__exit(a->sessions, p, e->hdr.ts_ns); /* an xrdp desktop: the logout */
}

void hw_agent__existing_proc(struct hw_agent *a, const struct hw_process *p)
{
	proc_view(a, "existing_process", hw_agent__now(), p, NULL);
}
