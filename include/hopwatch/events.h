/* Event records written by the BPF programs into the ring buffer and decoded by the agent.
 *
 * Shared byte-for-byte by both sides: fixed-width types only, largest fields first, explicit
 * padding, no bool/enum/long/pointers. Every record starts with struct hw_event_header; its
 * size field is the number of bytes the kernel wrote (records with variable tails are shorter
 * than their struct). user/decode.c checks each size before it reads a field.
 */
#ifndef HOPWATCH_EVENTS_H
#define HOPWATCH_EVENTS_H

#ifdef __BPF__
/* vmlinux.h provides the __uN types on the BPF side. */
#else
#include <linux/types.h>
#endif

#include "hopwatch/limits.h"

/* hw_event_header.type */
#define HW_EV_EXEC	 1
#define HW_EV_FORK	 2
#define HW_EV_EXIT	 3
#define HW_EV_CONNECT	 4  /* outbound TCP connect: its outcome (established or failed) */
#define HW_EV_ACCEPT	 5  /* inbound TCP connection returned by accept() */
#define HW_EV_CLOSE	 6  /* an established TCP connection closed */
#define HW_EV_LISTEN	 7  /* a TCP socket started listening */
#define HW_EV_UDP	 8  /* a process sent UDP to a new destination (one per flow) */
#define HW_EV_PAM	 9  /* a libpam call of a login service (uprobes) */
#define HW_EV_FILE	 10 /* a watched file changed, or a file a network-facing process wrote */
#define HW_EV_RAW_SOCKET 11 /* socket() made a packet socket or a raw one (bpf/raw.bpf.c) */
/* a connect() to a unix socket an sshd session bound (bpf/unix.bpf.c) */
#define HW_EV_UNIX_CONNECT 12
#define HW_EV_TYPE_MAX	   12

/* A connection key that is not a socket cookie (cookies are counters and never reach it):
 * the kernel could not give the cookie (before 5.12), sock_diag matches by address. */
#define HW_COOKIE_SYNTHETIC (1ULL << 63)

/* hw_exec_event.stdio: what a standard descriptor refers to (reverse shells: a shell whose
 * stdin/stdout is a TCP socket, or a pty/socketpair held by a parent with one) */
#define HW_STDIO_UNKNOWN 0
#define HW_STDIO_TCP	 1 /* AF_INET/AF_INET6 stream socket */
#define HW_STDIO_UDP	 2 /* AF_INET/AF_INET6 datagram socket */
#define HW_STDIO_UNIX	 3
#define HW_STDIO_SOCKET	 4 /* another family */
#define HW_STDIO_PTY	 5 /* a pseudo-terminal slave (majors 136-143) */
#define HW_STDIO_TTY	 6 /* another terminal (majors 4, 5) */
#define HW_STDIO_PIPE	 7
#define HW_STDIO_FILE	 8
#define HW_STDIO_CHAR	 9 /* another character device (/dev/null) */
#define HW_STDIO_CLOSED	 10

/* hw_exec_event.flags */
#define HW_EXEC_ARGS_TRUNCATED (1u << 0) /* argv longer than the configured bound */
#define HW_EXEC_EXE_TRUNCATED  (1u << 1) /* executable path deeper/longer than HW_PATH_MAX */
#define HW_EXEC_CWD_TRUNCATED  (1u << 2)
#define HW_EXEC_ARGS_FAULT     (1u << 3) /* argv could not be read from the new mm */
#define HW_EXEC_EXE_UNLINKED   (1u << 4) /* the executable is deleted or never had a name (memfd) */
#define HW_EXEC_EXE_UNSAFE_DIR                                                                     \
	(1u << 5) /* a directory on the executable's path is not owned by                          \
		   * root or is writable by group or others (/tmp) */

struct hw_event_header {
	__u64 ts_ns; /* CLOCK_BOOTTIME */
	__u32 type;  /* HW_EV_* */
	__u32 size;  /* bytes in this record, header included */
};

/* What identifies and describes one process at the moment of an event. */
struct hw_proc {
	__u64 start_ns;	       /* thread-group leader start, CLOCK_BOOTTIME (as /proc starttime) */
	__u64 parent_start_ns; /* the real parent's start_ns: with pid, its entity id */
	__u64 cgroup_id;
	__u32 pid; /* tgid */
	__u32 tid;
	__u32 ppid;
	__u32 uid;
	__u32 euid;
	__u32 gid;
	__u32 egid;
	__u32 loginuid;	 /* audit login uid, (u32)-1 when unset */
	__u32 sessionid; /* audit session id, (u32)-1 when unset */
	__u32 netns;	 /* network namespace inode */
	__u32 tty_major;
	__u32 tty_minor;
	char comm[HW_COMM_LEN];
	char tty[HW_TTY_LEN]; /* e.g. "pts/3", empty without a controlling terminal */
};

/* A path as the kernel's dentries give it: names from the leaf up to the root, each ending in
 * NUL ("true\0bin\0usr\0" is /usr/bin/true); count is the number of names. */
struct hw_path {
	__u16 len;	   /* bytes used in names */
	__u16 count;	   /* names present */
	__u32 unsafe_dirs; /* directories on the path not root-owned or writable by group/others */
	char names[HW_PATH_MAX];
};

/* Both ends of a socket, addresses in network order, ports in host order. IPv4 addresses
 * fill the first 4 bytes; a v4-mapped IPv6 address is reported as IPv4. */
struct hw_sock_addr {
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 sport;
	__u16 dport;
	__u16 family;  /* AF_INET or AF_INET6 */
	__u8 protocol; /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 pad;
};

/* sched_process_exec: the new image of a process. Variable tail: args[args_len]. */
struct hw_exec_event {
	struct hw_event_header hdr;
	struct hw_proc proc;
	__u32 old_pid;	  /* pid before exec (differs when a non-leader thread execs) */
	__u32 args_len;	  /* bytes in args: NUL-separated argv */
	__u32 args_total; /* bytes the whole argv has (> args_len when truncated) */
	__u32 flags;	  /* HW_EXEC_* */
	__u8 stdio[3];	  /* HW_STDIO_* of fds 0, 1 and 2 after exec */
	__u8 pad8;
	__u32 exe_uid;	/* owner of the executable's inode (kernel uid) */
	__u32 exe_mode; /* its i_mode: type and permission bits */
	__u32 exe_dev;	/* its filesystem's device (kernel encoding: major << 20 | minor) */
	__u64 exe_ino;	/* its inode number: with exe_dev, what file facts name (transfer-exec) */
	struct hw_sock_addr stdio_sock; /* the first inet socket on fds 0-2; family 0 if none */
	struct hw_path exe;
	struct hw_path cwd;
	char args[HW_ARGS_MAX];
};

/* sched_process_fork of a new process (not a thread): proc is the child. */
struct hw_fork_event {
	struct hw_event_header hdr;
	struct hw_proc proc;
};

/* sched_process_exit of the last thread of a process. */
struct hw_exit_event {
	struct hw_event_header hdr;
	struct hw_proc proc;
	__u32 exit_code; /* as wait(2) reports it: status << 8 | signal */
	__u32 pad;
};

/* hw_net_event.direction */
#define HW_DIR_EGRESS  1
#define HW_DIR_INGRESS 2
/* hw_net_event.closed_by */
#define HW_CLOSED_LOCAL	 1
#define HW_CLOSED_REMOTE 2

/* Every network event. proc is the owning process: the connecting process (connect), the
 * accept() caller (accept), the listen() caller (listen), the sender (udp); for close it is
 * the current task when the close ran in process context, else zeroed (pid 0) and the agent
 * names the owner from its connection table. */
struct hw_net_event {
	struct hw_event_header hdr;
	struct hw_proc proc;
	__u64 cookie;	      /* socket cookie: the same in sock_diag, the connection's key;
			       * with HW_COOKIE_SYNTHETIC set, an id from the socket's address
			       * and start (kernels before 5.12, bpf/net.bpf.c hw_conn_key) */
	__u64 start_ns;	      /* CLOCK_BOOTTIME when the connection began (0 when unknown) */
	__u64 bytes_sent;     /* close: tcp bytes_acked, raw (SYN and FIN count 1 each) */
	__u64 bytes_received; /* close: tcp bytes_received, raw (a FIN counts 1) */
	struct hw_sock_addr addr;
	__u32 netns;	   /* the socket's network namespace inode */
	__s32 error;	   /* connect: 0 when established, else the errno */
	__u8 direction;	   /* HW_DIR_* */
	__u8 closed_by;	   /* close: HW_CLOSED_*, 0 unknown */
	__u8 has_proc;	   /* proc is valid */
	__u8 oldstate;	   /* close: the TCP state it closed from */
	__u8 fin_received; /* close: the peer's FIN arrived (it counts 1 in bytes_received) */
	__u8 pad[3];
};

/* hw_pam_event.op */
#define HW_PAM_START 1 /* pam_start(service, user): the user name being tried */
#define HW_PAM_AUTH  2 /* pam_authenticate returned ret (password, keyboard-interactive) */
#define HW_PAM_ACCT  3 /* pam_acct_mgmt returned ret */
#define HW_PAM_OPEN  4 /* pam_open_session returned ret: loginuid/sessionid now set */
#define HW_PAM_CLOSE 5 /* pam_close_session called */

/* A libpam call in a process of a login service. proc is the caller (after the call for
 * the return probes, so HW_PAM_OPEN carries the audit loginuid/sessionid pam_loginuid set). */
struct hw_pam_event {
	struct hw_event_header hdr;
	struct hw_proc proc;
	__s32 ret; /* PAM return code (0 PAM_SUCCESS) */
	__u32 op;  /* HW_PAM_* */
	char service[32];
	char user[64];
};

/* sys_exit_socket of a socket() call asking for an AF_PACKET socket, or a SOCK_RAW socket of
 * any family but netlink (whose sockets are SOCK_RAW without being raw packet access). */
struct hw_raw_socket_event {
	struct hw_event_header hdr;
	struct hw_proc proc; /* the caller */
	__s32 ret;	     /* the new descriptor, or -errno when socket() failed */
	__u32 family;	     /* AF_* as asked */
	__u32 type;	     /* SOCK_* as asked, flags (SOCK_CLOEXEC, SOCK_NONBLOCK) included */
	__u32 protocol;	     /* as asked: for AF_PACKET the ethertype in network order */
};

/* hw_file_event.op */
#define HW_FILE_CREATE	1 /* an open created it (or creat) */
#define HW_FILE_MODIFY	2 /* an open for writing of an existing file (truncating or not) */
#define HW_FILE_RENAME	3 /* path is the new name, other the old one */
#define HW_FILE_DELETE	4 /* unlink of a file (not a directory) */
#define HW_FILE_CHMOD	5 /* mode is the new mode */
#define HW_FILE_LINK	6 /* a hard link: path is the new name, other the existing one */
#define HW_FILE_SYMLINK 7 /* a symbolic link: path is the link, other its target as written */

/* hw_file_event.flags */
#define HW_FILE_F_WATCHED                                                                          \
	(1u << 0) /* the kernel's watch set matched (user/model/files.c                            \
		   * decides exactly) */
#define HW_FILE_F_NETPROC                                                                          \
	(1u << 1)		     /* by a process descending from one that accepted or made     \
				      * a TCP connection (transfer-exec) */
#define HW_FILE_F_PATH_CUT (1u << 2) /* path deeper or longer than the walk */
#define HW_FILE_F_LEXICAL                                                                          \
	(1u << 3)		      /* path is the directory the kernel resolved (the base:      \
				       * dirfd or the working directory) followed by the name as   \
				       * the program wrote it in user_path: symbolic links in it   \
				       * are not resolved */
#define HW_FILE_F_EXEC_BITS (1u << 4) /* chmod: the new mode has an execute bit */
#define HW_FILE_F_INODE                                                                            \
	(1u << 5) /* the inode is one the agent watches (a hard link to a                          \
		   * watched file under another name) */

#define HW_FILE_USER_PATH 256 /* bytes of a path string read from the program */

/* A file fact. proc is the process that made the change. For opens path is the file the
 * kernel opened (its dentry, every link resolved); for the path-based calls path is the
 * directory they started from (HW_FILE_F_LEXICAL) and user_path the string they named. */
struct hw_file_event {
	struct hw_event_header hdr;
	struct hw_proc proc;
	__u64 ino;  /* the file's inode (0 when the call named a path and it is not known) */
	__u32 dev;  /* its filesystem's device, kernel encoding */
	__u32 mode; /* i_mode after the change (chmod: the mode asked for) */
	__u32 uid;  /* the file's owner */
	__u32 gid;
	__u32 op;    /* HW_FILE_* */
	__u32 flags; /* HW_FILE_F_* */
	__u32 nlink; /* hard links to the inode */
	__u32 pad;
	struct hw_path path;
	char user_path[HW_FILE_USER_PATH];  /* path-based calls: the (new) name as written */
	char user_other[HW_FILE_USER_PATH]; /* rename/link: the old name; symlink: the target */
};

#define HW_UNIX_PATH 112 /* sun_path is 108 bytes; NUL-terminated here */

/* A successful connect() to a unix socket that a root-owned sshd bound (an ssh -A session's
 * agent socket, or a socket forwarded with ssh -R): the socket is found by the inode of the
 * file the peer was bound to, whatever name the caller used to reach it. proc is the caller;
 * owner the sshd process that bound the socket, as it was at the bind. */
struct hw_unix_event {
	struct hw_event_header hdr;
	struct hw_proc proc;
	__u64 ino;	      /* the socket file's inode */
	__u64 owner_start_ns; /* the binder: pid and start (its entity id) */
	__u32 dev;	      /* the socket file's filesystem, kernel encoding */
	__u32 owner_pid;
	__u32 owner_uid;	      /* its real uid at the bind */
	__u32 owner_sessionid;	      /* its audit session id at the bind, (u32)-1 unset */
	char path[HW_UNIX_PATH];      /* the name the socket was bound to */
	char user_path[HW_UNIX_PATH]; /* the name the caller connected to, as it wrote it */
};

#define HW_EXEC_FIXED_SIZE ((__u32) __builtin_offsetof(struct hw_exec_event, args))

/* Per-CPU counters in the 'stats' map, indexed by these. */
#define HW_STAT_EVENTS	     0 /* records submitted */
#define HW_STAT_DROP_RINGBUF 1 /* ring buffer full: record lost */
#define HW_STAT_ERR_SCRATCH  2 /* per-CPU scratch lookup failed: record lost */
#define HW_STAT_ERR_READ     3 /* a kernel/user read failed: record sent with a flag */
#define HW_STAT_CONN_MISS    4 /* a close or accept of a connection not in the conns map */
#define HW_STAT_ERR_MAP                                                                            \
	5 /* a map update failed: the record it would have fed may lack                            \
	   * detail or (connect before any SYN) be lost */
#define HW_STAT_MAX 6

#endif
