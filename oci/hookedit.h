/* SPDX-License-Identifier: MIT */
#ifndef PORTSIDE_OCI_HOOKEDIT_H
#define PORTSIDE_OCI_HOOKEDIT_H

/* Adding portside's hook to a parsed config.json: shared by `portsidectl
 * inject` (a user's own bundle) and portside-runc (a CRI runtime's bundle). */

#include <json-c/json.h>

/* OBJ[KEY] as an object or array of type T, created when absent; NULL when
 * it is there with another type (the file is not ours to repair). */
json_object *oci_json_child(json_object *obj, const char *key, json_type t);

/* What a hook entry portside adds runs. */
struct oci_hook_entry {
	const char *path;	/* the hook */
	const char *sidecar;	/* NULL, else "--sidecar SIDECAR" */
	const char *policy;	/* NULL, else "--policy POLICY" */
	const char *const *env; /* NULL, else the NULL-ended environment */
};

/* Adds an entry running H at STAGE ("createRuntime", "poststop") to the
 * config's "hooks" object HOOKS, with args "portside-hook [--sidecar
 * SIDECAR] [--policy POLICY] STAGE" and timeout 10 s. When an entry runs
 * H's path already it is left as the user may have edited it, except that a
 * SIDECAR is set in its args. -EINVAL when a part has an unexpected type,
 * -ENOMEM. */
int oci_hooks_add(json_object *hooks, const char *stage, const struct oci_hook_entry *h);

#endif
