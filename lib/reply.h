/* SPDX-License-Identifier: MIT */
#ifndef PORTSIDE_LIB_REPLY_H
#define PORTSIDE_LIB_REPLY_H

/* The sidecar's JSON replies to STATUS and LISTENERS (control.h), one line
 * each, encoded by the sidecar and decoded by portsidectl, only here:
 *
 *   status:    {"pid":N,"connections":N,"autoforwardBinds":N,
 *               "autoforwardWaiting":N,"autoforward":MODE,
 *               "forwards":[{MAPPING,"connections":N,
 *               "connectionsTotal":N,"bytesIn":N,"bytesOut":N,
 *               "refused":{"maxConnections":N,"descriptors":N,
 *               "notAllowed":N,"notListening":N,"localhostOnly":N},
 *               "notAllowed":[{"address":ADDR,"count":N,"ago":S}, ...]}, ...]}
 *   listeners: {"listeners":[{"protocol":"tcp","port":N,"address":"::",
 *               "dual":true,"mapped":false}, ...]}   or   {"error":"..."}
 *
 * MAPPING is the record's (forwards.h, ps_mapping_encode). Decoding is
 * strict about what it reads and ignores fields it does not know, so a
 * newer sidecar's reply still reads. The calls that ask for them are in
 * control.h. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../base/err.h"
#include "../oci/addr.h"
#include "forwards.h"

/* The longest reply portsidectl takes: a status of every forward a
 * container may have (maxPorts 4096 on two addresses, plus automatic ones)
 * fits with room to spare. */
#define PS_REPLY_MAX (4 << 20)

/* Why a sidecar closed a client at once, counted per forward (a UDP
 * datagram that would open a flow counts as a client). */
enum ps_refused {
	PS_REFUSED_MAX_CONNECTIONS, /* maxConnections (or maxUdpFlows) reached */
	PS_REFUSED_DESCRIPTORS,	    /* out of file descriptors */
	PS_REFUSED_NOT_ALLOWED,	    /* the client's address is not in allow */
	PS_REFUSED_NOT_LISTENING,   /* nothing listens on the local port */
	PS_REFUSED_LOCALHOST_ONLY,  /* the app listens on loopback only */
	PS_REFUSED_N,
};

/* The reply's name of WHY ("maxConnections", ...), "" for none. */
const char *ps_refused_name(enum ps_refused why);

/* Client addresses a forward refused lately as not in its allow list, kept
 * per forward for doctor: this many, newest first (a client that rotates
 * addresses only replaces the oldest, so the table stays this small and the
 * status reply bounded). */
#define PS_NOT_ALLOWED_MAX 4
/* The window "count" covers: an address first refused longer ago than this
 * starts counting afresh. */
#define PS_NOT_ALLOWED_WINDOW_S 60

struct ps_not_allowed {
	struct oci_ip ip; /* the client's address (its IPv4 form when IPv4-mapped) */
	uint64_t count;	  /* refused within PS_NOT_ALLOWED_WINDOW_S of the first */
	uint64_t ago;	  /* seconds since the last refusal */
};

/* One forward the sidecar serves, with its counters. */
struct ps_fwd_status {
	struct ps_forward map; /* the mapping fields only (ps_mapping_decode) */
	uint64_t conns_live, conns_total, bytes_in, bytes_out;
	uint64_t refused[PS_REFUSED_N];			       /* 0 from a sidecar that sent none */
	struct ps_not_allowed not_allowed[PS_NOT_ALLOWED_MAX]; /* newest first */
	size_t n_not_allowed;
};

struct ps_status {
	long long pid;	     /* the sidecar's */
	uint64_t conns_live; /* over every forward */
	/* automatic forwarding: host ports it tried to bind since start, and
	 * the app's ports waiting for one (0 from a sidecar that sent none) */
	uint64_t auto_binds, auto_waiting;
	int autoforward; /* enum oci_autoforward, the mode now; -1: a sidecar that sent none */
	size_t n;
	struct ps_fwd_status *v;
};

/* A socket the app listens on (TCP) or has bound (UDP), as sock_diag
 * reports it inside the container's netns. */
struct ps_listener {
	struct oci_ip ip; /* an IPv4-mapped address is given as its IPv4 one */
	uint16_t port;
	uint8_t proto; /* enum oci_proto */
	bool dual;     /* IPv6 without V6ONLY: takes IPv4 too */
	bool mapped;   /* bound as ::ffff:IP (an IPv6 socket) */
};

struct ps_listeners {
	char error[128]; /* "": the list is the sidecar's answer */
	size_t n;
	struct ps_listener *v;
};

/* The reply as one newline-terminated line in a new buffer; NULL when out
 * of memory. ERROR (an errno) replaces the list when not 0. */
char *ps_status_encode(const struct ps_status *s);
char *ps_listeners_encode(const struct ps_listener *l, size_t n, int error);

/* LEN bytes of BUF (a trailing newline allowed) into *OUT, whose array the
 * caller frees with the matching _free; 0, or -errno with why in E. */
int ps_status_decode(const char *buf, size_t len, struct ps_status *out, struct oci_err *e);
int ps_listeners_decode(const char *buf, size_t len, struct ps_listeners *out, struct oci_err *e);
void ps_status_free(struct ps_status *s);
void ps_listeners_free(struct ps_listeners *l);

#endif
