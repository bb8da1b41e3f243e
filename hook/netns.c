/* SPDX-License-Identifier: MIT */
/* Opening the container's network namespace without a race on its pid. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../lib/rundir.h"
#include "../oci/cleanup.h"
#include "hook.h"

/* A namespace file is on nsfs; anything else under that path is a mistake. */
#define NSFS_MAGIC 0x6e736673

#include <sys/vfs.h>

static int check_nsfs(int fd, const char *path, struct oci_err *e)
{
	struct statfs sfs;

	if (fstatfs(fd, &sfs) < 0)
		return oci_err_addp(e, errno, "cannot stat network namespace %s", path);
	if (sfs.f_type != NSFS_MAGIC)
		return oci_err_add(e, EINVAL, "%s is not a network namespace", path);
	return 0;
}

int hook_netns_open(const struct oci_config *cfg, pid_t pid, int *nsfd, int *pidfd, char key[64], struct oci_err *e)
{
	cleanup_close int fd = -1, pfd = -1;
	char path[64];
	struct stat st;

	*nsfd = *pidfd = -1;
	/* The container's init pins the namespace's lifetime for the sidecar,
	 * so pin the process first, whichever way the namespace is reached. */
	if (pid > 0) {
		pfd = ps_pidfd_open(pid);
		if (pfd < 0)
			return oci_err_addp(e, errno, "container process %d is gone", (int)pid);
	}
	if (cfg->netns_path) {
		fd = open(cfg->netns_path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return oci_err_addp(e, errno, "cannot open network namespace %s", cfg->netns_path);
		if (check_nsfs(fd, cfg->netns_path, e) < 0)
			return -EINVAL;
	} else {
		if (pid <= 0)
			return oci_err_add(e, EINVAL, "the state has no pid and the config names no network namespace");
		if (!cfg->has_netns)
			return oci_err_add(
				e, EINVAL,
				"the container shares the host's network namespace: there is nothing to forward");
		snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return oci_err_addp(e, errno, "cannot open %s", path);
		/* If the pid was recycled between the pidfd and the open, the
		 * pidfd's process is dead: this signal 0 then fails. */
		if (syscall(SYS_pidfd_send_signal, pfd, 0, NULL, 0) < 0)
			return oci_err_add(e, ESRCH, "container process %d exited during start", (int)pid);
	}
	if (fstat(fd, &st) < 0)
		return oci_err_addp(e, errno, "cannot stat the network namespace");
	snprintf(key, 64, "%lu:%lu", (unsigned long)st.st_dev, (unsigned long)st.st_ino);
	*nsfd = fd;
	*pidfd = pfd;
	fd = pfd = -1; /* ownership to the caller */
	return 0;
}
