/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/cleanup.h"
#include "input.h"

static const char *const stage_names[OCI_STAGE_COUNT] = {
	[OCI_STAGE_PRESTART] = "prestart",
	[OCI_STAGE_CREATE_RUNTIME] = "createRuntime",
	[OCI_STAGE_CREATE_CONTAINER] = "createContainer",
	[OCI_STAGE_START_CONTAINER] = "startContainer",
	[OCI_STAGE_POSTSTART] = "poststart",
	[OCI_STAGE_POSTSTOP] = "poststop",
};

const char *oci_stage_name(enum oci_hook_stage s)
{
	return (unsigned)s < OCI_STAGE_COUNT ? stage_names[s] : "unknown";
}

int oci_stage_parse(const char *name, enum oci_hook_stage *out)
{
	for (unsigned i = 0; i < OCI_STAGE_COUNT; i++) {
		if (!strcmp(name, stage_names[i])) {
			*out = (enum oci_hook_stage)i;
			return 0;
		}
	}
	return -EINVAL;
}

void oci_config_free(struct oci_config *c)
{
	if (!c)
		return;
	oci_annotations_clear(&c->ann);
	free(c->netns_path);
	for (size_t i = 0; i < c->n_env; i++)
		free(c->env[i]);
	free(c->env);
	for (size_t i = 0; i < c->n_hooks; i++)
		free(c->hooks[i].path);
	free(c->hooks);
	free(c);
}

const char *oci_config_getenv(const struct oci_config *c, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < c->n_env; i++)
		if (!strncmp(c->env[i], name, n) && c->env[i][n] == '=')
			return c->env[i] + n + 1;
	return NULL;
}

static int parse_namespaces(struct oci_config *c, json_object *linux_, struct oci_err *e)
{
	json_object *nss, *t, *p;

	if (!linux_ || !json_object_object_get_ex(linux_, "namespaces", &nss) || !nss)
		return 0;
	if (!json_object_is_type(nss, json_type_array))
		return oci_err_add(e, EINVAL, "config: linux.namespaces must be an array");
	for (size_t i = 0; i < json_object_array_length(nss); i++) {
		json_object *ns = json_object_array_get_idx(nss, i);

		if (!json_object_is_type(ns, json_type_object) || !json_object_object_get_ex(ns, "type", &t) ||
		    !json_object_is_type(t, json_type_string))
			return oci_err_add(e, EINVAL, "config: linux.namespaces[%zu] has no type", i);
		if (strcmp(json_object_get_string(t), "network"))
			continue;
		if (c->has_netns)
			return oci_err_add(e, EINVAL, "config: linux.namespaces lists network twice");
		c->has_netns = true;
		if (!json_object_object_get_ex(ns, "path", &p) || !p)
			continue;
		if (!json_object_is_type(p, json_type_string))
			return oci_err_add(e, EINVAL, "config: linux.namespaces[%zu].path must be a string", i);
		const char *path = json_object_get_string(p);
		if (!*path)
			continue; /* "" means a new namespace, as no path does */
		if (path[0] != '/' || strlen(path) >= PATH_MAX)
			return oci_err_add(e, EINVAL, "config: network namespace path \"%.64s\" is not absolute", path);
		c->netns_path = strdup(path);
		if (!c->netns_path)
			return oci_err_add(e, ENOMEM, "config: out of memory");
	}
	return 0;
}

static int parse_env(struct oci_config *c, json_object *process, struct oci_err *e)
{
	json_object *env;
	size_t n;

	if (!process || !json_object_object_get_ex(process, "env", &env) || !env)
		return 0;
	if (!json_object_is_type(env, json_type_array))
		return oci_err_add(e, EINVAL, "config: process.env must be an array");
	n = json_object_array_length(env);
	if (n == 0)
		return 0;
	c->env = calloc(n, sizeof(*c->env));
	if (!c->env)
		return oci_err_add(e, ENOMEM, "config: out of memory");
	for (size_t i = 0; i < n; i++) {
		json_object *v = json_object_array_get_idx(env, i);

		if (!json_object_is_type(v, json_type_string))
			return oci_err_add(e, EINVAL, "config: process.env[%zu] must be a string", i);
		c->env[c->n_env] = strdup(json_object_get_string(v));
		if (!c->env[c->n_env])
			return oci_err_add(e, ENOMEM, "config: out of memory");
		c->n_env++;
	}
	return 0;
}

static int parse_hooks(struct oci_config *c, json_object *hooks, struct oci_err *e)
{
	size_t total = 0;

	if (!hooks)
		return 0;
	if (!json_object_is_type(hooks, json_type_object))
		return oci_err_add(e, EINVAL, "config: hooks must be an object");
	json_object_object_foreach (hooks, stage, list) {
		(void)stage;
		if (json_object_is_type(list, json_type_array))
			total += json_object_array_length(list);
	}
	if (total && !(c->hooks = calloc(total, sizeof(*c->hooks))))
		return oci_err_add(e, ENOMEM, "config: out of memory");
	json_object_object_foreach (hooks, key, arr) {
		enum oci_hook_stage st;

		/* Stages this code does not know belong to a newer spec: not ours. */
		if (oci_stage_parse(key, &st) < 0 || !arr)
			continue;
		if (!json_object_is_type(arr, json_type_array))
			return oci_err_add(e, EINVAL, "config: hooks.%s must be an array", key);
		for (size_t i = 0; i < json_object_array_length(arr); i++) {
			json_object *h = json_object_array_get_idx(arr, i), *p;

			if (!json_object_is_type(h, json_type_object) || !json_object_object_get_ex(h, "path", &p) ||
			    !json_object_is_type(p, json_type_string))
				return oci_err_add(e, EINVAL, "config: hooks.%s[%zu] has no path", key, i);
			c->hooks[c->n_hooks].stage = st;
			c->hooks[c->n_hooks].path = strdup(json_object_get_string(p));
			if (!c->hooks[c->n_hooks].path)
				return oci_err_add(e, ENOMEM, "config: out of memory");
			c->n_hooks++;
		}
	}
	return 0;
}

int oci_config_parse(const char *buf, size_t len, struct oci_config **out, struct oci_err *e)
{
	cleanup_json json_object *root = NULL;
	json_object *v, *linux_ = NULL, *process = NULL, *hooks = NULL, *ann = NULL;
	struct oci_config *c;
	int rc;

	if (len > OCI_CONFIG_MAX_BYTES)
		return oci_err_add(e, EFBIG, "config is larger than %d bytes", OCI_CONFIG_MAX_BYTES);
	rc = oci_json_decode(buf, len, "config", &root, e);
	if (rc < 0)
		return rc;
	if (!json_object_is_type(root, json_type_object))
		return oci_err_add(e, EINVAL, "config must be a JSON object, not %s", oci_json_type_name(root));
	if (json_object_object_get_ex(root, "linux", &v)) {
		if (v && !json_object_is_type(v, json_type_object))
			return oci_err_add(e, EINVAL, "config: linux must be an object");
		linux_ = v;
	}
	if (json_object_object_get_ex(root, "process", &v)) {
		if (v && !json_object_is_type(v, json_type_object))
			return oci_err_add(e, EINVAL, "config: process must be an object");
		process = v;
	}
	if (!json_object_object_get_ex(root, "hooks", &hooks))
		hooks = NULL;
	if (!json_object_object_get_ex(root, "annotations", &ann))
		ann = NULL;

	c = calloc(1, sizeof(*c));
	if (!c)
		return oci_err_add(e, ENOMEM, "config: out of memory");
	if ((rc = oci_annotations_from_json(ann, "config", &c->ann, e)) < 0 ||
	    (rc = parse_namespaces(c, linux_, e)) < 0 || (rc = parse_env(c, process, e)) < 0 ||
	    (rc = parse_hooks(c, hooks, e)) < 0) {
		oci_config_free(c);
		return rc;
	}
	*out = c; /* ownership to the caller */
	return 0;
}

int oci_config_load(const char *bundle, struct oci_config **out, struct oci_err *e)
{
	cleanup_free char *buf = NULL;
	char path[PATH_MAX];
	size_t len;
	int rc;

	if (snprintf(path, sizeof(path), "%s/config.json", bundle) >= (int)sizeof(path))
		return oci_err_add(e, ENAMETOOLONG, "bundle path is too long");
	rc = oci_read_file(path, OCI_CONFIG_MAX_BYTES, &buf, &len, e);
	if (rc < 0)
		return rc;
	return oci_config_parse(buf, len, out, e);
}
