/* SPDX-License-Identifier: MIT */
/* portsidectl logs ID: the sidecar's log of a container (or of the container
 * whose sidecar serves its netns). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../lib/rundir.h"
#include "../oci/cleanup.h"
#include "../oci/state.h"
#include "ctl.h"

/* ID, or the owner it names, whose log to show. */
static void resolve(const char *id, char *out, size_t len)
{
	char path[4096], owner[OCI_ID_MAX_LEN + 2];
	cleanup_close int fd = -1;
	ssize_t n;

	snprintf(out, len, "%s", id);
	if (ps_path(path, sizeof(path), id, "owner") < 0 || (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	n = read(fd, owner, sizeof(owner) - 1);
	if (n <= 0)
		return;
	owner[n] = '\0';
	owner[strcspn(owner, "\n")] = '\0';
	if (oci_id_valid(owner) && strlen(owner) < len)
		memcpy(out, owner, strlen(owner) + 1);
}

int ctl_logs(int argc, char **argv)
{
	char id[OCI_ID_MAX_LEN + 1], path[4096], buf[65536];
	cleanup_close int fd = -1;
	ssize_t n;

	if (argc != 2) {
		ctl_warn("usage: portsidectl logs ID");
		return CTL_EXIT_USAGE;
	}
	if (!oci_id_valid(argv[1])) {
		ctl_warn("\"%.64s\" is not a container id", argv[1]);
		return CTL_EXIT_USAGE;
	}
	resolve(argv[1], id, sizeof(id));
	if (ps_path(path, sizeof(path), id, "sidecar.log") < 0 ||
	    (fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		ctl_warn("no log for %s (%s): is it a forwarded container?", argv[1], strerror(errno));
		return CTL_EXIT_INVALID;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
		if (n > 0 && fwrite(buf, 1, (size_t)n, stdout) != (size_t)n)
			return CTL_EXIT_INVALID;
	return CTL_EXIT_OK;
}
