/* SPDX-License-Identifier: MIT */
#ifndef PORTSIDE_SIDECAR_FACTORY_H
#define PORTSIDE_SIDECAR_FACTORY_H

/* The socket factory's protocol (factory.c), one SEQPACKET message each way:
 * a request for COUNT sockets of one kind, and a reply with the TAG it
 * answers, RC (0, or the -errno that ended the batch) and the sockets made
 * (possibly fewer than asked, possibly none). */

#include <stddef.h>

struct sc_factory_req {
	int family, type, protocol;
	unsigned count; /* 1..PS_FDPASS_MAX */
	unsigned tag;
};

struct sc_factory_reply {
	int rc;
	unsigned tag;
};

/* Sends REQ on the sidecar's end SP. 0 or -EPIPE. */
int sc_factory_ask(int sp, const struct sc_factory_req *req);

/* Receives one reply (FLAGS: MSG_DONTWAIT or 0) into REP and FDS (room for
 * PS_FDPASS_MAX), their number in *N. 0, -EAGAIN, or -EPIPE. */
int sc_factory_answer(int sp, int flags, struct sc_factory_reply *rep, int *fds, size_t *n);

#endif
