/* SPDX-License-Identifier: MIT */
/* portsidectl restore ID: a new sidecar for a running container whose
 * sidecar died, with the same mappings (table/restore.c does the work, as the
 * hook would). What an operator paged at night runs after `ls` shows "dead". */
#include <stdio.h>

#include "../table/change.h"
#include "../table/table.h"
#include "../lib/rundir.h"
#include "ctl.h"

#include "paths.h" /* generated: PORTSIDE_SIDECAR_PATH */

int ctl_restore(int argc, char **argv)
{
	char id[OCI_ID_MAX_LEN + 1], owner[OCI_ID_MAX_LEN + 1];
	struct oci_err e;
	int rc;

	if (argc != 2) {
		ctl_warn("usage: portsidectl restore ID");
		return CTL_EXIT_USAGE;
	}
	if ((rc = ctl_resolve(argv[1], id, sizeof(id))) != CTL_EXIT_OK)
		return rc;
	/* A container that joined another's netns is served by that one's
	 * sidecar: restoring it is restoring that. */
	ps_owner(id, owner, sizeof(owner));
	if (owner[0])
		snprintf(id, sizeof(id), "%s", owner);
	oci_err_init(&e);
	/* A sidecar that runs is told to serve what the record says: what
	 * mends a change that was cut short (doctor asks for this). */
	if (ps_sidecar_alive(id, NULL)) {
		struct tb_outcome o;

		rc = ctl_sync(id, &o, &e);
		if (rc < 0) {
			oci_err_print(&e, stderr, "portsidectl");
			tb_outcome_free(&o);
			return CTL_EXIT_INVALID;
		}
		ctl_print_outcome(&o);
		if (!o.added->n && !o.removed->n && !o.rebound && !o.mode_changed)
			printf("nothing to restore: the sidecar of %s is running and serves its record\n", ctl_sid(id));
		else
			printf("restored %s: its sidecar serves its record again\n", ctl_sid(id));
		tb_outcome_free(&o);
		return CTL_EXIT_OK;
	}
	if (tb_restore(id, PORTSIDE_SIDECAR_PATH, &e) < 0) {
		oci_err_print(&e, stderr, "portsidectl");
		return CTL_EXIT_INVALID;
	}
	printf("restored %s: a new sidecar (pid %d) serves its mappings\n", ctl_sid(id),
	       (int)ps_sidecar_alive(id, NULL));
	return CTL_EXIT_OK;
}
