/* Process lifecycle: exec (with argv, executable and working directory), fork of a new
 * process, exit of the last thread. Tracepoints only (tp_btf), so it loads where kprobes and
 * fentry do not. The fork program also passes the network-facing mark on to the child
 * (netproc.bpf.h): one program on the hook every fork pays, not one per concern. */
#include "maps.bpf.h"
#include "task.bpf.h"
#include "netproc.bpf.h"
#include <bpf/bpf_tracing.h>

SEC("tp_btf/sched_process_exec")
int BPF_PROG(handle_exec, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	struct hw_exec_event *e;
	struct mm_struct *mm;
	unsigned long arg_start, arg_end;
	__u32 zero = 0, len, size, flags = 0;
	int ret;

	if (!hw_wanted(task))
		return 0;
	e = bpf_map_lookup_elem(&scratch, &zero);
	if (!e) {
		hw_stat_inc(HW_STAT_ERR_SCRATCH);
		return 0;
	}
	hw_fill_proc(&e->proc, task);
	e->hdr.ts_ns = bpf_ktime_get_boot_ns();
	e->hdr.type = HW_EV_EXEC;
	e->old_pid = old_pid;
	hw_fill_stdio(e->stdio, &e->stdio_sock, task);
	e->pad8 = 0;

	ret = hw_read_path(&e->exe, __builtin_preserve_access_index(&bprm->file->f_path), 1);
	if (ret & HW_PATH_CUT)
		flags |= HW_EXEC_EXE_TRUNCATED;
	if (ret & HW_PATH_UNLINKED)
		flags |= HW_EXEC_EXE_UNLINKED;
	if (e->exe.unsafe_dirs)
		flags |= HW_EXEC_EXE_UNSAFE_DIR;
	/* who owns the program and who may write it: trust in a service or an allowlisted
	 * program rests on these kernel facts, never on its name */
	e->exe_uid = BPF_CORE_READ(bprm, file, f_inode, i_uid.val);
	e->exe_mode = BPF_CORE_READ(bprm, file, f_inode, i_mode);
	/* the file itself, which file facts name the same way (transfer-exec) */
	e->exe_ino = BPF_CORE_READ(bprm, file, f_inode, i_ino);
	e->exe_dev = BPF_CORE_READ(bprm, file, f_inode, i_sb, s_dev);
	if (hw_read_path(&e->cwd, __builtin_preserve_access_index(&task->fs->pwd), 0) & HW_PATH_CUT)
		flags |= HW_EXEC_CWD_TRUNCATED;

	mm = BPF_CORE_READ(task, mm);
	arg_start = BPF_CORE_READ(mm, arg_start);
	arg_end = BPF_CORE_READ(mm, arg_end);
	len = arg_end > arg_start ? arg_end - arg_start : 0;
	e->args_total = len;
	if (len > hw_args_max) {
		len = hw_args_max;
		flags |= HW_EXEC_ARGS_TRUNCATED;
	}
	/* the mask bounds the read, and so the record size, to 1..HW_ARGS_MAX for the verifier
	 * (a plain comparison is lost in clang's code); hw_args_max <= HW_ARGS_MAX already */
	if (len)
		len = ((len - 1) & (HW_ARGS_MAX - 1)) + 1;
	if (len && bpf_probe_read_user(e->args, len, (void *)arg_start)) {
		hw_stat_inc(HW_STAT_ERR_READ);
		flags |= HW_EXEC_ARGS_FAULT;
		len = 0;
	}
	e->args_len = len;
	e->flags = flags;
	size = HW_EXEC_FIXED_SIZE + len;
	e->hdr.size = size;
	if (bpf_ringbuf_output(&events, e, size, hw_rb_flags()))
		hw_stat_inc(HW_STAT_DROP_RINGBUF);
	else
		hw_stat_inc(HW_STAT_EVENTS);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(handle_fork, struct task_struct *parent, struct task_struct *child)
{
	struct hw_fork_event *e;
	__u64 flags;

	/* a new thread is not a new process */
	if (BPF_CORE_READ(child, pid) != BPF_CORE_READ(child, tgid))
		return 0;
	hw_netproc_inherit(parent, child);
	if (!hw_wanted(child))
		return 0;
	flags = hw_rb_flags();
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		hw_stat_inc(HW_STAT_DROP_RINGBUF);
		return 0;
	}
	hw_fill_proc(&e->proc, child);
	e->hdr.ts_ns = bpf_ktime_get_boot_ns();
	e->hdr.type = HW_EV_FORK;
	e->hdr.size = sizeof(*e);
	bpf_ringbuf_submit(e, flags);
	hw_stat_inc(HW_STAT_EVENTS);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(handle_exit, struct task_struct *task)
{
	struct hw_exit_event *e;
	__u64 flags;

	/* only when the last thread of the process exits */
	if (BPF_CORE_READ(task, signal, live.counter) != 0)
		return 0;
	if (!hw_wanted(task))
		return 0;
	flags = hw_rb_flags();
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		hw_stat_inc(HW_STAT_DROP_RINGBUF);
		return 0;
	}
	hw_fill_proc(&e->proc, task);
	e->hdr.ts_ns = bpf_ktime_get_boot_ns();
	e->hdr.type = HW_EV_EXIT;
	e->hdr.size = sizeof(*e);
	e->exit_code = BPF_CORE_READ(task, exit_code);
	e->pad = 0;
	bpf_ringbuf_submit(e, flags);
	hw_stat_inc(HW_STAT_EVENTS);
	return 0;
}
