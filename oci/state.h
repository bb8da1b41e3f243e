/* SPDX-License-Identifier: MIT */
#ifndef PORTSIDE_OCI_STATE_H
#define PORTSIDE_OCI_STATE_H

/* The runtime-spec state a runtime writes on a hook's stdin. */

#include <stddef.h>
#include <sys/types.h>

#include "annotations.h"
#include "../base/err.h"

#define OCI_STATE_MAX_BYTES (1024 * 1024)
#define OCI_ID_MAX_LEN	    200 /* ids become directory names under /run/portside */

struct oci_state {
	char *oci_version; /* whatever the runtime wrote ("1.0" from crun, "1.0.2", ...) */
	char *id;	   /* checked by oci_id_valid */
	char *status;	   /* "creating", "created", "running", "stopped"; NULL if absent */
	pid_t pid;	   /* the container's init; 0 when absent (poststop) */
	char *bundle;	   /* absolute path */
	struct oci_annotations ann;
};

/* Decodes a state document. Lenient where runtimes differ: any ociVersion
 * string, extra fields (crun's "root"), no pid. Strict where portside relies on
 * a field: id, bundle, pid's range. */
int oci_state_parse(const char *buf, size_t len, struct oci_state **out, struct oci_err *e);

/* Reads the state from FD (a hook's stdin), at most OCI_STATE_MAX_BYTES. */
int oci_state_read(int fd, struct oci_state **out, struct oci_err *e);

void oci_state_free(struct oci_state *s);

/* True for a container id that is safe as one path component: 1 to
 * OCI_ID_MAX_LEN of [A-Za-z0-9_.+-], not "." or "..". */
bool oci_id_valid(const char *id);

#endif
