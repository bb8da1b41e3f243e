/* SPDX-License-Identifier: MIT */
/* portside-runc, portside-crun: see wrap.h. Runs as root, as the runtime it
 * stands for; whatever it cannot do for portside, it says in one line on
 * stderr (which containerd puts in the CRI error, what `kubectl describe
 * pod` shows) and exits 1, for a container that asks for portside only. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "paths.h" /* generated: PORTSIDE_HOOK_PATH, PORTSIDE_VERSION */
#include "wrap.h"

/* The hook next to the wrapper (a build tree), else where it is installed. */
static void hook_path(char *buf, size_t len)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (n > 0) {
		self[n] = '\0';
		if ((slash = strrchr(self, '/')) &&
		    (size_t)snprintf(buf, len, "%.*s/portside-hook", (int)(slash - self), self) < len &&
		    access(buf, X_OK) == 0)
			return;
	}
	snprintf(buf, len, "%s", PORTSIDE_HOOK_PATH);
}

int main(int argc, char **argv)
{
	/* The hook's environment: runc and crun give a hook only its own. A
	 * run directory other than the default (tests, a node's own layout),
	 * and the sanitizers' options of a test build, come from containerd's
	 * environment, which is root's. */
	static const char *const pass[] = {"PORTSIDE_RUN_DIR", "ASAN_OPTIONS", "UBSAN_OPTIONS"};
	char runtime[PATH_MAX], hook[PATH_MAX], kv[3][PATH_MAX + 32];
	const char *env[5] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin"};
	size_t n_env = 1;
	struct wr_call call;
	struct oci_err e;

	oci_err_init(&e);
	if (argc == 2 && !strcmp(argv[1], "--portside-version")) {
		printf("portside-runc %s\n", PORTSIDE_VERSION);
		return 0;
	}
	if (wr_argv_parse(argc, argv, &call) < 0)
		call = (struct wr_call){NULL, NULL, NULL, NULL}; /* the runtime says what is wrong */
	if (wr_runtime_find(argv[0], runtime, sizeof(runtime), &e) < 0) {
		wr_report(&call, &e);
		return 1;
	}
	for (size_t i = 0; i < 3; i++) {
		const char *v = getenv(pass[i]);

		if (v && strlen(v) < PATH_MAX) {
			snprintf(kv[i], sizeof(kv[i]), "%s=%s", pass[i], v);
			env[n_env++] = kv[i];
		}
	}
	if (call.command && (!strcmp(call.command, "create") || !strcmp(call.command, "run"))) {
		/* A policy file other than /etc/portside/policy.json: the
		 * node's choice, in containerd's environment. */
		const char *policy = getenv("PORTSIDE_POLICY");
		struct oci_hook_entry h = {.path = hook, .env = env};

		if (policy && policy[0] == '/')
			h.policy = policy;
		hook_path(hook, sizeof(hook));
		if (wr_inject(call.bundle, &h, &e) < 0) {
			wr_report(&call, &e);
			return 1;
		}
	}
	argv[0] = runtime;
	execv(runtime, argv);
	oci_err_addp(&e, errno, "cannot run %s", runtime);
	wr_report(&call, &e);
	return 1;
}
