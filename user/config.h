/* Agent configuration: every key of docs/configuration.md with its default, loaded from an INI
 * file and overridden by --set section.key=value. The struct holds parsed, validated values.
 */
#ifndef HW_CONFIG_H
#define HW_CONFIG_H

#include <stddef.h>

#include "parse.h"

#define HW_CONFIG_LINE_MAX 4096	     /* bytes per line of a config file, newline included */
#define HW_CONFIG_FILE_MAX (1 << 20) /* bytes per config file */

enum hw_format {
	HW_FORMAT_AUTO, /* JSON, or text when stdout is a terminal */
	HW_FORMAT_JSON,
	HW_FORMAT_TEXT,
	HW_FORMAT_OCSF, /* OCSF 1.x JSON lines, translated from the ECS line (output/ocsf.h) */
};

/* Lists own their arrays (and, for strings, each string); empty lists have v == NULL. */
struct hw_cidr_list {
	struct hw_cidr *v;
	size_t n;
};

struct hw_str_list {
	char **v;
	size_t n;
};

struct hw_port_list {
	unsigned short *v;
	size_t n;
};

struct hw_config {
	/* [agent] */
	char *host_name;			    /* host_name: NULL = the machine's hostname */
	char *netns;				    /* netns: network namespace path, NULL = all */
	unsigned int args_max;			    /* args_max: argv bytes per exec */
	unsigned long long ringbuf_size;	    /* ringbuf_size: bytes, a power of two */
	unsigned long long poll_interval_ns;	    /* poll_interval */
	unsigned int proc_table_max;		    /* proc_table_max: exited processes kept */
	unsigned long long proc_exited_ttl_ns;	    /* proc_exited_ttl */
	unsigned long long conn_report_interval_ns; /* conn_report_interval: open connections */
	unsigned int conn_table_max; /* conn_table_max: TCP connections followed at once */
	int seccomp;	      /* seccomp: the syscall allow-list once started (on), or none (off) */
	char *control_socket; /* control_socket: where `hopwatch sessions` asks, "" none */

	/* [detect] (durations in ns) */
	struct hw_cidr_list internal_nets;	 /* internal_nets: hosts counted as internal */
	struct hw_port_list admin_ports;	 /* admin_ports: remote-administration ports */
	struct hw_str_list remote_services;	 /* remote_services: programs accepting logins */
	unsigned long long long_session_ns;	 /* long_session */
	unsigned long long long_connection_ns;	 /* long_connection */
	unsigned long long fanout_window_ns;	 /* fanout_window */
	unsigned long long bruteforce_window_ns; /* bruteforce_window */
	unsigned int fanout_hosts;		 /* fanout_hosts */
	unsigned int bruteforce_failures;	 /* bruteforce_failures */
	struct hw_cidr_list allow_sources;	 /* allow_sources: jump hosts, may be empty */
	struct hw_str_list allow_programs;	 /* allow_programs: may hold long connections */
	struct hw_str_list allow_services;	 /* allow_services: listeners that may run shells */
	struct hw_str_list allow_relays; /* allow_relays: may accept and connect on (proxies) */
	struct hw_str_list raw_socket_programs; /* raw_socket_programs: full paths of the network
						 * tools that may hold raw sockets */
	unsigned long long raw_bridge_connection_ns; /* raw_bridge_connection */
	struct hw_str_list watch_paths;	 /* watch_paths: the files persistence watches */
	struct hw_str_list file_writers; /* file_writers: trusted full paths that may change them */
	unsigned long long transfer_window_ns; /* transfer_window */

	/* [output] */
	enum hw_format format;			   /* format */
	enum hw_format nats_format, syslog_format; /* nats_format, syslog_format: json, ocsf */
	char *file;				   /* NULL = none */
	char *nats_url;	    /* comma-separated server URLs as written, NULL = no NATS sink */
	char *nats_subject; /* subject prefix, never NULL after init */
	char *syslog;	    /* "host:port" (validated), NULL = none */
	char *spool_dir;    /* never NULL after init */
	unsigned long long spool_max;
	char *nats_stream;		     /* the JetStream stream the agent creates if missing */
	unsigned int nats_batch_lines;	     /* nats_batch_lines: lines per message, at most */
	unsigned long long nats_batch_bytes; /* nats_batch_bytes: bytes per message, at most */
	unsigned long long nats_batch_delay_ns; /* nats_batch_delay: a line waits for more */
	char *nats_compress;			/* nats_compress: "none" or "gzip" */
	/* nats_profile, syslog_profile: "fleet" (the default) or "full" (docs/streaming.md) */
	char *nats_profile, *syslog_profile;
	unsigned long long fleet_summary_interval_ns; /* fleet: loopback summaries, this often */
	char *nats_ca, *nats_cert, *nats_key;	    /* TLS: CA bundle, client cert and key, NULL */
	char *syslog_ca, *syslog_cert, *syslog_key; /* syslog_ca set: TLS to the receiver */

	/* [collect] */
	char *collect_durable;		       /* the shared durable consumer of the collectors */
	char *collect_subject;		       /* where the collector publishes its alerts */
	unsigned long long collect_memory_max; /* memory_max: all engines and the stitcher */
	unsigned long long collect_host_memory_max; /* host_memory_max: one host's engine */
	unsigned int collect_host_alerts;	    /* host_alerts: per host and minute */
	unsigned long long collect_host_idle_ns;    /* host_idle: a silent host is forgotten */
	unsigned int collect_partitions; /* partitions: N of the server's subject mapping, 0 none */
	char *collect_partition;	 /* partition: the ones this instance takes, "0,2-3" */
	unsigned long long collect_ack_wait_ns; /* ack_wait: unacknowledged, delivered again */
};

/* Sets every default. Returns 0 or -ENOMEM (then c is zeroed). */
int hw_config__init(struct hw_config *c);

/* Frees what c owns and zeroes it; safe after init, after a failed load, on a zeroed struct,
 * and twice. */
void hw_config__free(struct hw_config *c);

/* Loading is not thread-safe: it raises libinih's line limit (a global) while it parses.
 *
 * Loads an INI file over the current values. On error returns a negative errno and writes one
 * line into err (no trailing newline) naming the file, line and key, e.g.
 * "/etc/hopwatch/hopwatch.conf:12: detect.long_session: invalid duration '8x' (use 500ms, 30s,
 * 10m, 8h, 2d)" or "cannot read config 'x.conf': No such file or directory". Parsing stops at
 * the first error; the keys before it stay applied. */
int hw_config__load_file(struct hw_config *c, const char *path, char *err, size_t errlen);

/* As hw_config__load_file() on len bytes in memory (NUL bytes included, which are an error);
 * name stands for the file in messages. */
int hw_config__load_buffer(struct hw_config *c, const void *data, size_t len, const char *name,
			   char *err, size_t errlen);

/* Applies "section.key=value" (the --set flag); whitespace around the key and the value is
 * ignored. Messages: "--set detect.fanout_hosts: '0' is out of range (1..100000)". */
int hw_config__set(struct hw_config *c, const char *assignment, char *err, size_t errlen);

/* Applies one key: the path shared by the file, --set and the defaults. origin is printed
 * verbatim before the message ("hopwatch.conf:12: ", "--set "; NULL for none). A failed apply
 * leaves the key's old value in place. */
int hw_config__apply(struct hw_config *c, const char *section, const char *key, const char *value,
		     const char *origin, char *err, size_t errlen);

#endif
