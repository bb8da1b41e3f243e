/* SPDX-License-Identifier: MIT */
/* portsidectl url ID PORT and portsidectl wait ID PORT [--timeout S]: how a
 * client on this host reaches a container port, and waiting until it can
 * (what a cloud IDE's "await port" does before opening a preview). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../lib/rundir.h"
#include "../base/cleanup.h"
#include "../oci/ports.h"
#include "ctl.h"
#include "../lib/clock.h"

#define WAIT_DEFAULT_S 30
#define WAIT_MAX_S     86400
#define WAIT_POLL_MS   200
/* After --timeout, how long the message saying why may still ask podman. */
#define WAIT_WHY_MS 2000

static int parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *out)
{
	char *end;
	unsigned long v;

	if (!s[0] || strspn(s, "0123456789") != strlen(s) || strlen(s) > 6)
		return -1;
	v = strtoul(s, &end, 10);
	if (*end || v < lo || v > hi)
		return -1;
	*out = (unsigned)v;
	return 0;
}

/* The URL of forward L for a client on this host: an address bound to
 * "every address" is reached on loopback. */
static void url_of(const struct ps_fwd_status *l, char *buf, size_t len)
{
	struct oci_ip ip = l->map.host_ip;
	char a[OCI_IP_LEN];

	if (oci_ip_is_any(&ip))
		oci_ip_parse(ip.family == AF_INET6 ? "::1" : "127.0.0.1", &ip);
	oci_ip_format(&ip, a);
	if (l->map.proto == OCI_PROTO_UDP)
		snprintf(buf, len, "udp://%s%s%s:%u", ip.family == AF_INET6 ? "[" : "", a,
			 ip.family == AF_INET6 ? "]" : "", l->map.external_port);
	else
		snprintf(buf, len, "http://%s%s%s:%u/", ip.family == AF_INET6 ? "[" : "", a,
			 ip.family == AF_INET6 ? "]" : "", l->map.external_port);
}

/* The forward of container port PORT a client should use: TCP before UDP,
 * IPv4 before IPv6. NULL when none. */
static const struct ps_fwd_status *pick(const struct ps_fwd_status *l, size_t n, unsigned port)
{
	const struct ps_fwd_status *best = NULL;

	for (size_t i = 0; i < n; i++) {
		if (l[i].map.local_port != port)
			continue;
		if (!best || (l[i].map.proto == OCI_PROTO_TCP && best->map.proto != OCI_PROTO_TCP) ||
		    (l[i].map.proto == best->map.proto && l[i].map.host_ip.family == AF_INET &&
		     best->map.host_ip.family != AF_INET))
			best = &l[i];
	}
	return best;
}

/* Fills BUF with the URL of ID's port PORT: 1, or 0 with the reason in BUF. */
static int find_url(const char *id, unsigned port, char *buf, size_t len)
{
	struct ps_status st = {0};
	char owner[256], serving[256];

	ps_owner(id, owner, sizeof(owner));
	snprintf(serving, sizeof(serving), "%s", owner[0] ? owner : id);
	if (!ps_sidecar_alive(serving, NULL) || ps_ask_status(serving, &st, CTL_ASK_MS) < 0) {
		snprintf(buf, len, "the sidecar of %s is not running", ctl_sid(serving));
		return 0;
	}
	const struct ps_fwd_status *l = pick(st.v, st.n, port);
	bool found = l != NULL;

	if (found)
		url_of(l, buf, len);
	ps_status_free(&st);
	if (!found) {
		char why[1200];

		ctl_doctor_port(serving, port, why, sizeof(why));
		snprintf(buf, len, "container port %u is not forwarded: %s", port, why);
		return 0;
	}
	return 1;
}

int ctl_url(int argc, char **argv)
{
	char id[OCI_ID_MAX_LEN + 1], url[1400];
	unsigned port;
	int rc;

	if (argc != 3 || parse_uint(argv[2], 1, 65535, &port) < 0) {
		ctl_warn("usage: portsidectl url ID PORT (PORT: the container's port, 1-65535)");
		return CTL_EXIT_USAGE;
	}
	if ((rc = ctl_resolve(argv[1], id, sizeof(id))) != CTL_EXIT_OK)
		return rc;
	if (!find_url(id, port, url, sizeof(url))) {
		ctl_warn("%s", url);
		return CTL_EXIT_INVALID;
	}
	puts(url);
	return CTL_EXIT_OK;
}

int ctl_wait(int argc, char **argv)
{
	static const struct option opts[] = {{"timeout", required_argument, NULL, 't'}, {NULL, 0, NULL, 0}};
	char id[OCI_ID_MAX_LEN + 1], why[1400] = "";
	unsigned port, timeout = WAIT_DEFAULT_S;
	bool found = false, seen_alive = false;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "t:", opts, NULL)) != -1) {
		if (c != 't' || parse_uint(optarg, 0, WAIT_MAX_S, &timeout) < 0) {
			ctl_warn("usage: portsidectl wait ID PORT [--timeout SECONDS] (0-%d; 0 waits for ever)",
				 WAIT_MAX_S);
			return CTL_EXIT_USAGE;
		}
	}
	if (argc - optind != 2 || parse_uint(argv[optind + 1], 1, 65535, &port) < 0) {
		ctl_warn("usage: portsidectl wait ID PORT [--timeout SECONDS] (PORT: the container's port, 1-65535)");
		return CTL_EXIT_USAGE;
	}
	int64_t end = ps_now_ms() + (int64_t)timeout * 1000;
	for (;;) {
		char again[OCI_ID_MAX_LEN + 1];
		bool ambiguous = false;
		/* What podman and crictl are asked at this turn keeps to
		 * --timeout too. */
		int64_t by = ps_now_ms() + CTL_RESOLVE_MS;

		if (timeout && by > end)
			by = end;

		/* Asked again at every turn: the container may not be there yet
		 * (started and waited for in one breath), and a name may come to
		 * fit another container, or several, while we wait. */
		int rc = ctl_resolve_until(argv[optind], again, sizeof(again), true, &ambiguous, by);

		if (ambiguous &&
		    (rc = ctl_resolve_until(argv[optind], again, sizeof(again), false, NULL, by)) != CTL_EXIT_OK)
			return CTL_EXIT_INVALID; /* it said which */
		/* A name that no longer resolves keeps the container it named
		 * for the checks below (its sidecar gone: say so at once), but
		 * can no longer succeed. */
		if (rc == CTL_EXIT_OK) {
			if (found && strcmp(again, id))
				seen_alive = false; /* another container now: its own story */
			snprintf(id, sizeof(id), "%s", again);
			found = true;
		}
		if (found) {
			/* Ready, and the name still means that container once it
			 * is: the answer is about the one asked for. */
			if (ctl_doctor_port(id, port, why, sizeof(why)) == 1 &&
			    ctl_resolve_until(argv[optind], again, sizeof(again), true, NULL, by) == CTL_EXIT_OK &&
			    !strcmp(again, id))
				return CTL_EXIT_OK;
			/* Its sidecar gone (the container stopped, or it was
			 * killed): say so at once. A sidecar that wrote its pid
			 * file was started; before that, the hook is still at
			 * work (it makes the state directory first). */
			char owner[256], pidfile[4096];

			ps_owner(id, owner, sizeof(owner));
			const char *serving = owner[0] ? owner : id;
			bool alive = ps_sidecar_alive(serving, NULL) > 0;
			if (alive)
				seen_alive = true;
			else if (seen_alive || (ps_file(pidfile, sizeof(pidfile), serving, PS_SIDECAR_PID) == 0 &&
						access(pidfile, F_OK) == 0)) {
				ctl_warn("%s: %s", ctl_sid(id), why);
				return CTL_EXIT_INVALID;
			}
		}
		if (timeout && ps_now_ms() >= end)
			break;
		usleep(WAIT_POLL_MS * 1000);
	}
	if (!found) {
		/* Says why, in a moment more at most. */
		ctl_resolve_until(argv[optind], id, sizeof(id), false, NULL, ps_now_ms() + WAIT_WHY_MS);
		ctl_warn("gave up after %u s: no such container", timeout);
		return CTL_EXIT_INVALID;
	}
	ctl_warn("gave up after %u s: %s", timeout, why);
	return CTL_EXIT_INVALID;
}
