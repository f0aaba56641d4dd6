/* raw_socket_opened as the engine's fact (fact_raw.h). The process members are those of a
 * process event (hw_fact__proc_event reads them from the same view fields ecs_raw.c writes
 * through hw_ecs__process_part); the socket adds family, type, protocol and the outcome. */
#include <string.h>

#include "detect/fact_fields.h"
#include "detect/fact_raw.h"
#include "detect/fact_view.h"

static const char *const families[] = {
    [2] = "inet",	[3] = "ax25",	     [4] = "ipx",     [5] = "appletalk",
    [9] = "x25",	[10] = "inet6",	     [17] = "packet", [29] = "can",
    [31] = "bluetooth", [36] = "ieee802154", [40] = "vsock",  [44] = "xdp",
};

static const char *const types[] = {
    [1] = "stream", [2] = "dgram", [3] = "raw", [4] = "rdm", [5] = "seqpacket", [10] = "packet",
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

const char *hw_raw_family_name(unsigned int family)
{
	return family < N(families) && families[family] ? families[family] : "";
}

unsigned int hw_raw_family_parse(const char *name)
{
	for (unsigned int i = 0; name && name[0] && i < N(families); i++)
		if (families[i] && !strcmp(families[i], name))
			return i;
	return 0;
}

const char *hw_raw_type_name(unsigned int type)
{
	type &= 0xf;
	return type < N(types) && types[type] ? types[type] : "";
}

unsigned int hw_raw_type_parse(const char *name)
{
	for (unsigned int i = 0; name && name[0] && i < N(types); i++)
		if (types[i] && !strcmp(types[i], name))
			return i;
	return 0;
}

void hw_fact__raw_event(struct hw_fact *f, const struct hw_host *h, const struct hw_raw_view *v)
{
	struct hw_proc_event pe = {
	    .action = v->action,
	    .ts_ns = v->ts_ns,
	    .p = v->p,
	    .user_name = v->user_name,
	    .euser_name = v->euser_name,
	};

	hw_fact__proc_event(f, h, &pe);
	if (f->kind != HW_F_RAW_SOCKET)
		return;
	f->failure = v->ret < 0;
	f->raw_family = v->family;
	f->raw_type = v->type & 0xf;
	f->raw_protocol = hw_raw_protocol(v->family, v->protocol);
}

void hw_fact__raw_from_json(struct hw_fact *f, const struct hw_jdoc *d)
{
	const char *s = hw_fact__str(d, HW_FF_SOCKET_FAMILY);
	unsigned long long v = 0;

	/* a family without a name is written as its number */
	if (s)
		f->raw_family = hw_raw_family_parse(s);
	else if (!hw_fact__u64(d, HW_FF_SOCKET_FAMILY, &v))
		f->raw_family = (unsigned int)v;
	v = 0;
	s = hw_fact__str(d, HW_FF_SOCKET_TYPE);
	if (s)
		f->raw_type = hw_raw_type_parse(s);
	else if (!hw_fact__u64(d, HW_FF_SOCKET_TYPE, &v))
		f->raw_type = (unsigned int)v;
	v = 0;
	if (!hw_fact__u64(d, HW_FF_SOCKET_PROTOCOL, &v))
		f->raw_protocol = (unsigned int)v;
}
