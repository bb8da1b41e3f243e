/* SPDX-License-Identifier: MIT */
#ifndef PORTSIDE_CTL_METRICS_H
#define PORTSIDE_CTL_METRICS_H

/* portsidectl metrics: what it gathers (metrics.c) and the pure formatter
 * that turns it into the Prometheus text exposition format (promfmt.c), so
 * that unit tests drive the format without sidecars. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../lib/refusal.h"
#include "../lib/reply.h"

/* One forwarded container as the formatter sees it. */
struct ctl_metrics_ct {
	const char *id;
	/* ls's NAME: NS/POD/CONTAINER as containerd confirms it, "" when not
	 * known (never the container's own claim): the name label, and split
	 * into namespace, pod and container */
	const char *name;
	bool up; /* its sidecar answered */
	/* Its forwards: the sidecar's, or, when it is down, the record's with
	 * every counter 0 (so a dead sidecar's series stay, at 0). */
	const struct ps_status *st;
	uint64_t restores; /* the record's */
};

/* The refusal log's counts by reason (enum ps_reason, PS_REASON_OTHER the last). */
#define CTL_METRICS_REASONS (PS_REASON_OTHER + 1)

/* Writes the exposition of the N containers CT, the host's refusal log
 * counts REFUSALS and VERSION to OUT: every family with its # HELP and
 * # TYPE, each family's samples together, no timestamps. Returns 0, or -EIO
 * when OUT failed. */
int ctl_metrics_format(FILE *out, const struct ctl_metrics_ct *ct, size_t n,
		       const uint64_t refusals[CTL_METRICS_REASONS], const char *version);

/* VALUE as a label value in the exposition format into OUT (LEN bytes):
 * backslash, double quote and newline escaped, other control characters and
 * bytes that are not UTF-8 replaced by '?'; cut short (at a whole
 * character) when it does not fit. */
void ctl_metrics_escape(const char *value, char *out, size_t len);

/* metrics.c: writes BUF[0..LEN) to PATH atomically for node_exporter's
 * textfile collector: a new file (mode 0644) in PATH's directory, synced,
 * renamed over PATH, the directory synced. Refuses a directory that group or
 * others may write to, or that a user other than root (or the caller)
 * owns: they could put a link where the new file goes. 0, or -errno with a
 * one-line message printed. */
int ctl_textfile_write(const char *path, const char *buf, size_t len);

#endif
