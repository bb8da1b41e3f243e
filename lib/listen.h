/* SPDX-License-Identifier: MIT */
#ifndef PORTSIDE_LIB_LISTEN_H
#define PORTSIDE_LIB_LISTEN_H

#include "../oci/addr.h"

/* A host-side listener on IP:PORT for PROTO (enum oci_proto): non-blocking,
 * close-on-exec, SO_REUSEADDR for TCP only (a port whose last connections sit
 * in TIME_WAIT is free for the next container at once; on UDP it would let a
 * second socket share the port), IPV6_V6ONLY (so that
 * [::] and 0.0.0.0 coexist), listening for TCP. Returns the fd or -errno. */
int ps_listen(const struct oci_ip *ip, unsigned port, unsigned proto);

#endif
