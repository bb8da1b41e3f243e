/* SPDX-License-Identifier: MIT */
/* Which runtime the wrapper stands for. Its own name says (portside-runc,
 * portside-crun); the directories are the system's (and portside's own
 * BINDIR), PORTSIDE_TOOL_PATH as portsidectl finds podman, not $PATH: the
 * shim's environment is containerd's, but a fixed list is what an operator
 * can reason about, and it cannot lead back to the wrapper. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "paths.h" /* generated: PORTSIDE_TOOL_PATH */
#include "wrap.h"

#define PREFIX "portside-"

int wr_runtime_find(const char *self, char *out, size_t len, struct oci_err *e)
{
	const char *base = strrchr(self, '/'), *name;
	struct stat me, st;

	base = base ? base + 1 : self;
	if (strncmp(base, PREFIX, strlen(PREFIX)) ||
	    (strcmp(base + strlen(PREFIX), "runc") && strcmp(base + strlen(PREFIX), "crun")))
		return oci_err_add(e, EINVAL,
				   "called as %.64s: install this program as portside-runc or portside-crun, which "
				   "names the runtime it runs",
				   base);
	name = base + strlen(PREFIX);
	if (stat("/proc/self/exe", &me) < 0)
		return oci_err_addp(e, errno, "cannot stat /proc/self/exe");
	for (const char *d = PORTSIDE_TOOL_PATH; *d; d += strcspn(d, ":"), d += *d == ':') {
		if ((size_t)snprintf(out, len, "%.*s/%s", (int)strcspn(d, ":"), d, name) >= len)
			continue;
		if (stat(out, &st) < 0 || !S_ISREG(st.st_mode) || access(out, X_OK) < 0)
			continue;
		if (st.st_dev == me.st_dev && st.st_ino == me.st_ino)
			continue; /* a link to the wrapper itself */
		return 0;
	}
	return oci_err_add(e, ENOENT, "%s is not installed in any of %s", name, PORTSIDE_TOOL_PATH);
}
