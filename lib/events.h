/* SPDX-License-Identifier: MIT */
#ifndef PORTSIDE_LIB_EVENTS_H
#define PORTSIDE_LIB_EVENTS_H

/* What a sidecar did, for `portsidectl events`: ROOT/containers/ID/events,
 * one JSON object a line, written by the sidecar (sidecar/events.c) and read
 * by portsidectl, encoded and decoded only here:
 *
 *   {"time":"2026-11-22T10:00:00.123Z","id":"ID","event":"auto-forwarded",
 *    "protocol":"tcp","hostIP":"0.0.0.0","externalPort":18080,"localPort":3000}
 *
 * "reason" is a code tools switch on, "message" the sentence for people. The
 * hook's refusals stay in its own log (refusal.h); portsidectl shows both. */

#include <stdbool.h>
#include <stddef.h>

#include "../oci/addr.h"
#include "../oci/state.h"

#define PS_EVENT_LINE_MAX 2048
#define PS_EVENTS_ROTATE  (256 * 1024) /* events and events.1: 512 KiB at most */

enum ps_event_kind {
	PS_EV_FORWARDED = 0, /* an explicit mapping is served */
	PS_EV_AUTO_FORWARDED,
	PS_EV_CLOSED,  /* an automatic forward ended: the app closed its port */
	PS_EV_REFUSED, /* a start refused, or a port not forwarded automatically */
	PS_EV_STOPPED, /* the sidecar stopped */
	PS_EV_DROPPED, /* events not written: the rate limit */
	PS_EV_N,
};

struct ps_event {
	char time[32];
	char id[OCI_ID_MAX_LEN + 1];
	enum ps_event_kind kind;
	bool has_port;	       /* the fields below are set */
	unsigned proto;	       /* enum oci_proto */
	struct oci_ip host_ip; /* family 0: none (a port not forwarded) */
	unsigned external_port, local_port;
	char reason[32];
	char message[512];
};

const char *ps_event_name(enum ps_event_kind k);

/* "2026-11-22T10:00:00.123Z", now, into BUF (at least 32 bytes). */
void ps_event_time(char *buf, size_t len);

/* Whether T is a time as ps_event_time and the hook's refusal log write it,
 * "2026-11-22T10:00:00Z" with or without up to 9 digits of fraction: only
 * such a time is ever decoded or shown. */
bool ps_event_time_valid(const char *t);

/* One line (with its newline) for EV into BUF; its length, or -ENOSPC. */
int ps_event_encode(const struct ps_event *ev, char *buf, size_t len);

/* Decodes one line; -EINVAL for anything that is not an event. */
int ps_event_decode(const char *line, size_t len, struct ps_event *ev);

#endif
