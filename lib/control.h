/* SPDX-License-Identifier: MIT */
#ifndef PORTSIDE_LIB_CONTROL_H
#define PORTSIDE_LIB_CONTROL_H

/* The sidecar's control socket (PS_CONTROL_SOCK in a container's
 * directory): one request line per connection, one reply, then the sidecar
 * closes. ADOPT comes with the pidfd of ID's init (a container joined the
 * netns); RELEASE says ID's poststop ran. */

#include <stdbool.h>
#include <stddef.h>

#include "forwards.h"

/* The requests, spelled here only: the hook, portsidectl and the sidecar
 * use these names and the codec below. */
enum ps_ctl_cmd {
	PS_CTL_STOP = 0,  /* "stop": the sidecar ends; reply "ok" */
	PS_CTL_STATUS,	  /* "status": counters, JSON (reply.h) */
	PS_CTL_LISTENERS, /* "listeners": the app's listening sockets, JSON (reply.h) */
	PS_CTL_ADOPT,	  /* "adopt ID" with ID's init pidfd; reply "ok" */
	PS_CTL_RELEASE,	  /* "release ID"; reply "remaining N" */
	PS_CTL_APPLY,	  /* "apply HEAD" and a new port table; reply "ok" or "error: WHY" */
	PS_CTL_UNKNOWN,
};

/* One request line (with its newline) in BUF; ID only for ADOPT and
 * RELEASE (APPLY has a line of its own, below). Its length, or
 * -ENAMETOOLONG. */
int ps_ctl_encode(enum ps_ctl_cmd cmd, const char *id, char *buf, size_t len);

/* The request in LINE (its newline stripped); *ARG points at its id (for
 * APPLY: the rest of its line, for ps_apply_head_decode), or at "" when it
 * takes none. PS_CTL_UNKNOWN for anything else, an id that is not one
 * included. */
enum ps_ctl_cmd ps_ctl_decode(const char *line, const char **arg);

/* APPLY (table/change.c to sidecar/apply.c): the line
 *   "apply BYTES NFDS CLOSE REASON BY\n"
 * then BYTES bytes of a record (forwards.h): the whole table the sidecar is
 * to serve from now on. Each forward's "fd" is an index into the NFDS
 * listeners that come with the bytes (SCM_RIGHTS, at most PS_FDPASS_MAX a
 * message, in order), or -1 for one the sidecar serves already (same
 * host address, port and protocol: kept, or pinned when it was automatic).
 * Served forwards the table lacks are unserved; CLOSE ("close" or "keep")
 * says whether their connections end too. REASON is the events' reason for
 * what it adds ("live", "restore"), BY who asked, for the sidecar's log.
 * The reply: "ok", "ok but: WHY" (applied, but a listener it could not
 * serve), or "error: WHY" (refused, the sidecar unchanged). */
#define PS_APPLY_MAX_BYTES  PS_FORWARDS_MAX_BYTES
#define PS_APPLY_MAX_FDS    PS_FORWARDS_MAX_FORWARDS
#define PS_APPLY_REASON_MAX 24
#define PS_APPLY_BY_MAX	    160
struct ps_apply_head {
	size_t bytes, nfds;
	bool close_conns;
	char reason[PS_APPLY_REASON_MAX]; /* [a-z-], at least one */
	char by[PS_APPLY_BY_MAX];	  /* printable ASCII, at least one */
};
/* The line (with its newline) into BUF: its length, or -EINVAL for a head
 * out of bounds. The decoder takes the rest of the line after "apply ";
 * 0 or -EINVAL. */
int ps_apply_head_encode(const struct ps_apply_head *h, char *buf, size_t len);
int ps_apply_head_decode(const char *arg, struct ps_apply_head *h);

/* Sends APPLY (H, BODY of H->bytes, the H->nfds descriptors FDS) to ID's
 * sidecar and reads its reply into REPLY within TIMEOUT_MS: its length or
 * -errno. */
int ps_ctl_apply(const char *id, const struct ps_apply_head *h, const char *body, const int *fds, char *reply,
		 size_t len, int timeout_ms);

/* The reply to RELEASE: "remaining N\n" into BUF (its length), and back. */
int ps_ctl_remaining_encode(unsigned n, char *buf, size_t len);
int ps_ctl_remaining_decode(const char *reply, unsigned *n);

/* Typed calls: CMD to ID's sidecar, its reply (NUL-terminated, at most LEN
 * - 1 bytes) in REPLY within TIMEOUT_MS. ARG is the id ADOPT and RELEASE
 * name, PASS the descriptor ADOPT hands over (-1: none). The reply's length
 * or -errno. */
int ps_ctl_call(const char *id, enum ps_ctl_cmd cmd, const char *arg, int pass, char *reply, size_t len,
		int timeout_ms);

/* STATUS and LISTENERS as typed calls: ask ID's sidecar within TIMEOUT_MS
 * and decode its reply (reply.h) into *OUT. 0, or -errno (the sidecar is
 * gone, slow, or said something unreadable). */
struct ps_status;
struct ps_listeners;
int ps_ask_status(const char *id, struct ps_status *out, int timeout_ms);
int ps_ask_listeners(const char *id, struct ps_listeners *out, int timeout_ms);

#endif
