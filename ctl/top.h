/* SPDX-License-Identifier: MIT */
#ifndef PORTSIDE_CTL_TOP_H
#define PORTSIDE_CTL_TOP_H

/* portsidectl top's pure parts (ctl/topframe.c): rates from two samples of
 * the sidecars' counters, the order of the rows, and a frame of given width
 * and height in a buffer. No I/O here: ctl/top.c samples and draws. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../oci/addr.h"
#include "../oci/annotations.h"
#include "../oci/state.h"

/* Rows one sample holds at most (all containers together): a host's worth
 * of mappings, and a bound on the memory a frame takes. */
#define CTL_TOP_MAX_ROWS 65536

/* What a container's sidecar said when sampled. */
enum ctl_top_state {
	CTL_TOP_RUNNING, /* it answered: its counters are in the rows */
	CTL_TOP_SILENT,	 /* alive but no answer in time */
	CTL_TOP_DEAD,	 /* gone while the container runs (restore brings it back) */
	CTL_TOP_STOPPED, /* both gone, the state not yet cleaned up */
};

/* "running", "silent", "dead", "stopped". */
const char *ctl_top_state_name(int state);

/* One mapping of one container at one time. */
struct ctl_top_row {
	/* filled by the sampler */
	char id[OCI_ID_MAX_LEN + 1];	/* the whole id: what rows are matched by */
	char shown[OCI_ID_MAX_LEN + 1]; /* the id as ls shows it */
	char name[OCI_KUBE_NAME_MAX];	/* "" when none */
	struct oci_ip host_ip;
	uint16_t external_port, local_port;
	uint8_t proto; /* enum oci_proto */
	int state;     /* enum ctl_top_state */
	int64_t t_ms;  /* when the sidecar answered (ps_now_ms) */
	uint64_t conns_total, conns_live, bytes_in, bytes_out, refused;

	/* filled by ctl_top_rates: per second over the two samples */
	bool rated; /* false: no earlier sample of this mapping (shown "-") */
	double conns_s, in_s, out_s, refused_s;
};

/* Sets the rates of CUR's N rows from the PREV sample's NP rows (a row is
 * the same mapping when its id, protocol, host address and external port
 * are): the counters' increase divided by the time between the two
 * answers. A counter that went down (a sidecar restored since) counts from
 * 0. A row without a running earlier twin, or answered no later than it,
 * is not rated. Reorders PREV. */
void ctl_top_rates(struct ctl_top_row *cur, size_t n, struct ctl_top_row *prev, size_t np);

/* Sorts ROWS by traffic: in+out bytes/s, then connections/s, highest first;
 * then running before the rest, then by container and external port, so
 * that equal rows keep their places from one frame to the next. */
void ctl_top_sort(struct ctl_top_row *rows, size_t n);

/* Writes the frame into BUF (LEN bytes, NUL-terminated, cut short when it
 * does not fit): TITLE's line (NULL: none), the column header, then a line
 * per row; every line ends with '\n' and is cut to WIDTH characters, and
 * at most HEIGHT lines are written, the last saying how many rows did not
 * fit (0: no limit on either). Returns the length the whole frame takes
 * (as snprintf does), so that a caller can size BUF. Bytes outside
 * printable ASCII in a name are written as '?'. */
size_t ctl_top_format(const struct ctl_top_row *rows, size_t n, const char *title, unsigned width, unsigned height,
		      char *buf, size_t len);

/* B bytes (a rate: per second) as ls prints byte counts: "512B", "1.5kB",
 * "2.0MB" (powers of 1000). */
void ctl_top_human(double b, char *buf, size_t len);

#endif
