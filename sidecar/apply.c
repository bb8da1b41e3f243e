/* SPDX-License-Identifier: MIT */
/* A new port table for the running sidecar (APPLY, lib/control.h), from
 * portsidectl's live changes and restore (table/change.c): the whole table
 * it is to serve from now on, and the host listeners it lacks, bound by root
 * and passed over the control socket. The sidecar binds nothing and gains no
 * capability for it.
 *
 * All or nothing: the table is checked whole (its id, every descriptor a
 * listener of the very address, port and protocol its forward names, every
 * forward without one served already) before anything changes; a refusal
 * leaves the sidecar as it was and closes what came. Then, in order:
 * served forwards the table keeps are updated in place (an automatic one
 * becomes explicit: pinned, on the same listener, no gap), new ones are
 * served, explicit ones the table lacks are unserved (their connections end
 * with CLOSE, else on their own), automatic ones of a local port the table
 * now names are unserved too, and the automatic forwarding mode is set. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../base/cleanup.h"
#include "../lib/control.h"
#include "../oci/ports.h"
#include "sidecar.h"

static struct sc_forward *served(const struct sc_ctx *ctx, const struct ps_forward *w)
{
	for (size_t i = 0; i < ctx->nfw; i++)
		if (ps_forward_same_listener(&ctx->fw[i]->cfg, w))
			return ctx->fw[i];
	return NULL;
}

/* FD is a listener of W: a socket of W's protocol (listening, for TCP)
 * bound to W's address and port. What root passed is checked all the
 * same: a mistake must not leave a port served by the wrong socket. */
static bool fits(int fd, const struct ps_forward *w)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int type = 0, listening = 0;
	socklen_t tl = sizeof(type), ll = sizeof(listening);
	struct oci_ip ip = {.family = 0};
	unsigned port;

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0 ||
	    type != (w->proto == OCI_PROTO_UDP ? SOCK_DGRAM : SOCK_STREAM))
		return false;
	if (w->proto == OCI_PROTO_TCP && (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &ll) < 0 || !listening))
		return false;
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return false;
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;

		ip.family = AF_INET;
		memcpy(ip.a, &in->sin_addr, 4);
		port = ntohs(in->sin_port);
	} else if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&ss;

		ip.family = AF_INET6;
		memcpy(ip.a, &in6->sin6_addr, 16);
		port = ntohs(in6->sin6_port);
	} else {
		return false;
	}
	return port == w->external_port && oci_ip_equal(&ip, &w->host_ip);
}

static void log_forward(const char *what, const struct ps_forward *w, const char *by)
{
	char ip[OCI_IP_LEN];

	oci_ip_format(&w->host_ip, ip);
	sc_log("%s %s%s%s:%u -> %u/%s (asked by %s)", what, w->host_ip.family == AF_INET6 ? "[" : "", ip,
	       w->host_ip.family == AF_INET6 ? "]" : "", w->external_port, w->local_port, oci_proto_name(w->proto), by);
}

/* Checks T against what is served and what came (FDS, N of them); on
 * success *USED[i] tells which descriptor each forward takes. */
static int check(const struct sc_ctx *ctx, const struct ps_forwards *t, size_t n, const int *fds, char *why, size_t len)
{
	cleanup_free bool *taken = calloc(n ? n : 1, sizeof(bool));

	if (!taken)
		return snprintf(why, len, "out of memory"), -ENOMEM;
	if (strcmp(t->id, ctx->id))
		return snprintf(why, len, "the table is for %.64s, not %.64s", t->id, ctx->id), -EINVAL;
	for (size_t i = 0; i < t->n; i++) {
		const struct ps_forward *w = &t->v[i];

		for (size_t k = 0; k < i; k++)
			if (ps_forward_same_listener(&t->v[k], w))
				return snprintf(why, len, "host port %u/%s is in the table twice", w->external_port,
						oci_proto_name(w->proto)),
				       -EINVAL;
		if (w->fd < 0) {
			if (!served(ctx, w))
				return snprintf(why, len,
						"host port %u/%s is not served (the app closed it?) and no listener "
						"came for it",
						w->external_port, oci_proto_name(w->proto)),
				       -ESRCH;
			continue;
		}
		if ((size_t)w->fd >= n || taken[w->fd])
			return snprintf(why, len, "forward %zu names descriptor %d of %zu", i, w->fd, n), -EINVAL;
		taken[w->fd] = true;
		if (served(ctx, w))
			return snprintf(why, len, "host port %u/%s is served already", w->external_port,
					oci_proto_name(w->proto)),
			       -EEXIST;
		if (!fits(fds[w->fd], w))
			return snprintf(why, len, "the listener for host port %u/%s is not one", w->external_port,
					oci_proto_name(w->proto)),
			       -EINVAL;
	}
	for (size_t k = 0; k < n; k++)
		if (!taken[k])
			return snprintf(why, len, "descriptor %zu is no forward's", k), -EINVAL;
	if (t->autoforward != ctx->rec->autoforward && t->autoforward != OCI_AUTOFORWARD_NEVER &&
	    !sc_listen_factory_wanted(ctx->rec))
		return snprintf(why, len, "automatic forwarding cannot be turned on: the container's policy %s",
				ctx->rec->n_auto_ports ? "has maxAutoforwards 0" : "gives no autoforwardPorts"),
		       -EPERM;
	return 0;
}

/* Serves T from now on; FDS[i] are closed or owned by the sidecar after. */
static void apply(struct sc_ctx *ctx, struct ps_forwards *t, int *fds, const struct ps_apply_head *h, char *failed,
		  size_t flen)
{
	unsigned added = 0, kept = 0, pinned = 0, removed = 0;
	char why[160];

	/* Kept and pinned, then added. */
	for (size_t i = 0; i < t->n; i++) {
		struct ps_forward *w = &t->v[i];
		struct sc_forward *fw;

		if (w->fd < 0) {
			bool was_auto;

			fw = served(ctx, w);
			was_auto = fw->automatic;
			w->fd = fw->cfg.fd; /* the listener stays */
			fw->cfg = *w;
			fw->automatic = false;
			sc_target_forget(fw); /* its local port may be another now */
			if (was_auto) {
				pinned++;
				log_forward("pinned", w, h->by);
				sc_event(ctx, PS_EV_FORWARDED, w, "pinned",
					 "the automatic forward is an explicit mapping now (asked by %s)", h->by);
			} else {
				kept++;
			}
			continue;
		}
		int at = w->fd;

		w->fd = fds[at];
		fds[at] = -1;
		fw = sc_forward_add(ctx, w);
		int rc = !fw ? UV_ENOMEM : w->proto == OCI_PROTO_UDP ? sc_udp_watch(fw) : sc_tcp_watch(fw);

		if (rc < 0) {
			/* Past the checks, so the rest of the change stands: this
			 * port closes, the answer says so, and doctor shows the
			 * record and the sidecar apart until restore mends it. */
			sc_log("cannot serve host port %u/%s: %s", w->external_port, oci_proto_name(w->proto),
			       uv_strerror(rc));
			if (!failed[0])
				snprintf(failed, flen, "cannot serve host port %u/%s: %s", w->external_port,
					 oci_proto_name(w->proto), uv_strerror(rc));
			if (fw)
				sc_forward_unserve(fw, true); /* closes its listener */
			else
				close(w->fd);
			continue;
		}
		added++;
		log_forward("forwarding", w, h->by);
		sc_event(ctx, PS_EV_FORWARDED, w, h->reason, "served from now on (asked by %s)", h->by);
	}
	/* Unserved: explicit forwards the table lacks, and automatic ones of
	 * a local port it names now (unexposed: known, never forwarded
	 * automatically). Backwards: unserving takes them out of ctx->fw. */
	for (size_t i = ctx->nfw; i-- > 0;) {
		struct sc_forward *fw = ctx->fw[i];
		bool keep = false;

		for (size_t k = 0; k < t->n && !keep; k++)
			keep = ps_forward_same_listener(&t->v[k], &fw->cfg);
		if (keep || (fw->automatic && !ps_forwards_names(t, fw->cfg.local_port, fw->cfg.proto)))
			continue;
		removed++;
		log_forward("stopped forwarding", &fw->cfg, h->by);
		sc_event(ctx, PS_EV_CLOSED, &fw->cfg, "removed", "no longer forwarded (asked by %s)%s", h->by,
			 h->close_conns ? "; its connections closed" : "");
		sc_forward_unserve(fw, h->close_conns);
	}
	/* What automatic forwarding reads: the known ports, then its mode. */
	memcpy(ctx->rec->known, t->known, t->n_known * sizeof(t->known[0]));
	ctx->rec->n_known = t->n_known;
	if (t->autoforward != ctx->rec->autoforward) {
		enum oci_autoforward was = ctx->rec->autoforward;

		if (sc_autoforward_set(ctx, t->autoforward, why, sizeof(why)) < 0)
			sc_log("automatic forwarding stays %s: %s", oci_autoforward_name(was), why);
		else
			sc_log("automatic forwarding: %s, was %s (asked by %s)", oci_autoforward_name(t->autoforward),
			       oci_autoforward_name(was), h->by);
	}
	/* The record's forwards, as served now (their fds the sidecar's). */
	free(ctx->rec->v);
	ctx->rec->v = t->v;
	ctx->rec->n = t->n;
	t->v = NULL;
	t->n = 0;
	sc_log("port table changed by %s: %u added, %u pinned, %u removed, %u kept", h->by, added, pinned, removed,
	       kept);
}

int sc_apply(struct sc_ctx *ctx, const struct ps_apply_head *h, const char *body, int *fds, size_t n, char *why,
	     size_t len)
{
	struct ps_forwards *t = NULL;
	struct oci_err e;
	int rc;

	oci_err_init(&e);
	if (ps_forwards_decode(body, h->bytes, &t, &e) < 0) {
		snprintf(why, len, "%s", e.count ? e.msg[0] : "the table does not read");
		rc = -EINVAL;
	} else if ((rc = check(ctx, t, n, fds, why, len)) == 0) {
		why[0] = '\0';
		apply(ctx, t, fds, h, why, len);
		if (why[0])
			rc = 1; /* applied, but for what WHY says */
	}
	for (size_t i = 0; i < n; i++)
		if (fds[i] >= 0 && rc < 0)
			close(fds[i]), fds[i] = -1;
	ps_forwards_free(t);
	return rc;
}
