/* agent_socket_used as the engine's fact (fact_unix.h). The process members are those of a
 * process event (hw_fact__proc_event reads them from the same view fields ecs_unix.c writes
 * through hw_ecs__process_part); the socket adds whose it is. */
#include <stdlib.h>
#include <string.h>

#include "detect/fact_fields.h"
#include "detect/fact_unix.h"
#include "detect/fact_view.h"
#include "lib/str.h"

void hw_fact__unix_event(struct hw_fact *f, const struct hw_host *h, const struct hw_unix_view *v)
{
	struct hw_proc_event pe = {
	    .action = v->action,
	    .ts_ns = v->ts_ns,
	    .p = v->p,
	    .user_name = v->user_name,
	    .euser_name = v->euser_name,
	};

	hw_fact__proc_event(f, h, &pe);
	if (f->kind != HW_F_AGENT_SOCKET)
		return;
	hw_str__copy(f->sock_session, sizeof(f->sock_session), v->session);
	hw_str__copy(f->sock_owner, sizeof(f->sock_owner), v->owner->entity_id);
	hw_str__copy(f->sock_path, sizeof(f->sock_path), v->path);
	f->sock_ino = v->ino;
	f->sock_owner_uid = v->owner_uid;
	f->uid = v->p->k.uid;
}

static unsigned int id_of(const struct hw_jdoc *d, enum hw_fact_field field)
{
	const char *s = hw_fact__str(d, field);

	return s ? (unsigned int)strtoul(s, NULL, 10) : (unsigned int)-1;
}

void hw_fact__unix_from_json(struct hw_fact *f, const struct hw_jdoc *d)
{
	const char *s;

	/* read through fact_fields.h: replay's scanner keeps only the members listed there */
	hw_str__copy(f->sock_session, sizeof(f->sock_session),
		     hw_fact__str(d, HW_FF_AGENT_SOCKET_SESSION_ID));
	hw_str__copy(f->sock_owner, sizeof(f->sock_owner),
		     hw_fact__str(d, HW_FF_AGENT_SOCKET_OWNER_ENTITY_ID));
	hw_str__copy(f->sock_path, sizeof(f->sock_path), hw_fact__str(d, HW_FF_AGENT_SOCKET_PATH));
	s = hw_fact__str(d, HW_FF_AGENT_SOCKET_INODE);
	f->sock_ino = s ? strtoull(s, NULL, 10) : 0;
	f->sock_owner_uid = id_of(d, HW_FF_AGENT_SOCKET_OWNER_USER_ID);
	f->uid = id_of(d, HW_FF_USER_ID);
}
