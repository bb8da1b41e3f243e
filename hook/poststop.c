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
#include "../lib/starting.h"
#include "../lib/uids.h"
#include "../base/cleanup.h"
#include "hook.h"

/* Waits up to MS for the process behind PIDFD to exit. */
static bool wait_exit(int pidfd, int ms)
{
	struct pollfd p = {.fd = pidfd, .events = POLLIN};

	return poll(&p, 1, ms) > 0;
}

/* Stops ID's sidecar if it still runs (asked, then killed) and removes ID's
 * state and netns entry. */
static void stop_and_remove(const char *id)
{
	cleanup_close int pidfd = -1;
	char reply[64];
	int rc;

	if (ps_sidecar_alive(id, &pidfd) && !wait_exit(pidfd, 200)) {
		if (ps_ctl_call(id, PS_CTL_STOP, NULL, -1, reply, sizeof(reply), 1000) < 0 || !wait_exit(pidfd, 1000)) {
			hook_warn("sidecar of %s did not stop when asked; killing it", id);
			syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
			wait_exit(pidfd, 1000);
		}
	}
	tb_cgroup_remove(id);
	ps_netns_forget(id);
	/* Its uid, once no process has it (lib/uids.h): a sidecar that would
	 * not die keeps it until a later sweep finds it gone. */
	ps_uid_release(id);
	if ((rc = ps_state_remove(id)) < 0)
		hook_warn("cannot remove the state of %s: %s", id, strerror(-rc));
}

static bool released(const char *id)
{
	char path[4096];

	return ps_file(path, sizeof(path), id, PS_RELEASED) == 0 && access(path, F_OK) == 0;
}

/* False when ID's state records another bundle: the same id under another
 * runtime root, whose poststop must not stop this container's sidecar. */
static bool same_bundle(const char *id, const char *bundle)
{
	char path[4096], rec[4096];
	cleanup_close int fd = -1;
	ssize_t n;

	if (!bundle || ps_file(path, sizeof(path), id, PS_BUNDLE) < 0 ||
	    (fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY)) < 0)
		return true; /* nothing recorded: an older portside's state */
	n = read(fd, rec, sizeof(rec) - 1);
	if (n < 0)
		return true;
	rec[n] = '\0';
	return strcmp(rec, bundle) == 0;
}

int hook_poststop(const struct oci_state *st)
{
	cleanup_close int lock = -1;
	char owner[OCI_ID_MAX_LEN + 2], path[4096];
	const char *serving;
	unsigned remaining = 0;

	/* Without the lock (another hook stuck), clean up anyway: poststop must
	 * not leave ports held. */
	ps_lock(&lock, 3000);
	if (!same_bundle(st->id, st->bundle)) {
		hook_warn("state of %s belongs to a container of another bundle: left alone", st->id);
		return 0;
	}
	/* Its start still pending (a runtime deleting a container being
	 * created, or the same id and bundle from another root): what it is
	 * starting would be left without a record or a lease. It ends within
	 * its readiness wait; then the state is what poststop expects. */
	if (ps_start_pending(st->id)) {
		oci_close(&lock);
		ps_start_wait(st->id, TB_READY_TIMEOUT_MS + 1000);
		ps_lock(&lock, 3000);
		if (!same_bundle(st->id, st->bundle))
			return 0; /* failed, and another start took the id since */
	}
	ps_owner(st->id, owner, sizeof(owner));
	serving = owner[0] ? owner : st->id;

	/* The sidecar serves its netns while one of its containers runs: tell
	 * it this one is gone, and learn how many are left. */
	if (ps_sidecar_alive(serving, NULL)) {
		char reply[64];

		if (ps_ctl_call(serving, PS_CTL_RELEASE, st->id, -1, reply, sizeof(reply), 1000) <= 0 ||
		    ps_ctl_remaining_decode(reply, &remaining) < 0)
			remaining = 0;
	}

	if (owner[0]) {
		/* A container that joined another's netns: its own record goes;
		 * the sidecar's once nothing is left and its owner's poststop ran. */
		ps_state_remove(st->id);
		if (remaining == 0 && released(owner))
			stop_and_remove(owner);
		return 0;
	}
	if (remaining > 0) {
		/* Others of the netns still run: the sidecar and its state stay
		 * for them; the last one's poststop removes them. */
		if (ps_file(path, sizeof(path), st->id, PS_RELEASED) == 0)
			ps_write_file(path, "", 0);
		return 0;
	}
	stop_and_remove(st->id);
	return 0;
}
