/* SPDX-License-Identifier: MIT */
#ifndef PORTSIDE_TESTS_UNIT_H
#define PORTSIDE_TESTS_UNIT_H

/* cmocka needs these before its header. */
#include <setjmp.h>
#include <stdarg.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "../../base/err.h"

/* Fails unless some line of E contains NEEDLE; prints E's lines when it fails,
 * so that a changed message shows what it became. */
static inline void unit_assert_err(const struct oci_err *e, const char *needle, const char *file, int line)
{
	for (unsigned i = 0; i < oci_err_lines(e); i++)
		if (strstr(e->msg[i], needle))
			return;
	fprintf(stderr, "%s:%d: no problem mentions \"%s\"; got %u:\n", file, line, needle, e->count);
	oci_err_print(e, stderr, "  ");
	fail();
}
#define assert_err(e, needle) unit_assert_err((e), (needle), __FILE__, __LINE__)

#endif
