/* SPDX-License-Identifier: MIT */
/* Opening the container's network namespace without a race on its pid. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../lib/identity.h"
#include "../lib/rundir.h"
#include "../base/cleanup.h"
#include "hook.h"

/* A namespace file is on nsfs; anything else under that path is a mistake,
 * or an attack (a FIFO whose open blocks the hook, a device whose open has
 * side effects). */
#define NSFS_MAGIC 0x6e736673

#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/vfs.h>

/* FD is on nsfs (a namespace file), or an error naming PATH. */
static int check_nsfs(int fd, const char *path, struct oci_err *e)
{
	struct statfs sfs;

	if (fstatfs(fd, &sfs) < 0)
		return oci_err_addp(e, errno, "cannot stat network namespace %s", path);
	if (sfs.f_type != NSFS_MAGIC)
		return oci_err_add(e, EINVAL, "%s is not a network namespace (not a namespace file)", path);
	return 0;
}

/* FD, a namespace, is a network namespace. */
static int check_nstype(int fd, const char *path, struct oci_err *e)
{
	int type = ioctl(fd, NS_GET_NSTYPE);

	if (type < 0)
		return oci_err_addp(e, errno, "cannot read the namespace type of %s", path);
	if (type != CLONE_NEWNET)
		return oci_err_add(e, EINVAL, "%s is a namespace, but not a network namespace", path);
	return 0;
}

/* Opens the config's netns PATH without ever blocking: O_PATH first, which
 * opens nothing (a FIFO does not wait for a writer, a device is not
 * touched), nsfs checked on that descriptor, then the namespace itself
 * reopened through /proc/self/fd. Every check is made on the descriptor, not
 * the path, so nothing swapped in between is ever used; symlinks are
 * followed, as /proc/PID/ns/net is one. */
static int open_netns_path(const char *path, struct oci_err *e)
{
	cleanup_close int opath = -1;
	char self[64];
	int fd;

	opath = open(path, O_PATH | O_CLOEXEC);
	if (opath < 0)
		return oci_err_addp(e, errno, "cannot open network namespace %s", path);
	if (check_nsfs(opath, path, e) < 0)
		return -EINVAL;
	/* The same inode: nsfs already checked, its type needs a real fd. */
	snprintf(self, sizeof(self), "/proc/self/fd/%d", opath);
	fd = open(self, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return oci_err_addp(e, errno, "cannot open network namespace %s", path);
	if (check_nstype(fd, path, e) < 0) {
		close(fd);
		return -EINVAL;
	}
	return fd;
}

/* The namespace's cookie, for the record (lib/identity.h): 0 on a kernel
 * that has none, where the process's start time is what the record keeps. */
static int netns_cookie(int fd, uint64_t *cookie, struct oci_err *e)
{
	int rc = ps_netns_cookie(fd, cookie);

	if (rc == -ENOPROTOOPT) {
		*cookie = 0;
		return 0;
	}
	if (rc < 0)
		return oci_err_addp(e, -rc, "cannot read the network namespace's cookie");
	return 0;
}

int hook_netns_open(const struct oci_config *cfg, pid_t pid, int *nsfd, int *pidfd, char key[64],
		    struct ps_ident *ident, struct oci_err *e)
{
	cleanup_close int fd = -1, pfd = -1, pidns = -1, procdir = -1;
	struct stat st, pst;
	int rc;

	*nsfd = *pidfd = -1;
	*ident = (struct ps_ident){0};
	/* At createRuntime and prestart the container's init exists (its
	 * namespaces are made) and every runtime names it; the runtime-spec
	 * requires it from "created" on. Without it nothing would end the
	 * sidecar with the container, and the record could never show it
	 * running: its start time is what tells it from a later process. */
	if (pid <= 0)
		return oci_err_add(e, EINVAL,
				   "the state names no container process (pid): the runtime gives it at createRuntime "
				   "and prestart, and portside needs it to tell the container from a later one");
	/* The container's init pins the namespace's lifetime for the sidecar,
	 * so pin the process first, whichever way the namespace is reached;
	 * its start time goes into the record, which tells it from any later
	 * process that gets its pid. */
	if ((rc = ps_proc_pin(pid, &pfd, &procdir, &ident->pid_start)) < 0)
		return oci_err_addp(e, -rc, "container process %d is gone", (int)pid);
	if (cfg->netns_path) {
		if ((fd = open_netns_path(cfg->netns_path, e)) < 0)
			return -EINVAL;
	} else {
		if (!cfg->has_netns)
			return oci_err_add(
				e, EINVAL,
				"the container shares the host's network namespace: there is nothing to forward");
	}
	/* Through the pinned process's directory: its namespace, never that of
	 * a process that got its pid since. */
	pidns = openat(procdir, "ns/net", O_RDONLY | O_CLOEXEC);
	if (pidns < 0)
		return oci_err_addp(e, errno, "cannot open /proc/%d/ns/net", (int)pid);
	if (check_nsfs(pidns, "the container's network namespace", e) < 0 ||
	    check_nstype(pidns, "the container's network namespace", e) < 0)
		return -EINVAL;
	/* Still running? (It may have exited since it was pinned.) */
	if (syscall(SYS_pidfd_send_signal, pfd, 0, NULL, 0) < 0)
		return oci_err_add(e, ESRCH, "container process %d exited during start", (int)pid);
	if (fd < 0) {
		fd = pidns;
		pidns = -1;
	} else if (fstat(fd, &st) < 0 || fstat(pidns, &pst) < 0 || st.st_dev != pst.st_dev || st.st_ino != pst.st_ino) {
		/* The config names one namespace, the container runs in another:
		 * forwarding into the named one would serve whoever else is
		 * there. */
		return oci_err_add(e, EINVAL, "network namespace %s is not the one container process %d runs in",
				   cfg->netns_path, (int)pid);
	}
	if (fstat(fd, &st) < 0)
		return oci_err_addp(e, errno, "cannot stat the network namespace");
	if (netns_cookie(fd, &ident->netns_cookie, e) < 0)
		return -EIO;
	snprintf(key, 64, "%lu:%lu", (unsigned long)st.st_dev, (unsigned long)st.st_ino);
	*nsfd = fd;
	*pidfd = pfd;
	fd = pfd = -1; /* ownership to the caller */
	return 0;
}
