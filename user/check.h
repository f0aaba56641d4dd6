/* hopwatch check: what this kernel supports and what would not work. */
#ifndef HW_CHECK_H
#define HW_CHECK_H

#include <stdio.h>

/* Prints one line per check to out. Returns 0 when 'hopwatch run' would work, else 1. */
int hw_check(FILE *out);

#endif
