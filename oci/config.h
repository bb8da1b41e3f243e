/* SPDX-License-Identifier: MIT */
#ifndef PORTSIDE_OCI_CONFIG_H
#define PORTSIDE_OCI_CONFIG_H

/* What portside reads from a bundle's config.json. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "annotations.h"
#include "../base/err.h"

#define OCI_CONFIG_MAX_BYTES (4 * 1024 * 1024)

enum oci_hook_stage {
	OCI_STAGE_PRESTART,
	OCI_STAGE_CREATE_RUNTIME,
	OCI_STAGE_CREATE_CONTAINER,
	OCI_STAGE_START_CONTAINER,
	OCI_STAGE_POSTSTART,
	OCI_STAGE_POSTSTOP,
	OCI_STAGE_COUNT
};

struct oci_hook {
	enum oci_hook_stage stage;
	char *path;
};

/* What the kernel takes at most: supplementary groups (NGROUPS_MAX) and
 * lines of a uid_map or gid_map (since Linux 4.15). */
#define OCI_CONFIG_GROUPS_MAX  65536
#define OCI_CONFIG_ID_MAPS_MAX 340

/* One line of linux.uidMappings or gidMappings (or of /proc/PID/uid_map):
 * SIZE ids from CONTAINER_ID in the namespace are HOST_ID... outside. */
struct oci_id_map {
	uint32_t container_id, host_id, size;
};

struct oci_config {
	struct oci_annotations ann;
	/* linux.namespaces: has_netns when a "network" entry exists; netns_path is
	 * its path (a namespace to join: Kubernetes and podman pods), or NULL when
	 * the runtime creates a new one (then /proc/PID/ns/net is the one). */
	bool has_netns;
	char *netns_path;
	char **env; /* process.env, "K=V" each */
	size_t n_env;
	struct oci_hook *hooks;
	size_t n_hooks;
	/* process.user: uid and gid (0 when absent), additionalGids. */
	uint32_t uid, gid;
	uint32_t *groups;
	size_t n_groups;
	/* linux.namespaces has a "user" entry; its uidMappings, gidMappings
	 * (none when it joins one by path: then /proc/PID/uid_map tells). */
	bool has_userns;
	struct oci_id_map *uid_maps, *gid_maps;
	size_t n_uid_maps, n_gid_maps;
};

/* Decodes a config.json document. Only the fields above are read and checked;
 * the rest of the document is the runtime's business. */
int oci_config_parse(const char *buf, size_t len, struct oci_config **out, struct oci_err *e);

/* Reads BUNDLE/config.json. */
int oci_config_load(const char *bundle, struct oci_config **out, struct oci_err *e);

void oci_config_free(struct oci_config *c);

/* "prestart", "createRuntime", ... and back; -EINVAL for an unknown name. */
const char *oci_stage_name(enum oci_hook_stage s);
int oci_stage_parse(const char *name, enum oci_hook_stage *out);

/* The value of NAME in process.env, or NULL. */
const char *oci_config_getenv(const struct oci_config *c, const char *name);

/* The first id of the container that may be a host id in BASE..BASE+COUNT-1:
 * without a user namespace process.user.uid, .gid or an additionalGids
 * entry, which are host ids then; with one, a uidMappings or gidMappings
 * range that overlaps it (MAPS, N: the config's, or the ones the caller
 * read, for a namespace joined by path). True with its name, e.g.
 * "process.user.uid 2046820352" or "linux.uidMappings[0] (host ids
 * 1000-66535)", in FIELD (LEN bytes). */
bool oci_config_ids_overlap(const struct oci_config *c, const struct oci_id_map *uid_maps, size_t n_uid,
			    const struct oci_id_map *gid_maps, size_t n_gid, uint32_t base, uint32_t count, char *field,
			    size_t len);

/* Parses the text of /proc/PID/uid_map or gid_map (lines "ID HOSTID SIZE")
 * into MAPS (at most OCI_CONFIG_ID_MAPS_MAX), their count in *N. -EINVAL
 * for anything else. */
int oci_id_maps_parse(const char *text, struct oci_id_map *maps, size_t *n);

#endif
