/* The OCSF translator (see ocsf.h): parses an ECS line, picks the class, writes the attributes
 * every class shares (classification, time, metadata, device, status, unmapped) and the
 * Application Lifecycle and Base Event classes; helpers for the classes of ocsf_class.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect/fact.h"
#include "output/ocsf.h"
#include "output/ocsf_int.h"

struct hw_ocsf {
	struct hw_jdoc doc;
	struct hw_json j;
};

struct hw_ocsf *hw_ocsf__new(void)
{
	struct hw_ocsf *o = calloc(1, sizeof(*o));

	if (o)
		hw_json__init(&o->j);
	return o;
}

void hw_ocsf__free(struct hw_ocsf *o)
{
	if (!o)
		return;
	hw_jdoc__free(&o->doc);
	hw_json__free(&o->j);
	free(o);
}

/* --- helpers ------------------------------------------------------------------------------ */

int oc_has(const struct hw_jdoc *d, const char *path)
{
	return hw_jdoc__get(d, path) != NULL;
}

void oc_time(struct hw_json *j, const char *key, const char *rfc3339)
{
	unsigned long long ns;
	char dt[64];

	if (!rfc3339 || hw_parse_rfc3339(rfc3339, &ns))
		return;
	hw_json__u64(j, key, ns / 1000000ULL);
	snprintf(dt, sizeof(dt), "%s_dt", key);
	hw_json__string(j, dt, rfc3339);
}

void oc_str(const struct hw_jdoc *d, struct hw_json *j, const char *key, const char *path)
{
	const struct hw_jleaf *l = hw_jdoc__get(d, path);

	if (l && l->type == HW_J_STRING)
		hw_json__string_n(j, key, l->val, l->len);
}

void oc_num(const struct hw_jdoc *d, struct hw_json *j, const char *key, const char *path)
{
	unsigned long long v;

	if (!hw_jdoc__u64(d, path, &v))
		hw_json__u64(j, key, v);
}

void oc_ms(const struct hw_jdoc *d, struct hw_json *j, const char *key, const char *path)
{
	unsigned long long v;

	if (!hw_jdoc__u64(d, path, &v))
		hw_json__u64(j, key, v / 1000000ULL);
}

void oc_endpoint(const struct hw_jdoc *d, struct hw_json *j, const char *key, const char *prefix)
{
	char ip[64], port[64];

	snprintf(ip, sizeof(ip), "%s.ip", prefix);
	snprintf(port, sizeof(port), "%s.port", prefix);
	if (!oc_has(d, ip))
		return;
	hw_json__begin_object(j, key);
	oc_str(d, j, "ip", ip);
	oc_num(d, j, "port", port);
	hw_json__end_object(j);
}

void oc_user(const struct hw_jdoc *d, struct hw_json *j, const char *key, int anonymous)
{
	int named = oc_has(d, "user.name"), id = oc_has(d, "user.id");

	if (!named && !id && !anonymous)
		return;
	hw_json__begin_object(j, key);
	oc_str(d, j, "uid", "user.id");
	if (named)
		oc_str(d, j, "name", "user.name");
	else if (!id)
		hw_json__string(j, "name", "unknown");
	hw_json__end_object(j);
}

static void leaf_value(struct hw_json *j, const char *key, const struct hw_jleaf *l)
{
	switch (l->type) {
	case HW_J_NULL:
		hw_json__null(j, key);
		break;
	case HW_J_FALSE:
	case HW_J_TRUE:
		hw_json__bool(j, key, l->type == HW_J_TRUE);
		break;
	case HW_J_NUMBER:
		hw_json__raw(j, key, l->val); /* the reader checked it is a JSON number */
		break;
	default:
		hw_json__string_n(j, key, l->val, l->len);
	}
}

static int same_path(const struct hw_jleaf *a, const struct hw_jleaf *b)
{
	return a->in_array && b->in_array && a->hash == b->hash && !strcmp(a->path, b->path);
}

/* unmapped: the leaves whose path starts with prefix ("" for all), by their dotted ECS name;
 * a list stays a list, the elements of one path together (the objects of a list of objects
 * interleave their members' paths). */
static int wanted(const char *path, const char *prefix, size_t plen, const char *const *extra)
{
	if (!strncmp(path, prefix, plen))
		return 1;
	for (; extra && *extra; extra++)
		if (!strcmp(path, *extra))
			return 1;
	return 0;
}

/* An unmapped member's name: its dotted path, except that a byte that is not part of UTF-8
 * becomes the text \xHH and a backslash becomes two. The writer would put U+FFFD for such a
 * byte, and two paths that differ only there would be one member written twice. */
static const char *member_name(const char *path, char *buf, size_t len)
{
	const unsigned char *p = (const unsigned char *)path;
	size_t n = strlen(path), o = 0, u;

	for (u = 0; u < n; u++)
		if (p[u] == '\\' || p[u] >= 0x80)
			break;
	if (u == n)
		return path;
	for (size_t i = 0; i < n && o + 5 < len;) {
		if (p[i] < 0x80) {
			if (p[i] == '\\')
				buf[o++] = '\\';
			buf[o++] = (char)p[i++];
		} else if ((u = hw_json__utf8_len(p + i, n - i))) {
			if (o + u + 1 >= len)
				break;
			memcpy(buf + o, p + i, u);
			o += u;
			i += u;
		} else {
			o += (size_t)snprintf(buf + o, len - o, "\\x%02x", p[i++]);
		}
	}
	buf[o] = 0;
	return buf;
}

static void unmapped(const struct hw_jdoc *d, struct hw_json *j, const char *prefix,
		     const char *const *extra)
{
	char name[4 * HW_JREAD_PATH_MAX + 8];
	size_t plen = strlen(prefix), k;
	int open = 0;

	for (size_t i = 0; i < d->n; i++) {
		const struct hw_jleaf *l = &d->leaves[i];

		if (!wanted(l->path, prefix, plen, extra))
			continue;
		for (k = 0; l->in_array && k < i && !same_path(&d->leaves[k], l); k++)
			;
		if (l->in_array && k < i)
			continue; /* written with the first element of its path */
		if (!open++)
			hw_json__begin_object(j, "unmapped");
		if (!l->in_array) {
			leaf_value(j, member_name(l->path, name, sizeof(name)), l);
			continue;
		}
		hw_json__begin_array(j, member_name(l->path, name, sizeof(name)));
		for (k = i; k < d->n; k++)
			if (same_path(&d->leaves[k], l))
				leaf_value(j, NULL, &d->leaves[k]);
		hw_json__end_array(j);
	}
	if (open)
		hw_json__end_object(j);
}

/* --- Application Lifecycle (6002): the agent and the collector themselves ----------------- */

static void app_body(const struct hw_jdoc *d, struct hw_json *j)
{
	hw_json__begin_object(j, "app");
	hw_json__string(j, "name", "hopwatch");
	hw_json__string(j, "vendor_name", "hopwatch");
	if (oc_has(d, "agent.version"))
		oc_str(d, j, "version", "agent.version");
	else
		hw_json__string(j, "version", HW_VERSION);
	hw_json__end_object(j);
}

static void app(const char *action, struct oc_head *h)
{
	h->class_uid = 6002;
	h->class_name = "Application Lifecycle";
	h->category_name = "Application Activity";
	h->body = app_body;
	if (!strcmp(action, "agent-started") || !strcmp(action, "collector-started")) {
		h->activity_id = 3;
		h->activity_name = "Start";
	} else if (!strcmp(action, "agent-stopped") || !strcmp(action, "collector-stopped")) {
		h->activity_id = 4;
		h->activity_name = "Stop";
	} else {
		h->activity_id = 99; /* output-resumed */
		h->activity_name = action;
	}
}

/* --- the line ----------------------------------------------------------------------------- */

static const char *const severities[] = {"Unknown", "Informational", "Low",
					 "Medium",  "High",	     "Critical"};
static const char *const statuses[] = {"Unknown", "Success", "Failure"};

static void metadata(const struct hw_jdoc *d, struct hw_json *j)
{
	hw_json__begin_object(j, "metadata");
	hw_json__string(j, "version", HW_OCSF_VERSION);
	hw_json__begin_object(j, "product");
	hw_json__string(j, "name", "hopwatch");
	hw_json__string(j, "vendor_name", "hopwatch");
	hw_json__string(j, "version", HW_VERSION);
	hw_json__end_object(j);
	hw_json__begin_array(j, "profiles");
	hw_json__string(j, NULL, "host");
	hw_json__string(j, NULL, "datetime");
	hw_json__end_array(j);
	oc_str(d, j, "uid", "event.id");
	oc_str(d, j, "log_name", "event.dataset");
	oc_str(d, j, "event_code", "event.action");
	hw_json__end_object(j);
}

static void device(const struct hw_jdoc *d, struct hw_json *j)
{
	hw_json__begin_object(j, "device");
	hw_json__u64(j, "type_id", 0);
	hw_json__string(j, "type", "Unknown");
	oc_str(d, j, "hostname", "host.name");
	oc_str(d, j, "uid", "host.id");
	oc_str(d, j, "boot_uid", "host.boot.id");
	hw_json__begin_object(j, "os");
	hw_json__string(j, "name", "Linux");
	hw_json__u64(j, "type_id", 200);
	hw_json__string(j, "type", "Linux");
	hw_json__end_object(j);
	hw_json__end_object(j);
}

static void write_line(const struct hw_jdoc *d, struct hw_json *j, const struct oc_head *h)
{
	char type_name[160];

	hw_json__begin_object(j, NULL);
	hw_json__u64(j, "class_uid", (unsigned long long)h->class_uid);
	hw_json__string(j, "class_name", h->class_name);
	hw_json__u64(j, "category_uid", (unsigned long long)(h->class_uid / 1000));
	hw_json__string(j, "category_name", h->category_name);
	hw_json__u64(j, "activity_id", (unsigned long long)h->activity_id);
	hw_json__string(j, "activity_name", h->activity_name);
	hw_json__u64(j, "type_uid", (unsigned long long)h->class_uid * 100 + h->activity_id);
	snprintf(type_name, sizeof(type_name), "%s: %s", h->class_name, h->activity_name);
	hw_json__string(j, "type_name", type_name);
	hw_json__u64(j, "severity_id", (unsigned long long)h->severity_id);
	hw_json__string(j, "severity", severities[h->severity_id]);
	oc_time(j, "time", hw_jdoc__str(d, "@timestamp"));
	hw_json__i64(j, "timezone_offset", 0);
	if (h->status_id >= 0) {
		hw_json__u64(j, "status_id", (unsigned long long)h->status_id);
		hw_json__string(j, "status", statuses[h->status_id]);
		if (h->status_code)
			hw_json__string(j, "status_code", h->status_code);
		if (h->status_detail)
			hw_json__string(j, "status_detail", h->status_detail);
	}
	oc_str(d, j, "message", "message");
	metadata(d, j);
	device(d, j);
	if (h->body)
		h->body(d, j);
	/* a kind this version does not know keeps all it had; the others their own fields */
	unmapped(d, j, h->class_uid ? "hopwatch." : "", h->class_uid ? h->unmapped_extra : NULL);
	hw_json__end_object(j);
	hw_json__end_line(j);
}

int hw_ocsf__translate(struct hw_ocsf *o, const char *line, size_t len, const char **out,
		       size_t *outlen)
{
	struct oc_head h = {.severity_id = 1, .status_id = -1};
	const char *kind, *dataset, *action, *ts;
	unsigned long long ns;
	int err;

	while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	err = hw_jdoc__parse(&o->doc, line, len);
	if (err)
		return err;
	kind = hw_jdoc__str(&o->doc, "event.kind");
	dataset = hw_jdoc__str(&o->doc, "event.dataset");
	action = hw_jdoc__str(&o->doc, "event.action");
	/* time is required: a line without a valid @timestamp has no OCSF form */
	ts = hw_jdoc__str(&o->doc, "@timestamp");
	if (!kind || !dataset || !action || !ts || hw_parse_rfc3339(ts, &ns))
		return -EINVAL;
	if (!strcmp(action, "tick") && !strcmp(dataset, "hopwatch.agent"))
		return 0;
	if (!strcmp(kind, "alert"))
		hw_ocsf__finding(&o->doc, action, &h);
	else if (!strcmp(dataset, "hopwatch.process"))
		hw_ocsf__process(&o->doc, action, &h);
	else if (!strcmp(dataset, "hopwatch.network") && strcmp(action, "agent_socket_used"))
		hw_ocsf__network(&o->doc, action,
				 &h); /* a unix connect has no endpoint OCSF names */
	else if (!strcmp(dataset, "hopwatch.session"))
		hw_ocsf__auth(&o->doc, action, &h);
	else if (!strcmp(dataset, "hopwatch.file"))
		hw_ocsf__file(&o->doc, action, &h);
	else if (!strcmp(dataset, "hopwatch.agent") || !strcmp(dataset, "hopwatch.collector"))
		app(action, &h);
	if (!h.class_uid) {
		/* Base Event: a kind of line this version has no class for */
		h.class_name = "Base Event";
		h.category_name = "Uncategorized";
		h.activity_id = 99;
		h.activity_name = action;
		h.body = NULL;
	}
	hw_json__reset(&o->j);
	write_line(&o->doc, &o->j, &h);
	if (o->j.error)
		return o->j.error == -ENOMEM ? -ENOMEM : -EINVAL;
	*out = o->j.buf;
	*outlen = o->j.len;
	return 1;
}

int hw_ocsf__line(struct hw_ocsf *o, const char **line, size_t *len)
{
	if (!o)
		return 1;
	return hw_ocsf__translate(o, *line, *len, line, len);
}
