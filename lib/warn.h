/* SPDX-License-Identifier: MIT */
#ifndef PORTSIDE_LIB_WARN_H
#define PORTSIDE_LIB_WARN_H

#include <stdarg.h>

/* One line on stderr, "PROG: MESSAGE": what runtimes show of a hook, and
 * what portsidectl says. */
void ps_vwarn(const char *prog, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

#endif
