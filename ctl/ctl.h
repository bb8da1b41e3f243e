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

/* Prints "portsidectl: MSG" on stderr. */
void ctl_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
