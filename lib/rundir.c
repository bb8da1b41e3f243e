/* SPDX-License-Identifier: MIT */
#include "rundir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../base/cleanup.h"
#include "../oci/input.h"
#include "../oci/state.h"
#include "uids.h"

const char *ps_run_dir(void)
{
	const char *d = getenv("PORTSIDE_RUN_DIR");

	return d && d[0] == '/' ? d : PS_RUN_DIR_DEFAULT;
}

int ps_path(char *buf, size_t len, const char *id, const char *name)
{
	int n = !id    ? snprintf(buf, len, "%s/" PS_CONTAINERS_DIR, ps_run_dir())
		: name ? snprintf(buf, len, "%s/" PS_CONTAINERS_DIR "/%s/%s", ps_run_dir(), id, name)
		       : snprintf(buf, len, "%s/" PS_CONTAINERS_DIR "/%s", ps_run_dir(), id);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

DIR *ps_containers_open(void)
{
	char dir[4096];

	if (ps_path(dir, sizeof(dir), NULL, NULL) < 0) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	return opendir(dir);
}

int ps_control_addr(const char *id, struct sockaddr_un *sa, int *dirfd)
{
	char dir[4096];

	*dirfd = -1;
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (ps_file(sa->sun_path, sizeof(sa->sun_path), id, PS_CONTROL_SOCK) == 0)
		return 0;
	/* A long id overflows sun_path (108 bytes): reach the directory through
	 * a descriptor of it instead, whose /proc path is short. */
	if (ps_path(dir, sizeof(dir), id, NULL) < 0)
		return -ENAMETOOLONG;
	*dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (*dirfd < 0)
		return -errno;
	snprintf(sa->sun_path, sizeof(sa->sun_path), "/proc/self/fd/%d/control.sock", *dirfd);
	return 0;
}

static int mkdir_mode(const char *path, mode_t mode)
{
	if (mkdir(path, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int ps_run_dir_init(void)
{
	char path[4096];
	int rc;

	if ((rc = mkdir_mode(ps_run_dir(), 0711)) < 0)
		return rc;
	snprintf(path, sizeof(path), "%s/" PS_CONTAINERS_DIR, ps_run_dir());
	if ((rc = mkdir_mode(path, 0700)) < 0)
		return rc;
	snprintf(path, sizeof(path), "%s/netns", ps_run_dir());
	return mkdir_mode(path, 0700);
}

int ps_lock(int *fd, int timeout_ms)
{
	char path[4096];
	struct timespec step = {0, 10 * 1000 * 1000};

	snprintf(path, sizeof(path), "%s/lock", ps_run_dir());
	*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (*fd < 0)
		return -errno;
	/* Polling rather than a blocking flock: a hook must never hang its
	 * runtime, whatever another hook does. */
	for (int waited = 0;; waited += 10) {
		if (flock(*fd, LOCK_EX | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK && errno != EINTR)
			break;
		if (waited >= timeout_ms) {
			errno = ETIMEDOUT;
			break;
		}
		nanosleep(&step, NULL);
	}
	int rc = -errno;
	oci_close(fd);
	return rc;
}

static const char *const file_names[PS_FILES] = {
	[PS_FORWARDS] = "forwards.json",
	[PS_BUNDLE] = "bundle",
	[PS_OWNER] = "owner",
	[PS_RELEASED] = "released",
	[PS_SIDECAR_PID] = "sidecar.pid",
	[PS_SIDECAR_LOG] = "sidecar.log",
	[PS_SIDECAR_LOG_OLD] = "sidecar.log.1",
	[PS_EVENTS] = "events",
	[PS_EVENTS_OLD] = "events.1",
	[PS_CONTROL_SOCK] = "control.sock",
};

const char *ps_file_name(enum ps_file f)
{
	return (unsigned)f < PS_FILES ? file_names[f] : "";
}

int ps_file(char *buf, size_t len, const char *id, enum ps_file f)
{
	if ((unsigned)f >= PS_FILES)
		return -EINVAL;
	return ps_path(buf, len, id, file_names[f]);
}

/* Files an earlier portside kept in a container's directory, now fields of
 * forwards.json. Removed with the rest: a container started before an
 * upgrade and stopped after it leaves no directory behind. */
static const char *const retired_names[] = {"sidecar", "name"};

int ps_state_remove(const char *id)
{
	enum { NAMES = PS_FILES + sizeof(retired_names) / sizeof(retired_names[0]) };
	char path[4096];

	/* Every file of the layout, and the temporary copy ps_write_file
	 * may have left of it. */
	for (int f = 0; f < NAMES; f++) {
		const char *name = f < PS_FILES ? file_names[f] : retired_names[f - PS_FILES];

		for (int tmp = 0; tmp < 2; tmp++) {
			if (ps_path(path, sizeof(path) - 4, id, name) < 0)
				continue;
			if (tmp)
				strcat(path, ".tmp");
			if (unlink(path) < 0 && errno != ENOENT)
				return -errno;
		}
	}
	if (ps_path(path, sizeof(path), id, NULL) < 0)
		return -ENAMETOOLONG;
	if (rmdir(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

int ps_write_file(const char *path, const char *buf, size_t len)
{
	char tmp[4096];
	cleanup_close int fd = -1;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	for (size_t off = 0; off < len;) {
		ssize_t w = write(fd, buf + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			int rc = -errno;
			unlink(tmp);
			return rc;
		}
		off += (size_t)w;
	}
	if (rename(tmp, path) < 0) {
		int rc = -errno;
		unlink(tmp);
		return rc;
	}
	return 0;
}

int ps_pidfd_open(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

pid_t ps_sidecar_alive(const char *id, int *pidfd)
{
	char path[4096], buf[64], comm[32];
	cleanup_close int fd = -1, pfd = -1;
	ssize_t n;
	long pid;

	if (pidfd)
		*pidfd = -1;
	if (ps_file(path, sizeof(path), id, PS_SIDECAR_PID) < 0)
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	pid = strtol(buf, NULL, 10);
	if (pid <= 1)
		return 0;
	/* Pin the process first, then check it is ours: a pid read from a file
	 * may have been recycled. */
	pfd = ps_pidfd_open((pid_t)pid);
	if (pfd < 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
	oci_close(&fd);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, comm, sizeof(comm) - 1);
	if (n <= 0)
		return 0;
	comm[n] = '\0';
	if (strncmp(comm, "portside-sideca", 15) != 0)
		return 0;
	/* Still running after the comm check? A pidfd polls readable once its
	 * process has exited, zombie or not (a zombie holds no ports). */
	struct pollfd p = {.fd = pfd, .events = POLLIN};
	if (poll(&p, 1, 0) != 0)
		return 0;
	if (pidfd) {
		*pidfd = pfd;
		pfd = -1; /* ownership to the caller */
	}
	return (pid_t)pid;
}

void ps_netns_forget(const char *id)
{
	char path[4096];
	cleanup_closedir DIR *d = NULL;
	struct dirent *de;

	snprintf(path, sizeof(path), "%s/netns", ps_run_dir());
	if (!(d = opendir(path)))
		return;
	while ((de = readdir(d))) {
		char owner[256];
		cleanup_close int fd = -1;
		ssize_t n;

		if (de->d_name[0] == '.')
			continue;
		fd = openat(dirfd(d), de->d_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0 || (n = read(fd, owner, sizeof(owner) - 1)) <= 0)
			continue;
		owner[n] = '\0';
		if (!strcmp(owner, id))
			unlinkat(dirfd(d), de->d_name, 0);
	}
}

void ps_owner(const char *id, char *out, size_t len)
{
	char path[4096];
	cleanup_close int fd = -1;
	ssize_t n;

	out[0] = '\0';
	if (ps_file(path, sizeof(path), id, PS_OWNER) < 0 || (fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return;
	n = read(fd, out, len - 1);
	out[n > 0 ? n : 0] = '\0';
	out[strcspn(out, "\n")] = '\0';
	if (!oci_id_valid(out))
		out[0] = '\0';
}

int ps_record_load(const char *id, struct ps_forwards **out, struct oci_err *e)
{
	cleanup_free char *buf = NULL;
	char path[4096];
	size_t len;
	int rc;

	if (ps_file(path, sizeof(path), id, PS_FORWARDS) < 0)
		return oci_err_add(e, ENAMETOOLONG, "state path too long");
	if ((rc = oci_read_file(path, PS_FORWARDS_MAX_BYTES, &buf, &len, e)) < 0)
		return rc;
	return ps_forwards_decode(buf, len, out, e);
}

int ps_gc(void)
{
	cleanup_closedir DIR *d = ps_containers_open();
	struct dirent *de;
	int removed = 0;

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		char owner[256];

		if (de->d_type != DT_DIR || !oci_id_valid(de->d_name))
			continue;
		if (ps_sidecar_alive(de->d_name, NULL))
			continue;
		ps_owner(de->d_name, owner, sizeof(owner));
		if (owner[0] && ps_sidecar_alive(owner, NULL))
			continue;
		/* Its sidecar died, the container runs on: kept, for `ls` to
		 * show dead and `portsidectl restore` to bring back. */
		if (!owner[0] && ps_container_alive(de->d_name))
			continue;
		ps_netns_forget(de->d_name);
		if (ps_state_remove(de->d_name) == 0)
			removed++;
	}
	/* The uids of sidecars gone without a poststop (lib/uids.h). */
	ps_uid_sweep();
	return removed;
}

bool ps_container_alive(const char *id)
{
	struct ps_forwards *f = NULL;
	char path[64], key[64];
	struct stat st;
	bool alive;

	if (ps_record_load(id, &f, NULL) < 0)
		return false;
	/* The pid alone could be another process by now: it must still be in
	 * the network namespace the hook recorded. */
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)f->pid);
	alive = f->pid > 0 && stat(path, &st) == 0 &&
		snprintf(key, sizeof(key), "%lu:%lu", (unsigned long)st.st_dev, (unsigned long)st.st_ino) > 0 &&
		!strcmp(key, f->netns);
	ps_forwards_free(f);
	return alive;
}
