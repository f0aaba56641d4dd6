/* The ids hopwatch gives what it follows: 22 base64url characters of 128 hash bits, keyed by
 * the host's keys (model/host.h) so that they differ per host and boot, and the same whoever
 * computes them (the agent's events, its /proc snapshot, a replay). Three kinds, each with its
 * own key variant so that no two kinds can collide; their text must never change (recordings
 * and collectors hold them). */
#ifndef HW_LIB_ID_H
#define HW_LIB_ID_H

#include <linux/types.h>

#define HW_ID_LEN 24 /* 22 characters, NUL, padding */

/* process.entity_id of the process pid that started at tick start_ticks (/proc's unit). */
void hw_id__process(const __u64 key[2], __u32 pid, __u64 start_ticks, char out[HW_ID_LEN]);
/* hopwatch.connection.id of the socket with this cookie. */
void hw_id__conn(const __u64 key[2], __u64 cookie, char out[HW_ID_LEN]);
/* hopwatch.session.id of the session on the connection with this cookie (not its id: a
 * session is not its socket). */
void hw_id__session(const __u64 key[2], __u64 cookie, char out[HW_ID_LEN]);

/* The two encodings behind them: d[0] then d[1] as one 128-bit little-endian bit stream; or
 * 11 characters of a then 11 of b, each from its own word. */
void hw_id__b64_stream(const __u64 d[2], char out[HW_ID_LEN]);
void hw_id__b64_pair(__u64 a, __u64 b, char out[HW_ID_LEN]);

#endif
