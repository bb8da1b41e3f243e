/* SPDX-License-Identifier: MIT */
#ifndef PORTSIDE_CTL_H
#define PORTSIDE_CTL_H

/* portsidectl's subcommands: each takes the arguments after its name
 * (argv[0] is the subcommand) and returns the process exit status. */

#define CTL_EXIT_OK	 0
#define CTL_EXIT_INVALID 1 /* the input was checked and refused */
#define CTL_EXIT_USAGE	 2 /* the command line itself is wrong */

int ctl_check(int argc, char **argv);
int ctl_logs(int argc, char **argv);
int ctl_inject(int argc, char **argv);

int ctl_ls(int argc, char **argv);
int ctl_doctor(int argc, char **argv);
int ctl_wait(int argc, char **argv);
int ctl_url(int argc, char **argv);
int ctl_events(int argc, char **argv);
int ctl_restore(int argc, char **argv);

/* state.c: reading /run/portside. */
#include <stddef.h>

#include "../lib/control.h"
#include "../lib/forwards.h"
#include "../lib/reply.h"

/* How long portsidectl waits for a sidecar's reply (ps_ask_*, lib/control.h). */
#define CTL_ASK_MS 1000

/* resolve.c: the id ARG names (the id, a unique prefix of 8 or more
 * characters, a Kubernetes NS/POD/CONTAINER or POD/CONTAINER name, a podman
 * name) in ID. CTL_EXIT_OK, or another exit status after a one-line message. */
int ctl_resolve(const char *arg, char *id, size_t len);
/* The same, saying nothing: for `wait`, which asks again until it appears. */
int ctl_resolve_quiet(const char *arg, char *id, size_t len);

/* The ids with a directory under /run/portside. */
int ctl_ids(char ***out, size_t *n);
void ctl_ids_free(char **v, size_t n);
/* "1.2.3.4:80" or "[::1]:80". */
void ctl_format_addr(const struct oci_ip *ip, unsigned port, char *buf, size_t len);

/* doctor.c: 1 when container ID's port PORT is forwarded and its app listens
 * where the forward reaches it; else 0, with doctor's reason in WHY. */
int ctl_doctor_port(const char *id, unsigned port, char *why, size_t len);

/* ID as ls shows it: 12 characters of a 64-hex id, else the whole id. */
#define CTL_SHORT_ID_LEN (OCI_ID_MAX_LEN + 1)
const char *ctl_short_id(const char *id, char *buf, size_t len);
/* The same in one of a few static buffers, for messages. */
const char *ctl_sid(const char *id);

/* Prints "portsidectl: MSG" on stderr. */
void ctl_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
