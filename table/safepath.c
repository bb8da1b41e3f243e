/* SPDX-License-Identifier: MIT */
/* The rule sudo's secure_path and OpenSSH's safe_path apply, for the sidecar
 * the hook runs as root: whoever can write the binary, or any directory above
 * it, can put their own program there, and root runs it. The walk opens each
 * component itself rather than trusting a resolved name, so that a component
 * swapped after it was checked is not followed: the descriptor returned is
 * the file the checks saw. */
#include "safepath.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../base/cleanup.h"

static int say(char *why, size_t len, int rc, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int say(char *why, size_t len, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return rc;
}

/* Others may add entries to a directory with group or world write; with the
 * sticky bit they still cannot rename or remove an entry that is root's. */
static bool open_to_others(const struct stat *st)
{
	return st->st_mode & (S_IWGRP | S_IWOTH);
}

/* A file or directory only root can change. A sticky directory writable by
 * others (like /tmp, 1777) passes: what matters there is that its next
 * component belongs to root, which the walk checks next. CI may clone the
 * tree under /tmp, so this case must work. */
static int check(const struct stat *st, const char *shown, char *why, size_t len)
{
	if (st->st_uid != 0)
		return say(why, len, -EPERM, "%s is owned by uid %u, not root", shown, (unsigned)st->st_uid);
	if (open_to_others(st) && !(S_ISDIR(st->st_mode) && (st->st_mode & S_ISVTX)))
		return say(why, len, -EPERM, "%s is writable by %s (mode %04o)", shown,
			   (st->st_mode & S_IWOTH) ? "everyone" : "its group", (unsigned)(st->st_mode & 07777));
	return 0;
}

/* SHOWN (the walk so far, for messages) with NAME appended; ".." drops the
 * last component instead. */
static void shown_step(char *shown, size_t len, const char *name)
{
	size_t n = strlen(shown);

	if (!strcmp(name, "..")) {
		char *slash = strrchr(shown, '/');

		if (slash && slash != shown)
			*slash = '\0';
		else
			snprintf(shown, len, "/");
		return;
	}
	/* Only ever shown: a name cut short at the buffer's end will do. */
	if (n + 1 < len && snprintf(shown + n, len - n, "%s%s", n > 0 && shown[n - 1] == '/' ? "" : "/", name) < 0)
		shown[n] = '\0';
}

int tb_safe_open(const char *path, int *fd, struct stat *out, char *why, size_t len)
{
	char todo[PATH_MAX], shown[PATH_MAX], next[PATH_MAX];
	cleanup_close int cur = -1;
	struct stat st;
	bool sticky = false, from_root = true;
	int links = 0, rc;
	char *p;

	*fd = -1;
	why[0] = '\0';
	if (path[0] != '/')
		return say(why, len, -EINVAL, "%s is not an absolute path", path);
	if (snprintf(todo, sizeof(todo), "%s", path) >= (int)sizeof(todo))
		return say(why, len, -ENAMETOOLONG, "the path is too long");
	p = todo;
	for (;;) {
		size_t nlen;
		char *name, *rest;
		int nfd;

		if (from_root) {
			/* The path's start, or an absolute symbolic link's. */
			from_root = false;
			oci_close(&cur);
			cur = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
			if (cur < 0 || fstat(cur, &st) < 0)
				return say(why, len, -errno, "/");
			snprintf(shown, sizeof(shown), "/");
			if ((rc = check(&st, shown, why, len)) < 0)
				return rc;
			sticky = open_to_others(&st);
		}
		while (*p == '/')
			p++;
		if (!*p) {
			/* The path ends at a directory (checked already). */
			*out = st;
			*fd = cur;
			cur = -1; /* to the caller */
			return 0;
		}
		name = p;
		nlen = strcspn(p, "/");
		rest = p + nlen;
		if (*rest)
			*rest++ = '\0';
		p = rest;
		if (!strcmp(name, "."))
			continue;

		snprintf(next, sizeof(next), "%s", shown);
		shown_step(next, sizeof(next), name);
		nfd = openat(cur, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (nfd < 0)
			return say(why, len, -errno, "%s", next);
		if (fstat(nfd, &st) < 0) {
			rc = -errno;
			close(nfd);
			return say(why, len, rc, "%s", next);
		}
		/* In a directory others may write to, only root's own entries
		 * cannot be swapped ("..", not an entry, cannot be). */
		if (sticky && st.st_uid != 0 && strcmp(name, "..")) {
			close(nfd);
			return say(why, len, -EPERM, "%s is owned by uid %u in %s, which others can write to", next,
				   (unsigned)st.st_uid, shown);
		}

		if (S_ISLNK(st.st_mode)) {
			char target[PATH_MAX];
			ssize_t n;

			/* Its directory is safe, so only root could have made
			 * it; where it points is walked like the rest. */
			n = readlinkat(nfd, "", target, sizeof(target) - 1);
			rc = -errno;
			close(nfd);
			if (n < 0)
				return say(why, len, rc, "%s", next);
			if (++links > HOOK_SAFE_SYMLINKS_MAX)
				return say(why, len, -ELOOP, "%s", next);
			target[n] = '\0';
			/* The link's target, then what was left of the path. */
			if (snprintf(next, sizeof(next), "%s%s%s", target, *rest ? "/" : "", rest) >= (int)sizeof(next))
				return say(why, len, -ENAMETOOLONG, "the path is too long");
			memcpy(todo, next, strlen(next) + 1);
			p = todo;
			from_root = todo[0] == '/';
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			if ((rc = check(&st, next, why, len)) < 0) {
				close(nfd);
				return rc;
			}
			oci_close(&cur);
			cur = nfd;
			memcpy(shown, next, sizeof(shown));
			sticky = open_to_others(&st);
			continue;
		}
		p += strspn(p, "/");
		if (*p) {
			close(nfd);
			return say(why, len, -ENOTDIR, "%s", next);
		}
		if (S_ISREG(st.st_mode) && (rc = check(&st, next, why, len)) < 0) {
			close(nfd);
			return rc;
		}
		/* With fs.protected_hardlinks=0 anyone can link a file of root's
		 * (an old, vulnerable binary) into a directory others write to;
		 * the link is root's too. One name only, then. */
		if (sticky && S_ISREG(st.st_mode) && st.st_nlink != 1) {
			close(nfd);
			return say(why, len, -EPERM, "%s has %lu hard links in %s, which others can write to", next,
				   (unsigned long)st.st_nlink, shown);
		}
		*out = st;
		*fd = nfd;
		return 0;
	}
}
