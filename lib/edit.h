/* SPDX-License-Identifier: MIT */
#ifndef PORTSIDE_LIB_EDIT_H
#define PORTSIDE_LIB_EDIT_H

/* Rewriting a file that root was asked to edit in a directory someone else
 * may own (a bundle's config.json): read and replaced through a descriptor of
 * its directory, never by a path after the first open, so that a file swapped
 * for a symbolic link in between is never followed. */

#include <signal.h>
#include <stddef.h>
#include <sys/stat.h>

#include "../base/err.h"

struct ps_edit {
	int dirfd;	  /* the directory, O_DIRECTORY|O_NOFOLLOW; -1 when closed */
	char name[256];	  /* the file's name in it */
	struct stat st;	  /* the file as it was read: owner, group, mode */
	const char *path; /* as the user wrote it, for messages (borrowed) */
};

/* Opens PATH's directory and reads PATH (at most MAX bytes, a regular file,
 * not a symbolic link) into *BUF (NUL-terminated, *LEN bytes; the caller
 * frees it). Refuses a directory that a user other than root and the file's
 * owner could write to (its owner, or write permission for group or others):
 * such a user could swap the file while it is replaced. On success F holds
 * the directory until ps_edit_close. */
int ps_edit_read(const char *path, size_t max, struct ps_edit *f, char **buf, size_t *len, struct oci_err *e);

/* Replaces F's file with BUF[0..LEN): a new file created exclusively next to
 * it, given the old owner, group and mode (setuid and setgid dropped),
 * synced, then renamed over the old one. Nothing is done through a path that
 * another user could redirect. */
int ps_edit_replace(struct ps_edit *f, const char *buf, size_t len, struct oci_err *e);

/* Holds back SIGINT, SIGTERM, SIGHUP and SIGQUIT (the old mask in *OLD,
 * for sigprocmask(SIG_SETMASK, OLD, NULL)): a ^C or a kill between a
 * temporary file's creation and its rename would leave it behind. */
void ps_edit_hold_signals(sigset_t *old);

/* Closes F's directory; safe to call twice. */
void ps_edit_close(struct ps_edit *f);

/* A struct ps_edit closed at the end of its scope (set .dirfd = -1 first). */
#define cleanup_ps_edit __attribute__((cleanup(ps_edit_close)))

#endif
