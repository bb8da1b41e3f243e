/* SPDX-License-Identifier: MIT */
#ifndef PORTSIDE_LIB_SIDECAR_FDS_H
#define PORTSIDE_LIB_SIDECAR_FDS_H

/* The descriptors the hook hands the sidecar across exec, at fixed numbers.
 * Listener i of forwards.json is SC_FD_FIRST_LISTENER + i. */
#define SC_FD_READY	     3 /* write "ok\n" or "error: WHY\n", then close */
#define SC_FD_NETNS	     4 /* the container's network namespace */
#define SC_FD_PIDFD	     5 /* the container's init; closed when it had none */
#define SC_FD_FIRST_LISTENER 6

#endif
