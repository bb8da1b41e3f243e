/* SPDX-License-Identifier: MIT */
#ifndef PORTSIDE_LIB_CONTROL_H
#define PORTSIDE_LIB_CONTROL_H

/* The sidecar's control socket, ROOT/<id>/control.sock: one request line per
 * connection, one reply, then the sidecar closes. Requests: "stop", "status",
 * "listeners", "adopt ID" (with the pidfd of ID's init: a container joined the
 * netns), "release ID" (ID's poststop ran; the reply is "remaining N"). */

#include <stddef.h>

/* Sends CMD to ID's sidecar and reads its reply (NUL-terminated, at most
 * LEN - 1 bytes) within TIMEOUT_MS. Returns the reply length or -errno. */
int ps_control_call(const char *id, const char *cmd, char *reply, size_t len, int timeout_ms);

/* The same, passing the descriptor PASS along with CMD (SCM_RIGHTS). */
int ps_control_call_fd(const char *id, const char *cmd, int pass, char *reply, size_t len, int timeout_ms);

#endif
