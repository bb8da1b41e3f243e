/* SPDX-License-Identifier: MIT */
#ifndef PORTSIDE_LIB_REFUSAL_H
#define PORTSIDE_LIB_REFUSAL_H

/* The hook's refusal log, ROOT/hook.log: why a container's start was refused,
 * for users of runtimes that hide a hook's stderr (crun) and for `portsidectl
 * logs` and `doctor`. One JSON object a line, written and read only here:
 *
 *   {"time":"2026-11-22T10:00:00Z","id":"ID","reason":"port-in-use","message":"..."}
 *
 * The id is a field matched exactly (never a substring of the line), the
 * reason a code tools switch on (never a phrase of the message), and the
 * message was made harmless by oci_err. The file is 0600 and rotates to
 * hook.log.1 past PS_REFUSAL_LOG_MAX bytes.
 *
 * A start that used the id of a running container of another bundle is
 * nobody's refusal: its line names the id in PS_REFUSAL_UNATTRIBUTED, not in
 * "id", and says only that such a start was refused:
 *
 *   {"time":"...","idInUse":"ID","reason":"reserved","message":"a start using this id was refused"}
 *
 * ps_refusal_decode refuses such a line, so no reader shows it as ID's. */

#include <stddef.h>

#include "../base/err.h"
#include "../oci/state.h"

#define PS_REFUSAL_LOG_MAX	(1024 * 1024)
#define PS_REFUSAL_UNATTRIBUTED "idInUse"

enum ps_reason {
	PS_REASON_INVALID = 0, /* malformed annotation or input */
	PS_REASON_RESERVED,    /* port 22 or 8283 */
	PS_REASON_POLICY,      /* the host policy forbids it */
	PS_REASON_IN_USE,      /* a host port is held by another process */
	PS_REASON_ADDRESS,     /* a host address that is not on this host */
	PS_REASON_SIDECAR,     /* the sidecar did not start */
	PS_REASON_OTHER,
};

struct ps_refusal {
	char time[32];
	char id[OCI_ID_MAX_LEN + 1];
	enum ps_reason reason;
	char message[OCI_ERR_LEN];
};

/* The kind of problem an oci_err line recorded with ERRNUM is. */
enum ps_reason ps_reason_of(int errnum);
const char *ps_reason_name(enum ps_reason r);

/* One log line (with its newline) for R in *LINE, which the caller frees. */
int ps_refusal_encode(const struct ps_refusal *r, char **line);

/* Decodes one line; -EINVAL for anything that is not a refusal record. */
int ps_refusal_decode(const char *line, size_t len, struct ps_refusal *r);

/* Appends every line of E, as refusals of ID, to the log. */
int ps_refusal_log(const char *id, const struct oci_err *e);

/* Appends one line for a refused start that used ID though ID is not its
 * container's (above): the reason of E's first line, none of its text,
 * which whoever started it chose. */
int ps_refusal_log_unattributed(const char *id, const struct oci_err *e);

/* The refusal log's path in BUF (what `portsidectl events` follows). */
int ps_refusal_log_path(char *buf, size_t len);

/* Calls EACH for every refusal of exactly ID (NULL: of every container),
 * oldest first; returns how many. */
int ps_refusals_each(const char *id, void (*each)(const struct ps_refusal *r, void *arg), void *arg);

#endif
