/* SPDX-License-Identifier: MIT */
/* A file root edits in a directory it does not control, read and replaced
 * through that directory's descriptor (see edit.h). */
#include "edit.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "../base/cleanup.h"
#include "../oci/input.h"

#define TMP_TRIES 16 /* names tried when one exists already */

void ps_edit_close(struct ps_edit *f)
{
	oci_close(&f->dirfd);
}

#define WALK_MAX_LINKS 8   /* symbolic links followed in one path */
#define WALK_MAX_STEPS 256 /* components walked in all */
#define WRITABLE(st)   ((st)->st_mode & (S_IWGRP | S_IWOTH))

/* Where the walk is: a directory it holds open, and its name for messages. */
struct walk {
	int fd;
	struct stat st;
	char where[4096];
	uid_t owner; /* the file's owner, as first seen */
	const char *path;
};

static int walk_start(struct walk *w, bool absolute, struct oci_err *e)
{
	oci_close(&w->fd);
	snprintf(w->where, sizeof(w->where), "%s", absolute ? "/" : ".");
	do
		w->fd = open(w->where, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	while (w->fd < 0 && errno == EINTR);
	if (w->fd < 0 || fstat(w->fd, &w->st) < 0)
		return oci_err_addp(e, errno, "cannot open %s: %s", w->path, w->where);
	return 0;
}

/* Leaving W's directory for NEXT (named NAME in it): a directory on the way
 * that someone else could write to lets them put anything under NAME (a
 * link, another directory) before it is opened. Only root and the file's
 * owner may own it; a sticky one that others write to (/tmp) is crossed only
 * into an entry of root's or the owner's, which nobody else can rename. */
static int check_step(const struct walk *w, const char *name, const struct stat *next, struct oci_err *e)
{
	if (w->st.st_uid != 0 && w->st.st_uid != w->owner)
		return oci_err_add(e, EPERM,
				   "refusing to edit %s: %s on the way belongs to uid %u, neither root nor the file's "
				   "owner (uid %u)",
				   w->path, w->where, (unsigned)w->st.st_uid, (unsigned)w->owner);
	if (WRITABLE(&w->st) && !(w->st.st_mode & S_ISVTX))
		return oci_err_add(e, EPERM,
				   "refusing to edit %s: %s on the way (mode %04o) can be written by group or others "
				   "and is not sticky",
				   w->path, w->where, (unsigned)(w->st.st_mode & 07777));
	if (WRITABLE(&w->st) && next->st_uid != 0 && next->st_uid != w->owner)
		return oci_err_add(e, EPERM,
				   "refusing to edit %s: %s in the shared directory %s belongs to uid %u, neither root "
				   "nor the file's owner (uid %u)",
				   w->path, name, w->where, (unsigned)next->st_uid, (unsigned)w->owner);
	return 0;
}

/* NAME in W's directory is a symbolic link: followed only when nobody but
 * root could have made it or could change it (/var/run -> /run), its target
 * put in front of REST (the components still to walk). */
static int follow(struct walk *w, const char *name, char *rest, size_t len, int *links, struct oci_err *e)
{
	char target[4096], joined[4096];
	struct stat ls;
	ssize_t n;

	if (fstatat(w->fd, name, &ls, AT_SYMLINK_NOFOLLOW) < 0)
		return oci_err_addp(e, errno, "cannot open %s: %s/%s", w->path, w->where, name);
	if (!S_ISLNK(ls.st_mode))
		return oci_err_add(e, ENOTDIR, "cannot open %s: %s/%s is not a directory", w->path, w->where, name);
	if (ls.st_uid != 0 || w->st.st_uid != 0 || WRITABLE(&w->st))
		return oci_err_add(
			e, ELOOP,
			"refusing to edit %s: %s in %s is a symbolic link that someone other than root could "
			"have made: give the real path",
			w->path, name, w->where);
	if (++*links > WALK_MAX_LINKS)
		return oci_err_add(e, ELOOP, "cannot open %s: too many symbolic links", w->path);
	if ((n = readlinkat(w->fd, name, target, sizeof(target))) < 0)
		return oci_err_addp(e, errno, "cannot read the link %s/%s", w->where, name);
	if (n == 0 || (size_t)n >= sizeof(target))
		return oci_err_add(e, ENAMETOOLONG, "cannot open %s: the link %s/%s is too long", w->path, w->where,
				   name);
	target[n] = '\0';
	if (snprintf(joined, sizeof(joined), "%s/%s", target, rest) >= (int)sizeof(joined) || strlen(joined) >= len)
		return oci_err_add(e, ENAMETOOLONG, "%s: the path is too long", w->path);
	memcpy(rest, joined, strlen(joined) + 1);
	return target[0] == '/' ? walk_start(w, true, e) : 0;
}

/* Opens DIR (PATH without its last name) one component at a time, never
 * following a link someone else could make, and checking every directory
 * crossed (check_step). Leaves W on the file's directory. */
static int walk_dirs(struct walk *w, const char *dir, struct oci_err *e)
{
	char rest[4096];
	int links = 0, rc;

	if (strlen(dir) >= sizeof(rest))
		return oci_err_add(e, ENAMETOOLONG, "%s: the path is too long", w->path);
	snprintf(rest, sizeof(rest), "%s", dir);
	if ((rc = walk_start(w, rest[0] == '/', e)) < 0)
		return rc;
	for (int steps = 0; rest[0]; steps++) {
		char name[256], *slash = strchr(rest, '/');
		size_t n = slash ? (size_t)(slash - rest) : strlen(rest);
		struct stat next;
		int fd;

		if (steps >= WALK_MAX_STEPS)
			return oci_err_add(e, ELOOP, "cannot open %s: too many components", w->path);
		if (n >= sizeof(name))
			return oci_err_add(e, ENAMETOOLONG, "%s: a name in it is too long", w->path);
		memcpy(name, rest, n);
		name[n] = '\0';
		memmove(rest, rest + n + (slash != NULL), strlen(rest + n + (slash != NULL)) + 1);
		if (!name[0] || !strcmp(name, "."))
			continue;
		do
			fd = openat(w->fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		while (fd < 0 && errno == EINTR);
		if (fd < 0 && (errno == ELOOP || errno == ENOTDIR)) {
			if ((rc = follow(w, name, rest, sizeof(rest), &links, e)) < 0)
				return rc;
			continue;
		}
		if (fd < 0)
			return oci_err_addp(e, errno, "cannot open %s: %s/%s", w->path, w->where, name);
		if (fstat(fd, &next) < 0 || (rc = check_step(w, name, &next, e)) < 0) {
			rc = rc < 0 ? rc : oci_err_addp(e, errno, "cannot stat %s/%s", w->where, name);
			close(fd);
			return rc;
		}
		oci_close(&w->fd);
		w->fd = fd;
		w->st = next;
		size_t wl = strlen(w->where);
		if (wl + n + 2 > sizeof(w->where))
			return oci_err_add(e, ENAMETOOLONG, "%s: the path is too long", w->path);
		snprintf(w->where + wl, sizeof(w->where) - wl, "%s%s", !strcmp(w->where, "/") ? "" : "/", name);
	}
	return 0;
}

/* Whoever can write the file's own directory can put another file, or a
 * symbolic link, under the name between the read and the rename: only root
 * and the file's owner (who could edit the file anyway) may; sticky or not. */
static int check_dir(const struct ps_edit *f, const struct stat *ds, struct oci_err *e)
{
	if (ds->st_uid != 0 && ds->st_uid != f->st.st_uid)
		return oci_err_add(e, EPERM,
				   "refusing to edit %s: its directory belongs to uid %u, neither root nor the file's "
				   "owner (uid %u)",
				   f->path, (unsigned)ds->st_uid, (unsigned)f->st.st_uid);
	if (WRITABLE(ds))
		return oci_err_add(e, EPERM,
				   "refusing to edit %s: its directory (mode %04o) can be written by group or others; "
				   "make it writable by its owner only",
				   f->path, (unsigned)(ds->st_mode & 07777));
	return 0;
}

int ps_edit_read(const char *path, size_t max, struct ps_edit *f, char **buf, size_t *len, struct oci_err *e)
{
	const char *slash = strrchr(path, '/'), *name = slash ? slash + 1 : path;
	struct walk w = {.fd = -1, .path = path};
	cleanup_close int fd = -1;
	char dir[4096];
	struct stat guess;
	int rc;

	f->dirfd = -1;
	f->path = path;
	if (!name[0] || !strcmp(name, ".") || !strcmp(name, "..") || strlen(name) >= sizeof(f->name))
		return oci_err_add(e, EINVAL, "%s: not a file name", path);
	if ((size_t)(name - path) >= sizeof(dir))
		return oci_err_add(e, ENAMETOOLONG, "%s: the path is too long", path);
	snprintf(dir, sizeof(dir), "%.*s", (int)(name - path), path);
	snprintf(f->name, sizeof(f->name), "%s", name);
	/* The owner the directories are checked against, from a first look
	 * that may follow anything: the file found at the end of the checked
	 * walk must have the same, or nothing is done. */
	if (fstatat(AT_FDCWD, path, &guess, AT_SYMLINK_NOFOLLOW) < 0)
		return oci_err_addp(e, errno, "cannot open %s", path);
	w.owner = guess.st_uid;
	if ((rc = walk_dirs(&w, dir, e)) < 0) {
		oci_close(&w.fd);
		return rc;
	}
	f->dirfd = w.fd;
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
	else if (f->st.st_uid != w.owner)
		rc = oci_err_add(e, EAGAIN, "refusing to edit %s: it changed while it was opened", path);
	else if ((rc = check_dir(f, &w.st, e)) == 0)
		rc = oci_read_fd(fd, max, path, buf, len, e);
	if (rc < 0)
		ps_edit_close(f);
	return rc;
}

/* Creates a new file next to F's, named NAME.XXXXXXXX.tmp, that nobody else
 * opened: O_EXCL (whatever is there already, a FIFO or a link, is never
 * opened) with a random part so that a name set up in advance is missed. */
static int create_tmp(const struct ps_edit *f, char *tmp, size_t len, struct oci_err *e)
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

int ps_edit_replace(struct ps_edit *f, const char *buf, size_t len, struct oci_err *e)
{
	char tmp[sizeof(f->name) + 16];
	cleanup_close int fd = -1;
	sigset_t old;
	struct stat now;
	bool renamed = false;
	int rc;

	/* Such signals wait until the new file is renamed or removed. */
	ps_edit_hold_signals(&old);
	if ((fd = create_tmp(f, tmp, sizeof(tmp), e)) < 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		return fd;
	}
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
	else
		renamed = true;
	if (rc < 0 && !renamed)
		unlinkat(f->dirfd, tmp, 0);
	sigprocmask(SIG_SETMASK, &old, NULL);
	/* The rename itself lasts only once the directory is on disk. */
	if (rc == 0 && fsync(f->dirfd) < 0 && errno != EINVAL && errno != EROFS)
		rc = oci_err_addp(e, errno, "%s was replaced but its directory could not be synced", f->path);
	return rc;
}

void ps_edit_hold_signals(sigset_t *old)
{
	sigset_t stop;

	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGHUP);
	sigaddset(&stop, SIGQUIT);
	sigprocmask(SIG_BLOCK, &stop, old);
}
