/* SPDX-License-Identifier: MIT */
#ifndef PORTSIDE_LIB_RUNDIR_H
#define PORTSIDE_LIB_RUNDIR_H

/* /run/portside: where each forwarded container has its state.
 *
 *   /run/portside/lock                 serialises hooks (two containers of a pod)
 *   /run/portside/<id>/forwards.json   what is forwarded (oci/forwards.h)
 *   /run/portside/<id>/sidecar.pid     the sidecar's pid
 *   /run/portside/<id>/sidecar.log     its log
 *   /run/portside/<id>/control.sock    its control socket, mode 0600
 *   /run/portside/<id>/owner           for a container that joined another's
 *                                      netns: the id whose sidecar serves it
 *   /run/portside/netns/<dev>:<ino>    the id whose sidecar serves that netns
 *
 * PORTSIDE_RUN_DIR overrides the root (tests; the hooks.d file sets an env). */

#include <stddef.h>
#include <sys/types.h>

#include "../oci/forwards.h"

#define PS_RUN_DIR_DEFAULT "/run/portside"

/* The root directory (no trailing slash). */
const char *ps_run_dir(void);

/* Writes "ROOT/ID/NAME" (NAME may be NULL: the container's directory) into BUF.
 * -ENAMETOOLONG if it does not fit. */
int ps_path(char *buf, size_t len, const char *id, const char *name);

/* Creates the root (0711) and ROOT/netns (0700) if missing. */
int ps_run_dir_init(void);

/* Takes the exclusive lock on ROOT/lock, waiting at most TIMEOUT_MS; *FD holds
 * it until closed. -ETIMEDOUT if another hook keeps it. */
int ps_lock(int *fd, int timeout_ms);

/* Removes ROOT/ID and what portside put in it. Missing: 0. */
int ps_state_remove(const char *id);

/* Removes the ROOT/netns entries that name ID. */
void ps_netns_forget(const char *id);

/* Removes the state of containers that died without a poststop (a runtime that
 * failed after createRuntime, a crash): directories whose sidecar is gone, or
 * whose owner's sidecar is gone. Call with the lock held. Returns how many. */
int ps_gc(void);

/* The id in ROOT/ID/owner (the container whose sidecar serves ID's netns),
 * or "" when there is none or it is not a valid id. */
void ps_owner(const char *id, char *out, size_t len);

/* Reads ROOT/ID/forwards.json into *OUT. */
int ps_record_load(const char *id, struct oci_forwards **out, struct oci_err *e);

/* Writes BUF to PATH atomically (temp file + rename), mode 0600. */
int ps_write_file(const char *path, const char *buf, size_t len);

/* The pid of ID's sidecar if it is alive and really a portside sidecar (its
 * comm checked, so a recycled pid is not taken for it); 0 if none. When PIDFD
 * is not NULL, *PIDFD gets a pidfd for it (the caller closes it). */
pid_t ps_sidecar_alive(const char *id, int *pidfd);

/* pidfd_open(2), for libcs that lack the wrapper. */
int ps_pidfd_open(pid_t pid);

#endif
