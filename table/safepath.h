/* SPDX-License-Identifier: MIT */
#ifndef PORTSIDE_HOOK_SAFEPATH_H
#define PORTSIDE_HOOK_SAFEPATH_H

/* safepath.c: whether a file root is about to execute could have been put
 * there, or changed, by anyone but root. */

#include <stddef.h>
#include <sys/stat.h>

/* How many symbolic links one walk follows at most (as the kernel's own). */
#define HOOK_SAFE_SYMLINKS_MAX 40

/* Opens the absolute PATH one component at a time (O_PATH | O_NOFOLLOW from
 * "/", each symbolic link read and walked in turn), into *FD, with its
 * fstat in *ST: the caller executes or reads that descriptor, so that what
 * was checked is what is used. Every directory on the way must belong to
 * root and be writable by root alone, except one with the sticky bit (like
 * /tmp), whose next component must then belong to root (and, for the
 * final file, have no other hard link); a regular file at the end must
 * belong to root and be writable by root alone. Anything else
 * at the end (a directory, a device) is returned unchecked, for the caller
 * to refuse by its type.
 *
 * Returns 0; -EPERM when someone other than root could change what PATH
 * names, with WHY (LEN bytes) saying which component and why (e.g. "/opt/x
 * is writable by its group (mode 0775)"); or the walk's -errno (-ENOENT,
 * -ENOTDIR, -ELOOP, -ENAMETOOLONG, -EINVAL for a relative PATH), WHY then
 * naming the component. */
int tb_safe_open(const char *path, int *fd, struct stat *st, char *why, size_t len);

#endif
