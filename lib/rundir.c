/* SPDX-License-Identifier: MIT */
#include "rundir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
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
#include "clock.h"
#include "identity.h"
#include "../oci/annotations.h"
#include "../oci/input.h"
#include "../oci/state.h"
#include "starting.h"
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
	[PS_ADDRESSES] = "addresses",
	[PS_PROCESS] = "process",
	[PS_NAME] = "kube-name",
	[PS_STARTING] = "starting",
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

/* "PID START\n" as the sidecar writes it (START its start time), or
 * "PID\n" from a sidecar an earlier portside started (*START 0); *MTIME
 * (may be NULL) the file's. */
static int read_pid_file(const char *id, long *pid, unsigned long long *start, struct timespec *mtime)
{
	char path[4096], buf[64], *end;
	cleanup_close int fd = -1;
	struct stat st;
	ssize_t n;

	*start = 0;
	if (ps_file(path, sizeof(path), id, PS_SIDECAR_PID) < 0)
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (mtime) {
		if (fstat(fd, &st) < 0)
			return -errno;
		*mtime = st.st_mtim;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return -EINVAL;
	buf[n] = '\0';
	errno = 0;
	*pid = strtol(buf, &end, 10);
	if (errno || end == buf || *pid <= 1 || *pid > INT32_MAX)
		return -EINVAL;
	if (*end == ' ') {
		char *p = end + 1;

		*start = strtoull(p, &end, 10);
		if (errno || end == p || !*start)
			return -EINVAL;
	}
	return *end == '\n' || *end == '\0' ? 0 : -EINVAL;
}

/* Whether the process PID, START is the sidecar of a container whose pid
 * file says so with its start time: the sidecar of that container, never an
 * earlier portside's sidecar whose pid it got. */
static bool claimed_by_new_pid_file(long pid, unsigned long long start)
{
	cleanup_closedir DIR *d = ps_containers_open();
	struct dirent *de;

	while (d && (de = readdir(d))) {
		unsigned long long other;
		long opid;

		if (de->d_type == DT_DIR && oci_id_valid(de->d_name) &&
		    read_pid_file(de->d_name, &opid, &other, NULL) == 0 && other && opid == pid && other == start)
			return true;
	}
	return false;
}

/* A pid file without a start time (an earlier portside's) names its sidecar
 * only if the process began before the file was written (by the sidecar,
 * once started; a second's slack for the clocks' rounding) and no new pid
 * file claims it: whoever got the pid after the sidecar died began later. */
static bool old_pid_file_fits(long pid, unsigned long long start, const struct timespec *mtime)
{
	time_t began;

	if (ps_start_wall_time(start, &began) < 0 || began > mtime->tv_sec + 1)
		return false;
	return !claimed_by_new_pid_file(pid, start);
}

pid_t ps_sidecar_alive(const char *id, int *pidfd)
{
	cleanup_close int fd = -1, pfd = -1, dir = -1;
	unsigned long long want, start;
	struct timespec mtime;
	char comm[32];
	ssize_t n;
	long pid;

	if (pidfd)
		*pidfd = -1;
	if (read_pid_file(id, &pid, &want, &mtime) < 0)
		return 0;
	/* Pinned first, then checked through its own /proc directory: a pid
	 * read from a file may be another process's by now. */
	if (ps_proc_pin((pid_t)pid, &pfd, &dir, &start) < 0)
		return 0;
	/* The start time the sidecar wrote tells it from any later process
	 * with its pid. A pid file without one comes from a sidecar started
	 * before the upgrade: its process must have begun before the file was
	 * written, and be no newer sidecar (another container's, whose
	 * poststop would otherwise be this one's to kill). */
	if (want ? start != want : !old_pid_file_fits(pid, start, &mtime))
		return 0;
	fd = openat(dir, "comm", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, comm, sizeof(comm) - 1);
	if (n <= 0)
		return 0;
	comm[n] = '\0';
	if (strncmp(comm, "portside-sideca", 15) != 0)
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

void ps_kube_claim(const char *id, char *out, size_t len)
{
	struct ps_forwards *f = NULL;
	char path[4096];
	cleanup_close int fd = -1;
	ssize_t n;

	out[0] = '\0';
	if (ps_record_load(id, &f, NULL) == 0) {
		snprintf(out, len, "%s", f->kube_name);
		ps_forwards_free(f);
	} else if (ps_file(path, sizeof(path), id, PS_NAME) == 0 &&
		   (fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) >= 0) {
		n = read(fd, out, len - 1);
		out[n > 0 ? n : 0] = '\0';
	}
	if (!oci_kube_name_valid(out))
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
		/* Pending first (lib/starting.h): then a start that is not
		 * has its sidecar running by the look after. */
		if (ps_start_pending(de->d_name) || ps_sidecar_alive(de->d_name, NULL))
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

/* How often ps_gc runs at most. */
#define GC_INTERVAL_MS 1000

bool ps_gc_due(void)
{
	char path[4096];
	struct stat st;
	int64_t age;
	int fd;

	if (snprintf(path, sizeof(path), "%s/gc.stamp", ps_run_dir()) >= (int)sizeof(path))
		return true;
	if (lstat(path, &st) == 0 && S_ISREG(st.st_mode)) {
		age = ps_mtime_age_ms(&st);
		/* A stamp from the future: the clock went back; due. */
		if (age >= 0 && age < GC_INTERVAL_MS)
			return false;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
	if (fd >= 0) {
		futimens(fd, NULL);
		close(fd);
	}
	return true;
}

int ps_write_self(const char *id, enum ps_file f)
{
	char path[4096], buf[64];
	cleanup_close int self = open("/proc/self", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	unsigned long long start;
	int n;

	if (self < 0 || ps_proc_start_time(self, &start) < 0)
		return -ESRCH;
	if (ps_file(path, sizeof(path), id, f) < 0)
		return -ENAMETOOLONG;
	n = snprintf(buf, sizeof(buf), "%d %llu\n", (int)getpid(), start);
	return ps_write_file(path, buf, (size_t)n);
}

int ps_container_open(const struct ps_forwards *f, int *pidfd, int *nsfd, char *why, size_t len)
{
	cleanup_close int pfd = -1, dir = -1, ns = -1;
	unsigned long long start;
	uint64_t cookie;
	struct stat st;
	char key[64];
	int rc;

	if (pidfd)
		*pidfd = -1;
	if (nsfd)
		*nsfd = -1;
	if (f->pid <= 0) {
		snprintf(why, len, "its record, from an earlier portside, names no process");
		return -ESRCH;
	}
	/* A pid and a netns inode number can both be had again by anyone:
	 * without the start time nothing tells the container from them. */
	if (!f->ident.pid_start) {
		snprintf(why, len, "its record, from an earlier portside, cannot tell its process %d from a later one",
			 (int)f->pid);
		return -ESRCH;
	}
	if ((rc = ps_proc_pin(f->pid, &pfd, &dir, &start)) < 0 || start != f->ident.pid_start) {
		snprintf(why, len,
			 rc < 0 ? "its process %d is gone" : "its process %d is gone; the pid is another's now",
			 (int)f->pid);
		return -ESRCH;
	}
	/* Through the pinned process's own directory: its namespace, not that
	 * of whoever has the pid by the time a path is looked up. */
	ns = openat(dir, "ns/net", O_RDONLY | O_CLOEXEC);
	if (ns < 0 || fstat(ns, &st) < 0 ||
	    (snprintf(key, sizeof(key), "%lu:%lu", (unsigned long)st.st_dev, (unsigned long)st.st_ino),
	     strcmp(key, f->netns))) {
		snprintf(why, len, "its process %d is in another network namespace", (int)f->pid);
		return -ESRCH;
	}
	/* No cookie recorded: the kernel had none (before 5.14); the process,
	 * pinned by its start time, holds the namespace its key names. */
	if (f->ident.netns_cookie && (ps_netns_cookie(ns, &cookie) < 0 || cookie != f->ident.netns_cookie)) {
		snprintf(why, len, "its process %d is in another network namespace (not the recorded cookie)",
			 (int)f->pid);
		return -ESRCH;
	}
	if (pidfd) {
		*pidfd = pfd;
		pfd = -1; /* ownership to the caller */
	}
	if (nsfd) {
		*nsfd = ns;
		ns = -1; /* ownership to the caller */
	}
	return 0;
}

int ps_process_write(const struct ps_forwards *f)
{
	char path[4096], buf[160];
	int n;

	if (ps_file(path, sizeof(path), f->id, PS_PROCESS) < 0)
		return -ENAMETOOLONG;
	n = snprintf(buf, sizeof(buf), "%d %llu %s %llu\n", (int)f->pid, f->ident.pid_start, f->netns,
		     (unsigned long long)f->ident.netns_cookie);
	return ps_write_file(path, buf, (size_t)n);
}

/* ID's process file into F: one line, where its record may be megabytes,
 * read by ps_gc at every start for each container whose sidecar died. */
static int process_load(const char *id, struct ps_forwards *f)
{
	char path[4096], buf[160], netns[sizeof(f->netns)], end;
	cleanup_close int fd = -1;
	unsigned long long start, cookie;
	int pid;
	ssize_t n;

	if (ps_file(path, sizeof(path), id, PS_PROCESS) < 0)
		return -ENAMETOOLONG;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY)) < 0)
		return -errno;
	if ((n = read(fd, buf, sizeof(buf) - 1)) <= 0)
		return -EINVAL;
	buf[n] = '\0';
	if (sscanf(buf, "%d %llu %63s %llu%c", &pid, &start, netns, &cookie, &end) != 5 || end != '\n' ||
	    !ps_netns_key_valid(netns))
		return -EINVAL;
	f->pid = pid;
	f->ident.pid_start = start;
	f->ident.netns_cookie = cookie;
	snprintf(f->netns, sizeof(f->netns), "%s", netns);
	return 0;
}

bool ps_container_alive(const char *id)
{
	struct ps_forwards *f = calloc(1, sizeof(*f));
	char why[160];
	bool alive;
	int rc;

	if (!f)
		return false;
	/* A container started before the process file existed: its record. */
	if ((rc = process_load(id, f)) == -ENOENT) {
		free(f);
		f = NULL;
		rc = ps_record_load(id, &f, NULL);
	}
	alive = rc == 0 && ps_container_open(f, NULL, NULL, why, sizeof(why)) == 0;
	ps_forwards_free(f);
	return alive;
}
