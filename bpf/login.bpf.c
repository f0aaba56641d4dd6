/* Remote login: the libpam calls of login services, through uprobes the agent attaches to
 * the system's libpam (user/loader.c finds it). pam_start names the user being tried,
 * pam_authenticate's result tells a failed password, pam_open_session's return is the moment
 * the login is complete: pam_loginuid has then set the audit loginuid and sessionid that
 * every process of the session inherits. */
#include "maps.bpf.h"
#include "task.bpf.h"
#include <bpf/bpf_tracing.h>

static __always_inline struct hw_pam_event *hw_pam_reserve(__u32 op)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct hw_pam_event *e;

	if (!hw_wanted(task))
		return NULL;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		hw_stat_inc(HW_STAT_DROP_RINGBUF);
		return NULL;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->hdr.ts_ns = bpf_ktime_get_boot_ns();
	e->hdr.type = HW_EV_PAM;
	e->hdr.size = sizeof(*e);
	e->op = op;
	hw_fill_proc(&e->proc, task);
	return e;
}

static __always_inline void hw_pam_submit(struct hw_pam_event *e)
{
	bpf_ringbuf_submit(e, hw_rb_flags());
	hw_stat_inc(HW_STAT_EVENTS);
}

SEC("uprobe")
int BPF_KPROBE(handle_pam_start, const char *service, const char *user)
{
	struct hw_pam_event *e = hw_pam_reserve(HW_PAM_START);

	if (!e)
		return 0;
	if (service && bpf_probe_read_user_str(e->service, sizeof(e->service), service) < 0)
		hw_stat_inc(HW_STAT_ERR_READ);
	if (user && bpf_probe_read_user_str(e->user, sizeof(e->user), user) < 0)
		hw_stat_inc(HW_STAT_ERR_READ);
	hw_pam_submit(e);
	return 0;
}

static __always_inline int hw_pam_ret(__u32 op, long ret)
{
	struct hw_pam_event *e = hw_pam_reserve(op);

	if (!e)
		return 0;
	e->ret = (__s32)ret;
	hw_pam_submit(e);
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(handle_pam_auth_ret, long ret)
{
	return hw_pam_ret(HW_PAM_AUTH, ret);
}

SEC("uretprobe")
int BPF_KRETPROBE(handle_pam_acct_ret, long ret)
{
	return hw_pam_ret(HW_PAM_ACCT, ret);
}

SEC("uretprobe")
int BPF_KRETPROBE(handle_pam_open_ret, long ret)
{
	return hw_pam_ret(HW_PAM_OPEN, ret);
}

SEC("uprobe")
int BPF_KPROBE(handle_pam_close)
{
	return hw_pam_ret(HW_PAM_CLOSE, 0);
}
