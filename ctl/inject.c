/* SPDX-License-Identifier: MIT */
/* portsidectl inject CONFIG.json --ports VALUE [--autoforward MODE] [--hook PATH]
 *                    [--sidecar PATH]
 *
 * For runc and crun users, who write config.json themselves: adds the
 * portside annotations and the createRuntime and poststop hooks, and PORT in
 * process.env when there is none. Idempotent: a second run with the same
 * arguments leaves the file byte for byte as the first left it. */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "../oci/annotations.h"
#include "../base/cleanup.h"
#include "../oci/config.h"
#include "../oci/input.h"
#include "ctl.h"
#include "replace.h"

#include "paths.h" /* generated: PORTSIDE_HOOK_PATH, from PREFIX */

/* OBJ[KEY] as an object/array, created when absent; NULL when it is there
 * with another type (the file is not ours to repair). */
static json_object *child(json_object *obj, const char *key, json_type t)
{
	json_object *v;

	if (json_object_object_get_ex(obj, key, &v) && v)
		return json_object_is_type(v, t) ? v : NULL;
	v = t == json_type_object ? json_object_new_object() : json_object_new_array();
	if (v)
		json_object_object_add(obj, key, v);
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

/* Adds portside's hook at STAGE, or, when an entry runs PATH already, leaves
 * it as the user may have edited it; SIDECAR (may be NULL) is set in either. */
static int add_hook(json_object *hooks, const char *stage, const char *path, const char *sidecar)
{
	json_object *list = child(hooks, stage, json_type_array), *h, *args;

	if (!list)
		return -EINVAL;
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		json_object *p;

		h = json_object_array_get_idx(list, i);
		if (!json_object_object_get_ex(h, "path", &p) || !json_object_is_type(p, json_type_string) ||
		    strcmp(json_object_get_string(p), path))
			continue;
		if (!sidecar)
			return 0; /* there already */
		if (!json_object_object_get_ex(h, "args", &args) || !json_object_is_type(args, json_type_array) ||
		    json_object_array_length(args) < 1)
			return -EINVAL;
		return set_sidecar_arg(h, args, sidecar);
	}
	h = json_object_new_object();
	args = json_object_new_array();
	json_object_array_add(args, json_object_new_string("portside-hook"));
	if (sidecar) {
		json_object_array_add(args, json_object_new_string("--sidecar"));
		json_object_array_add(args, json_object_new_string(sidecar));
	}
	json_object_array_add(args, json_object_new_string(stage));
	json_object_object_add(h, "path", json_object_new_string(path));
	json_object_object_add(h, "args", args);
	json_object_object_add(h, "timeout", json_object_new_int(10));
	return json_object_array_add(list, h);
}

static int set_port_env(json_object *root, unsigned port)
{
	json_object *process = child(root, "process", json_type_object), *env;
	char kv[32];

	if (!process || !(env = child(process, "env", json_type_array)))
		return -EINVAL;
	for (size_t i = 0; i < json_object_array_length(env); i++) {
		const char *s = json_object_get_string(json_object_array_get_idx(env, i));

		if (s && !strncmp(s, "PORT=", 5))
			return 0; /* the user's PORT wins */
	}
	snprintf(kv, sizeof(kv), "PORT=%u", port);
	return json_object_array_add(env, json_object_new_string(kv));
}

int ctl_inject(int argc, char **argv)
{
	static const struct option opts[] = {
		{"ports", required_argument, NULL, 'p'},   {"autoforward", required_argument, NULL, 'a'},
		{"hook", required_argument, NULL, 'k'},	   {"policy", required_argument, NULL, 'P'},
		{"sidecar", required_argument, NULL, 's'}, {NULL, 0, NULL, 0},
	};
	const char *ports = NULL, *autoforward = NULL, *hook = PORTSIDE_HOOK_PATH, *policy_path = NULL, *path;
	/* NULL: the hook finds its sidecar itself (next to it, else the path it
	 * was built with). */
	const char *sidecar = NULL;
	cleanup_free char *buf = NULL, *out = NULL;
	cleanup_json json_object *root = NULL;
	json_object *ann, *hooks;
	struct oci_policy *pol = NULL;
	struct oci_annotations a = {0, NULL};
	struct oci_kv kv[2];
	struct oci_spec spec;
	struct oci_err e;
	cleanup_ctl_file struct ctl_file file = {.dirfd = -1};
	size_t len;
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p': ports = optarg; break;
		case 'a': autoforward = optarg; break;
		case 'k': hook = optarg; break;
		case 'P': policy_path = optarg; break;
		case 's': sidecar = optarg; break;
		default: return CTL_EXIT_USAGE;
		}
	}
	if (argc - optind != 1 || (!ports && !autoforward)) {
		ctl_warn("usage: portsidectl inject CONFIG.json --ports VALUE [--autoforward MODE] [--hook PATH] "
			 "[--sidecar PATH]");
		return CTL_EXIT_USAGE;
	}
	if (hook[0] != '/') {
		ctl_warn("inject: --hook must be an absolute path");
		return CTL_EXIT_USAGE;
	}
	if (sidecar && sidecar[0] != '/') {
		ctl_warn("inject: --sidecar must be an absolute path");
		return CTL_EXIT_USAGE;
	}
	path = argv[optind];
	oci_err_init(&e);

	/* The value is checked as the hook will check it: a config that would
	 * fail at start is not written. */
	rc = policy_path ? oci_policy_load(policy_path, false, &pol, &e)
			 : oci_policy_load(OCI_POLICY_PATH, true, &pol, &e);
	if (rc == 0) {
		if (ports)
			kv[a.n++] = (struct oci_kv){.key = (char *)OCI_ANN_PORTS, .value = (char *)ports};
		if (autoforward)
			kv[a.n++] = (struct oci_kv){.key = (char *)OCI_ANN_AUTOFORWARD, .value = (char *)autoforward};
		a.v = kv;
		rc = oci_spec_parse(&a, pol, &spec, &e);
	}
	oci_policy_free(pol);
	if (rc < 0) {
		oci_err_print(&e, stderr, "portsidectl");
		return CTL_EXIT_INVALID;
	}

	if (ctl_file_read(path, OCI_CONFIG_MAX_BYTES, &file, &buf, &len, &e) < 0 ||
	    oci_json_decode(buf, len, path, &root, &e) < 0 || !json_object_is_type(root, json_type_object)) {
		if (!oci_err_lines(&e))
			oci_err_add(&e, errno ? errno : EINVAL, "%s is not an OCI config.json", path);
		oci_err_print(&e, stderr, "portsidectl");
		oci_spec_release(&spec);
		return CTL_EXIT_INVALID;
	}
	ann = child(root, "annotations", json_type_object);
	hooks = child(root, "hooks", json_type_object);
	rc = !ann || !hooks ? -EINVAL : 0;
	if (rc == 0 && ports)
		json_object_object_add(ann, OCI_ANN_PORTS, json_object_new_string(ports));
	if (rc == 0 && autoforward)
		json_object_object_add(ann, OCI_ANN_AUTOFORWARD, json_object_new_string(autoforward));
	if (rc == 0)
		rc = add_hook(hooks, "createRuntime", hook, sidecar);
	if (rc == 0)
		rc = add_hook(hooks, "poststop", hook, sidecar);
	const struct oci_mapping *first = oci_ports_first_exposed(spec.ports);
	if (rc == 0 && (first || spec.ports->n))
		rc = set_port_env(root, first ? first->local_port : spec.ports->v[0].local_port);
	oci_spec_release(&spec);
	if (rc < 0) {
		ctl_warn("%s: annotations, hooks or process.env has an unexpected type", path);
		return CTL_EXIT_INVALID;
	}

	out = strdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
								  JSON_C_TO_STRING_NOSLASHESCAPE));
	if (!out) {
		ctl_warn("out of memory");
		return CTL_EXIT_INVALID;
	}
	len = strlen(out);
	/* Same bytes: leave the file (and its mtime) alone. */
	if (len == strlen(buf) && !memcmp(out, buf, len))
		return CTL_EXIT_OK;
	cleanup_free char *withnl = NULL;
	if (asprintf(&withnl, "%s\n", out) < 0 || (len + 1 == strlen(buf) && !memcmp(withnl, buf, len + 1)))
		return CTL_EXIT_OK;
	/* Through the directory read from, never PATH again: the file's owner
	 * may have swapped it for a link to a file of root's by now. */
	if (ctl_file_replace(&file, withnl, len + 1, &e) < 0) {
		oci_err_print(&e, stderr, "portsidectl");
		return CTL_EXIT_INVALID;
	}
	return CTL_EXIT_OK;
}
