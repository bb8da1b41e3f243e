/* SPDX-License-Identifier: MIT */
/* The bundle's config.json, with portside's hook added. The file is
 * containerd's, in containerd's directory; what is in it (annotations
 * included) is the pod author's, so it is read bounded and parsed strictly,
 * and replaced through the directory's descriptor (lib/edit.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "../base/cleanup.h"
#include "../lib/edit.h"
#include "../oci/annotations.h"
#include "../oci/config.h"
#include "../oci/hookedit.h"
#include "../oci/input.h"
#include "wrap.h"

/* Whether ROOT has an io.portside.* annotation, as the hook reads them. One
 * the hook would refuse (not a string, too many annotations) asks for
 * portside too when its key says so: the hook is then there to say why. */
static bool wants_portside(json_object *root)
{
	struct oci_annotations ann = {0, NULL};
	json_object *obj;
	bool want = false;

	if (!json_object_is_type(root, json_type_object) || !json_object_object_get_ex(root, "annotations", &obj) ||
	    !json_object_is_type(obj, json_type_object))
		return false;
	if (oci_annotations_from_json(obj, "annotations", &ann, NULL) == 0) {
		want = oci_annotations_want_portside(&ann);
		oci_annotations_clear(&ann);
		return want;
	}
	json_object_object_foreach (obj, key, val) {
		(void)val;
		want |= !strncmp(key, OCI_ANN_PREFIX, strlen(OCI_ANN_PREFIX));
	}
	return want;
}

int wr_inject(const char *bundle, const struct oci_hook_entry *h, struct oci_err *e)
{
	cleanup_ps_edit struct ps_edit file = {.dirfd = -1};
	cleanup_free char *buf = NULL;
	cleanup_json json_object *root = NULL;
	json_object *hooks;
	char path[4096];
	const char *out;
	size_t len;
	int rc;

	if ((size_t)snprintf(path, sizeof(path), "%s/config.json", bundle ? bundle : ".") >= sizeof(path))
		return 0; /* the runtime says what is wrong with such a bundle */
	/* A config that cannot be read or parsed here (missing, not JSON,
	 * past OCI_CONFIG_MAX_BYTES) is the runtime's to refuse, in its
	 * words. One that asks for portside but cannot be replaced safely (a
	 * directory someone else may write to) must not start without its
	 * hook: E says why. */
	if ((rc = ps_edit_read(path, OCI_CONFIG_MAX_BYTES, &file, &buf, &len, e)) < 0) {
		cleanup_free char *raw = NULL;
		size_t n;

		if (rc != -ENOENT && oci_read_file(path, OCI_CONFIG_MAX_BYTES, &raw, &n, NULL) == 0 &&
		    memmem(raw, n, OCI_ANN_PREFIX, strlen(OCI_ANN_PREFIX)))
			return rc;
		if (e)
			oci_err_init(e);
		return 0;
	}
	/* Most containers of a node ask for nothing: not parsed at all. */
	if (!memmem(buf, len, OCI_ANN_PREFIX, strlen(OCI_ANN_PREFIX)))
		return 0;
	if (oci_json_decode(buf, len, path, &root, NULL) < 0 || !wants_portside(root))
		return 0;
	if (!(hooks = oci_json_child(root, "hooks", json_type_object)) ||
	    oci_hooks_add(hooks, "createRuntime", h) < 0 || oci_hooks_add(hooks, "poststop", h) < 0)
		return oci_err_add(e, EINVAL, "%s: cannot add portside's hook (hooks has an unexpected type)", path);
	out = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!out)
		return oci_err_add(e, ENOMEM, "out of memory");
	if (strlen(out) == len && !memcmp(out, buf, len))
		return 0; /* there already: a runtime asked again */
	return ps_edit_replace(&file, out, strlen(out), e);
}
