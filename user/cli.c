/* The option parsing every command shares (cli.h): usage errors, -c, --set and the flags that
 * are config keys, --duration. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "detect/jsonread.h"
#include "parse.h"

int hw_cli__init(struct hw_cli *c, const char *cmd, int argc)
{
	memset(c, 0, sizeof(*c));
	c->cmd = cmd;
	opterr = 0;
	optind = 1;
	c->sets = calloc((size_t)argc + 1, sizeof(*c->sets));
	c->owned = calloc((size_t)argc + 1, sizeof(*c->owned));
	if (!c->sets || !c->owned) {
		hw_cli__free(c);
		return -ENOMEM;
	}
	return 0;
}

void hw_cli__free(struct hw_cli *c)
{
	for (int i = 0; i < c->nowned; i++)
		free(c->owned[i]);
	free(c->owned);
	free(c->sets);
	c->owned = NULL;
	c->sets = NULL;
	c->nsets = c->nowned = 0;
}

int hw_cli__usage(const struct hw_cli *c, const char *msg)
{
	fprintf(stderr, "hopwatch: %s\n", msg);
	fprintf(stderr, "Try 'hopwatch %s%s--help' for more information.\n", c->cmd ? c->cmd : "",
		c->cmd ? " " : "");
	return HW_EXIT_USAGE;
}

static int common(struct hw_cli *c, int ch, char *const argv[])
{
	char msg[1200];

	switch (ch) {
	case 'c':
		c->config_path = optarg;
		return 1;
	case 's':
		c->sets[c->nsets++] = optarg;
		return 1;
	case ':':
		snprintf(msg, sizeof(msg), "option '%s' needs a value", argv[optind - 1]);
		hw_jread__printable(msg); /* the user's bytes, shown safely */
		return hw_cli__usage(c, msg);
	case '?':
		snprintf(msg, sizeof(msg), "unknown option '%s'", argv[optind - 1]);
		hw_jread__printable(msg);
		return hw_cli__usage(c, msg);
	default:
		return 0;
	}
}

int hw_cli__getopt(struct hw_cli *c, int argc, char *const argv[], const char *shortopts,
		   const struct option *opts, int *status)
{
	int ch, r;

	while ((ch = getopt_long(argc, argv, shortopts, opts, NULL)) != -1) {
		r = common(c, ch, argv);
		if (r == 0)
			return ch;
		if (r != 1) {
			*status = r;
			return HW_CLI_STOP;
		}
	}
	return -1;
}

int hw_cli__key(struct hw_cli *c, const char *key, const char *value)
{
	char *kv;

	if (asprintf(&kv, "%s=%s", key, value) < 0) {
		fprintf(stderr, "hopwatch: out of memory\n");
		return HW_EXIT_REFUSED;
	}
	c->owned[c->nowned++] = kv;
	c->sets[c->nsets++] = kv;
	return 0;
}

int hw_cli__load(const struct hw_cli *c, struct hw_config *cfg)
{
	char err[1024];

	if (c->config_path && hw_config__load_file(cfg, c->config_path, err, sizeof(err))) {
		fprintf(stderr, "hopwatch: %s\n", err);
		return HW_EXIT_USAGE;
	}
	for (int i = 0; i < c->nsets; i++) {
		if (hw_config__set(cfg, c->sets[i], err, sizeof(err))) {
			fprintf(stderr, "hopwatch: %s\n", err);
			return HW_EXIT_USAGE;
		}
	}
	return 0;
}

int hw_cli__duration(const char *s, unsigned long long *ns)
{
	if (hw_parse_duration(s, ns) || !*ns) {
		fprintf(
		    stderr,
		    "hopwatch: --duration: invalid duration '%s' (use 500ms, 30s, 10m, 8h, 2d)\n",
		    s);
		return HW_EXIT_USAGE;
	}
	return 0;
}
