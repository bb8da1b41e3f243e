/* SPDX-License-Identifier: MIT */
/* poststop: stop the sidecar, free the ports, remove the state. Idempotent. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../lib/control.h"
#include "../lib/rundir.h"
#include "../oci/cleanup.h"
#include "hook.h"

/* Waits up to MS for the process behind PIDFD to exit. */
static bool wait_exit(int pidfd, int ms)
{
	struct pollfd p = {.fd = pidfd, .events = POLLIN};

	return poll(&p, 1, ms) > 0;
}

int hook_poststop(const struct oci_state *st)
{
	cleanup_close int lock = -1, pidfd = -1;
	char reply[64];

	/* Without the lock (another hook stuck), clean up anyway: poststop must
	 * not leave ports held. */
	ps_lock(&lock, 3000);
	if (ps_sidecar_alive(st->id, &pidfd)) {
		if (ps_control_call(st->id, "stop", reply, sizeof(reply), 1000) < 0 || !wait_exit(pidfd, 1000)) {
			hook_warn("sidecar of %s did not stop when asked; killing it", st->id);
			syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
			wait_exit(pidfd, 1000);
		}
	}
	ps_netns_forget(st->id);
	int rc = ps_state_remove(st->id);
	if (rc < 0)
		hook_warn("cannot remove the state of %s: %s", st->id, strerror(-rc));
	return 0;
}
