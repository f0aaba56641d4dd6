/* The one definition of every shared map and load-time setting (declared in maps.bpf.h,
 * netproc.bpf.h and unix.bpf.h). */
#include "maps.bpf.h"
#include "netproc.bpf.h"
#include "unix.bpf.h"

const volatile __u32 hw_agent_tgid = 0;
const volatile __u32 hw_netns_filter = 0;
const volatile __u32 hw_args_max = HW_ARGS_MAX_DEFAULT;
const volatile __u64 hw_wakeup_bytes = 256 << 10;
const volatile __u8 hw_cookie_helper = 0;
const volatile __u64 hw_udp_reemit_ns = 600000000000ULL;

struct hw_events_map events SEC(".maps");
struct hw_stats_map stats SEC(".maps");
struct hw_scratch_map scratch SEC(".maps");
struct hw_conns_map conns SEC(".maps");
struct hw_connecting_map connecting SEC(".maps");
struct hw_udp_flows_map udp_flows SEC(".maps");
struct hw_udp_sending_map udp_sending SEC(".maps");
struct hw_netprocs_map netprocs SEC(".maps");
struct hw_hint_map netproc_hint SEC(".maps");
struct hw_agent_socks_map agent_socks SEC(".maps");
struct hw_unix_calls_map unix_calls SEC(".maps");
__u32 hw_unix_armed = 0;
__u32 hw_unix_full = 0;

char LICENSE[] SEC("license") = "GPL";
