/* SPDX-License-Identifier: MIT */
/* Inside portsidectl doctor: does the sidecar serve what the record says?
 * A live change (table/change.c) writes the record, then tells the sidecar;
 * one cut short between the two (portsidectl or the sidecar killed, a
 * sidecar that did not answer) leaves them apart, and `portsidectl restore`
 * brings the sidecar to the record. Read under the lock every change takes,
 * so that a change under way is not taken for one cut short. */
#include <stdio.h>
#include <string.h>

#include "../oci/ports.h"
#include "findings.h"

static void mend(struct finding *f, const char *id, const struct ps_forward *w, const char *what)
{
	char addr[OCI_IP_LEN + 16];

	ctl_format_addr(&w->host_ip, w->external_port, addr, sizeof(addr));
	*f = (struct finding){.status = "problem", .port = w->local_port, .proto = w->proto};
	snprintf(f->mapping, sizeof(f->mapping), "%s -> %u/%s", addr, w->local_port, oci_proto_name(w->proto));
	snprintf(f->detail, sizeof(f->detail), "%s (a change was cut short)", what);
	snprintf(f->fix, sizeof(f->fix), "`portsidectl restore %s` makes the sidecar serve the record", ctl_sid(id));
}

size_t ctl_diagnose_table(const char *id, const struct ps_forwards *rec, const struct ps_status *st, struct finding *f,
			  size_t max)
{
	size_t n = 0;

	/* A sidecar from before live changes tells no automatic forward from
	 * an explicit one (nor its mode): nothing to compare. */
	if (st->autoforward < 0)
		return 0;
	for (size_t i = 0; i < rec->n && n < max; i++) {
		bool served = false;

		for (size_t k = 0; k < st->n && !served; k++)
			served = ps_forward_same_listener(&st->v[k].map, &rec->v[i]) && !st->v[k].map.automatic;
		if (!served)
			mend(&f[n++], id, &rec->v[i], "the record has this mapping, the sidecar does not serve it");
	}
	for (size_t k = 0; k < st->n && n < max; k++) {
		bool recorded = st->v[k].map.automatic;

		for (size_t i = 0; i < rec->n && !recorded; i++)
			recorded = ps_forward_same_listener(&st->v[k].map, &rec->v[i]);
		if (!recorded)
			mend(&f[n++], id, &st->v[k].map,
			     "the sidecar serves this mapping, the record does not have it");
	}
	if (st->autoforward >= 0 && (enum oci_autoforward)st->autoforward != rec->autoforward && n < max) {
		f[n] = (struct finding){.status = "problem", .mapping = "(automatic forwarding)"};
		snprintf(f[n].detail, sizeof(f[n].detail),
			 "the record says automatic forwarding %s, the sidecar does %s (a change was cut short)",
			 oci_autoforward_name(rec->autoforward),
			 oci_autoforward_name((enum oci_autoforward)st->autoforward));
		snprintf(f[n].fix, sizeof(f[n].fix), "`portsidectl restore %s` makes the sidecar serve the record",
			 ctl_sid(id));
		n++;
	}
	return n;
}
