/* Validation of ring-buffer records and path assembly. */
#include <errno.h>
#include <string.h>

#include "decode.h"

_Static_assert(sizeof(struct hw_event_header) == 16, "header layout");
_Static_assert(sizeof(struct hw_proc) == 104, "hw_proc layout");
_Static_assert(sizeof(struct hw_path) == 8 + HW_PATH_MAX, "hw_path layout");
_Static_assert(sizeof(struct hw_fork_event) == 120, "fork layout");
_Static_assert(sizeof(struct hw_exit_event) == 128, "exit layout");
_Static_assert(HW_EXEC_FIXED_SIZE == 16 + 104 + 40 + 40 + 2 * (8 + HW_PATH_MAX), "exec layout");
_Static_assert(sizeof(struct hw_file_event) ==
		   16 + 104 + 40 + (8 + HW_PATH_MAX) + 2 * HW_FILE_USER_PATH,
	       "file layout");
_Static_assert(sizeof(struct hw_sock_addr) == 40, "sock addr layout");
_Static_assert(sizeof(struct hw_net_event) == 16 + 104 + 32 + 40 + 16, "net layout");
_Static_assert(sizeof(struct hw_raw_socket_event) == 16 + 104 + 16, "raw socket layout");
_Static_assert(sizeof(struct hw_unix_event) == 16 + 104 + 32 + 2 * HW_UNIX_PATH, "unix layout");
_Static_assert((HW_ARGS_MAX & (HW_ARGS_MAX - 1)) == 0, "HW_ARGS_MAX must be a power of two");

static int path_ok(const struct hw_path *p)
{
	if (p->len > HW_PATH_MAX || p->count > HW_PATH_DEPTH)
		return 0;
	/* every name ends with a NUL inside len */
	return p->len == 0 || p->names[p->len - 1] == 0;
}

int hw_decode_check(const void *data, size_t size)
{
	const struct hw_event_header *h = data;

	if (size < sizeof(*h) || h->size > size)
		return -EBADMSG;
	switch (h->type) {
	case HW_EV_EXEC: {
		const struct hw_exec_event *e = data;

		if (h->size < HW_EXEC_FIXED_SIZE || e->args_len > HW_ARGS_MAX ||
		    h->size != HW_EXEC_FIXED_SIZE + e->args_len || !path_ok(&e->exe) ||
		    !path_ok(&e->cwd))
			return -EBADMSG;
		return HW_EV_EXEC;
	}
	case HW_EV_FORK:
		return h->size == sizeof(struct hw_fork_event) ? HW_EV_FORK : -EBADMSG;
	case HW_EV_EXIT:
		return h->size == sizeof(struct hw_exit_event) ? HW_EV_EXIT : -EBADMSG;
	case HW_EV_PAM:
		return h->size == sizeof(struct hw_pam_event) ? HW_EV_PAM : -EBADMSG;
	case HW_EV_RAW_SOCKET:
		return h->size == sizeof(struct hw_raw_socket_event) ? HW_EV_RAW_SOCKET : -EBADMSG;
	case HW_EV_UNIX_CONNECT: {
		const struct hw_unix_event *ue = data;

		if (h->size != sizeof(*ue) || !memchr(ue->path, 0, sizeof(ue->path)) ||
		    !memchr(ue->user_path, 0, sizeof(ue->user_path)))
			return -EBADMSG;
		return HW_EV_UNIX_CONNECT;
	}
	case HW_EV_FILE: {
		const struct hw_file_event *fe = data;

		if (h->size != sizeof(*fe) || !path_ok(&fe->path) ||
		    !memchr(fe->user_path, 0, sizeof(fe->user_path)) ||
		    !memchr(fe->user_other, 0, sizeof(fe->user_other)))
			return -EBADMSG;
		return HW_EV_FILE;
	}
	case HW_EV_CONNECT:
	case HW_EV_ACCEPT:
	case HW_EV_CLOSE:
	case HW_EV_LISTEN:
	case HW_EV_UDP: {
		const struct hw_net_event *n = data;

		if (h->size != sizeof(*n) ||
		    (n->addr.family != 2 && n->addr.family != 10) /* AF_INET, AF_INET6 */)
			return -EBADMSG;
		return (int)h->type;
	}
	default:
		return -ENOTSUP;
	}
}

int hw_decode_path(const struct hw_path *p, int cut, char *out, size_t outlen)
{
	const char *names[HW_PATH_DEPTH];
	size_t n = 0, pos = 0, i;

	if (!outlen)
		return -EBADMSG;
	out[0] = 0;
	if (!path_ok(p))
		return -EBADMSG;
	for (i = 0; i < p->len && n < HW_PATH_DEPTH; i += strlen(&p->names[i]) + 1)
		names[n++] = &p->names[i];
	if (cut && pos + 3 < outlen) {
		memcpy(out, "...", 3);
		pos = 3;
	}
	if (!n && pos + 1 < outlen)
		out[pos++] = '/';
	while (n--) {
		size_t l = strlen(names[n]);

		if (pos + 1 + l >= outlen)
			break;
		out[pos++] = '/';
		memcpy(out + pos, names[n], l);
		pos += l;
	}
	out[pos] = 0;
	return (int)pos;
}
