/* Every member of an ECS line that hw_fact__from_json() reads (fact.c, fact_file.c, fact_raw.c,
 * fact_unix.c), in one table: the replay's scanner (factscan.c) keeps exactly these members of a
 * line, so a field read here and missing from the table would be lost there (tests/cli/
 * test_calls.py finds a fact file reading a member by its path). Add the path here
 * and read it with hw_fact__leaf()/hw_fact__str()/hw_fact__u64(). */
#ifndef HW_DETECT_FACT_FIELDS_H
#define HW_DETECT_FACT_FIELDS_H

#include "detect/jsonread.h"

#define HW_FACT_FIELDS(X)                                                                          \
	X(TIMESTAMP, "@timestamp")                                                                 \
	X(EVENT_ACTION, "event.action")                                                            \
	X(EVENT_KIND, "event.kind")                                                                \
	X(EVENT_OUTCOME, "event.outcome")                                                          \
	X(HOST_ID, "host.id")                                                                      \
	X(HOST_NAME, "host.name")                                                                  \
	X(PROCESS_PID, "process.pid")                                                              \
	X(PROCESS_PARENT_PID, "process.parent.pid")                                                \
	X(PROCESS_ENTITY_ID, "process.entity_id")                                                  \
	X(PROCESS_PARENT_ENTITY_ID, "process.parent.entity_id")                                    \
	X(PROCESS_EXECUTABLE, "process.executable")                                                \
	X(PROCESS_NAME, "process.name")                                                            \
	X(PROCESS_ARGS, "process.args")                                                            \
	X(USER_NAME, "user.name")                                                                  \
	X(USER_ID, "user.id")                                                                      \
	X(USER_EFFECTIVE_ID, "user.effective.id")                                                  \
	X(HOPWATCH_STDIO, "hopwatch.stdio")                                                        \
	X(HOPWATCH_SESSION_ID, "hopwatch.session.id")                                              \
	X(HOPWATCH_EXE_UNLINKED, "hopwatch.exe_unlinked")                                          \
	X(HOPWATCH_EXE_TRUSTED, "hopwatch.exe.trusted")                                            \
	X(HOPWATCH_EXE_INODE, "hopwatch.exe.inode")                                                \
	X(HOPWATCH_EXE_DEVICE, "hopwatch.exe.device")                                              \
	X(HOPWATCH_STDIO_SOCKET_LOCAL_IP, "hopwatch.stdio_socket.local.ip")                        \
	X(HOPWATCH_STDIO_SOCKET_LOCAL_PORT, "hopwatch.stdio_socket.local.port")                    \
	X(HOPWATCH_STDIO_SOCKET_REMOTE_IP, "hopwatch.stdio_socket.remote.ip")                      \
	X(HOPWATCH_STDIO_SOCKET_REMOTE_PORT, "hopwatch.stdio_socket.remote.port")                  \
	X(HOPWATCH_STDIO_SOCKET_CONNECTION_ID, "hopwatch.stdio_socket.connection_id")              \
	X(HOPWATCH_STDIO_SOCKET_DIRECTION, "hopwatch.stdio_socket.direction")                      \
	X(SOURCE_IP, "source.ip")                                                                  \
	X(SOURCE_PORT, "source.port")                                                              \
	X(SOURCE_BYTES, "source.bytes")                                                            \
	X(DESTINATION_IP, "destination.ip")                                                        \
	X(DESTINATION_PORT, "destination.port")                                                    \
	X(DESTINATION_BYTES, "destination.bytes")                                                  \
	X(HOPWATCH_CONNECTION_ID, "hopwatch.connection.id")                                        \
	X(NETWORK_DIRECTION, "network.direction")                                                  \
	X(NETWORK_TRANSPORT, "network.transport")                                                  \
	X(HOPWATCH_SESSION_SERVICE, "hopwatch.session.service")                                    \
	X(HOPWATCH_LOGIN_VERIFIED, "hopwatch.login.verified")                                      \
	X(HOPWATCH_CONNECTION_START, "hopwatch.connection.start")                                  \
	X(HOPWATCH_SESSION_START, "hopwatch.session.start")                                        \
	X(FILE_PATH, "file.path")                                                                  \
	X(FILE_OLD_PATH, "hopwatch.file.old_path")                                                 \
	X(FILE_INODE, "file.inode")                                                                \
	X(FILE_DEVICE, "file.device")                                                              \
	X(FILE_MODE, "file.mode")                                                                  \
	X(FILE_WATCHED, "hopwatch.file.watched")                                                   \
	X(FILE_NETWORK_FACING, "hopwatch.file.network_facing")                                     \
	X(SOCKET_FAMILY, "hopwatch.socket.family")                                                 \
	X(SOCKET_TYPE, "hopwatch.socket.type")                                                     \
	X(SOCKET_PROTOCOL, "hopwatch.socket.protocol")                                             \
	X(AGENT_SOCKET_SESSION_ID, "hopwatch.agent_socket.session.id")                             \
	X(AGENT_SOCKET_OWNER_ENTITY_ID, "hopwatch.agent_socket.owner.entity_id")                   \
	X(AGENT_SOCKET_OWNER_USER_ID, "hopwatch.agent_socket.owner.user.id")                       \
	X(AGENT_SOCKET_PATH, "hopwatch.agent_socket.path")                                         \
	X(AGENT_SOCKET_INODE, "hopwatch.agent_socket.inode")

enum hw_fact_field {
#define HW_FF_ENUM(id, path) HW_FF_##id,
	HW_FACT_FIELDS(HW_FF_ENUM)
#undef HW_FF_ENUM
	    HW_FF_COUNT
};

extern const char *const hw_fact_field_path[HW_FF_COUNT];

/* The first leaf of field f in d (the elements of an array follow it), or NULL. */
const struct hw_jleaf *hw_fact__leaf(const struct hw_jdoc *d, enum hw_fact_field f);
/* Its string, or NULL when absent or not a string. */
const char *hw_fact__str(const struct hw_jdoc *d, enum hw_fact_field f);
/* Its unsigned integer (hw_jleaf__u64). */
int hw_fact__u64(const struct hw_jdoc *d, enum hw_fact_field f, unsigned long long *out);

#endif
