/* SPDX-License-Identifier: MIT */
#ifndef PORTSIDE_LIB_FDPASS_H
#define PORTSIDE_LIB_FDPASS_H

/* One message with descriptors (SCM_RIGHTS) over a unix socket: how the
 * socket factory hands over sockets, a batch at a time, and how a joining
 * container's hook hands its pidfd to the sidecar. */

#include <stddef.h>
#include <sys/types.h>

/* The most descriptors one message carries here (the kernel allows 253). */
#define PS_FDPASS_MAX 64

/* Sends BUF[0..LEN) and the N descriptors FDS (N <= PS_FDPASS_MAX). Returns
 * bytes sent or -errno. */
ssize_t ps_send_fds(int sock, const void *buf, size_t len, const int *fds, size_t n, int flags);

/* Receives into BUF (at most LEN) and at most MAX descriptors into FDS
 * (close-on-exec), their number in *N; any beyond MAX are closed. Returns
 * bytes received or -errno (then *N is 0). */
ssize_t ps_recv_fds(int sock, void *buf, size_t len, int *fds, size_t max, size_t *n, int flags);

/* The same with one descriptor: FD < 0 sends none; *FD is -1 when none came. */
ssize_t ps_send_fd(int sock, const void *buf, size_t len, int fd, int flags);
ssize_t ps_recv_fd(int sock, void *buf, size_t len, int *fd, int flags);

#endif
