/* SPDX-License-Identifier: MIT */
#include "warn.h"

#include <stdio.h>

const char *ps_prog = "portside";

void ps_vwarn(const char *prog, const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: ", prog);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void ps_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ps_vwarn(ps_prog, fmt, ap);
	va_end(ap);
}
