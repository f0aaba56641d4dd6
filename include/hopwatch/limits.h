/* Sizes shared by the BPF programs and the agent. */
#ifndef HOPWATCH_LIMITS_H
#define HOPWATCH_LIMITS_H

#define HW_COMM_LEN 16
#define HW_TTY_LEN  16

/* Path buffer: names are copied at offsets below HW_PATH_MAX/2 with a fixed 256-byte read, so
 * the verifier can prove every copy stays inside the buffer. */
#define HW_PATH_MAX	 768
#define HW_PATH_OFF_MAX	 512
#define HW_PATH_NAME_MAX 256
#define HW_PATH_DEPTH	 32 /* names walked per path: a bounded loop for the verifier */

/* argv bytes per exec at most; agent.args_max (default 4096) picks the bound at load time. */
#define HW_ARGS_MAX	    16384
#define HW_ARGS_MAX_DEFAULT 4096

#endif
