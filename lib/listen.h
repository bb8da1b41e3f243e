/* SPDX-License-Identifier: MIT */
#ifndef PORTSIDE_LIB_LISTEN_H
#define PORTSIDE_LIB_LISTEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../oci/addr.h"

/* A host-side listener on IP:PORT for PROTO (enum oci_proto): non-blocking,
 * close-on-exec, SO_REUSEADDR for TCP only (a port whose last connections sit
 * in TIME_WAIT is free for the next container at once; on UDP it would let a
 * second socket share the port), IPV6_V6ONLY (so that
 * [::] and 0.0.0.0 coexist), listening for TCP. Returns the fd or -errno. */
int ps_listen(const struct oci_ip *ip, unsigned port, unsigned proto);

/* Binds PORT/PROTO on each of the N addresses IPS, all or nothing: FDS[i]
 * gets each listener. With DEFAULTS (addresses the policy chose, not ones a
 * user named), an IPv6 address this host cannot bind (no IPv6) is skipped,
 * its FDS[i] -1: the IPv4 half serves. Returns 0, or -errno with *FAILED the
 * index of the address that failed (every listener made is closed again).
 * The hook's explicit mappings and the sidecar's automatic ones both bind
 * through this. */
int ps_listen_all(const struct oci_ip *ips, size_t n, unsigned port, unsigned proto, bool defaults, int *fds,
		  size_t *failed);

/* The hand-out of autoforwardPorts, for the hook's exposed mappings and the
 * sidecar's automatic forwards alike: the first of the N ports of LIST that
 * TAKEN does not claim (reserved ports never) and that TRY binds. TRY
 * returns 0, -EADDRINUSE to go on with the next port, or another -errno
 * that ends the hand-out. Returns TRY's last answer with *PORT the port it
 * was given, or -EADDRINUSE when every port was taken. */
int ps_hand_out(const uint16_t *list, size_t n, bool (*taken)(unsigned port, void *arg),
		int (*try_bind)(unsigned port, void *arg), void *arg, unsigned *port);

#endif
