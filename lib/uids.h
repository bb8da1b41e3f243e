/* SPDX-License-Identifier: MIT */
#ifndef PORTSIDE_LIB_UIDS_H
#define PORTSIDE_LIB_UIDS_H

/* The uid (and gid, the same number) each sidecar runs as: one of its own,
 * from a range reserved at build time (the Makefile's SIDECAR_UID_BASE and
 * SIDECAR_UID_COUNT, 2046820352 and 65536 by default), never nobody. A uid
 * shared with anything else would share its per-user kernel quotas (pipe
 * buffers, epoll watches, processes, pending signals) and let its processes
 * signal the sidecar or change its limits (prlimit).
 *
 * No passwd entry is needed. A uid is leased to a container by a file
 * ROOT/uids/<uid> (0600, holding the container's id), created with O_EXCL so
 * that two hooks can never take the same one. A uid is skipped while a live
 * process (or thread) has it as any of its ids, supplementary groups
 * included (as a scan of every process at most a second old found: the
 * starts of one second share one), or while /etc/passwd or /etc/group name
 * it (read as files: NSS sources such as LDAP are not asked).
 *
 * A lease is held while a process of its uid runs, or while the start that
 * took it is pending (lib/starting.h: the hook takes it after it marked the
 * container, without the lock): poststop releases the container's lease once
 * its sidecar is gone, ps_gc every lease whose uid no process has and whose
 * start is not pending. */

#include <stdbool.h>
#include <sys/types.h>

#include "../base/err.h"

struct oci_config;

#define PS_UIDS_DIR "uids"

/* The first uid of the range and how many it holds. */
uid_t ps_uid_base(void);
unsigned ps_uid_count(void);

/* True when UID is in the range. */
bool ps_uid_in_range(uid_t uid);

/* Leases a uid of the range to container ID into *UID: the one ID already
 * holds when no process runs with it (a restore), else one of the free ones
 * at random (getrandom), so that nobody can tell in advance which.
 * Call with ID's start marked pending, or with the lock held. -EUSERS when every uid of the range is taken;
 * another -errno when ROOT/uids cannot be made or read. */
int ps_uid_acquire(const char *id, uid_t *uid);

/* Releases ID's leases whose uid no live process has any more. */
void ps_uid_release(const char *id);

/* Releases every lease whose uid no live process has and whose start is
 * not pending (a container gone without poststop, a sidecar that died).
 * Returns how many. */
int ps_uid_sweep(void);

/* Refuses (-EPERM, one line naming the field in E) a container whose
 * processes could run as a uid or gid of the range: without a user
 * namespace, process.user.uid, .gid or an additionalGids entry in it; with
 * one, a uidMappings or gidMappings host range overlapping it (read from
 * /proc/PID/uid_map and gid_map when the config joins one by path and maps
 * nothing). Only containers that cannot change uid are held to this: root
 * with CAP_SETUID and no user namespace can become any uid at any time. */
int ps_uid_container_check(const struct oci_config *cfg, pid_t pid, struct oci_err *e);

#endif
