/* SPDX-License-Identifier: MIT */
/* The hook's one-line messages on stderr, where runtimes show them. */
#include <stdarg.h>
#include <stdio.h>

#include "../lib/warn.h"
#include "hook.h"

void hook_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ps_vwarn("portside", fmt, ap);
	va_end(ap);
}
