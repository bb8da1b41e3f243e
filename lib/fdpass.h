/* SPDX-License-Identifier: MIT */
#ifndef PORTSIDE_LIB_FDPASS_H
#define PORTSIDE_LIB_FDPASS_H

/* One message with at most one descriptor (SCM_RIGHTS) over a unix socket:
 * how the socket factory hands over sockets and how a joining container's
 * hook hands its pidfd to the sidecar. */

#include <stddef.h>
#include <sys/types.h>

/* Sends BUF[0..LEN) and, when FD >= 0, FD. Returns bytes sent or -errno. */
ssize_t ps_send_fd(int sock, const void *buf, size_t len, int fd, int flags);

/* Receives into BUF (at most LEN) and a descriptor if one came (*FD, else
 * -1; close-on-exec). Returns bytes received or -errno. */
ssize_t ps_recv_fd(int sock, void *buf, size_t len, int *fd, int flags);

#endif
