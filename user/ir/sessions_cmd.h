/* `hopwatch sessions` (sessions_cmd.c) and its live source (sessions_live.c). */
#ifndef HW_IR_SESSIONS_CMD_H
#define HW_IR_SESSIONS_CMD_H

#include <stddef.h>

#include "config.h"
#include "ir/sessions.h"

/* The command: argv[0] is "sessions". Returns the exit status. */
int hw_sessions_main(int argc, char **argv);

/* Feeds ir the sessions open on this host now, from a one-shot snapshot of /proc and the
 * kernel's sockets (the start-up snapshot of the agent, without BPF), as existing_session,
 * existing_process and existing_connection facts; netns_path NULL: every namespace. *now_ns
 * is set to the wall clock of the snapshot. Returns 0, or 1 (the system refused: not root)
 * or 2 (a bad --netns) with err saying why. */
int hw_ir__live(struct hw_ir *ir, const struct hw_config *cfg, const char *netns_path,
		unsigned long long *now_ns, char *err, size_t errlen);

#endif
