/* What every command's option parsing shares (cli.c): the exit codes, the usage error line,
 * -c/--config and the list of config keys set by flags (--set K=V, and the flags that are
 * keys: -o, --netns, --nats, ...), applied in order after the file; --duration. Each command
 * keeps its own getopt table and help text. */
#ifndef HW_CLI_H
#define HW_CLI_H

#include "config.h"

#define HW_EXIT_REFUSED	  1 /* the system refused (a socket, a file, the kernel) */
#define HW_EXIT_USAGE	  2 /* bad usage, config or input files */
#define HW_EXIT_MALFORMED 3 /* some input lines were malformed (the rest was processed) */

struct hw_cli {
	const char *cmd;	 /* "run", "collect", ...: for the "Try" line */
	const char *config_path; /* -c */
	const char **sets;	 /* SECTION.KEY=VALUE, in the order given */
	char **owned;		 /* the ones built here from flags */
	int nsets, nowned;
};

/* Room for every argument of argc being a key; 0 or -ENOMEM. */
int hw_cli__init(struct hw_cli *c, const char *cmd, int argc);
void hw_cli__free(struct hw_cli *c);

/* "hopwatch: MSG" and the "Try 'hopwatch CMD --help'" line; returns HW_EXIT_USAGE. */
int hw_cli__usage(const struct hw_cli *c, const char *msg);

/* getopt_long over the command's options (shortopts starting with ':'), the ones every
 * command reads the same way taken here: 'c' (-c FILE), 's' (--set K=V), a missing value and
 * an unknown option. Returns the command's own option, -1 at the end of the options, or
 * HW_CLI_STOP with *status the exit status (the error line printed). */
#define HW_CLI_STOP (-2)
struct option;
int hw_cli__getopt(struct hw_cli *c, int argc, char *const argv[], const char *shortopts,
		   const struct option *opts, int *status);

/* A flag that stands for a config key ("output.format" for -o): queued like --set. 0, or
 * HW_EXIT_REFUSED when out of memory. */
int hw_cli__key(struct hw_cli *c, const char *key, const char *value);

/* -c's file, then the queued keys onto cfg; 0, or HW_EXIT_USAGE with the error line printed. */
int hw_cli__load(const struct hw_cli *c, struct hw_config *cfg);

/* --duration: a positive duration; 0, or HW_EXIT_USAGE with the error line printed. */
int hw_cli__duration(const char *s, unsigned long long *ns);

#endif
