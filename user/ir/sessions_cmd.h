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

/* The idle time of each open session of ir at wall: the last input (access time) of the
 * terminals /dev/TTY its processes hold, session_id and tty of each. */
struct hw_ir_tty {
	const char *session_id;
	const char *tty; /* "pts/3" */
};
void hw_ir__tty_idle(struct hw_ir *ir, unsigned long long wall, const struct hw_ir_tty *t,
		     size_t nt);

/* Feeds ir the state of the agent running on this host, asked at its control socket path
 * (agent.control_socket): its processes, connections and remote sessions now and its last
 * alerts, read as the lines of a recording; the idle times from the sessions' terminals.
 * Returns 0 (*now_ns set to the wall clock of the answer), -ENOENT when no agent answers
 * there (no socket, or a stale one), or 1 with err saying why (the agent refused: not
 * root; the answer could not be read). */
struct hw_jdoc;
struct hw_fact;
int hw_ir__ask_agent(struct hw_ir *ir, const char *path, unsigned long long *now_ns, char *err,
		     size_t errlen);

#endif
