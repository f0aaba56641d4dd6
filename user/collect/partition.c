/* Partition lists of the collector (see partition.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect/partition.h"
#include "parse.h"

/* One item, "K" or "A-B": its range, 0 or -EINVAL */
static int item_range(const char *item, size_t len, unsigned int *lo, unsigned int *hi)
{
	char buf[32], *dash;

	if (len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, item, len);
	buf[len] = 0;
	dash = strchr(buf, '-');
	if (dash)
		*dash = 0;
	if (hw_parse_u32(buf, 0, HW_COLLECT_PARTITIONS_MAX - 1, lo))
		return -EINVAL;
	*hi = *lo;
	if (dash && hw_parse_u32(dash + 1, 0, HW_COLLECT_PARTITIONS_MAX - 1, hi))
		return -EINVAL;
	return *hi >= *lo ? 0 : -EINVAL;
}

int hw_parse_partition_list(const char *s)
{
	struct hw_parse_list it;
	const char *item;
	size_t len;
	unsigned int lo, hi;
	int r;

	hw_parse_list_init(&it, s);
	while ((r = hw_parse_list_next(&it, &item, &len)) > 0)
		if (item_range(item, len, &lo, &hi))
			return -EINVAL;
	return r;
}

int hw_partition__set(const char *list, unsigned int n, unsigned char *set, char *err,
		      size_t errlen)
{
	struct hw_parse_list it;
	const char *item;
	size_t len;
	unsigned int lo, hi;
	int r, taken = 0;

	memset(set, 0, HW_COLLECT_PARTITIONS_MAX);
	if (n < 1 || n > HW_COLLECT_PARTITIONS_MAX) {
		snprintf(err, errlen, "collect.partitions '%u' is not 1..%d", n,
			 HW_COLLECT_PARTITIONS_MAX);
		return -EINVAL;
	}
	hw_parse_list_init(&it, list);
	while ((r = hw_parse_list_next(&it, &item, &len)) > 0) {
		if (item_range(item, len, &lo, &hi)) {
			snprintf(err, errlen, "invalid partition '%.*s' (use 0,2-3)", (int)len,
				 item);
			return -EINVAL;
		}
		if (hi >= n) {
			snprintf(err, errlen,
				 "partition '%.*s' is not below collect.partitions (%u)", (int)len,
				 item, n);
			return -EINVAL;
		}
		for (unsigned int k = lo; k <= hi; k++) {
			taken += !set[k];
			set[k] = 1;
		}
	}
	if (r || !taken) {
		snprintf(err, errlen, "invalid partition list '%.40s' (use 0,2-3)",
			 list ? list : "");
		return -EINVAL;
	}
	return taken;
}

int hw_partition__option(const char *arg, char **list, unsigned int *n, char *err, size_t errlen)
{
	const char *slash = strrchr(arg, '/');

	*list = NULL;
	if (slash && slash != arg && !hw_parse_u32(slash + 1, 1, HW_COLLECT_PARTITIONS_MAX, n)) {
		*list = strndup(arg, (size_t)(slash - arg));
		if (!*list)
			return -ENOMEM;
		if (!hw_parse_partition_list(*list))
			return 0;
		free(*list);
		*list = NULL;
	}
	snprintf(err, errlen,
		 "--partition: invalid value '%.60s' (use LIST/N, e.g. 0/2 or 0,2-3/8, N at most "
		 "%d)",
		 arg, HW_COLLECT_PARTITIONS_MAX);
	return -EINVAL;
}
