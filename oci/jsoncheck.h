/* SPDX-License-Identifier: MIT */
#ifndef PORTSIDE_OCI_JSONCHECK_H
#define PORTSIDE_OCI_JSONCHECK_H

#include <stddef.h>

/* Checks that BUF[0..LEN) is one RFC 8259 JSON value (surrounding whitespace
 * allowed), nested at most MAX_DEPTH deep, with no object naming a member twice.
 *
 * Why this exists: json-c also accepts single-quoted strings, NaN, Infinity and
 * "1.", and keeps the last of two equal keys. An annotation that two readers
 * (portside and, say, a Kubernetes admission webhook) understand differently is
 * how a policy gets bypassed, so portside reads only JSON that every parser
 * reads the same way. Duplicate keys are compared as written (no unescaping).
 *
 * Returns 0, or -EINVAL with *WHY (a static string) and *OFF (the byte offset). */
int oci_json_check(const char *buf, size_t len, unsigned max_depth, const char **why, size_t *off);

#endif
