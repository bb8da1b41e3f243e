/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
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
	free(c->groups);
	free(c->uid_maps);
	free(c->gid_maps);
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
		if (!strcmp(json_object_get_string(t), "user")) {
			/* Joined by path or new: either way ids are mapped. */
			c->has_userns = true;
			continue;
		}
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

/* An id: an integer 0 to 2^32-1, as the kernel's uid_t. WHAT names it. */
static int get_id(json_object *o, const char *what, uint32_t *out, struct oci_err *e)
{
	int64_t v;

	if (!json_object_is_type(o, json_type_int))
		return oci_err_add(e, EINVAL, "config: %s must be an integer, not %s", what, oci_json_type_name(o));
	/* json-c clamps values beyond int64 and sets errno: both are refused. */
	errno = 0;
	v = json_object_get_int64(o);
	if (errno || v < 0 || v > UINT32_MAX)
		return oci_err_add(e, ERANGE, "config: %s is out of range 0-4294967295", what);
	*out = (uint32_t)v;
	return 0;
}

/* process.user: read strictly, since the hook refuses a container whose
 * processes could run as a sidecar's uid by it. Absent ids are 0, as the
 * runtimes take them. */
static int parse_user(struct oci_config *c, json_object *process, struct oci_err *e)
{
	json_object *user, *v;
	size_t n;
	int rc;

	if (!process || !json_object_object_get_ex(process, "user", &user) || !user)
		return 0;
	if (!json_object_is_type(user, json_type_object))
		return oci_err_add(e, EINVAL, "config: process.user must be an object");
	if (json_object_object_get_ex(user, "uid", &v) && v && (rc = get_id(v, "process.user.uid", &c->uid, e)) < 0)
		return rc;
	if (json_object_object_get_ex(user, "gid", &v) && v && (rc = get_id(v, "process.user.gid", &c->gid, e)) < 0)
		return rc;
	if (!json_object_object_get_ex(user, "additionalGids", &v) || !v)
		return 0;
	if (!json_object_is_type(v, json_type_array))
		return oci_err_add(e, EINVAL, "config: process.user.additionalGids must be an array");
	n = json_object_array_length(v);
	if (n > OCI_CONFIG_GROUPS_MAX)
		return oci_err_add(e, E2BIG,
				   "config: process.user.additionalGids has %zu entries, more than the %d "
				   "the kernel allows",
				   n, OCI_CONFIG_GROUPS_MAX);
	if (n && !(c->groups = calloc(n, sizeof(*c->groups))))
		return oci_err_add(e, ENOMEM, "config: out of memory");
	for (size_t i = 0; i < n; i++) {
		char what[64];

		snprintf(what, sizeof(what), "process.user.additionalGids[%zu]", i);
		if ((rc = get_id(json_object_array_get_idx(v, i), what, &c->groups[i], e)) < 0)
			return rc;
		c->n_groups++;
	}
	return 0;
}

/* linux.uidMappings or gidMappings (KEY): at most the kernel's 340 lines,
 * each containerID, hostID and size ids, a range that fits in 32 bits. */
static int parse_maps(json_object *linux_, const char *key, struct oci_id_map **out, size_t *nout, struct oci_err *e)
{
	static const char *const names[3] = {"containerID", "hostID", "size"};
	json_object *arr;
	size_t n;
	int rc;

	if (!linux_ || !json_object_object_get_ex(linux_, key, &arr) || !arr)
		return 0;
	if (!json_object_is_type(arr, json_type_array))
		return oci_err_add(e, EINVAL, "config: linux.%s must be an array", key);
	n = json_object_array_length(arr);
	if (n > OCI_CONFIG_ID_MAPS_MAX)
		return oci_err_add(e, E2BIG, "config: linux.%s has %zu entries, more than the %d the kernel allows",
				   key, n, OCI_CONFIG_ID_MAPS_MAX);
	if (n && !(*out = calloc(n, sizeof(**out))))
		return oci_err_add(e, ENOMEM, "config: out of memory");
	for (size_t i = 0; i < n; i++) {
		json_object *m = json_object_array_get_idx(arr, i), *v;
		uint32_t f[3];

		if (!json_object_is_type(m, json_type_object))
			return oci_err_add(e, EINVAL, "config: linux.%s[%zu] must be an object", key, i);
		for (int k = 0; k < 3; k++) {
			char what[96];

			snprintf(what, sizeof(what), "linux.%s[%zu].%s", key, i, names[k]);
			if (!json_object_object_get_ex(m, names[k], &v) || !v)
				return oci_err_add(e, EINVAL, "config: linux.%s[%zu] has no %s", key, i, names[k]);
			if ((rc = get_id(v, what, &f[k], e)) < 0)
				return rc;
		}
		if (f[2] == 0 || (uint64_t)f[0] + f[2] > 1ull << 32 || (uint64_t)f[1] + f[2] > 1ull << 32)
			return oci_err_add(e, ERANGE, "config: linux.%s[%zu] is an empty range or ends past 2^32", key,
					   i);
		(*out)[i] = (struct oci_id_map){f[0], f[1], f[2]};
		(*nout)++;
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
	    (rc = parse_hooks(c, hooks, e)) < 0 || (rc = parse_user(c, process, e)) < 0 ||
	    (rc = parse_maps(linux_, "uidMappings", &c->uid_maps, &c->n_uid_maps, e)) < 0 ||
	    (rc = parse_maps(linux_, "gidMappings", &c->gid_maps, &c->n_gid_maps, e)) < 0) {
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

/* True when MAPS (N) has a host range overlapping BASE..BASE+COUNT-1; its
 * index in *AT. */
static bool maps_overlap(const struct oci_id_map *maps, size_t n, uint32_t base, uint32_t count, size_t *at)
{
	for (size_t i = 0; i < n; i++) {
		if ((uint64_t)maps[i].host_id < (uint64_t)base + count &&
		    (uint64_t)base < (uint64_t)maps[i].host_id + maps[i].size) {
			*at = i;
			return true;
		}
	}
	return false;
}

static bool in(uint32_t v, uint32_t base, uint32_t count)
{
	return v >= base && v - base < count;
}

bool oci_config_ids_overlap(const struct oci_config *c, const struct oci_id_map *uid_maps, size_t n_uid,
			    const struct oci_id_map *gid_maps, size_t n_gid, uint32_t base, uint32_t count, char *field,
			    size_t len)
{
	size_t i;

	if (c->has_userns) {
		for (int g = 0; g < 2; g++) {
			const struct oci_id_map *m = g ? gid_maps : uid_maps;

			if (maps_overlap(m, g ? n_gid : n_uid, base, count, &i)) {
				snprintf(field, len, "linux.%s[%zu] (host ids %" PRIu32 "-%" PRIu64 ")",
					 g ? "gidMappings" : "uidMappings", i, m[i].host_id,
					 (uint64_t)m[i].host_id + m[i].size - 1);
				return true;
			}
		}
		return false;
	}
	if (in(c->uid, base, count)) {
		snprintf(field, len, "process.user.uid %" PRIu32, c->uid);
		return true;
	}
	if (in(c->gid, base, count)) {
		snprintf(field, len, "process.user.gid %" PRIu32, c->gid);
		return true;
	}
	for (i = 0; i < c->n_groups; i++) {
		if (in(c->groups[i], base, count)) {
			snprintf(field, len, "process.user.additionalGids[%zu] %" PRIu32, i, c->groups[i]);
			return true;
		}
	}
	return false;
}

int oci_id_maps_parse(const char *text, struct oci_id_map *maps, size_t *n)
{
	const char *p = text;

	*n = 0;
	while (*p) {
		unsigned long long f[3];
		char *end;

		for (int k = 0; k < 3; k++) {
			while (*p == ' ' || *p == '\t')
				p++;
			if (*p < '0' || *p > '9')
				return -EINVAL;
			errno = 0;
			f[k] = strtoull(p, &end, 10);
			if (errno || f[k] > UINT32_MAX)
				return -EINVAL;
			p = end;
		}
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p && *p++ != '\n')
			return -EINVAL;
		if (*n >= OCI_CONFIG_ID_MAPS_MAX || f[2] == 0 || f[1] + f[2] > 1ull << 32)
			return -EINVAL;
		maps[(*n)++] = (struct oci_id_map){(uint32_t)f[0], (uint32_t)f[1], (uint32_t)f[2]};
	}
	return 0;
}
