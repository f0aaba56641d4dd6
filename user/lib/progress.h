/* Progress of long reads (replay, collect --replay, sessions FILE) on standard error, only
 * when standard error is a terminal: bytes read of the total (when the input is a regular
 * file) and events a second, redrawn in place at most four times a second, the line erased
 * at the end. Nothing at all is written when standard error is not a terminal. */
#ifndef HW_LIB_PROGRESS_H
#define HW_LIB_PROGRESS_H

#include <stddef.h>

struct hw_progress {
	int fd; /* where it draws (-1: off) */
	const char *name;
	unsigned long long total; /* bytes of the input, 0 unknown (a pipe) */
	unsigned long long done, events;
	unsigned long long t0, last; /* CLOCK_MONOTONIC ns */
	unsigned int calls;
	int drawn; /* a line is on the terminal */
};

/* Starts the progress of one input named name, read from in_fd (its size is the total when it
 * is a regular file). Draws on standard error, and only when that is a terminal. */
void hw_progress__start(struct hw_progress *p, const char *name, int in_fd);
/* One line of len bytes (its newline counted by the caller) was read. */
void hw_progress__line(struct hw_progress *p, size_t len);
/* Erases the line, if one was drawn. */
void hw_progress__end(struct hw_progress *p);

#endif
