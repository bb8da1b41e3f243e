/* SPDX-License-Identifier: MIT */
#ifndef PORTSIDE_OCI_ERR_H
#define PORTSIDE_OCI_ERR_H

/*
 * The one error convention of portside, written down once:
 *
 *  - A fallible function returns 0 (or a non-negative count) on success and a
 *    negative errno value on failure. Never a global, never -1 with errno.
 *  - A function that can explain a failure to a user takes a `struct oci_err *`
 *    as its last argument and appends one line per problem to it. Validation
 *    keeps going after a problem so that the user sees all of them at once.
 *  - `struct oci_err` owns no heap memory: it can live on the stack, needs no
 *    free, and recording a problem cannot itself fail. A NULL `struct oci_err *`
 *    is allowed and drops the messages (the return code still says what failed).
 *  - Wrappers of other libraries check each by its own convention (libuv and
 *    libseccomp return -errno, libcap returns -1 and sets errno, json-c returns
 *    NULL or borrowed references) and translate to this one at the call site.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#define OCI_ERR_MAX 24	/* lines kept; later ones are only counted */
#define OCI_ERR_LEN 256 /* one line, truncated with "..." if longer */

struct oci_err {
	unsigned count; /* problems recorded, including dropped ones */
	char msg[OCI_ERR_MAX][OCI_ERR_LEN];
	int code[OCI_ERR_MAX]; /* each line's errno: what kind of problem (see lib/refusal.h) */
};

/* The errno a problem is recorded with says its kind, for tools that act on
 * it (portsidectl doctor): EADDRINUSE a host port held, EACCES a reserved port
 * (22, 8283), EPERM something the host policy forbids, EADDRNOTAVAIL a host
 * address that is not there, EINVAL malformed input. */

/* Empties E. */
void oci_err_init(struct oci_err *e);

/* Records one problem (printf FMT) in E and returns -ERRNUM (or -EINVAL when
 * ERRNUM is 0), so that a caller can write `return oci_err_add(e, EINVAL, ...)`.
 * Every problem stays one harmless line even when it quotes untrusted input:
 * ASCII controls and bytes that are not UTF-8 become '?'; C1 controls, bidi
 * overrides and isolates (which reorder what a terminal shows) and Unicode
 * line separators become visible \\uXXXX escapes. */
int oci_err_add(struct oci_err *e, int errnum, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Like oci_err_add, with ": strerror(ERRNUM)" appended; for failures where errno
 * carries the reason. */
int oci_err_addp(struct oci_err *e, int errnum, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Appends every problem of SRC to DST, each prefixed with "PREFIX: " when
 * PREFIX is not NULL. DST may be NULL. */
void oci_err_append(struct oci_err *dst, const struct oci_err *src, const char *prefix);

/* Writes every line to F, each prefixed with PREFIX (may be NULL), and a last
 * "... and N more problems" line when some were dropped. */
void oci_err_print(const struct oci_err *e, FILE *f, const char *prefix);

/* Copies SRC into DST (LEN bytes, always terminated), made harmless as
 * oci_err_add does with its lines. */
void oci_sanitize(const char *src, char *dst, size_t len);

/* Number of lines held (at most OCI_ERR_MAX). */
unsigned oci_err_lines(const struct oci_err *e);

#endif
