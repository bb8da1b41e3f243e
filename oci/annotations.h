/* SPDX-License-Identifier: MIT */
#ifndef PORTSIDE_OCI_ANNOTATIONS_H
#define PORTSIDE_OCI_ANNOTATIONS_H

/* Container annotations, and what portside reads from them. */

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "../base/err.h"
#include "policy.h"
#include "ports.h"

#define OCI_ANN_PREFIX	    "io.portside."
#define OCI_ANN_PORTS	    "io.portside.ports"
#define OCI_ANN_AUTOFORWARD "io.portside.autoforward"

struct oci_kv {
	char *key;
	char *value;
};

struct oci_annotations {
	size_t n;
	struct oci_kv *v;
};

/* Copies the string members of the JSON object OBJ (NULL = none) into ANN.
 * Values of other types are skipped, except under io.portside.*, where they are
 * errors: they are someone's mistake in writing a portside annotation. */
int oci_annotations_from_json(json_object *obj, const char *what, struct oci_annotations *ann, struct oci_err *e);

/* Frees what ANN holds (not ANN itself) and empties it. */
void oci_annotations_clear(struct oci_annotations *ann);

/* The value of KEY, or NULL. */
const char *oci_annotations_get(const struct oci_annotations *ann, const char *key);

/* True when ANN holds any io.portside.* key: the container asks for portside. */
bool oci_annotations_want_portside(const struct oci_annotations *ann);

/* The Kubernetes name a CRI runtime wrote into ANN with its own keys, as
 * "NS/POD/CONTAINER" in OUT: containerd's io.kubernetes.cri.sandbox-namespace,
 * sandbox-name and container-name (container-type "container"), or the
 * kubelet's labels in CRI-O's io.kubernetes.cri-o.Labels (ContainerType
 * "container"). Never the bare io.kubernetes.pod.* keys. Whoever writes a
 * container's config.json can write these keys too, so the name is only a
 * claim: portsidectl uses it once the runtime confirms it (ctl/resolve.c).
 * Each part must be a DNS-1123 name (lowercase letters, digits, '-' and '.',
 * at most 253 bytes). -ENOENT when there is no such name, -EINVAL when a part
 * is not such a name. */
#define OCI_KUBE_NAME_MAX (3 * 254)
int oci_kube_name(const struct oci_annotations *ann, char *out, size_t len);
/* True when S is such a name: three DNS-1123 names joined by '/'. */
bool oci_kube_name_valid(const char *s);

/* What the container asks of portside. */
struct oci_spec {
	struct oci_ports *ports;	  /* never NULL after oci_spec_parse succeeds */
	enum oci_autoforward autoforward; /* the annotation's, else the policy's */
};

/* Reads io.portside.ports and io.portside.autoforward from ANN and validates them
 * against POL; an unknown io.portside.* key is an error. Every problem is a
 * line in E. On success the caller releases OUT with oci_spec_release. */
int oci_spec_parse(const struct oci_annotations *ann, const struct oci_policy *pol, struct oci_spec *out,
		   struct oci_err *e);

/* Checks a value of io.portside.autoforward. */
int oci_spec_parse_autoforward(const char *value, enum oci_autoforward *out, struct oci_err *e);

void oci_spec_release(struct oci_spec *s);

#endif
