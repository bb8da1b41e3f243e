/* SPDX-License-Identifier: MIT */
#ifndef PORTSIDE_LIB_RUNDIR_H
#define PORTSIDE_LIB_RUNDIR_H

/* /run/portside: where each forwarded container has its state.
 *
 *   /run/portside/lock                    serialises hooks' decisions (lib/starting.h)
 *   /run/portside/gc.stamp                when ps_gc last ran (its mtime)
 *   /run/portside/hook.log[.1]            the hook's refusals (lib/refusal.h), 0600
 *   /run/portside/netns/<dev>:<ino>       the id whose sidecar serves that netns
 *   /run/portside/uids/<uid>              the id whose sidecar has that uid (uids.h)
 *   /run/portside/containers/<id>/        one directory a container, 0700:
 *     forwards.json   what is forwarded (forwards.h)
 *     bundle          the bundle it was started from (a poststop of the same
 *                     id from another runtime root leaves it alone)
 *     sidecar.pid     the sidecar's pid and start time ("PID START")
 *     sidecar.log[.1] its log, rotated (1 MiB at most together)
 *     control.sock    its control socket, mode 0600
 *     owner           for a container that joined another's netns: the id
 *                     whose sidecar serves it
 *     kube-name       for such a container: the NS/POD/CONTAINER a CRI
 *                     runtime's own keys gave it (a claim, as the record's)
 *     released        its poststop ran while others of its netns still run
 *     events[.1]      what its sidecar did, one JSON object a line (events.h)
 *     addresses       the host addresses it holds against an addressPool, one
 *                     a line: what the pool's hand-out reads (table/pool.c)
 *                     rather than every container's whole record
 *     process         "PID START DEV:INO COOKIE" of its init, as recorded:
 *                     what ps_container_alive reads rather than the record
 *     starting        "PID START" of the hook starting its sidecar, while it
 *                     waits for it without the lock (lib/starting.h)
 *
 * Containers live in a directory of their own, so that no container id
 * ("lock", "netns", "hook.log") can name one of portside's own files.
 *
 * PORTSIDE_RUN_DIR overrides the root (tests; the hooks.d file sets an env). */

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "forwards.h"

#define PS_RUN_DIR_DEFAULT "/run/portside"
#define PS_CONTAINERS_DIR  "containers"

struct sockaddr_un;

/* The root directory (no trailing slash). */
const char *ps_run_dir(void);

/* Writes "ROOT/containers/ID/NAME" (NAME may be NULL: the container's
 * directory; ID NULL too: the directory of all containers) into BUF.
 * -ENAMETOOLONG if it does not fit. */
int ps_path(char *buf, size_t len, const char *id, const char *name);

/* The files of a container's directory (the layout above): the one list
 * that makes, reads and removes them. */
enum ps_file {
	PS_FORWARDS,	    /* forwards.json */
	PS_BUNDLE,	    /* bundle */
	PS_OWNER,	    /* owner */
	PS_RELEASED,	    /* released */
	PS_SIDECAR_PID,	    /* sidecar.pid */
	PS_SIDECAR_LOG,	    /* sidecar.log */
	PS_SIDECAR_LOG_OLD, /* sidecar.log.1 */
	PS_EVENTS,	    /* events */
	PS_EVENTS_OLD,	    /* events.1 */
	PS_CONTROL_SOCK,    /* control.sock */
	PS_ADDRESSES,	    /* addresses */
	PS_PROCESS,	    /* process */
	PS_NAME,	    /* kube-name */
	PS_STARTING,	    /* starting */
	PS_FILES,
};

/* The name of F in a container's directory. */
const char *ps_file_name(enum ps_file f);

/* Writes "ROOT/containers/ID/<F's name>" into BUF; -ENAMETOOLONG if it does
 * not fit. */
int ps_file(char *buf, size_t len, const char *id, enum ps_file f);

/* Opens ROOT/containers for listing (NULL, errno set, when it cannot). */
DIR *ps_containers_open(void);

/* The address of ID's control socket in *SA. When its path is too long for a
 * sockaddr_un, *DIRFD gets a descriptor of ID's directory, which the address
 * goes through and the caller closes after bind or connect (-1 otherwise). */
int ps_control_addr(const char *id, struct sockaddr_un *sa, int *dirfd);

/* Creates the root (0711), ROOT/containers and ROOT/netns (0700) if missing. */
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
 * whose owner's sidecar is gone, unless the container itself still runs (its
 * sidecar died: `portsidectl restore` can bring it back) or its start is
 * pending (lib/starting.h). Call with the lock held. Returns how many. */
int ps_gc(void);

/* True when ps_gc is due: it last ran (ROOT/gc.stamp's mtime) a second ago
 * or more, or never; the stamp is then touched. A burst of starts (a node
 * after a drain) runs it about once a second rather than once each. What it
 * removes holds no port (a dead sidecar's are closed), but may hold a pool
 * address, a uid lease and an empty cgroup for that second: a pool's
 * hand-out that finds no address free runs it at once (hook/create.c), and
 * the uid range holds 65536. Call with the lock held. */
bool ps_gc_due(void);

/* The id in ROOT/ID/owner (the container whose sidecar serves ID's netns),
 * or "" when there is none or it is not a valid id. */
void ps_owner(const char *id, char *out, size_t len);

/* The Kubernetes name ID's hook read from a CRI runtime's own keys
 * (oci_kube_name): its record's, or, for a container that joined another's
 * sidecar (a pod's app container), ROOT/ID/kube-name. "" when none or not a
 * valid name. Only a claim: see ctl/resolve.c. */
void ps_kube_claim(const char *id, char *out, size_t len);

/* Reads ROOT/ID/forwards.json into *OUT. */
int ps_record_load(const char *id, struct ps_forwards **out, struct oci_err *e);

/* Writes BUF to PATH atomically (temp file + rename), mode 0600. */
int ps_write_file(const char *path, const char *buf, size_t len);

/* Writes ID's file F as "PID START\n" of the calling process: with its start
 * time, a later process that gets its pid is never taken for it
 * (lib/identity.h). The sidecar's pid file, a start's mark. */
int ps_write_self(const char *id, enum ps_file f);

/* The pid of ID's sidecar if it is alive and really the one that wrote
 * sidecar.pid ("PID START": its start time checked, and its comm, on the
 * process a pidfd pins, so a recycled pid is not taken for it; a pid file
 * without a start time, from a sidecar an earlier portside started, names
 * only a process that began before the file was written and that no pid file
 * with a start time names); 0 if none. When PIDFD is not NULL, *PIDFD gets that
 * pidfd (the caller closes it): what is signalled is what was checked. */
pid_t ps_sidecar_alive(const char *id, int *pidfd);

/* Opens the container F records if it still runs: its init is the recorded
 * process (pid and start time) and is in the recorded network namespace
 * (DEV:INO, and the cookie when recorded). *PIDFD and *NSFD (each may be
 * NULL) get descriptors of them. Else -ESRCH and WHY (LEN bytes) says why,
 * for "the container ... is not running (WHY)". A record without a start
 * time (an earlier portside's) never shows a running container: its pid and
 * inode could be anyone's by now. */
int ps_container_open(const struct ps_forwards *f, int *pidfd, int *nsfd, char *why, size_t len);

/* True when the container ID's record names is still running
 * (ps_container_open), read from ID's process file, else its record. */
bool ps_container_alive(const char *id);

/* Writes F->id's process file (the layout above) from F. */
int ps_process_write(const struct ps_forwards *f);

/* pidfd_open(2), for libcs that lack the wrapper. */
int ps_pidfd_open(pid_t pid);

#endif
