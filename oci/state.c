/* SPDX-License-Identifier: MIT */
#include "state.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "../base/cleanup.h"
#include "input.h"

void oci_state_free(struct oci_state *s)
{
	if (!s)
		return;
	free(s->oci_version);
	free(s->id);
	free(s->status);
	free(s->bundle);
	oci_annotations_clear(&s->ann);
	free(s);
}

bool oci_id_valid(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > OCI_ID_MAX_LEN || !strcmp(id, ".") || !strcmp(id, ".."))
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = id[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
		      c == '.' || c == '+' || c == '-'))
			return false;
	}
	return true;
}

/* A string member, or -EINVAL naming it. *OUT stays NULL when absent and
 * optional. */
static int get_string(json_object *root, const char *key, bool required, char **out, struct oci_err *e)
{
	json_object *v;

	*out = NULL;
	if (!json_object_object_get_ex(root, key, &v) || json_object_is_type(v, json_type_null)) {
		if (required)
			return oci_err_add(e, EINVAL, "state: field %s is missing", key);
		return 0;
	}
	if (!json_object_is_type(v, json_type_string))
		return oci_err_add(e, EINVAL, "state: field %s must be a string, not %s", key, oci_json_type_name(v));
	*out = strdup(json_object_get_string(v));
	return *out ? 0 : oci_err_add(e, ENOMEM, "state: out of memory");
}

int oci_state_parse(const char *buf, size_t len, struct oci_state **out, struct oci_err *e)
{
	cleanup_json json_object *root = NULL;
	struct oci_state *s;
	json_object *v;
	int rc;

	if (len > OCI_STATE_MAX_BYTES)
		return oci_err_add(e, EFBIG, "state is larger than %d bytes", OCI_STATE_MAX_BYTES);
	rc = oci_json_decode(buf, len, "state", &root, e);
	if (rc < 0)
		return rc;
	if (!json_object_is_type(root, json_type_object))
		return oci_err_add(e, EINVAL, "state must be a JSON object, not %s", oci_json_type_name(root));
	s = calloc(1, sizeof(*s));
	if (!s)
		return oci_err_add(e, ENOMEM, "state: out of memory");

	if ((rc = get_string(root, "ociVersion", true, &s->oci_version, e)) < 0 ||
	    (rc = get_string(root, "id", true, &s->id, e)) < 0 ||
	    (rc = get_string(root, "status", false, &s->status, e)) < 0 ||
	    (rc = get_string(root, "bundle", true, &s->bundle, e)) < 0)
		goto fail;
	if (!oci_id_valid(s->id)) {
		rc = oci_err_add(e, EINVAL,
				 "state: container id '%.64s' is not a safe name ([A-Za-z0-9_.+-], at most %d)", s->id,
				 OCI_ID_MAX_LEN);
		goto fail;
	}
	if (s->bundle[0] != '/' || strlen(s->bundle) >= PATH_MAX) {
		rc = oci_err_add(e, EINVAL, "state: bundle '%.64s' is not an absolute path", s->bundle);
		goto fail;
	}
	/* poststop runs after the init is gone: runc then writes pid 0, crun may
	 * omit it. Both mean "no process". */
	if (json_object_object_get_ex(root, "pid", &v) && !json_object_is_type(v, json_type_null)) {
		int64_t pid;

		if (!json_object_is_type(v, json_type_int)) {
			rc = oci_err_add(e, EINVAL, "state: field pid must be an integer, not %s",
					 oci_json_type_name(v));
			goto fail;
		}
		errno = 0;
		pid = json_object_get_int64(v);
		if (errno || pid < 0 || pid > INT_MAX) {
			rc = oci_err_add(e, ERANGE, "state: pid is out of range");
			goto fail;
		}
		s->pid = (pid_t)pid;
	}
	if (!json_object_object_get_ex(root, "annotations", &v))
		v = NULL;
	rc = oci_annotations_from_json(v, "state", &s->ann, e);
	if (rc < 0)
		goto fail;
	*out = s; /* ownership to the caller */
	return 0;
fail:
	oci_state_free(s);
	return rc;
}

int oci_state_read(int fd, struct oci_state **out, struct oci_err *e)
{
	cleanup_free char *buf = NULL;
	size_t len;
	int rc;

	rc = oci_read_fd(fd, OCI_STATE_MAX_BYTES, "state", &buf, &len, e);
	if (rc < 0)
		return rc;
	return oci_state_parse(buf, len, out, e);
}
