/* SPDX-License-Identifier: MIT */
/* What doctor says of automatic forwarding: for every port the app opened
 * that no mapping names, forwarded (where), skipped (reserved, autoforward
 * off, localhost-only under public) or refused (maxAutoforwards, the
 * autoforwardPorts list exhausted, with who holds each port). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../table/table.h"
#include "../lib/rundir.h"
#include "../base/cleanup.h"
#include "../oci/policy.h"
#include "../oci/ports.h"
#include "findings.h"

/* Who holds host port PORT (TCP): another forwarded container, or a
 * process named as the hook names one. "" when it is free. */
static void holder(const char *self, unsigned port, char *buf, size_t len)
{
	char **ids = NULL;
	size_t n = 0;

	buf[0] = '\0';
	if (ctl_ids(&ids, &n) == 0)
		for (size_t i = 0; i < n && !buf[0]; i++) {
			struct ps_forwards *f = NULL;

			if (!strcmp(ids[i], self) || ps_record_load(ids[i], &f, NULL) < 0)
				continue;
			for (size_t k = 0; k < f->n && !buf[0]; k++)
				if (f->v[k].external_port == port && f->v[k].proto == OCI_PROTO_TCP)
					snprintf(buf, len, "%u: container %s", port, ctl_sid(ids[i]));
			/* Its automatic forwards are only in its sidecar's status. */
			struct ps_status st = {0};

			if (!buf[0] && ps_sidecar_alive(ids[i], NULL))
				ps_ask_status(ids[i], &st, CTL_ASK_MS);
			for (size_t k = 0; k < st.n && !buf[0]; k++)
				if (st.v[k].map.external_port == port && st.v[k].map.proto == OCI_PROTO_TCP)
					snprintf(buf, len, "%u: container %s (port %u)", port, ctl_sid(ids[i]),
						 st.v[k].map.local_port);
			ps_status_free(&st);
			ps_forwards_free(f);
		}
	ctl_ids_free(ids, n);
	if (buf[0])
		return;
	/* Not portside's: is it taken at all? (Read, never bound: a test bind
	 * could make a real app's bind fail.) */
	if (tb_port_listened(port, OCI_PROTO_TCP)) {
		char who[96];

		tb_port_holder(port, OCI_PROTO_TCP, who, sizeof(who));
		snprintf(buf, len, "%u: %.96s", port, who[0] ? who : "another process");
	}
}

/* Why the app's TCP port PORT, which no mapping names, is or is not
 * forwarded automatically: what the sidecar decided (autoforward.c), said. */
void ctl_diagnose_auto(const char *id, const struct ps_forwards *rec, const struct ps_listener *s, size_t n,
		       unsigned port, const struct ps_fwd_status *l, size_t nl, struct finding *f)
{
	bool wide = false;
	unsigned nauto = 0;
	char addrs[256], list[384];
	size_t off = 0;

	for (size_t i = 0; i < n; i++)
		if (s[i].port == port && s[i].proto == OCI_PROTO_TCP)
			wide |= !oci_ip_is_loopback(&s[i].ip);
	ctl_addr_list(s, n, port, addrs, sizeof(addrs));
	snprintf(f->mapping, sizeof(f->mapping), "(not mapped) %u/tcp", port);
	f->port = port;
	f->proto = OCI_PROTO_TCP;
	f->fix[0] = '\0';
	list[0] = '\0';
	for (size_t i = 0; i < nl; i++) {
		if (!l[i].map.auto_assigned || l[i].map.proto != OCI_PROTO_TCP)
			continue;
		if (l[i].map.local_port == port) {
			char ext[OCI_IP_LEN + 8];

			ctl_format_addr(&l[i].map.host_ip, l[i].map.external_port, ext, sizeof(ext));
			snprintf(f->mapping, sizeof(f->mapping), "%s -> %u/tcp (automatic)", ext, port);
			f->status = "ok";
			snprintf(f->detail, sizeof(f->detail), "the app opened it on %s; forwarded automatically",
				 addrs);
			return;
		}
		bool dup = false;
		for (size_t k = 0; k < i; k++)
			dup |= l[k].map.auto_assigned && l[k].map.local_port == l[i].map.local_port;
		if (!dup && off < sizeof(list)) {
			nauto++;
			off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%u", off ? ", " : "",
						l[i].map.local_port);
		}
	}
	if (oci_port_reserved(port)) {
		f->status = "skipped";
		snprintf(f->detail, sizeof(f->detail), "the app listens on %s: %s, so it is never forwarded", addrs,
			 oci_port_reserved_why(port));
		return;
	}
	if (rec->autoforward == OCI_AUTOFORWARD_NEVER || rec->n_auto_ports == 0 || rec->max_autoforwards == 0) {
		f->status = "skipped";
		snprintf(f->detail, sizeof(f->detail),
			 "the app listens on %s; automatic forwarding is off for this "
			 "container",
			 addrs);
		snprintf(f->fix, sizeof(f->fix), "to reach it, map it: io.portside.ports=%u", port);
		return;
	}
	f->status = "problem";
	if (!wide && rec->autoforward == OCI_AUTOFORWARD_PUBLIC) {
		snprintf(f->detail, sizeof(f->detail),
			 "the app listens on %s only (localhost): automatic forwarding (public) forwards only ports "
			 "opened on every address",
			 addrs);
		snprintf(f->fix, sizeof(f->fix),
			 "bind the app to 0.0.0.0 (or ::), or set io.portside.autoforward=all on the container");
		return;
	}
	if (nauto >= rec->max_autoforwards) {
		snprintf(f->detail, sizeof(f->detail),
			 "not forwarded: %u ports are forwarded automatically already (%s), the most the policy "
			 "allows a container (maxAutoforwards)",
			 nauto, list);
		snprintf(f->fix, sizeof(f->fix), "close one of them, or map %u in io.portside.ports", port);
		return;
	}
	/* The hand-out list: who holds each port. */
	off = 0;
	list[0] = '\0';
	for (size_t k = 0; k < rec->n_auto_ports && off < sizeof(list); k++) {
		unsigned ext = rec->auto_ports[k];
		char who[160];
		bool ours = false;

		for (size_t i = 0; i < nl; i++)
			ours |= l[i].map.external_port == ext && l[i].map.proto == OCI_PROTO_TCP;
		if (ours)
			snprintf(who, sizeof(who), "%u: this container", ext);
		else if (oci_port_reserved(ext))
			continue;
		else
			holder(id, ext, who, sizeof(who));
		if (!who[0]) {
			snprintf(f->detail, sizeof(f->detail),
				 "the app listens on %s, not forwarded yet although host port %u is free", addrs, ext);
			snprintf(f->fix, sizeof(f->fix),
				 "wait a second (the sidecar looks every 250 ms); if it stays, `portsidectl logs %s` "
				 "says why",
				 ctl_sid(id));
			return;
		}
		off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s", off ? ", " : "", who);
	}
	snprintf(f->detail, sizeof(f->detail),
		 "not forwarded: every port of the policy's autoforwardPorts is taken (%s)", list);
	snprintf(f->fix, sizeof(f->fix),
		 "map %u to a free host port in io.portside.ports, or stop what holds one of those ports", port);
}

void ctl_addr_list(const struct ps_listener *s, size_t n, unsigned port, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && off < len; i++) {
		char a[OCI_IP_LEN + 24];

		if (s[i].port != port)
			continue;
		if (s[i].mapped) {
			char v4[OCI_IP_LEN];

			oci_ip_format(&s[i].ip, v4);
			snprintf(a, sizeof(a), "[::ffff:%s]:%u", v4, port);
		} else {
			ctl_format_addr(&s[i].ip, port, a, sizeof(a));
		}
		off += (size_t)snprintf(buf + off, len - off, "%s%s", off ? ", " : "", a);
	}
}
