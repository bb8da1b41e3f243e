/* SPDX-License-Identifier: MIT */
/* Automatic forwarding: every AUTO_TICK_MS the sidecar asks sock_diag (its
 * socket lives in the container's netns) which TCP ports the app listens on.
 * A new one, unless the annotation names it (mapped, or a bare LOCAL that is
 * never exposed) or it is 22 or 8283, gets a host listener on the first free
 * port of the policy's autoforwardPorts; with mode "public" only ports opened
 * on a non-loopback address count. When the app stops listening, the host
 * listener closes and its port is free again. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <seccomp.h>

#include "../lib/listen.h"
#include "../oci/policy.h"
#include "../oci/ports.h"
#include "sidecar.h"

/* The system calls this file needs once the sidecar is confined: host listeners for ports the app opens (lib/listen.c).
 * confine.c allows the union of every file's list. */
const int sc_sys_autoforward[] = {
	SCMP_SYS(bind),
	SCMP_SYS(listen),
	SC_SYS_END,
};

#define AUTO_TICK_MS 250
#define MAX_SEEN     512

struct sc_auto {
	uv_timer_t timer;
	uint8_t failed[65536 / 8];  /* ports already logged as not forwardable */
	uint8_t skipped[65536 / 8]; /* ports said to be skipped, while they stay open */
};

/* A port the app opened that is not forwarded by design: one event while
 * it stays open (the app may open and close it in a loop). */
static void skipped(struct sc_ctx *ctx, unsigned port, const char *reason, const char *why)
{
	if (ctx->autoforward->skipped[port / 8] & (1u << (port % 8)))
		return;
	ctx->autoforward->skipped[port / 8] |= (uint8_t)(1u << (port % 8));
	sc_event(ctx, PS_EV_REFUSED, &(struct ps_forward){.local_port = (uint16_t)port}, reason,
		 "not forwarded automatically: %s", why);
}

static bool known(const struct sc_ctx *ctx, unsigned port)
{
	for (size_t i = 0; i < ctx->rec->n_known; i++)
		if (ctx->rec->known[i].port == port && ctx->rec->known[i].proto == OCI_PROTO_TCP)
			return true;
	return false;
}

static bool forwarded_auto(const struct sc_ctx *ctx, unsigned port)
{
	for (size_t i = 0; i < ctx->nfw; i++)
		if (ctx->fw[i]->cfg.auto_assigned && ctx->fw[i]->cfg.local_port == port)
			return true;
	return false;
}

/* Local ports forwarded automatically now (one per port, whatever the
 * number of host addresses). */
static unsigned auto_count(const struct sc_ctx *ctx)
{
	unsigned n = 0;

	for (size_t i = 0; i < ctx->nfw; i++) {
		bool dup = false;

		if (!ctx->fw[i]->cfg.auto_assigned)
			continue;
		for (size_t k = 0; k < i && !dup; k++)
			dup = ctx->fw[k]->cfg.auto_assigned && ctx->fw[k]->cfg.local_port == ctx->fw[i]->cfg.local_port;
		n += !dup;
	}
	return n;
}

static bool external_taken(const struct sc_ctx *ctx, unsigned port)
{
	for (size_t i = 0; i < ctx->nfw; i++)
		if (ctx->fw[i]->cfg.external_port == port && ctx->fw[i]->cfg.proto == OCI_PROTO_TCP)
			return true;
	return false;
}

/* Binds EXT on every bind address, all or nothing, as the hook binds an
 * explicit mapping (lib/listen.c). */
static int bind_all(const struct sc_ctx *ctx, unsigned ext, int *fds)
{
	size_t bad;

	return ps_listen_all(ctx->rec->bind, ctx->rec->n_bind, ext, OCI_PROTO_TCP, true, fds, &bad);
}

/* The hand-out (ps_hand_out, as the hook's): a host port no forward of
 * this sidecar holds, bound on every bind address. */
struct hand_out {
	const struct sc_ctx *ctx;
	int *fds;
};

static bool hand_out_taken(unsigned port, void *arg)
{
	return external_taken(((const struct hand_out *)arg)->ctx, port);
}

static int hand_out_try(unsigned port, void *arg)
{
	const struct hand_out *h = arg;

	return bind_all(h->ctx, port, h->fds);
}

static void open_auto(struct sc_ctx *ctx, unsigned port, bool loopback_only)
{
	int fds[OCI_POLICY_MAX_HOSTIPS];
	int rc = -EADDRINUSE;
	unsigned ext = 0;

	/* One app must not take every hand-out port from the host's other
	 * containers: the policy bounds how many it holds at once. */
	if (auto_count(ctx) >= ctx->rec->max_autoforwards) {
		if (!(ctx->autoforward->failed[port / 8] & (1u << (port % 8)))) {
			sc_log_limited("cannot forward local port %u/tcp automatically: %u automatic forwards already "
				       "(policy maxAutoforwards)",
				       port, ctx->rec->max_autoforwards);
			sc_event(ctx, PS_EV_REFUSED, &(struct ps_forward){.local_port = (uint16_t)port},
				 "max-autoforwards",
				 "not forwarded automatically: %u ports are already (policy maxAutoforwards)",
				 ctx->rec->max_autoforwards);
		}
		ctx->autoforward->failed[port / 8] |= (uint8_t)(1u << (port % 8));
		return;
	}
	struct hand_out h = {ctx, fds};

	rc = ps_hand_out(ctx->rec->auto_ports, ctx->rec->n_auto_ports, hand_out_taken, hand_out_try, &h, &ext);
	if (rc < 0) {
		if (!(ctx->autoforward->failed[port / 8] & (1u << (port % 8)))) {
			const char *why = rc == -EADDRINUSE ? "no free port left in the policy's autoforwardPorts"
							    : strerror(-rc);

			sc_log_limited("cannot forward local port %u/tcp automatically: %s", port, why);
			sc_event(ctx, PS_EV_REFUSED, &(struct ps_forward){.local_port = (uint16_t)port},
				 rc == -EADDRINUSE ? "no-free-port" : "bind", "not forwarded automatically: %s", why);
		}
		ctx->autoforward->failed[port / 8] |= (uint8_t)(1u << (port % 8));
		return;
	}
	ctx->autoforward->failed[port / 8] &= (uint8_t) ~(1u << (port % 8));
	for (size_t i = 0; i < ctx->rec->n_bind; i++) {
		struct ps_forward cfg = {
			.local_port = (uint16_t)port,
			.external_port = (uint16_t)ext,
			.proto = OCI_PROTO_TCP,
			/* "all" forwards localhost-only ports: dial them there. */
			.expose_localhost = loopback_only,
			.auto_assigned = true,
			.host_ip = ctx->rec->bind[i],
			.fd = fds[i],
			.visibility = (uint8_t)ctx->rec->visibility,
		};
		struct sc_forward *fw;
		char ip[OCI_IP_LEN];

		if (fds[i] < 0)
			continue;
		if (!(fw = sc_forward_add(ctx, &cfg))) {
			sc_log("cannot add an automatic listener: out of memory");
			close(fds[i]);
			continue;
		}
		if (sc_tcp_watch(fw) < 0) {
			sc_log("cannot watch an automatic listener");
			sc_forward_remove(ctx, fw);
			close(fds[i]);
			free(fw);
			continue;
		}
		oci_ip_format(&cfg.host_ip, ip);
		sc_log_limited("forwarding %s%s%s:%u -> %u/tcp automatically (the app opened it)",
			       cfg.host_ip.family == AF_INET6 ? "[" : "", ip, cfg.host_ip.family == AF_INET6 ? "]" : "",
			       ext, port);
		sc_event(ctx, PS_EV_AUTO_FORWARDED, &cfg, NULL, "the app opened it%s",
			 loopback_only ? " on localhost only (autoforward all)" : "");
	}
}

static void on_tick(uv_timer_t *t)
{
	struct sc_ctx *ctx = t->data;
	static struct ps_listener seen[MAX_SEEN];
	size_t n = 0;

	if (ctx->stopping || sc_listeners(ctx, OCI_PROTO_TCP, 0, seen, MAX_SEEN, &n) < 0)
		return;
	/* The dial targets, from the same dump (unless a full table cut it). */
	if (n < MAX_SEEN)
		sc_target_refresh(ctx, seen, n);
	/* New ports. */
	for (size_t i = 0; i < n; i++) {
		unsigned port = seen[i].port;
		bool wide = false, first = true;

		for (size_t k = 0; k < n; k++) {
			if (seen[k].port != port)
				continue;
			first &= k >= i;
			wide |= !oci_ip_is_loopback(&seen[k].ip);
		}
		if (!first || known(ctx, port) || forwarded_auto(ctx, port))
			continue;
		if (oci_port_reserved(port)) {
			skipped(ctx, port, "reserved", oci_port_reserved_why(port));
			continue;
		}
		if (!wide && ctx->rec->autoforward != OCI_AUTOFORWARD_ALL) {
			/* "public": only what the app opened to the outside */
			skipped(ctx, port, "localhost-only",
				"the app listens on localhost only; bind 0.0.0.0, or set io.portside.autoforward=all");
			continue;
		}
		open_auto(ctx, port, !wide);
	}
	/* Skipped ports the app closed: said again if it opens them again. */
	for (unsigned p = 0; p < 65536 && n < MAX_SEEN; p++) {
		bool still = false;

		if (!(ctx->autoforward->skipped[p / 8] & (1u << (p % 8))))
			continue;
		for (size_t k = 0; k < n && !still; k++)
			still = seen[k].port == p;
		if (!still)
			ctx->autoforward->skipped[p / 8] &= (uint8_t) ~(1u << (p % 8));
	}
	/* Ports the app closed. A full table may have cut the list: then
	 * nothing is known to be closed. */
	for (size_t i = ctx->nfw; i-- > 0 && n < MAX_SEEN;) {
		struct sc_forward *fw = ctx->fw[i];
		bool still = false;

		if (!fw->cfg.auto_assigned)
			continue;
		for (size_t k = 0; k < n && !still; k++)
			still = seen[k].port == fw->cfg.local_port;
		if (still)
			continue;
		sc_log_limited("stopped forwarding host port %u -> %u/tcp: the app closed it", fw->cfg.external_port,
			       fw->cfg.local_port);
		sc_event(ctx, PS_EV_CLOSED, &fw->cfg, "app-closed", "the app closed it");
		sc_tcp_retire(fw);
	}
}

int sc_autoforward_start(struct sc_ctx *ctx)
{
	if (ctx->rec->autoforward == OCI_AUTOFORWARD_NEVER || ctx->rec->n_auto_ports == 0 ||
	    ctx->rec->max_autoforwards == 0)
		return 0;
	ctx->autoforward = calloc(1, sizeof(*ctx->autoforward));
	if (!ctx->autoforward)
		return UV_ENOMEM;
	uv_timer_init(ctx->loop, &ctx->autoforward->timer);
	ctx->autoforward->timer.data = ctx;
	return uv_timer_start(&ctx->autoforward->timer, on_tick, 0, AUTO_TICK_MS);
}

static void on_closed(uv_handle_t *h)
{
	struct sc_ctx *ctx = h->data;

	free(ctx->autoforward);
	ctx->autoforward = NULL;
}

void sc_autoforward_stop(struct sc_ctx *ctx)
{
	if (ctx->autoforward && !uv_is_closing((uv_handle_t *)&ctx->autoforward->timer))
		uv_close((uv_handle_t *)&ctx->autoforward->timer, on_closed);
}
