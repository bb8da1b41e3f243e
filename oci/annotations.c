/* SPDX-License-Identifier: MIT */
#include "annotations.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* More annotations than Kubernetes' 256 KiB total could carry is not a pod. */
#define MAX_ANNOTATIONS 4096

void oci_annotations_clear(struct oci_annotations *ann)
{
	for (size_t i = 0; i < ann->n; i++) {
		free(ann->v[i].key);
		free(ann->v[i].value);
	}
	free(ann->v);
	ann->v = NULL;
	ann->n = 0;
}

int oci_annotations_from_json(json_object *obj, const char *what, struct oci_annotations *ann, struct oci_err *e)
{
	size_t cap;

	ann->n = 0;
	ann->v = NULL;
	if (!obj)
		return 0;
	if (!json_object_is_type(obj, json_type_object))
		return oci_err_add(e, EINVAL, "%s: annotations must be an object, not %s", what,
				   json_object_is_type(obj, json_type_array) ? "an array" : "a scalar");
	cap = (size_t)json_object_object_length(obj);
	if (cap > MAX_ANNOTATIONS)
		return oci_err_add(e, E2BIG, "%s: more than %d annotations", what, MAX_ANNOTATIONS);
	if (cap == 0)
		return 0;
	ann->v = calloc(cap, sizeof(*ann->v));
	if (!ann->v)
		return oci_err_add(e, ENOMEM, "%s: out of memory", what);
	json_object_object_foreach (obj, key, val) {
		struct oci_kv *kv;

		if (!json_object_is_type(val, json_type_string)) {
			if (strncmp(key, OCI_ANN_PREFIX, strlen(OCI_ANN_PREFIX)) == 0) {
				oci_err_add(e, EINVAL, "%s: annotation %.64s must be a string", what, key);
				oci_annotations_clear(ann);
				return -EINVAL;
			}
			continue;
		}
		/* A NUL inside would cut the value short: the rest, unchecked, is
		 * what another reader of the same annotation would see. */
		if ((size_t)json_object_get_string_len(val) != strlen(json_object_get_string(val))) {
			if (strncmp(key, OCI_ANN_PREFIX, strlen(OCI_ANN_PREFIX)) == 0) {
				oci_err_add(e, EINVAL, "%s: annotation %.64s contains a NUL character", what, key);
				oci_annotations_clear(ann);
				return -EINVAL;
			}
			continue;
		}
		kv = &ann->v[ann->n];
		kv->key = strdup(key);
		kv->value = strdup(json_object_get_string(val));
		ann->n++;
		if (!kv->key || !kv->value) {
			oci_annotations_clear(ann);
			return oci_err_add(e, ENOMEM, "%s: out of memory", what);
		}
	}
	return 0;
}

const char *oci_annotations_get(const struct oci_annotations *ann, const char *key)
{
	for (size_t i = 0; i < ann->n; i++)
		if (!strcmp(ann->v[i].key, key))
			return ann->v[i].value;
	return NULL;
}

bool oci_annotations_want_portside(const struct oci_annotations *ann)
{
	for (size_t i = 0; i < ann->n; i++)
		if (!strncmp(ann->v[i].key, OCI_ANN_PREFIX, strlen(OCI_ANN_PREFIX)))
			return true;
	return false;
}

static bool dns_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 253 || s[0] == '-' || s[0] == '.' || s[n - 1] == '-' || s[n - 1] == '.')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '.'))
			return false;
	return true;
}

static int kube_join(const char *ns, const char *pod, const char *ctr, char *out, size_t len)
{
	if (!ns || !pod || !ctr)
		return -ENOENT;
	if (!dns_name(ns) || !dns_name(pod) || !dns_name(ctr))
		return -EINVAL;
	if ((size_t)snprintf(out, len, "%s/%s/%s", ns, pod, ctr) >= len)
		return -ENAMETOOLONG;
	return 0;
}

/* CRI-O keeps the kubelet's labels of the container as one JSON object. */
static int kube_crio(const char *labels, char *out, size_t len)
{
	json_tokener *tok = json_tokener_new();
	json_object *o, *v;
	const char *part[3] = {NULL, NULL, NULL};
	static const char *const key[3] = {"io.kubernetes.pod.namespace", "io.kubernetes.pod.name",
					   "io.kubernetes.container.name"};
	int rc;

	if (!tok)
		return -ENOMEM;
	o = json_tokener_parse_ex(tok, labels, (int)strnlen(labels, 64 * 1024));
	json_tokener_free(tok);
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return -EINVAL;
	}
	for (int i = 0; i < 3; i++)
		if (json_object_object_get_ex(o, key[i], &v) && json_object_is_type(v, json_type_string))
			part[i] = json_object_get_string(v);
	rc = kube_join(part[0], part[1], part[2], out, len);
	json_object_put(o);
	return rc;
}

int oci_kube_name(const struct oci_annotations *ann, char *out, size_t len)
{
	const char *v;

	/* containerd's CRI plugin sets these on every container of a pod,
	 * after the pod's annotations its pod_annotations let through: a pod
	 * cannot choose them. Its pause container (type sandbox) runs no app. */
	v = oci_annotations_get(ann, "io.kubernetes.cri.container-type");
	if (v)
		return strcmp(v, "container")
			       ? -ENOENT
			       : kube_join(oci_annotations_get(ann, "io.kubernetes.cri.sandbox-namespace"),
					   oci_annotations_get(ann, "io.kubernetes.cri.sandbox-name"),
					   oci_annotations_get(ann, "io.kubernetes.cri.container-name"), out, len);
	/* CRI-O: its own io.kubernetes.cri-o.* keys; podman writes some of
	 * them too (ContainerType, SandboxID) but never Labels. */
	v = oci_annotations_get(ann, "io.kubernetes.cri-o.ContainerType");
	if (v && !strcmp(v, "container") && (v = oci_annotations_get(ann, "io.kubernetes.cri-o.Labels")))
		return kube_crio(v, out, len);
	/* The bare io.kubernetes.pod.* keys: anyone's to write (a plain runc
	 * config.json, podman --annotation, a kube play manifest). */
	return -ENOENT;
}

bool oci_kube_name_valid(const char *s)
{
	char part[3][254];
	const char *p = s;

	for (int i = 0; i < 3; i++) {
		size_t n = strcspn(p, "/");

		if (n >= sizeof(part[i]) || (i < 2) != (p[n] == '/'))
			return false;
		memcpy(part[i], p, n);
		part[i][n] = '\0';
		if (!dns_name(part[i]))
			return false;
		p += n + (i < 2);
	}
	return true;
}

int oci_spec_parse_autoforward(const char *value, enum oci_autoforward *out, struct oci_err *e)
{
	if (oci_autoforward_parse(value, out) < 0)
		return oci_err_add(e, EINVAL, OCI_ANN_AUTOFORWARD " must be public, all or never, not '%.32s'", value);
	return 0;
}

void oci_spec_release(struct oci_spec *s)
{
	oci_ports_free(s->ports);
	s->ports = NULL;
}

int oci_spec_parse(const struct oci_annotations *ann, const struct oci_policy *pol, struct oci_spec *out,
		   struct oci_err *e)
{
	struct oci_spec s = {.ports = NULL, .autoforward = pol->autoforward};
	const char *v;
	int rc = 0;

	for (size_t i = 0; i < ann->n; i++) {
		const char *k = ann->v[i].key;

		if (strncmp(k, OCI_ANN_PREFIX, strlen(OCI_ANN_PREFIX)) || !strcmp(k, OCI_ANN_PORTS) ||
		    !strcmp(k, OCI_ANN_AUTOFORWARD))
			continue;
		/* A typo (io.portside.port) would silently leave a port closed. */
		rc = oci_err_add(
			e, EINVAL,
			"unknown annotation %.64s (portside reads " OCI_ANN_PORTS " and " OCI_ANN_AUTOFORWARD ")", k);
	}
	v = oci_annotations_get(ann, OCI_ANN_AUTOFORWARD);
	if (v && oci_spec_parse_autoforward(v, &s.autoforward, e) < 0)
		rc = -EINVAL;
	v = oci_annotations_get(ann, OCI_ANN_PORTS);
	if (oci_ports_parse(v ? v : "", v ? strlen(v) : 0, pol, &s.ports, e) < 0)
		rc = -EINVAL;
	if (rc < 0) {
		oci_spec_release(&s);
		return rc;
	}
	*out = s; /* ownership of s.ports to the caller */
	return 0;
}
