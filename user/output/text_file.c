/* The text line of a file fact (docs/events.md, "Text output"):
 * "TIME ACTION pid=N user=NAME PATH [from=OLD] [to=TARGET] [watched] [network-facing] EXE".
 * Paths are words (hw_text__word): a file named with a newline cannot forge a second line. */
#include <stdio.h>
#include <string.h>

#include "output/text_file.h"

void hw_text__file_event(struct hw_text *t, const struct hw_host *h, const struct hw_file_view *v)
{
	const struct hw_process *p = v->p;
	char ts[HW_TIME_LEN], buf[64];
	int n;

	hw_format_time(hw_host__wall_ns(h, v->ts_ns), ts);
	ts[23] = 0; /* milliseconds are enough on a terminal */
	n = snprintf(buf, sizeof(buf), " %s pid=%u user=", v->action, p->k.pid);
	hw_text__raw(t, ts, strlen(ts));
	hw_text__raw(t, buf, (size_t)n);
	if (v->user_name)
		hw_text__word(t, v->user_name, strlen(v->user_name));
	else
		hw_text__raw(t, buf, (size_t)snprintf(buf, sizeof(buf), "%u", p->k.uid));
	hw_text__raw(t, " ", 1);
	hw_text__word(t, v->path, strlen(v->path));
	if (v->old_path) {
		hw_text__raw(t, " from=", 6);
		hw_text__word(t, v->old_path, strlen(v->old_path));
	}
	if (v->target) {
		hw_text__raw(t, " to=", 4);
		hw_text__word(t, v->target, strlen(v->target));
	}
	if (v->watched)
		hw_text__raw(t, " watched", 8);
	if (v->network_facing)
		hw_text__raw(t, " network-facing", 15);
	hw_text__raw(t, " ", 1);
	hw_text__exe(t, p);
	hw_text__raw(t, "\n", 1);
}
