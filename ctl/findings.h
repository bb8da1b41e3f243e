/* SPDX-License-Identifier: MIT */
#ifndef PORTSIDE_CTL_FINDINGS_H
#define PORTSIDE_CTL_FINDINGS_H

/* Inside portsidectl doctor: a finding, the app's listeners as the sidecar
 * reports them, and the part that explains automatic forwarding
 * (doctor_auto.c). The listeners are the sidecar's reply (lib/reply.h). */

#include <stdbool.h>
#include <stddef.h>

#include "../lib/forwards.h"
#include "ctl.h"

#define FINDINGS_MAX 128

struct finding {
	const char *status; /* "ok", "skipped" (by design, said why) or "problem" */
	char mapping[96];
	char detail[512];
	char fix[512];
	unsigned port, proto; /* the container's port it is about; 0 for all */
};

/* doctor_auto.c: the addresses the app listens on for PORT, "127.0.0.1:3000, [::]:3000". */
void ctl_addr_list(const struct ps_listener *s, size_t n, unsigned port, char *buf, size_t len);

/* doctor_auto.c: why the app's TCP port PORT, which no mapping names, is or is not
 * forwarded automatically, into F: what the sidecar decided
 * (sidecar/autoforward.c), said with its fix. L: the sidecar's forwards. */
void ctl_diagnose_auto(const char *id, const struct ps_forwards *rec, const struct ps_listener *s, size_t n,
		       unsigned port, const struct ps_fwd_status *l, size_t nl, struct finding *f);

/* doctor_table.c: where the sidecar's status ST and ID's record REC
 * disagree (a live change cut short), a problem each in F (at most MAX);
 * how many. */
struct ps_status;
size_t ctl_diagnose_table(const char *id, const struct ps_forwards *rec, const struct ps_status *st, struct finding *f,
			  size_t max);

/* doctor_allow.c: the clients each forward of ST refused in the last minute
 * as not in its allow list (REC names the lists), one finding per address
 * in F (at most MAX); how many. */
size_t ctl_diagnose_allow(const struct ps_forwards *rec, const struct ps_status *st, struct finding *f, size_t max);

#endif
