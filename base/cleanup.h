/* SPDX-License-Identifier: MIT */
#ifndef PORTSIDE_OCI_CLEANUP_H
#define PORTSIDE_OCI_CLEANUP_H

/* Scope-bound clean-up, as crun does it. Hand ownership off with
 * `*out = p; p = NULL;` so that the clean-up of the local becomes a no-op. */

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

struct json_object;
int json_object_put(struct json_object *obj);

static inline void oci_cleanup_freep(void *p)
{
	free(*(void **)p);
}

static inline void oci_cleanup_closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno; /* a clean-up must not clobber the caller's errno */
		close(*fd);
		errno = saved;
	}
}

static inline void oci_cleanup_fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

static inline void oci_cleanup_closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

static inline void oci_cleanup_jsonp(struct json_object **o)
{
	if (*o)
		json_object_put(*o);
}

#define cleanup_free	 __attribute__((cleanup(oci_cleanup_freep)))
#define cleanup_close	 __attribute__((cleanup(oci_cleanup_closep)))
#define cleanup_fclose	 __attribute__((cleanup(oci_cleanup_fclosep)))
#define cleanup_closedir __attribute__((cleanup(oci_cleanup_closedirp)))
#define cleanup_json	 __attribute__((cleanup(oci_cleanup_jsonp)))

/* close() that is never retried on EINTR (Linux frees the fd anyway) and
 * leaves the variable at -1. */
static inline void oci_close(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

#endif
