/* SPDX-License-Identifier: MIT */
#ifndef PORTSIDE_HOOK_H
#define PORTSIDE_HOOK_H

/* portside-hook: the program the runtime runs at createRuntime (or prestart)
 * and poststop. Each file here is one step of its work. */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "../oci/config.h"
#include "../base/err.h"
#include "../lib/forwards.h"
#include "../oci/policy.h"
#include "../oci/ports.h"
#include "../oci/state.h"
#include "../table/table.h"

struct hook_opts {
	const char *policy_path; /* NULL: OCI_POLICY_PATH, optional */
	const char *sidecar;	 /* NULL: next to the hook, else the installed path */
};

/* Prints "portside: MSG" on stderr: what the runtime shows its user. */
void hook_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* createRuntime / prestart: validate, bind, launch the sidecar, wait. */
int hook_create(const struct hook_opts *o, const struct oci_state *st, const struct oci_config *cfg,
		const struct oci_annotations *ann);

/* poststop: stop the container's sidecar and remove its state; never fails
 * because the sidecar is gone already. */
int hook_poststop(const struct oci_state *st);

/* netns.c: opens the container's network namespace race-free: the config's
 * path when it names one (checked to be PID's), else /proc/PID/ns/net, with
 * PID pinned by a pidfd (*PIDFD, returned for the sidecar to watch); a state
 * without a pid is refused. *KEY gets "DEV:INO" of the namespace, *IDENT
 * what the record keeps to tell them from a later process and namespace
 * with the same numbers (PID's start time; the namespace's cookie, 0 where
 * the kernel has none). */
int hook_netns_open(const struct oci_config *cfg, pid_t pid, int *nsfd, int *pidfd, char key[64],
		    struct ps_ident *ident, struct oci_err *e);

#endif
