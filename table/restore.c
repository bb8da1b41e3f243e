/* SPDX-License-Identifier: MIT */
/* A new sidecar for a running container whose sidecar died (killed, OOM, a
 * bug): what `portsidectl restore ID` does. Everything comes from the state
 * the hook wrote at start, never from the container: the record (mappings,
 * host addresses including a pool address, limits), the recorded process and
 * network namespace, and the sidecar the container was started with. The
 * host ports are bound again (they closed with the sidecar); automatic
 * forwards come back as the new sidecar sees the app's listeners again. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/listen.h"
#include "../lib/rundir.h"
#include "../lib/sidecar_fds.h"
#include "../lib/starting.h"
#include "../base/cleanup.h"
#include "../oci/ports.h"
#include "table.h"

int tb_restore(const char *id, const char *sidecar_default, struct oci_err *e)
{
	cleanup_close int lock = -1, nsfd = -1, pidfd = -1;
	struct ps_forwards *f = NULL;
	cleanup_free int *listeners = NULL;
	char sidecar[PATH_MAX], why[160];
	int rc;

	if ((rc = ps_lock(&lock, 3000)) < 0)
		return oci_err_addp(e, -rc, "cannot lock %s/lock", ps_run_dir());
	/* Its hook is starting it (lib/starting.h): a second one would be
	 * handed the same ports. Asked first: a start no longer pending has
	 * its sidecar running, which the next look sees. */
	if (ps_start_pending(id))
		return oci_err_add(e, EBUSY, "the sidecar of %.64s is starting: nothing to restore", id);
	if (ps_sidecar_alive(id, NULL))
		return oci_err_add(e, EEXIST, "the sidecar of %.64s is running: nothing to restore", id);
	if (ps_record_load(id, &f, e) < 0)
		return -ENOENT;
	/* The recorded process (pid and start time), in the recorded netns
	 * (inode and cookie): else the container stopped, and whoever has its
	 * pid and netns inode number by now must not get its host ports. The
	 * pidfd, the sidecar's to watch as at start, is the checked process's. */
	if ((rc = ps_container_open(f, &pidfd, &nsfd, why, sizeof(why))) < 0) {
		rc = oci_err_add(e, ESRCH, "the container %.64s is not running (%s): start it again", id, why);
		goto out;
	}
	snprintf(sidecar, sizeof(sidecar), "%s", f->sidecar[0] ? f->sidecar : sidecar_default);
	if ((rc = tb_sidecar_check(sidecar, e)) < 0)
		goto out;

	/* The host ports again, where the record says (a pool address too);
	 * listener i is SC_FD_FIRST_LISTENER + i in the sidecar, as the record
	 * was written. */
	if (!(listeners = calloc(f->n ? f->n : 1, sizeof(int)))) {
		rc = oci_err_add(e, ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < f->n; i++)
		listeners[i] = -1;
	if ((rc = tb_rebind(f, listeners, NULL, NULL, NULL, e)) < 0)
		goto out;
	/* The dead sidecar's pid file and socket go; the new one writes its own. */
	char p[4096];
	if (ps_file(p, sizeof(p), id, PS_SIDECAR_PID) == 0)
		unlink(p);
	if ((rc = tb_spawn(sidecar, id, nsfd, pidfd, listeners, f->n, f->max_connections, f->max_udp_flows, e)) < 0)
		goto out;
	/* Counted once the new sidecar runs (portsidectl metrics' restores);
	 * the sidecar has read the record by now, and a rename replaces it
	 * whole, so a failure here only leaves the count one short. */
	struct oci_err ignore;

	oci_err_init(&ignore);
	f->restores++;
	tb_record_write(id, f, &ignore);
	rc = 0;
out:
	for (size_t i = 0; listeners && i < f->n; i++)
		if (listeners[i] >= 0)
			close(listeners[i]);
	ps_forwards_free(f);
	return rc;
}
