/* SPDX-License-Identifier: MIT */
#ifndef PORTSIDE_WRAP_H
#define PORTSIDE_WRAP_H

/* portside-runc / portside-crun: the runtime a CRI runtime (containerd) is
 * told to run instead of runc or crun (its runtime's BinaryName). containerd
 * has no hooks.d; this is where portside's hook gets into every container's
 * spec, the pod's sandbox included, whatever containerd version: on create
 * or run it adds the hook to the bundle's config.json when the config carries
 * an io.portside.* annotation, then it becomes the real runtime (exec), with
 * the same arguments. Every other command, and every container without the
 * annotation, reaches the runtime untouched. */

#include <stddef.h>

#include "../base/err.h"
#include "../oci/hookedit.h"

/* What one runtime invocation asks for. */
struct wr_call {
	const char *command;	/* "create", "run", "state", ...; NULL when none */
	const char *bundle;	/* --bundle / -b of create and run; NULL: "." */
	const char *log;	/* the global --log FILE; NULL when none */
	const char *log_format; /* --log-format ("json", "text"); NULL when none */
};

/* Reads the runtime's command line as runc's and crun's parsers do: global
 * options (some taking a value), the command, then its options. -EINVAL for
 * a line it cannot read (the runtime is then run untouched and says why). */
int wr_argv_parse(int argc, char *const *argv, struct wr_call *c);

/* The real runtime for a wrapper called SELF ("portside-runc" is runc's,
 * "portside-crun" crun's): found in the system's directories, never a file
 * that is this program. */
int wr_runtime_find(const char *self, char *out, size_t len, struct oci_err *e);

/* Adds portside's hook H (createRuntime and poststop) to BUNDLE's config.json when it asks for portside, in
 * place (atomically, never through a path that could be swapped). 0 when
 * done or not wanted; < 0 with E when the config asks for portside and the
 * hook cannot be added (the container must then not start without it). */
int wr_inject(const char *bundle, const struct oci_hook_entry *h, struct oci_err *e);

/* Writes E's lines where the runtime's caller reads a failed runtime's
 * reason: stderr, and C's --log file in its --log-format (containerd's shim
 * reads only that: a runtime's stderr goes nowhere), as runc writes its own
 * errors there. */
void wr_report(const struct wr_call *c, const struct oci_err *e);

#endif
