/* SPDX-License-Identifier: MIT */
#ifndef PORTSIDE_OCI_CONFIG_H
#define PORTSIDE_OCI_CONFIG_H

/* What portside reads from a bundle's config.json. */

#include <stdbool.h>
#include <stddef.h>

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

#endif
