/* SPDX-License-Identifier: MIT */
#ifndef PORTSIDE_OCI_HOOKEDIT_H
#define PORTSIDE_OCI_HOOKEDIT_H

/* Adding portside's hook to a parsed config.json: shared by `portsidectl
 * inject` (a user's own bundle) and portside-runc (a CRI runtime's bundle). */

#include <json-c/json.h>

/* OBJ[KEY] as an object or array of type T, created when absent; NULL when
 * it is there with another type (the file is not ours to repair). */
json_object *oci_json_child(json_object *obj, const char *key, json_type t);

/* Adds an entry running PATH at STAGE ("createRuntime", "poststop") to the
 * config's "hooks" object HOOKS, with args "portside-hook [--sidecar
 * SIDECAR] STAGE", timeout 10 s and, when ENV is not NULL, the NULL-ended
 * environment ENV. When an entry runs PATH already it is left as the user
 * may have edited it, except that a SIDECAR (may be NULL) is set in its
 * args. -EINVAL when a part has an unexpected type, -ENOMEM. */
int oci_hooks_add(json_object *hooks, const char *stage, const char *path, const char *sidecar, const char *const *env);

#endif
