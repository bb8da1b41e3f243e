/* SPDX-License-Identifier: MIT */
/* A file root edits in a directory it does not control, read and replaced
 * through that directory's descriptor (see replace.h). */
#include "replace.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "../base/cleanup.h"
#include "../oci/input.h"

#define TMP_TRIES 16 /* names tried when one exists already */

void ctl_file_close(struct ctl_file *f)
{
	oci_close(&f->dirfd);
}

/* Splits PATH into its directory (opened into F) and its last name. */
static int open_dir(const char *path, struct ctl_file *f, struct oci_err *e)
{
	const char *slash = strrchr(path, '/'), *name = slash ? slash + 1 : path;
	char dir[4096];

	if (!name[0] || strlen(name) >= sizeof(f->name))
		return oci_err_add(e, EINVAL, "%s: not a file name", path);
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else if ((size_t)(slash - path) >= sizeof(dir))
		return oci_err_add(e, ENAMETOOLONG, "%s: the path is too long", path);
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	snprintf(f->name, sizeof(f->name), "%s", name);
	do
		f->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	while (f->dirfd < 0 && errno == EINTR);
	if (f->dirfd < 0 && (errno == ELOOP || errno == ENOTDIR))
		return oci_err_add(e, errno, "cannot open %s: %s is a symbolic link or not a directory: refused", path,
				   dir);
	if (f->dirfd < 0)
		return oci_err_addp(e, errno, "cannot open the directory of %s", path);
	return 0;
}

/* Whoever can write the directory can put another file, or a symbolic link,
 * under the name between the read and the rename: only root and the file's
 * owner (who could edit the file anyway) may. */
static int check_dir(const struct ctl_file *f, struct oci_err *e)
{
	struct stat ds;

	if (fstat(f->dirfd, &ds) < 0)
		return oci_err_addp(e, errno, "cannot stat the directory of %s", f->path);
	if (ds.st_uid != 0 && ds.st_uid != f->st.st_uid)
		return oci_err_add(e, EPERM,
				   "refusing to edit %s: its directory belongs to uid %u, neither root nor the file's "
				   "owner (uid %u)",
				   f->path, (unsigned)ds.st_uid, (unsigned)f->st.st_uid);
	if (ds.st_mode & (S_IWGRP | S_IWOTH))
		return oci_err_add(e, EPERM,
				   "refusing to edit %s: its directory (mode %04o) can be written by group or others; "
				   "make it writable by its owner only",
				   f->path, (unsigned)(ds.st_mode & 07777));
	return 0;
}

int ctl_file_read(const char *path, size_t max, struct ctl_file *f, char **buf, size_t *len, struct oci_err *e)
{
	cleanup_close int fd = -1;
	int rc;

	f->dirfd = -1;
	f->path = path;
	if ((rc = open_dir(path, f, e)) < 0)
		return rc;
	/* O_NONBLOCK: a FIFO under the name must not hang the open. */
	do
		fd = openat(f->dirfd, f->name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	if (fd < 0 && errno == ELOOP)
		rc = oci_err_add(e, ELOOP, "%s is a symbolic link: refused (name the file itself)", path);
	else if (fd < 0)
		rc = oci_err_addp(e, errno, "cannot open %s", path);
	else if (fstat(fd, &f->st) < 0)
		rc = oci_err_addp(e, errno, "cannot stat %s", path);
	else if (!S_ISREG(f->st.st_mode))
		rc = oci_err_add(e, EINVAL, "%s is not a regular file", path);
	else if ((rc = check_dir(f, e)) == 0)
		rc = oci_read_fd(fd, max, path, buf, len, e);
	if (rc < 0)
		ctl_file_close(f);
	return rc;
}

/* Creates a new file next to F's, named NAME.XXXXXXXX.tmp, that nobody else
 * opened: O_EXCL (whatever is there already, a FIFO or a link, is never
 * opened) with a random part so that a name set up in advance is missed. */
static int create_tmp(const struct ctl_file *f, char *tmp, size_t len, struct oci_err *e)
{
	for (int i = 0; i < TMP_TRIES; i++) {
		unsigned r;
		int fd;

		if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
			r = (unsigned)getpid() ^ (unsigned)time(NULL) ^ ((unsigned)i << 20);
		if (snprintf(tmp, len, "%s.%08x.tmp", f->name, r) >= (int)len)
			return oci_err_add(e, ENAMETOOLONG, "%s: the name is too long", f->path);
		do
			fd = openat(f->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		while (fd < 0 && errno == EINTR);
		if (fd >= 0)
			return fd;
		if (errno != EEXIST)
			return oci_err_addp(e, errno, "cannot create a file next to %s", f->path);
	}
	return oci_err_add(e, EEXIST, "cannot create a file next to %s: every name tried exists", f->path);
}

static int write_all(int fd, const char *buf, size_t len)
{
	for (size_t off = 0; off < len;) {
		ssize_t w = write(fd, buf + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		off += (size_t)w;
	}
	return 0;
}

int ctl_file_replace(struct ctl_file *f, const char *buf, size_t len, struct oci_err *e)
{
	char tmp[sizeof(f->name) + 16];
	cleanup_close int fd = -1;
	struct stat now;
	int rc;

	if ((fd = create_tmp(f, tmp, sizeof(tmp), e)) < 0)
		return fd;
	/* Owner first: a chown clears set-id bits, and the mode is set after.
	 * The set-id bits are dropped all the same: a config is no program. */
	if ((rc = write_all(fd, buf, len)) < 0)
		rc = oci_err_addp(e, -rc, "cannot write %s", f->path);
	else if (fstat(fd, &now) < 0)
		rc = oci_err_addp(e, errno, "cannot write %s", f->path);
	else if ((now.st_uid != f->st.st_uid || now.st_gid != f->st.st_gid) &&
		 fchown(fd, f->st.st_uid, f->st.st_gid) < 0)
		rc = oci_err_addp(e, errno, "cannot give the new %s its owner %u:%u", f->path, (unsigned)f->st.st_uid,
				  (unsigned)f->st.st_gid);
	else if (fchmod(fd, f->st.st_mode & 07777 & ~(mode_t)(S_ISUID | S_ISGID)) < 0)
		rc = oci_err_addp(e, errno, "cannot give the new %s its mode", f->path);
	else if (fsync(fd) < 0)
		rc = oci_err_addp(e, errno, "cannot write %s", f->path);
	else if (renameat(f->dirfd, tmp, f->dirfd, f->name) < 0)
		rc = oci_err_addp(e, errno, "cannot replace %s", f->path);
	if (rc < 0)
		unlinkat(f->dirfd, tmp, 0);
	return rc;
}
