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
#include "../oci/hookedit.h"
#include "../oci/input.h"
#include "ctl.h"
#include "../lib/edit.h"

#include "paths.h" /* generated: PORTSIDE_HOOK_PATH, from PREFIX */

static int set_port_env(json_object *root, unsigned port)
{
	json_object *process = oci_json_child(root, "process", json_type_object), *env;
	char kv[32];

	if (!process || !(env = oci_json_child(process, "env", json_type_array)))
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
	cleanup_ps_edit struct ps_edit file = {.dirfd = -1};
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

	if (ps_edit_read(path, OCI_CONFIG_MAX_BYTES, &file, &buf, &len, &e) < 0 ||
	    oci_json_decode(buf, len, path, &root, &e) < 0 || !json_object_is_type(root, json_type_object)) {
		if (!oci_err_lines(&e))
			oci_err_add(&e, errno ? errno : EINVAL, "%s is not an OCI config.json", path);
		oci_err_print(&e, stderr, "portsidectl");
		oci_spec_release(&spec);
		return CTL_EXIT_INVALID;
	}
	ann = oci_json_child(root, "annotations", json_type_object);
	hooks = oci_json_child(root, "hooks", json_type_object);
	rc = !ann || !hooks ? -EINVAL : 0;
	if (rc == 0 && ports)
		json_object_object_add(ann, OCI_ANN_PORTS, json_object_new_string(ports));
	if (rc == 0 && autoforward)
		json_object_object_add(ann, OCI_ANN_AUTOFORWARD, json_object_new_string(autoforward));
	const struct oci_hook_entry entry = {.path = hook, .sidecar = sidecar};
	if (rc == 0)
		rc = oci_hooks_add(hooks, "createRuntime", &entry);
	if (rc == 0)
		rc = oci_hooks_add(hooks, "poststop", &entry);
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
	if (ps_edit_replace(&file, withnl, len + 1, &e) < 0) {
		oci_err_print(&e, stderr, "portsidectl");
		return CTL_EXIT_INVALID;
	}
	return CTL_EXIT_OK;
}
