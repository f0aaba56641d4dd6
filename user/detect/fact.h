/* What the detection engine knows of one event line: the fields its rules use, as read back
 * from the ECS JSON the agent writes. `replay` and the collector build facts from that JSON
 * (hw_fact__from_json); the live agent builds the same facts straight from the views it
 * encodes (detect/fact_view.h), proven equal field by field (tests/unit/test_fact_view.c, and
 * the agent itself under HW_FACT_CHECK=1), so the engine sees exactly the same thing in each. */
#ifndef HW_DETECT_FACT_H
#define HW_DETECT_FACT_H

#include <stddef.h>

#include "detect/jsonread.h"

#define HW_FACT_ID_LEN	 48 /* entity, session and connection ids (ours are 22 characters) */
#define HW_FACT_IP_LEN	 48 /* an IPv6 address in text */
#define HW_FACT_PATH_LEN 256
#define HW_FACT_ARG_LEN	 64
#define HW_FACT_ARGS	 3 /* argv[0..2]: enough for "sh -c", "bash -i" */

enum hw_fact_kind {
	HW_F_OTHER = 0, /* ignored by the rules */
	HW_F_EXEC,
	HW_F_FORK,
	HW_F_EXIT,
	HW_F_PROC_SNAPSHOT, /* existing_process */
	HW_F_CONNECT,	    /* connection_attempted */
	HW_F_ACCEPT,	    /* connection_accepted */
	HW_F_DISCONNECT,
	HW_F_LISTEN,	       /* listen, existing_listener */
	HW_F_CONN_SNAPSHOT,    /* existing_connection */
	HW_F_CONN_OPEN,	       /* connection_open: the periodic report */
	HW_F_LOGIN,	       /* user_login */
	HW_F_LOGOUT,	       /* user_logout */
	HW_F_SESSION_SNAPSHOT, /* existing_session */
	HW_F_AGENT_STARTED,
	HW_F_AGENT_STOPPED,
	HW_F_TICK,  /* the clock, recorded so that replay fires timed rules at the same moments */
	HW_F_ALERT, /* an alert line: replay and the collector make their own */
	HW_F_RAW_SOCKET,   /* raw_socket_opened (detect/fact_raw.h) */
	HW_F_AGENT_SOCKET, /* agent_socket_used (detect/fact_unix.h) */
	HW_F_FILE, /* file_created, file_modified, file_renamed, file_deleted, file_mode_changed
		    * (detect/rules_file.c) */
	HW_F_CONN_CLOSED, /* connection_closed: the fleet profile's one record of a TCP connection,
			   * at its close (both ends, start, bytes): the engine and the stitcher
			   * take it as its opening (unless seen) and its close */
};

/* The kind of file on a standard descriptor at exec (hopwatch.stdio). */
enum hw_stdio {
	HW_IO_UNKNOWN = 0,
	HW_IO_TCP,
	HW_IO_UDP,
	HW_IO_UNIX,
	HW_IO_SOCKET, /* another socket family */
	HW_IO_PTY,
	HW_IO_TTY,
	HW_IO_PIPE,
	HW_IO_FILE,
	HW_IO_CHAR, /* a character device other than a terminal (/dev/null) */
	HW_IO_CLOSED,
};

struct hw_fact_ep {
	char ip[HW_FACT_IP_LEN];
	unsigned int port;
	unsigned long long bytes;
	int have_bytes;
};

struct hw_fact {
	enum hw_fact_kind kind;
	unsigned long long ts; /* @timestamp, ns since the epoch */
	char host_id[80];
	char host_name[256];

	/* process.* (the event's own process, or the owner of a connection) */
	unsigned int pid, ppid;
	char entity_id[HW_FACT_ID_LEN];
	char parent_entity_id[HW_FACT_ID_LEN];
	char executable[HW_FACT_PATH_LEN];
	char name[HW_FACT_ARG_LEN];
	char args[HW_FACT_ARGS][HW_FACT_ARG_LEN];
	unsigned int nargs;
	char user[64];
	unsigned char stdio[3]; /* enum hw_stdio of fds 0, 1, 2 */
	int unlinked;		/* hopwatch.exe_unlinked */
	int exe_trusted; /* hopwatch.exe.trusted: root-owned file in root-owned directories */
	unsigned long long exe_ino; /* hopwatch.exe.inode, 0 unknown (transfer-exec) */
	char exe_dev[24];	    /* hopwatch.exe.device "major:minor" */
	int root;		    /* user.id and user.effective.id are 0 */

	char session_id[HW_FACT_ID_LEN]; /* hopwatch.session.id */

	/* exec: hopwatch.stdio_socket, the socket on its standard descriptors */
	struct hw_fact_ep stdio_local, stdio_remote; /* ip "" when none */
	char stdio_conn[HW_FACT_ID_LEN];
	int stdio_ingress;

	/* network */
	struct hw_fact_ep src, dst;
	char conn_id[HW_FACT_ID_LEN];
	unsigned long long conn_start; /* hopwatch.connection.start, 0 unknown */
	int egress;		       /* network.direction */
	int udp;		       /* network.transport */
	int failure;		       /* event.outcome: failure */

	/* sessions */
	char service[32];
	unsigned long long session_start; /* hopwatch.session.start */
	int login_verified;		  /* hopwatch.login.verified */

	/* raw_socket_opened: hopwatch.socket.family, .type (SOCK_*), .protocol */
	unsigned int raw_family, raw_type, raw_protocol;
	/* agent_socket_used: hopwatch.agent_socket.* (detect/fact_unix.c) */
	char sock_session[HW_FACT_ID_LEN]; /* .session.id: whose agent it is, "" none */
	char sock_owner[HW_FACT_ID_LEN];   /* .owner.entity_id: the sshd that bound it */
	char sock_path[HW_FACT_PATH_LEN];  /* .path */
	unsigned long long sock_ino;	   /* .inode */
	unsigned int sock_owner_uid;	   /* .owner.user.id */
	unsigned int uid;		   /* user.id of the caller (agent_socket_used only) */
	/* file facts (output/ecs_file.c) */
	char file_action[24];		  /* event.action */
	char file_path[HW_FACT_PATH_LEN]; /* file.path */
	char file_old[HW_FACT_PATH_LEN];  /* hopwatch.file.old_path */
	unsigned long long file_ino;	  /* file.inode, 0 unknown */
	char file_dev[24];		  /* file.device "major:minor" */
	unsigned int file_mode;		  /* file.mode */
	int file_watched;		  /* hopwatch.file.watched */
	int file_netfacing;		  /* hopwatch.file.network_facing */
};

/* The kind of an event.action ("exec", "existing_listener", ...); HW_F_OTHER for the rest. */
enum hw_fact_kind hw_fact__kind(const char *action);
/* The first event.action of that kind in the same table ("listen", not "existing_listener");
 * NULL for HW_F_OTHER and HW_F_ALERT. */
const char *hw_fact__action(enum hw_fact_kind kind);

/* Fills f from a parsed line. Returns 0, or -EINVAL with err naming the missing or bad field
 * (an event without @timestamp, event.action or a readable time is malformed). */
int hw_fact__from_json(struct hw_fact *f, const struct hw_jdoc *d, char *err, size_t errlen);

/* The file.* fields of a file fact (detect/fact_file.c). */
void hw_fact__file_from_json(struct hw_fact *f, const struct hw_jdoc *d, const char *action);
/* hopwatch.exe.inode and .device of a process event (detect/fact_file.c). */
void hw_fact__exe_inode_from_json(struct hw_fact *f, const struct hw_jdoc *d);

/* "2026-11-27T16:00:00.123456789Z" (fraction optional, up to 9 digits, Z or +hh:mm) to ns
 * since the epoch; -EINVAL when it is not RFC 3339. */
int hw_parse_rfc3339(const char *s, unsigned long long *ns);

/* "tcp", "pty", ... for hopwatch.stdio; and back (HW_IO_UNKNOWN for unknown names). */
const char *hw_stdio_name(unsigned int kind);
unsigned int hw_stdio_parse(const char *name);
static inline int hw_stdio_is_socket(unsigned int kind)
{
	return kind == HW_IO_TCP || kind == HW_IO_UDP || kind == HW_IO_UNIX || kind == HW_IO_SOCKET;
}

#endif
