/* Human-readable encoder: one line per event, for a terminal. Non-printable bytes are shown
 * as \xNN, arguments with spaces or quotes are quoted, so one event is always one line. */
#ifndef HW_OUTPUT_TEXT_H
#define HW_OUTPUT_TEXT_H

#include <stddef.h>

#include "output/event.h"

struct hw_text {
	char *buf;
	size_t len, cap;
	int error; /* -ENOMEM after a failed growth; the line is then dropped */
};

void hw_text__reset(struct hw_text *t);
/* Appends n bytes as they are (the caller made them one printable line). */
void hw_text__raw(struct hw_text *t, const char *s, size_t n);
/* One argument, name or path: printable ASCII as is, the rest as \xNN, quoted when it has
 * spaces or quotes or is empty: one event is always one line. */
void hw_text__word(struct hw_text *t, const char *s, size_t n);
/* A process's executable as a word, or [comm] (a word too) when it is not known. */
struct hw_process;
void hw_text__exe(struct hw_text *t, const struct hw_process *p);
void hw_text__free(struct hw_text *t);
void hw_text__proc_event(struct hw_text *t, const struct hw_host *h, const struct hw_proc_event *e);
void hw_text__net_event(struct hw_text *t, const struct hw_host *h, const struct hw_net_view *v);
void hw_text__session_event(struct hw_text *t, const struct hw_host *h,
			    const struct hw_session_view *v);
void hw_text__agent_event(struct hw_text *t, const struct hw_host *h,
			  const struct hw_agent_event *e);

#endif
