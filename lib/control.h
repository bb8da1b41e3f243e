/* SPDX-License-Identifier: MIT */
#ifndef PORTSIDE_LIB_CONTROL_H
#define PORTSIDE_LIB_CONTROL_H

/* The sidecar's control socket (PS_CONTROL_SOCK in a container's
 * directory): one request line per connection, one reply, then the sidecar
 * closes. ADOPT comes with the pidfd of ID's init (a container joined the
 * netns); RELEASE says ID's poststop ran. */

#include <stddef.h>

/* The requests, spelled here only: the hook, portsidectl and the sidecar
 * use these names and the codec below. */
enum ps_ctl_cmd {
	PS_CTL_STOP = 0,  /* "stop": the sidecar ends; reply "ok" */
	PS_CTL_STATUS,	  /* "status": counters, JSON (reply.h) */
	PS_CTL_LISTENERS, /* "listeners": the app's listening sockets, JSON (reply.h) */
	PS_CTL_ADOPT,	  /* "adopt ID" with ID's init pidfd; reply "ok" */
	PS_CTL_RELEASE,	  /* "release ID"; reply "remaining N" */
	PS_CTL_UNKNOWN,
};

/* One request line (with its newline) in BUF; ID only for ADOPT and
 * RELEASE. Its length, or -ENAMETOOLONG. */
int ps_ctl_encode(enum ps_ctl_cmd cmd, const char *id, char *buf, size_t len);

/* The request in LINE (its newline stripped); *ARG points at its id, or at
 * "" when it takes none. PS_CTL_UNKNOWN for anything else, an id that is
 * not one included. */
enum ps_ctl_cmd ps_ctl_decode(const char *line, const char **arg);

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
