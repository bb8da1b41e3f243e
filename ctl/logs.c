/* SPDX-License-Identifier: MIT */
/* portsidectl logs ID: the sidecar's log of a container (or of the container
 * whose sidecar serves its netns). */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/refusal.h"
#include "../lib/rundir.h"
#include "../base/cleanup.h"
#include "../oci/state.h"
#include "ctl.h"

static void print_refusal(const struct ps_refusal *r, void *arg)
{
	char message[sizeof(r->message)], when[sizeof(r->time)];

	(void)arg;
	/* Written harmless by the hook; a log an older portside or someone
	 * else wrote gets no control character onto the terminal either. */
	oci_sanitize(r->message, message, sizeof(message));
	oci_sanitize(r->time, when, sizeof(when));
	printf("%s %s refused (%s): %s\n", when, r->id, ps_reason_name(r->reason), message);
}

#define LOG_LINE_MAX 4096 /* bytes of one line shown; the rest is cut, marked "..." */

/* One line of the log, LEN bytes (no newline), as oci_sanitize makes it: the
 * sidecar writes its own lines, but whatever got in (a name, an error, a NUL)
 * never reaches the terminal as it is. */
static int show_line(const char *line, size_t len, bool cut)
{
	char raw[LOG_LINE_MAX + 1], clean[2 * LOG_LINE_MAX + 8];

	for (size_t i = 0; i < len; i++)
		raw[i] = line[i] ? line[i] : '?';
	raw[len] = '\0';
	oci_sanitize(raw, clean, sizeof(clean));
	return printf("%s%s\n", clean, cut ? "..." : "") < 0 ? -EIO : 0;
}

/* Shows the file at PATH line by line: 0, -ENOENT when it is not there (or
 * not a regular file), or -EIO when stdout fails. */
static int cat(const char *path)
{
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
	char buf[65536], line[LOG_LINE_MAX];
	size_t used = 0;
	bool cut = false;
	struct stat st;
	ssize_t n;

	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return -ENOENT;
	while ((n = read(fd, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR)) {
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == '\n') {
				if (show_line(line, used, cut) < 0)
					return -EIO;
				used = 0;
				cut = false;
			} else if (used < sizeof(line)) {
				line[used++] = buf[i];
			} else {
				cut = true;
			}
		}
	}
	if ((used || cut) && show_line(line, used, cut) < 0)
		return -EIO;
	return fflush(stdout) == 0 ? 0 : -EIO;
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
