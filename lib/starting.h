/* SPDX-License-Identifier: MIT */
#ifndef PORTSIDE_LIB_STARTING_H
#define PORTSIDE_LIB_STARTING_H

/* A start in progress, so that starts of different containers overlap.
 *
 * A hook decides under ROOT/lock: the id, the netns, a pod's join, the pool
 * address, the host ports (bound), the record. Then it marks the container
 * ROOT/containers/ID/starting ("PID START" of the hook itself) and lets the
 * lock go, and leases the sidecar's uid, starts the sidecar and waits for it
 * to be ready without it: the slow part, a few hundred ms on a loaded node,
 * which otherwise every other start waits behind. A failed start takes the
 * lock again to undo what it recorded.
 *
 * What another hook or portsidectl would take for a container whose sidecar
 * died treats a pending one as the starting container it is: the id is in
 * use, a pod's second container waits for its owner's sidecar, ps_gc and the
 * uid sweep leave its state and lease, restore does not start a second
 * sidecar. The mark names the hook's process by pid and start time: a hook
 * killed meanwhile (its runtime's timeout) leaves a mark nobody honours. */

#include <stdbool.h>

/* Writes ID's mark, naming the calling process. */
int ps_start_mark(const char *id);

/* Removes ID's mark. */
void ps_start_clear(const char *id);

/* True when ID has a mark whose hook still runs. */
bool ps_start_pending(const char *id);

/* Waits until ID's start is not pending, at most TIMEOUT_MS: 0, or
 * -ETIMEDOUT. Call without the lock: the start may need it to clean up. */
int ps_start_wait(const char *id, int timeout_ms);

#endif
