/* SPDX-License-Identifier: MIT */
/* portside-hook [--policy FILE] [--sidecar PATH] [STAGE]
 *
 * The OCI hook. The stage comes from argv (createRuntime, prestart, poststop),
 * else from the state's status ("stopped" is poststop, anything else create). */
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "../oci/policy.h"
#include "hook.h"
#include "paths.h" /* generated: PORTSIDE_VERSION, PORTSIDE_SIDECAR_PATH */

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"policy", required_argument, NULL, 'p'},
		{"sidecar", required_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct hook_opts o = {NULL, NULL};
	struct oci_state *st = NULL;
	struct oci_config *cfg = NULL;
	const struct oci_annotations *ann;
	enum oci_hook_stage stage;
	struct oci_err e;
	struct rlimit rl;
	int c, rc = 1;

	while ((c = getopt_long(argc, argv, "p:s:", opts, NULL)) != -1) {
		switch (c) {
		case 'p': o.policy_path = optarg; break;
		case 's': o.sidecar = optarg; break;
		case 'h':
			printf("usage: portside-hook [--policy FILE] [--sidecar PATH] [STAGE]\n\n"
			       "The OCI hook of portside, run by the container runtime at createRuntime and poststop\n"
			       "with the container's state on stdin (see portside-hook(8)).\n"
			       "  --policy FILE    the host policy (default %s)\n"
			       "  --sidecar PATH   the sidecar to start (default %s)\n"
			       "  STAGE            createRuntime, prestart or poststop (default: from the state)\n",
			       OCI_POLICY_PATH, PORTSIDE_SIDECAR_PATH);
			return 0;
		case 'V': printf("portside-hook %s\n", PORTSIDE_VERSION); return 0;
		default: return 2;
		}
	}
	/* A sidecar that closed the hook's pipe early must not kill the hook. */
	signal(SIGPIPE, SIG_IGN);
	/* Every listener is an fd here before it moves to the sidecar. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}

	oci_err_init(&e);
	if (oci_state_read(STDIN_FILENO, &st, &e) < 0)
		goto out;
	if (optind < argc) {
		if (oci_stage_parse(argv[optind], &stage) < 0) {
			hook_warn("unknown stage \"%.32s\"", argv[optind]);
			goto out;
		}
	} else {
		stage = st->status && !strcmp(st->status, "stopped") ? OCI_STAGE_POSTSTOP : OCI_STAGE_CREATE_RUNTIME;
	}

	if (stage == OCI_STAGE_POSTSTOP) {
		/* The bundle may be gone by now; the id is all it takes. */
		rc = hook_poststop(st);
		goto out;
	}
	if (stage != OCI_STAGE_CREATE_RUNTIME && stage != OCI_STAGE_PRESTART) {
		hook_warn("stage %s is not one portside runs at (use createRuntime and poststop)",
			  oci_stage_name(stage));
		goto out;
	}
	if (oci_config_load(st->bundle, &cfg, &e) < 0)
		goto out;
	/* runc and crun copy the config's annotations into the state; a runtime
	 * that does not still has them in the config. */
	ann = st->ann.n ? &st->ann : &cfg->ann;
	if (!oci_annotations_want_portside(ann)) {
		rc = 0;
		goto out;
	}
	rc = hook_create(&o, st, cfg, ann);
out:
	if (oci_err_lines(&e))
		oci_err_print(&e, stderr, "portside");
	oci_config_free(cfg);
	oci_state_free(st);
	return rc;
}
