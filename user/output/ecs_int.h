/* Pieces of ecs.c for the encoders of other event kinds kept in their own files (ecs_raw.c,
 * ecs_unix.c, ecs_file.c, ecs_conn.c): the process members exactly as process events write
 * them, the line's head. */
#ifndef HW_OUTPUT_ECS_INT_H
#define HW_OUTPUT_ECS_INT_H

#include <string.h>

#include <linux/types.h>

#include "output/event.h"
#include "output/json.h"

/* Writes process, user and group of p as a process event does, then the "hopwatch" object:
 * what describes the process (comm, session, audit, exe, truncated, ...), then whatever more()
 * adds (when not NULL), and closes it. */
void hw_ecs__process_part(struct hw_json *j, const struct hw_host *h, const struct hw_process *p,
			  const char *user_name, const char *euser_name,
			  void (*more)(struct hw_json *j, const void *ctx), const void *ctx);

/* How much of argv a line may carry; args() records what it wrote and whether it cut. */
struct args_bound {
	__u32 max;   /* elements */
	__u32 bytes; /* argv bytes, before escaping */
	__u32 written, written_bytes;
	int cut;
};

/* After members were written to j from len0 (values0 values before them): copies them, without
 * the comma before the first, to out (out_max bytes), their length and count to *olen and
 * *values, to be written again by hw_json__members. 0, nothing copied, when there is nothing
 * to keep: an error, nothing written, more than out_max. The one way every kept fragment of
 * the ECS encoders is taken. */
static inline int hw_ecs__keep(const struct hw_json *j, size_t len0, size_t values0, char *out,
			       size_t out_max, size_t *olen, size_t *values)
{
	if (j->error || j->len <= len0)
		return 0;
	if (j->buf[len0] == ',')
		len0++;
	if (j->len - len0 > out_max)
		return 0;
	memcpy(out, j->buf + len0, j->len - len0);
	*olen = j->len - len0;
	*values = j->values - values0;
	return 1;
}

/* ecs_image.c: the members of "process" that its image gives (name, executable, args within
 * b and args_count, working_directory), written as they were for the last processes with
 * the same image (kept by content), else anew; b says what was written of argv. */
void hw_ecs__image(struct hw_json *j, const struct hw_process *p, struct args_bound *b);

/* ecs_head.c: the line's start as every event has it (@timestamp, ecs, event.* left open for
 * more members) and its end (event closed, host written); a time as
 * "YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ"; an endpoint (ip, port, bytes when have_bytes). Keys as HW_JK()
 * gives them. */
void hw_ecs__head(struct hw_json *j, const struct hw_host *h, __u64 ts_ns, const char *kind,
		  const char *category, const char *type, const char *action, const char *dataset);
/* hw_ecs__head with more than one event.category (categories: NULL-terminated) */
void hw_ecs__head_cats(struct hw_json *j, const struct hw_host *h, __u64 ts_ns, const char *kind,
		       const char *const *categories, const char *type, const char *action,
		       const char *dataset);
void hw_ecs__head_end(struct hw_json *j, const struct hw_host *h);
void hw_ecs__time(struct hw_json *j, const char *qk, size_t ql, const struct hw_host *h,
		  __u64 boot_ns);
/* A value that is a literal of our own code (an action, a kind, "tcp"): printable ASCII with
 * nothing to escape, so not scanned. */
static inline void hw_ecs__lit(struct hw_json *j, const char *qk, size_t ql, const char *v)
{
	hw_json__kplain(j, qk, ql, v, strlen(v));
}

/* A uid or gid as ECS keeps them, a string of digits. */
void hw_ecs__id(struct hw_json *j, const char *qk, size_t ql, __u32 id);
/* "user" (id, name when known, effective id and name) and "group" (id) of a process. */
void hw_ecs__user_group(struct hw_json *j, __u32 uid, const char *user_name, __u32 euid,
			const char *euser_name, __u32 gid);
void hw_ecs__endpoint(struct hw_json *j, const char *qk, size_t ql, __u16 family, const __u8 *addr,
		      __u16 port, int have_bytes, __u64 bytes);

/* ecs_conn.c: the fleet profile's process (pid, entity_id, name, executable; the "process"
 * object left open) and its slim fork and exit lines. */
void hw_ecs__process_id(struct hw_json *j, const struct hw_process *p);
void hw_ecs__slim_proc_event(struct hw_json *j, const struct hw_host *h,
			     const struct hw_proc_event *e);

#endif
