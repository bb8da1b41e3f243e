/* SPDX-License-Identifier: MIT */
#ifndef PORTSIDE_LIB_CONTROL_H
#define PORTSIDE_LIB_CONTROL_H

/* The sidecar's control socket, ROOT/<id>/control.sock: one request line per
 * connection ("stop", "status"), one reply, then the sidecar closes. */

#include <stddef.h>

/* Sends CMD to ID's sidecar and reads its reply (NUL-terminated, at most
 * LEN - 1 bytes) within TIMEOUT_MS. Returns the reply length or -errno. */
int ps_control_call(const char *id, const char *cmd, char *reply, size_t len, int timeout_ms);

#endif
