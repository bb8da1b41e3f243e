/* SPDX-License-Identifier: MIT */
#ifndef PORTSIDE_LIB_WARN_H
#define PORTSIDE_LIB_WARN_H

#include <stdarg.h>

/* One line on stderr, "PROG: MESSAGE": what runtimes show of a hook, and
 * what portsidectl says. */
void ps_vwarn(const char *prog, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* The same as "PS_PROG: MESSAGE", for what the library below the hook and
 * portsidectl says (table/): PS_PROG is "portside" unless the program set
 * its own name. */
extern const char *ps_prog;
void ps_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
