/* SPDX-License-Identifier: MIT */
#ifndef PORTSIDE_OCI_INPUT_H
#define PORTSIDE_OCI_INPUT_H

/* Bounded reading and strict JSON decoding: the only way untrusted bytes enter
 * portside. Everything here has a size cap and refuses what it cannot vouch for. */

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "../base/err.h"

/* Deepest JSON nesting accepted anywhere (the OCI config is ~6 deep). */
#define OCI_JSON_MAX_DEPTH 32

/* Reads FD until EOF into a NUL-terminated heap buffer (*OUT, length *LEN).
 * More than MAX bytes: -EFBIG with "WHAT is larger than MAX bytes". EINTR is
 * retried. The caller frees *OUT. */
int oci_read_fd(int fd, size_t max, const char *what, char **out, size_t *len, struct oci_err *e);

/* Opens PATH (O_RDONLY|O_CLOEXEC|O_NOCTTY, regular files only) and reads it as
 * oci_read_fd does; a missing file is -ENOENT. */
int oci_read_file(const char *path, size_t max, char **out, size_t *len, struct oci_err *e);

/* True when BUF[0..LEN) is well-formed UTF-8 (no overlongs, no surrogates, no
 * code point above U+10FFFF) and holds no NUL byte. */
bool oci_utf8_valid(const char *buf, size_t len);

/* Decodes BUF[0..LEN) as exactly one JSON value: UTF-8 checked, depth-capped,
 * strict (no trailing garbage after the value but whitespace). WHAT names the
 * input in messages. On success *OUT is a new reference the caller puts. */
int oci_json_decode(const char *buf, size_t len, const char *what, json_object **out, struct oci_err *e);

/* Name of a json-c type as a user reads it ("a string", "an integer", ...). */
const char *oci_json_type_name(const json_object *o);

/* Reads O (which may be NULL = absent) as a port number 1-65535 into *PORT.
 * WHAT names the field in messages. */
int oci_json_port(const json_object *o, const char *what, unsigned *port, struct oci_err *e);

#endif
