/* SPDX-License-Identifier: MIT */
#include "warn.h"

#include <stdio.h>

void ps_vwarn(const char *prog, const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: ", prog);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}
