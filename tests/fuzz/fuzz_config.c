/* libFuzzer target for the configuration: the input is loaded as a config file, then each of
 * its lines is applied as a --set assignment and fed to the value parsers. Nothing may crash or
 * leak, and every error message must be one printable line that fits its buffer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "config.h"
#include "parse.h"

static void check_message(int ret, const char *err, size_t errlen)
{
	size_t n = strnlen(err, errlen);

	if (n == errlen || (ret && !n))
		__builtin_trap();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)err[i] < 0x20 || err[i] == 0x7f)
			__builtin_trap();
}

static void parse_all(const char *s)
{
	unsigned char any[16] = {10, 1, 2, 3};
	struct hw_parse_list it;
	unsigned long long v;
	struct hw_cidr c;
	unsigned short port;
	unsigned int u;
	const char *item;
	char host[256], why[128];
	size_t n;
	int b;

	hw_parse_duration(s, &v);
	hw_parse_size(s, &v);
	hw_parse_u32(s, 3, 70000, &u);
	hw_parse_bool(s, &b);
	hw_parse_host_port(s, host, sizeof(host), &port);
	if (!hw_parse_cidr_why(s, &c, why, sizeof(why))) {
		hw_cidr_contains(&c, AF_INET, any);
		hw_cidr_contains(&c, AF_INET6, any);
		hw_format_cidr(&c, why, sizeof(why));
	}
	hw_parse_list_init(&it, s);
	while (hw_parse_list_next(&it, &item, &n) > 0)
		if (n > strlen(item))
			__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hw_config c;
	char err[256], *text, *line, *next;
	int ret;

	if (hw_config__init(&c))
		return 0;
	err[0] = '\0';
	ret = hw_config__load_buffer(&c, data, size, "fuzz.conf", err, sizeof(err));
	check_message(ret, err, sizeof(err));

	text = malloc(size + 1);
	if (!text)
		goto out;
	memcpy(text, data, size);
	text[size] = '\0';
	for (line = text; line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		err[0] = '\0';
		ret = hw_config__set(&c, line, err, sizeof(err));
		check_message(ret, err, sizeof(err));
		parse_all(line);
	}
	free(text);
out:
	hw_config__free(&c);
	return 0;
}
