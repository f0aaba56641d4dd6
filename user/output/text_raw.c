/* The text line of raw_socket_opened (docs/events.md, "Text output"):
 * "TIME raw_socket_opened pid=N ppid=N user=NAME FAMILY/TYPE protocol=N fd=N|failed=ERR EXE". */
#include <stdio.h>
#include <string.h>

#include "detect/fact_raw.h"
#include "output/ecs_raw.h"

void hw_text__raw_event(struct hw_text *t, const struct hw_host *h, const struct hw_raw_view *v)
{
	const struct hw_process *p = v->p;
	const char *family = hw_raw_family_name(v->family), *type = hw_raw_type_name(v->type);
	char ts[HW_TIME_LEN], buf[192];
	int n;

	hw_format_time(hw_host__wall_ns(h, v->ts_ns), ts);
	ts[23] = 0; /* milliseconds are enough on a terminal */
	n = snprintf(buf, sizeof(buf), "%s %s pid=%u ppid=%u user=", ts, v->action, p->k.pid,
		     p->k.ppid);
	hw_text__raw(t, buf, (size_t)n);
	if (v->user_name)
		hw_text__word(t, v->user_name, strlen(v->user_name));
	else
		hw_text__raw(t, buf, (size_t)snprintf(buf, sizeof(buf), "%u", p->k.uid));
	n = family[0] ? snprintf(buf, sizeof(buf), " %s", family)
		      : snprintf(buf, sizeof(buf), " af%u", v->family);
	hw_text__raw(t, buf, (size_t)n);
	n = type[0] ? snprintf(buf, sizeof(buf), "/%s", type)
		    : snprintf(buf, sizeof(buf), "/type%u", v->type & 0xf);
	hw_text__raw(t, buf, (size_t)n);
	n = snprintf(buf, sizeof(buf), " protocol=%u", hw_raw_protocol(v->family, v->protocol));
	hw_text__raw(t, buf, (size_t)n);
	if (v->ret < 0) {
		const char *name = strerrorname_np(-v->ret);

		n = name ? snprintf(buf, sizeof(buf), " failed=%s ", name)
			 : snprintf(buf, sizeof(buf), " failed=%d ", -v->ret);
	} else {
		n = snprintf(buf, sizeof(buf), " fd=%d ", v->ret);
	}
	hw_text__raw(t, buf, (size_t)n);
	hw_text__exe(t, p);
	hw_text__raw(t, "\n", 1);
}
