/* SPDX-License-Identifier: MIT */
/* Inside portsidectl doctor: clients the sidecar refused lately because
 * their address is not in the forward's allow list, from the addresses each
 * forward keeps (the status reply's "notAllowed"). By design, so "skipped":
 * a refused stranger must not make `wait` or a script see a problem; the
 * line is there for the operator whose own client cannot connect. */
#include <stdio.h>
#include <string.h>

#include "../lib/reply.h"
#include "../oci/ports.h"
#include "findings.h"

/* The allow list W is served with: the record's forward on the same
 * listener, else (an automatic forward) the policy's allowFrom. */
static const struct oci_allow *allow_of(const struct ps_forwards *rec, const struct ps_forward *w)
{
	for (size_t i = 0; i < rec->n; i++)
		if (ps_forward_same_listener(&rec->v[i], w))
			return &rec->v[i].allow;
	return &rec->allow_from;
}

size_t ctl_diagnose_allow(const struct ps_forwards *rec, const struct ps_status *st, struct finding *f, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < st->n && n < max; i++) {
		const struct ps_fwd_status *s = &st->v[i];
		const struct ps_forward *w = &s->map;

		for (size_t k = 0; k < s->n_not_allowed && n < max; k++) {
			const struct ps_not_allowed *a = &s->not_allowed[k];
			char ext[OCI_IP_LEN + 16], addr[OCI_IP_LEN], list[256];

			if (a->ago >= PS_NOT_ALLOWED_WINDOW_S)
				continue;
			ctl_format_addr(&w->host_ip, w->external_port, ext, sizeof(ext));
			oci_ip_format(&a->ip, addr);
			oci_allow_format(allow_of(rec, w), list, sizeof(list));
			f[n] = (struct finding){.status = "skipped", .port = w->local_port, .proto = w->proto};
			snprintf(f[n].mapping, sizeof(f[n].mapping), "%s -> %u/%s", ext, w->local_port,
				 oci_proto_name(w->proto));
			snprintf(f[n].detail, sizeof(f[n].detail),
				 "%llu %s from %s refused in the last minute: not in allow (%s)",
				 (unsigned long long)a->count,
				 w->proto == OCI_PROTO_UDP ? (a->count == 1 ? "new flow" : "new flows")
				 : a->count == 1	   ? "connection"
							   : "connections",
				 addr, list[0] ? list : "the policy's allowFrom");
			snprintf(f[n].fix, sizeof(f[n].fix),
				 "if %s should connect, add it to the mapping's allow (within the policy's allowFrom)",
				 addr);
			n++;
		}
	}
	return n;
}
