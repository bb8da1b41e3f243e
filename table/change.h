/* SPDX-License-Identifier: MIT */
#ifndef PORTSIDE_TABLE_CHANGE_H
#define PORTSIDE_TABLE_CHANGE_H

/* A running container's port table changed live (change.c): what
 * `portsidectl expose`, `unexpose`, `autoforward` and `restore` of a running
 * sidecar ask, and what came of it. */

#include <stdbool.h>
#include <stddef.h>

#include "../base/err.h"
#include "../lib/forwards.h"
#include "../oci/policy.h"

enum tb_op {
	TB_EXPOSE,	/* add the mappings of SPEC */
	TB_UNEXPOSE,	/* remove the mappings of a host (or, LOCAL, local) port */
	TB_AUTOFORWARD, /* the automatic forwarding mode from now on */
	TB_SYNC,	/* serve what the record says: nothing asked, a change mended */
};

struct tb_change {
	enum tb_op op;
	const char *spec;	   /* EXPOSE: io.portside.ports's value, either spelling */
	unsigned port;		   /* UNEXPOSE */
	int proto;		   /* UNEXPOSE: enum oci_proto, -1 for both */
	bool local;		   /* UNEXPOSE: PORT is the container's */
	bool close_conns;	   /* UNEXPOSE: the removed forwards' connections end too */
	enum oci_autoforward mode; /* AUTOFORWARD */
	const char *by;		   /* who asks, for the sidecar's log (NULL: "portsidectl") */
};

struct tb_outcome {
	struct ps_forwards *added;   /* listeners bound and served from now on */
	struct ps_forwards *pinned;  /* automatic forwards made explicit */
	struct ps_forwards *removed; /* forwards served no more */
	unsigned already;	     /* mappings asked for that were there already */
	unsigned rebound;	     /* recorded listeners the sidecar had lost, bound again */
	bool mode_changed;	     /* the sidecar's automatic forwarding mode changes */
	bool partial;		     /* applied, but for a listener the sidecar could not serve (the error) */
};

/* Changes the table of ID (the id whose sidecar serves it: a pod's owner)
 * as C says, under the lock every start takes: all or nothing, the record
 * and the sidecar agreeing after (table/change.c says how a crash at any
 * step is mended). 0 with *OUT filled (the caller frees it with
 * tb_outcome_free, on failure too), or -errno with one line a problem in E. */
int tb_change(const char *id, const struct tb_change *c, struct tb_outcome *out, struct oci_err *e);
void tb_outcome_free(struct tb_outcome *o);

#endif
