/* Partitions of the fleet among collector instances (docs/collector.md, "Scaling out"): the
 * NATS server maps each host's PREFIX.HOST.events to PREFIX.HOST.events.P with its
 * {{partition(N,1)}} function, and each instance consumes the partitions it is given
 * (--partition LIST/N, collect.partition and collect.partitions). This file parses what it is
 * given; pure. */
#ifndef HW_COLLECT_PARTITION_H
#define HW_COLLECT_PARTITION_H

#include <stddef.h>

#define HW_COLLECT_PARTITIONS_MAX 64 /* partitions of a fleet at most */

/* collect.partition's syntax: a comma-separated list of numbers and ranges A-B (A <= B), each
 * below HW_COLLECT_PARTITIONS_MAX. 0 or -EINVAL. */
int hw_parse_partition_list(const char *s);

/* The partitions of list (its syntax as above) among n: set[k] = 1 for each k taken (set holds
 * HW_COLLECT_PARTITIONS_MAX bytes). Returns how many were taken, or -EINVAL with err (one
 * line, quoting the value): an empty list, a partition not below n, n out of 1..MAX. */
int hw_partition__set(const char *list, unsigned int n, unsigned char *set, char *err,
		      size_t errlen);

/* --partition LIST/N: list (allocated, the caller frees) and n. 0, -EINVAL with err, or
 * -ENOMEM. */
int hw_partition__option(const char *arg, char **list, unsigned int *n, char *err, size_t errlen);

#endif
