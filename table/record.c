/* SPDX-License-Identifier: MIT */
/* The two steps a start, a restore and a live change share once a table is
 * decided: the record written as a new sidecar reads it, and the recorded
 * listeners bound again. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../base/cleanup.h"
#include "../lib/listen.h"
#include "../lib/rundir.h"
#include "../lib/sidecar_fds.h"
#include "table.h"

int tb_record_write(const char *id, struct ps_forwards *f, struct oci_err *e)
{
	cleanup_free int *keep = calloc(f->n ? f->n : 1, sizeof(int));
	cleanup_free char *doc = NULL;
	char path[4096];
	int rc;

	if (!keep)
		return oci_err_add(e, ENOMEM, "out of memory");
	/* Each forward's fd as the sidecar started from this record sees it:
	 * listener i at SC_FD_FIRST_LISTENER + i (tb_spawn hands them so). */
	for (size_t i = 0; i < f->n; i++) {
		keep[i] = f->v[i].fd;
		f->v[i].fd = SC_FD_FIRST_LISTENER + (int)i;
	}
	rc = ps_forwards_encode(f, &doc);
	for (size_t i = 0; i < f->n; i++)
		f->v[i].fd = keep[i];
	if (rc < 0 || (rc = ps_file(path, sizeof(path), id, PS_FORWARDS)) < 0 ||
	    (rc = ps_write_file(path, doc, strlen(doc))) < 0)
		return oci_err_add(e, rc == -ENOMEM ? ENOMEM : -rc, "cannot write the record of %.64s: %s", id,
				   strerror(-rc));
	/* A few lines of it for what every later start reads of every
	 * container (the pool's hand-out, gc): without them, the record. */
	tb_pool_record(id, f);
	return 0;
}

int tb_rebind(const struct ps_forwards *f, int *fds, bool (*skip)(const struct ps_forward *w, void *arg), void *arg,
	      unsigned *bound, struct oci_err *e)
{
	for (size_t i = 0; i < f->n; i++) {
		const struct ps_forward *w = &f->v[i];
		char ip[OCI_IP_LEN], who[128];

		if (fds[i] >= 0 || (skip && skip(w, arg)))
			continue;
		if ((fds[i] = ps_listen(&w->host_ip, w->external_port, w->proto)) >= 0) {
			if (bound)
				(*bound)++;
			continue;
		}
		int rc = fds[i];

		fds[i] = -1;
		oci_ip_format(&w->host_ip, ip);
		who[0] = '\0';
		if (rc == -EADDRINUSE)
			tb_port_holder(w->external_port, w->proto, who, sizeof(who));
		return oci_err_add(e, -rc, "cannot bind host port %s%s%s:%u/%s again: %s%s%s",
				   w->host_ip.family == AF_INET6 ? "[" : "", ip,
				   w->host_ip.family == AF_INET6 ? "]" : "", w->external_port, oci_proto_name(w->proto),
				   strerror(-rc), who[0] ? " by " : "", who);
	}
	return 0;
}
