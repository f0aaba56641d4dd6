/* /proc/PID/stat, read and parsed in one place: the start-up snapshot and the agent-socket
 * sweep both need a process's start time, and its field (the 22nd) is easy to miscount. */
#ifndef HW_LIB_PROCSTAT_H
#define HW_LIB_PROCSTAT_H

/* what the fields of /proc/PID/stat this project reads hold */
struct hw_procstat {
	char comm[16];	     /* up to 15 bytes, NUL-terminated (comm may hold ")" and spaces) */
	unsigned int ppid;   /* 4th field */
	unsigned int tty_nr; /* 7th */
	unsigned int flags;  /* 9th: PF_* */
	unsigned long long start_ticks; /* 22nd: start time after boot, in clock ticks */
};

/* Parses the text of a stat file (NUL-terminated). 0, or -EBADMSG when it is not one. */
int hw_procstat__parse(const char *text, struct hw_procstat *st);

/* Reads and parses proc_root/PID/stat ("/proc" when proc_root is NULL). 0, -errno of the open
 * or read (-ENOENT or -ESRCH: no such process), or -EBADMSG. */
int hw_procstat__read(const char *proc_root, unsigned int pid, struct hw_procstat *st);

#endif
