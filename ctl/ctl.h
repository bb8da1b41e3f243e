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
int ctl_expose(int argc, char **argv);
int ctl_unexpose(int argc, char **argv);
int ctl_autoforward(int argc, char **argv);
int ctl_metrics(int argc, char **argv);
int ctl_top(int argc, char **argv);

/* expose.c: restore of a sidecar that runs: serves what ID's record says
 * (TB_SYNC, table/change.h); and how a change's outcome is printed. */
struct tb_outcome;
struct oci_err;
int ctl_sync(const char *id, struct tb_outcome *o, struct oci_err *e);
void ctl_print_outcome(const struct tb_outcome *o);

/* state.c: reading /run/portside. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../lib/control.h"
#include "../lib/forwards.h"
#include "../lib/reply.h"

/* How long portsidectl waits for a sidecar's reply (ps_ask_*, lib/control.h). */
#define CTL_ASK_MS 1000

/* resolve.c: the id ARG names (the id, a prefix of 8 or more characters, a
 * Kubernetes NS/POD/CONTAINER or POD/CONTAINER name that podman or a CRI
 * runtime confirms, a podman name) in ID, when ARG fits exactly one
 * container in all these ways together. CTL_EXIT_OK, or another exit status
 * after a one-line message (an ambiguous ARG lists what it fits). */
int ctl_resolve(const char *arg, char *id, size_t len);
/* ARG exactly as a container's id (its directory under /run/portside), no
 * name or prefix looked up, podman and crictl not asked: for programs that
 * took the id from `ls --json` (a live change then costs no podman run). */
int ctl_resolve_id(const char *arg, char *id, size_t len);
/* The same, saying nothing when QUIET: for `wait`, which asks again until it
 * appears. *AMBIGUOUS (NULL: not wanted) is set when ARG fits several. The
 * programs asked are done by DEADLINE (ps_now_ms; 0: CTL_RESOLVE_MS from
 * now, the limit ctl_resolve keeps): one not done then leaves ARG
 * unresolved. */
/* A stopped or dead sidecar's status, from its record F: its mappings with
 * every counter 0 (what ls and metrics show instead of an answer). */
int ctl_status_from_record(const struct ps_forwards *f, struct ps_status *st);

/* The Kubernetes names of IDS (N of them) that containerd confirms, for
 * ls: NAMES[i] is "" for one it does not. Asks ctr twice in all, and only
 * when some container claims a name; crictl is not asked. */
void ctl_cri_names(char *const *ids, size_t n, char (*names)[OCI_KUBE_NAME_MAX], int64_t deadline);
int ctl_resolve_until(const char *arg, char *id, size_t len, bool quiet, bool *ambiguous, int64_t deadline);
/* How long one resolve may spend asking podman and crictl, all together. */
#define CTL_RESOLVE_MS 10000

/* names.c: the pure parts of naming, for resolve.c and the unit tests. */
/* True when the Kubernetes NAME (NS/POD/CONTAINER) is ARG, or ends with ARG
 * as /POD/CONTAINER. */
bool ctl_kube_matches(const char *name, const char *arg);
/* Reads one line of `podman ps --pod --no-trunc --format
 * '{{.ID}}\t{{.Pid}}\t{{.PodName}}\t{{.Names}}\t{{.IsInfra}}'`: 0 with the
 * id (IDLEN >= 65), the pid and "default/POD/CONTAINER" in NAME; -ENOENT for
 * an infra container or one outside a pod; -EINVAL for anything else. */
int ctl_podman_kube_line(const char *line, char *id, size_t idlen, long *pid, char *name, size_t len);
/* Reads `crictl inspect -o json ID` (BUF, BLEN bytes): 0 with the kubelet's
 * NS/POD/CONTAINER labels in NAME and the container's pid, when the answer
 * is about ID; -EINVAL otherwise. */
int ctl_cri_inspect_parse(const char *buf, size_t blen, const char *id, char *name, size_t len, long *pid);
/* Reads `ctr -n k8s.io containers info ID` (containerd's own record of a
 * container, where crictl is not installed): 0 with NS/POD/CONTAINER in
 * NAME from the io.kubernetes.cri.* keys containerd wrote into the spec it
 * keeps, when that record is ID's and of a CRI app container (label
 * io.cri-containerd.kind "container"); -EINVAL otherwise. */
int ctl_ctr_info_parse(const char *buf, size_t blen, const char *id, char *name, size_t len);
/* The pid of task ID in `ctr task ls` output (BUF): > 0, or -ENOENT. */
long ctl_ctr_task_pid(const char *buf, const char *id);
/* How many characters of ID to show so that no other of IDS (N of them; ID
 * may be among them) reads the same: a 64-hex id's first CTL_SHORT_ID_MIN
 * or more, any other id whole. */
#define CTL_SHORT_ID_MIN 12
/* True when ls shows ID cut short: a runtime's random 64-hex id. */
bool ctl_id_shortened(const char *id);
size_t ctl_id_display_len(char *const *ids, size_t n, const char *id);

/* ask.c: runs ARGV (no shell; found on a fixed search path, with an
 * environment of its own; stdin, stderr on /dev/null), killed at DEADLINE
 * (ps_now_ms) or past MAX bytes of output. Its output, NUL-terminated, in
 * *OUT (the caller frees it) and its length, when it exits 0 in time; else
 * -ENOENT (not installed, or failed), -ETIMEDOUT (too slow: killed, its
 * answer unknown), -E2BIG (too long) or -errno. */
int ctl_ask(char *const argv[], size_t max, int64_t deadline, char **out);

/* The ids with a directory under /run/portside. */
int ctl_ids(char ***out, size_t *n);
void ctl_ids_free(char **v, size_t n);
/* "1.2.3.4:80" or "[::1]:80". */
void ctl_format_addr(const struct oci_ip *ip, unsigned port, char *buf, size_t len);

/* allow.c: an allow list as a JSON array of networks (NULL, JSON null, for
 * everyone), and as a table shows it: "-", "10.0.0.0/8", "10.0.0.0/8+2". */
struct json_object;
struct json_object *ctl_allow_json(const struct oci_allow *a);
void ctl_allow_short(const struct oci_allow *a, char *buf, size_t len);

/* doctor.c: 1 when container ID's port PORT is forwarded and its app listens
 * where the forward reaches it; else 0, with doctor's reason in WHY. */
int ctl_doctor_port(const char *id, unsigned port, char *why, size_t len);

/* ID as ls shows it: of a 64-hex id its first 12 characters, or as many
 * more as it takes to tell it from every other container portside knows
 * (ctl_id_display_len); any other id whole. */
#define CTL_SHORT_ID_LEN (OCI_ID_MAX_LEN + 1)
const char *ctl_short_id(const char *id, char *buf, size_t len);
/* The same in one of a few static buffers, for messages. */
const char *ctl_sid(const char *id);

/* Prints "portsidectl: MSG" on stderr. */
void ctl_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
