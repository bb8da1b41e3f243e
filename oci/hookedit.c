/* SPDX-License-Identifier: MIT */
#include "hookedit.h"

#include <errno.h>
#include <string.h>

json_object *oci_json_child(json_object *obj, const char *key, json_type t)
{
	json_object *v;

	if (json_object_object_get_ex(obj, key, &v) && v)
		return json_object_is_type(v, t) ? v : NULL;
	v = t == json_type_object ? json_object_new_object() : json_object_new_array();
	if (v && json_object_object_add(obj, key, v) < 0) {
		json_object_put(v);
		return NULL;
	}
	return v;
}

/* Sets "--sidecar SIDECAR" in the args of hook entry H: the value after an
 * existing --sidecar is replaced, else the pair goes right after argv[0]. */
static int set_sidecar_arg(json_object *h, json_object *args, const char *sidecar)
{
	size_t n = json_object_array_length(args);
	json_object *v;

	for (size_t i = 1; i + 1 < n; i++) {
		const char *a = json_object_get_string(json_object_array_get_idx(args, i));

		if (a && !strcmp(a, "--sidecar"))
			return json_object_array_put_idx(args, i + 1, json_object_new_string(sidecar));
	}
	/* json-c 0.16 cannot insert: a new array, sharing the old elements. */
	if (!(v = json_object_new_array()))
		return -ENOMEM;
	json_object_array_add(v, json_object_get(json_object_array_get_idx(args, 0)));
	json_object_array_add(v, json_object_new_string("--sidecar"));
	json_object_array_add(v, json_object_new_string(sidecar));
	for (size_t i = 1; i < n; i++)
		json_object_array_add(v, json_object_get(json_object_array_get_idx(args, i)));
	return json_object_object_add(h, "args", v); /* frees the old array */
}

int oci_hooks_add(json_object *hooks, const char *stage, const struct oci_hook_entry *want)
{
	const char *path = want->path, *sidecar = want->sidecar, *const *env = want->env;
	json_object *list = oci_json_child(hooks, stage, json_type_array), *h, *args, *ev = NULL;

	if (!list)
		return -EINVAL;
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		json_object *p;

		h = json_object_array_get_idx(list, i);
		if (!json_object_is_type(h, json_type_object) || !json_object_object_get_ex(h, "path", &p) ||
		    !json_object_is_type(p, json_type_string) || strcmp(json_object_get_string(p), path))
			continue;
		if (!sidecar)
			return 0; /* there already */
		if (!json_object_object_get_ex(h, "args", &args) || !json_object_is_type(args, json_type_array) ||
		    json_object_array_length(args) < 1)
			return -EINVAL;
		return set_sidecar_arg(h, args, sidecar);
	}
	if (!(h = json_object_new_object()))
		return -ENOMEM;
	args = json_object_new_array();
	json_object_object_add(h, "path", json_object_new_string(path));
	json_object_object_add(h, "args", args);
	json_object_array_add(args, json_object_new_string("portside-hook"));
	if (sidecar) {
		json_object_array_add(args, json_object_new_string("--sidecar"));
		json_object_array_add(args, json_object_new_string(sidecar));
	}
	if (want->policy) {
		json_object_array_add(args, json_object_new_string("--policy"));
		json_object_array_add(args, json_object_new_string(want->policy));
	}
	json_object_array_add(args, json_object_new_string(stage));
	if (env) {
		ev = json_object_new_array();
		json_object_object_add(h, "env", ev);
		for (size_t i = 0; ev && env[i]; i++)
			json_object_array_add(ev, json_object_new_string(env[i]));
	}
	json_object_object_add(h, "timeout", json_object_new_int(10));
	if (!args || (env && !ev) || json_object_array_add(list, h) < 0) {
		json_object_put(h);
		return -ENOMEM;
	}
	return 0;
}
