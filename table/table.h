/* SPDX-License-Identifier: MIT */
#ifndef PORTSIDE_TABLE_H
#define PORTSIDE_TABLE_H

/* The port table's one path, below the hook and portsidectl: a container's
 * start (hook/create.c), `portsidectl restore` and a live change
 * (`portsidectl expose`, `unexpose`, `autoforward`) all validate, bind the
 * host side, hand the listeners to the sidecar and write the record here. */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "../base/err.h"
#include "../lib/forwards.h"
#include "../oci/policy.h"
#include "../oci/ports.h"

/* How long a start waits for the sidecar's readiness report. */
#define TB_READY_TIMEOUT_MS 5000

/* bind.c: binds every exposed mapping of PORTS on the host, in this netns,
 * appending to *OUT (empty, or an array with room up to the next power of
 * two from OUT->n: it grows at each power of two);
 * on POOL_ADDR (may be NULL) where a mapping names no hostIP.
 * Fills *OUT (fds in the forwards' fd fields, in the hook's numbering). An
 * external port in use is an error naming its holder where it can be found. */
int tb_bind(const struct oci_ports *ports, const struct oci_policy *pol, const struct oci_ip *pool_addr,
	    struct ps_forwards *out, struct oci_err *e);

/* bind.c: where a private mapping without a hostIP binds, and automatic
 * forwards under a private policy: the container's pool address when it is a
 * loopback one (each container keeps its own ports), else 127.0.0.1 and ::1.
 * Returns how many addresses it wrote. */
size_t tb_private_addresses(const struct oci_ip *pool_addr, struct oci_ip out[2]);

/* pool.c: the first address of the policy's addressPool that no recorded
 * container binds (read from each container's addresses file, and only
 * where it has none from its record). Call with the lock held. */
int tb_pool_pick(const struct oci_policy *pol, struct oci_ip *out, struct oci_err *e);

/* pool.c: writes ID's addresses file (rundir.h) from its record F, for the
 * next hand-out to read instead of F. -E2BIG when F binds too many
 * addresses to list (then there is no file and the record is read). */
int tb_pool_record(const char *id, const struct ps_forwards *f);

/* Closes every listener fd in F. */
void tb_listen_close(struct ps_forwards *f);

/* Describes who listens on PORT/PROTO in this netns ("nc (pid 42)"), or writes
 * "" when nobody can be found. The name is the process's own choice: made
 * harmless as oci_sanitize does (no control character, valid UTF-8). */
void tb_port_holder(unsigned port, unsigned proto, char *buf, size_t len);

/* True when something of this netns listens on PORT/PROTO (TCP) or holds it
 * (UDP), named or not. */
bool tb_port_listened(unsigned port, unsigned proto);

/* spawn.c: checks that PATH is an absolute path to an executable regular
 * file that only root can change, in directories only root can change
 * (safepath.h), before anything is forked: the refusal (reason "sidecar")
 * names PATH, what is wrong with it and how to fix it. */
int tb_sidecar_check(const char *path, struct oci_err *e);

/* cgroup.c: where the cgroup hierarchies are mounted: v1[i] that of the cpu,
 * memory and pids controllers in this order ("" when none), v2 cgroup2's
 * ("" when none). Read by the hook before it forks: the sidecar's child
 * shares the hook's memory until it execs (spawn.c), so it reads no file
 * and allocates nothing. */
#define TB_CG_CONTROLLERS 3
struct tb_cgroup_mounts {
	char v1[TB_CG_CONTROLLERS][1024];
	char v2[1024];
};
void tb_cgroup_mounts(struct tb_cgroup_mounts *m);
/* In the sidecar's process before it execs: moves it into its own cgroup,
 * portside/ID under each of M, with limits (see cgroup.c for why there).
 * System calls only, nothing allocated. 0, or -errno with "error: WHY"
 * written to REPORT. */
int tb_cgroup_enter(const struct tb_cgroup_mounts *m, const char *id, int report);
/* Removes ID's cgroup, once its sidecar is gone. */
void tb_cgroup_remove(const char *id);
/* Removes the empty cgroups of sidecars gone without a poststop. */
void tb_cgroup_sweep(void);

/* spawn.c: starts the sidecar fully detached (setsid, double fork, fds 0-2 on
 * /dev/null, nothing else inherited but what it needs), checked as
 * tb_sidecar_check does and executed through the descriptor checked, as a
 * uid leased to ID (lib/uids.h; call with the lock held), with a descriptor
 * limit that fits MAX_CONNS and MAX_UDP_FLOWS, hands it NSFD, PIDFD and the N LISTENERS (at
 * the numbers of lib/sidecar_fds.h), and waits for its readiness report. */
int tb_spawn(const char *sidecar, const char *id, int nsfd, int pidfd, const int *listeners, size_t n,
	     unsigned max_conns, unsigned max_udp_flows, struct oci_err *e);

/* record.c: writes ID's record (forwards.json) from F atomically, each
 * forward's fd as a sidecar started from it sees it, and its addresses
 * file (tb_pool_record). F's fds are left as they were. */
int tb_record_write(const char *id, struct ps_forwards *f, struct oci_err *e);

/* record.c: binds every forward of F again where the record says, but for
 * those with FDS[i] >= 0 already and those SKIP (may be NULL) says are
 * served: all or nothing is the caller's (what was bound is in FDS).
 * *BOUND (may be NULL) counts the listeners bound. 0, or -errno with the
 * one line naming the port and its holder. */
int tb_rebind(const struct ps_forwards *f, int *fds, bool (*skip)(const struct ps_forward *w, void *arg), void *arg,
	      unsigned *bound, struct oci_err *e);

/* restore.c: starts a new sidecar for container ID, whose sidecar died while
 * the container runs, from the state the hook recorded at start: the host
 * ports bound again where they were, the sidecar the container was started
 * with (SIDECAR_DEFAULT for a state that did not record one). Refused, one
 * line in E, when the sidecar runs, the container stopped, or a host port
 * was taken meanwhile (its holder named). */
int tb_restore(const char *id, const char *sidecar_default, struct oci_err *e);

#endif
