/* uid -> user name, read from /etc/passwd by the agent itself (no NSS: the static binary
 * must resolve names the same way the dynamic one does). */
#ifndef HW_USERS_H
#define HW_USERS_H

#include <sys/types.h>
#include <time.h>

struct hw_users;

/* path NULL means /etc/passwd. Returns NULL and sets errno only on allocation failure; an
 * unreadable file gives an empty table. */
struct hw_users *hw_users__new(const char *path);
void hw_users__free(struct hw_users *u);

/* The name of uid, or NULL when it has none. Re-reads the file when it changed (checked at
 * most once a second) and the uid is unknown. The string lives until the next lookup that
 * re-reads: copy it to keep it. */
const char *hw_users__name(struct hw_users *u, unsigned int uid);

#endif
