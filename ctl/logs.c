/* SPDX-License-Identifier: MIT */
/* portsidectl logs ID: the sidecar's log of a container (or of the container
 * whose sidecar serves its netns). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../lib/refusal.h"
#include "../lib/rundir.h"
#include "../base/cleanup.h"
#include "../oci/state.h"
#include "ctl.h"

static void print_refusal(const struct ps_refusal *r, void *arg)
{
	char message[sizeof(r->message)];

	(void)arg;
	/* Written harmless by the hook; a log an older portside or someone
	 * else wrote gets no control character onto the terminal either. */
	oci_sanitize(r->message, message, sizeof(message));
	printf("%s %s refused (%s): %s\n", r->time, r->id, ps_reason_name(r->reason), message);
}

/* Copies the file at PATH to stdout: 0, -ENOENT when it is not there, or
 * -EIO when stdout fails. */
static int cat(const char *path)
{
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	char buf[65536];
	ssize_t n;

	if (fd < 0)
		return -ENOENT;
	while ((n = read(fd, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
		if (n > 0 && fwrite(buf, 1, (size_t)n, stdout) != (size_t)n)
			return -EIO;
	return 0;
}

int ctl_logs(int argc, char **argv)
{
	char id[OCI_ID_MAX_LEN + 1], want[OCI_ID_MAX_LEN + 1], path[4096];
	int refusals, rc;

	if (argc != 2) {
		ctl_warn("usage: portsidectl logs ID");
		return CTL_EXIT_USAGE;
	}
	if ((rc = ctl_resolve(argv[1], want, sizeof(want))) != CTL_EXIT_OK)
		return rc;
	refusals = ps_refusals_each(want, print_refusal, NULL);
	/* A container that joined another's netns: its owner's log. */
	ps_owner(want, id, sizeof(id));
	if (!id[0])
		snprintf(id, sizeof(id), "%s", want);
	/* The rotated part first, then the current one. */
	if (ps_file(path, sizeof(path), id, PS_SIDECAR_LOG_OLD) == 0 && cat(path) == -EIO)
		return CTL_EXIT_INVALID;
	if (ps_file(path, sizeof(path), id, PS_SIDECAR_LOG) < 0 || (rc = cat(path)) == -ENOENT) {
		if (refusals)
			return CTL_EXIT_OK;
		ctl_warn("no log for %s: it is not a forwarded container", ctl_sid(want));
		return CTL_EXIT_INVALID;
	}
	if (rc < 0)
		return CTL_EXIT_INVALID;
	return CTL_EXIT_OK;
}
