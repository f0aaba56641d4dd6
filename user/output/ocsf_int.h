/* Shared by the OCSF translator's files (ocsf.c: the line, its common attributes and helpers;
 * ocsf_class.c: the classes' own attributes). */
#ifndef HW_OUTPUT_OCSF_INT_H
#define HW_OUTPUT_OCSF_INT_H

#include "detect/jsonread.h"
#include "output/json.h"

/* What a class decides about one line before anything is written. */
struct oc_head {
	int class_uid; /* category_uid * 1000 + the class's number */
	const char *class_name, *category_name;
	int activity_id;
	const char *activity_name;
	int severity_id;
	int status_id; /* -1: no status */
	const char *status_code, *status_detail;
	/* writes the class's own attributes */
	void (*body)(const struct hw_jdoc *d, struct hw_json *j);
	/* ECS fields the class has no attribute for, kept in unmapped beside hopwatch.* */
	const char *const *unmapped_extra;
};

/* The classes (ocsf_class.c): each fills h from the line's event.action and outcome. */
void hw_ocsf__process(const struct hw_jdoc *d, const char *action, struct oc_head *h);
void hw_ocsf__network(const struct hw_jdoc *d, const char *action, struct oc_head *h);
void hw_ocsf__auth(const struct hw_jdoc *d, const char *action, struct oc_head *h);
void hw_ocsf__finding(const struct hw_jdoc *d, const char *action, struct oc_head *h);
void hw_ocsf__file(const struct hw_jdoc *d, const char *action,
		   struct oc_head *h); /* ocsf_file.c */

/* Helpers (ocsf.c). Each writes nothing when the ECS field is absent. */
/* key (ms since the epoch) and key_dt (the RFC 3339 time as it is, ns) from an ECS time */
void oc_time(struct hw_json *j, const char *key, const char *rfc3339);
void oc_str(const struct hw_jdoc *d, struct hw_json *j, const char *key, const char *path);
/* a number (or a string of digits: ECS ids) as a JSON number */
void oc_num(const struct hw_jdoc *d, struct hw_json *j, const char *key, const char *path);
/* ECS ns durations as OCSF ms */
void oc_ms(const struct hw_jdoc *d, struct hw_json *j, const char *key, const char *path);
int oc_has(const struct hw_jdoc *d, const char *path);
/* {ip, port} from ECS PREFIX.ip and PREFIX.port */
void oc_endpoint(const struct hw_jdoc *d, struct hw_json *j, const char *key, const char *prefix);
/* The ECS process at prefix ("process") as an OCSF process; full: with its file, user,
 * parent and session, else only its ids, name and path. */
void oc_process(const struct hw_jdoc *d, struct hw_json *j, const char *key, int full);
/* user {uid, name} from ECS user.*; anonymous: name "unknown" when neither is known */
void oc_user(const struct hw_jdoc *d, struct hw_json *j, const char *key, int anonymous);

#endif
