/* SPDX-License-Identifier: MIT */
#include "uids.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../base/cleanup.h"
#include "../oci/state.h"
#include "rundir.h"

#include "paths.h" /* generated: PORTSIDE_SIDECAR_UID_BASE and _COUNT, from the Makefile */

#define BASE  PORTSIDE_SIDECAR_UID_BASE
#define COUNT PORTSIDE_SIDECAR_UID_COUNT

/* Never a uid anything on the host is likely to have (nobody, 65535, system
 * and login users), never past 2^31 (negative to some tools), and a bitmap of
 * the range stays small. */
_Static_assert(BASE > 65535u, "SIDECAR_UID_BASE must be above 65535");
_Static_assert(COUNT >= 1u && COUNT <= (1u << 20), "SIDECAR_UID_COUNT must be 1 to 1048576");
_Static_assert((unsigned long long)BASE + COUNT <= 2147483648ull, "the sidecar uid range must end below 2^31");

uid_t ps_uid_base(void)
{
	return (uid_t)BASE;
}

unsigned ps_uid_count(void)
{
	return COUNT;
}

bool ps_uid_in_range(uid_t uid)
{
	return uid >= BASE && uid - BASE < COUNT;
}

/* One bit a uid of the range. */
static uint64_t *bits_new(void)
{
	return calloc((COUNT + 63) / 64, sizeof(uint64_t));
}

static void bit_set(uint64_t *b, unsigned long v)
{
	if (v >= BASE && v - BASE < COUNT)
		b[(v - BASE) / 64] |= 1ULL << ((v - BASE) % 64);
}

static bool bit_get(const uint64_t *b, uid_t u)
{
	return (b[(u - BASE) / 64] >> ((u - BASE) % 64)) & 1;
}

/* ROOT/uids, made if missing (root's alone, like the rest of ROOT). */
static int open_dir(int *fd)
{
	char path[4096];

	if (snprintf(path, sizeof(path), "%s/" PS_UIDS_DIR, ps_run_dir()) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return -errno;
	*fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	return *fd < 0 ? -errno : 0;
}

/* The uid a lease's name gives: decimal, in the range; 0 for anything else
 * (a stray file is neither a lease nor an error). */
static uid_t lease_uid(const char *name)
{
	char *end;
	unsigned long v;

	if (name[0] < '1' || name[0] > '9')
		return 0;
	errno = 0;
	v = strtoul(name, &end, 10);
	if (errno || *end || v > UINT32_MAX || !ps_uid_in_range((uid_t)v))
		return 0;
	return (uid_t)v;
}

/* True when the lease NAME in DFD holds ID. */
static bool lease_of(int dfd, const char *name, const char *id)
{
	char buf[OCI_ID_MAX_LEN + 2];
	cleanup_close int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	ssize_t n;

	if (fd < 0 || (n = read(fd, buf, sizeof(buf) - 1)) <= 0)
		return false;
	buf[n] = '\0';
	return !strcmp(buf, id);
}

/* Marks in USED every uid of the range that a live process has as its real,
 * effective, saved or filesystem uid or gid (a zombie holds nothing). Fails
 * closed: without /proc nothing can be known to be free. */
static int mark_running(uint64_t *used)
{
	cleanup_closedir DIR *d = opendir("/proc");
	struct dirent *de;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char path[64], buf[2048];
		cleanup_close int fd = -1;
		ssize_t n;
		char *l;

		if (de->d_name[0] < '1' || de->d_name[0] > '9' ||
		    snprintf(path, sizeof(path), "%s/status", de->d_name) >= (int)sizeof(path))
			continue;
		if ((fd = openat(dirfd(d), path, O_RDONLY | O_CLOEXEC)) < 0 ||
		    (n = read(fd, buf, sizeof(buf) - 1)) <= 0)
			continue; /* gone meanwhile */
		buf[n] = '\0';
		if ((l = strstr(buf, "\nState:\t")) && (l[8] == 'Z' || l[8] == 'X'))
			continue;
		for (int g = 0; g < 2; g++) {
			unsigned long v[4];

			l = strstr(buf, g ? "\nGid:\t" : "\nUid:\t");
			if (l && sscanf(l + 6, "%lu %lu %lu %lu", &v[0], &v[1], &v[2], &v[3]) == 4)
				for (int i = 0; i < 4; i++)
					bit_set(used, v[i]);
		}
	}
	return 0;
}

/* True when passwd or group names U: someone gave it out already. */
static bool named(uid_t u)
{
	return getpwuid(u) || getgrgid((gid_t)u);
}

static int take(int dfd, uid_t u, const char *id)
{
	char name[16];
	size_t len = strlen(id);
	int fd, rc = 0;

	snprintf(name, sizeof(name), "%u", (unsigned)u);
	/* O_EXCL: of two hooks that chose U, one creates the lease. */
	fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
	if (fd < 0)
		return -errno;
	if (write(fd, id, len) != (ssize_t)len)
		rc = errno ? -errno : -EIO;
	close(fd);
	if (rc < 0)
		unlinkat(dfd, name, 0);
	return rc;
}

int ps_uid_acquire(const char *id, uid_t *uid)
{
	cleanup_free uint64_t *leased = bits_new(), *used = bits_new();
	cleanup_closedir DIR *d = NULL;
	cleanup_close int dfd = -1;
	struct dirent *de;
	uid_t mine = 0;
	int rc;

	if (!leased || !used)
		return -ENOMEM;
	if ((rc = open_dir(&dfd)) < 0)
		return rc;
	if ((rc = mark_running(used)) < 0)
		return rc;
	if (!(d = fdopendir(dfd)))
		return -errno;
	dfd = -1; /* the DIR owns it now */
	while ((de = readdir(d))) {
		uid_t u = lease_uid(de->d_name);

		if (!u)
			continue;
		bit_set(leased, u);
		if (!mine && !bit_get(used, u) && lease_of(dirfd(d), de->d_name, id))
			mine = u;
	}
	if (mine) {
		*uid = mine;
		return 0;
	}
	for (unsigned i = 0; i < COUNT; i++) {
		uid_t u = (uid_t)(BASE + i);

		if (bit_get(leased, u) || bit_get(used, u) || named(u))
			continue;
		rc = take(dirfd(d), u, id);
		if (rc == -EEXIST)
			continue;
		if (rc < 0)
			return rc;
		*uid = u;
		return 0;
	}
	return -EUSERS;
}

/* Removes the leases (of ID, or every one when ID is NULL) whose uid no live
 * process has. Returns how many. */
static int release(const char *id)
{
	cleanup_free uint64_t *used = NULL;
	cleanup_closedir DIR *d = NULL;
	cleanup_close int dfd = -1;
	struct dirent *de;
	int removed = 0;

	if (open_dir(&dfd) < 0 || !(d = fdopendir(dfd)))
		return 0;
	dfd = -1; /* the DIR owns it now */
	while ((de = readdir(d))) {
		uid_t u = lease_uid(de->d_name);

		if (!u || (id && !lease_of(dirfd(d), de->d_name, id)))
			continue;
		/* Read once, and only when there is a lease to weigh. */
		if (!used && (!(used = bits_new()) || mark_running(used) < 0))
			return removed; /* unknown: kept, for the next sweep */
		if (!bit_get(used, u) && unlinkat(dirfd(d), de->d_name, 0) == 0)
			removed++;
	}
	return removed;
}

void ps_uid_release(const char *id)
{
	release(id);
}

int ps_uid_sweep(void)
{
	return release(NULL);
}
