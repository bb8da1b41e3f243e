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

/* state.c: reading /run/portside. */
#include <json-c/json.h>
#include <stddef.h>

#include "../oci/forwards.h"

/* Sends CMD to ID's sidecar; its JSON reply, or NULL. The caller puts it. */
json_object *ctl_ask(const char *id, const char *cmd);
/* The ids with a directory under /run/portside. */
int ctl_ids(char ***out, size_t *n);
void ctl_ids_free(char **v, size_t n);
/* "1.2.3.4:80" or "[::1]:80". */
void ctl_format_addr(const struct oci_ip *ip, unsigned port, char *buf, size_t len);

/* Prints "portsidectl: MSG" on stderr. */
void ctl_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
