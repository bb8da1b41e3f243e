/* SPDX-License-Identifier: MIT */
/* Automatic forwarding: every AUTO_TICK_MS the sidecar asks sock_diag (its
 * socket lives in the container's netns) which TCP ports the app listens on.
 * A new one, unless the annotation names it (mapped, or a bare LOCAL that is
 * never exposed) or it is 22 or 8283, gets a host listener on the first free
 * port of the policy's autoforwardPorts, bound by the listener factory
 * (listenfactory.c: the sidecar itself makes no host socket); with mode
 * "public" only ports opened on a non-loopback address count. When the app
 * stops listening, the host listener closes and its port is free again.
 * What this watch made is marked automatic: a recorded mapping whose host
 * port the hook handed out (auto_assigned) is not the watch's, and stays.
 * The mode can change while running (sc_autoforward_set): "never" stops the
 * watch and unserves the automatic forwards, their connections left to end
 * on their own.
 *
 * When every hand-out port is taken (by other containers, or by anyone on the
 * host), trying them all for every waiting port every tick cost the sidecar a
 * quarter of a core with 500 ports (a socket, two setsockopts, a bind and a
 * close each), work the container's author could cause at will. So:
 *  - a hand-out port found in use is not tried again for a while, doubling
 *    from BACKOFF_MIN_MS to BACKOFF_MAX_MS (its holder is what changes, not
 *    the app's port: one probe serves every waiting port); a waiting port is
 *    due again when the first hand-out port is;
 *  - a waiting port that failed for its own reason (a bind error, or
 *    maxAutoforwards reached) backs off the same way;
 *  - both start again at once when one of this sidecar's automatic forwards
 *    closes (a hand-out port, and a slot, came free), and a port the app
 *    closes and opens again is new;
 *  - at most BINDS_PER_TICK binds a tick, waiting ports served round-robin
 *    from where the last tick's budget ran out, so that none starves.
 * The bind attempts and the waiting ports are counted in the status reply. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/listen.h"
#include "../oci/policy.h"
#include "../oci/ports.h"
#include "sidecar.h"

#define AUTO_TICK_MS   250
#define MAX_SEEN       512
#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 30000
#define BINDS_PER_TICK 32
#define NEVER	       UINT64_MAX /* due when a forward closes, not before */
#define N_HAND_OUT     (sizeof(((struct ps_forwards *)0)->auto_ports) / sizeof(uint16_t))

/* A port the app listens on that has no host port yet. */
struct sc_wait {
	uint16_t port;
	bool loopback_only;
	bool listed; /* in this tick's dump */
	uint8_t shift;
	uint64_t due; /* uv_now() of its next try */
};

struct sc_auto {
	uv_timer_t timer;
	uint8_t failed[65536 / 8];  /* ports already logged as not forwardable */
	uint8_t skipped[65536 / 8]; /* ports said to be skipped, while they stay open */
	struct sc_wait wait[MAX_SEEN];
	size_t n_wait, next; /* next: where this tick's round-robin starts */
	/* Each hand-out port (by its index in rec->auto_ports) found in use:
	 * not tried before busy_due. */
	uint64_t busy_due[N_HAND_OUT];
	uint8_t busy_shift[N_HAND_OUT];
	unsigned budget; /* binds left this tick */
	uint64_t binds;	 /* every bind attempt, for the status reply */
};

static uint64_t backoff(uint8_t *shift)
{
	uint64_t ms = (uint64_t)BACKOFF_MIN_MS << *shift;

	if (ms >= BACKOFF_MAX_MS)
		return BACKOFF_MAX_MS;
	(*shift)++;
	return ms;
}

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
		if (ctx->fw[i]->automatic && ctx->fw[i]->cfg.local_port == port)
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

		if (!ctx->fw[i]->automatic)
			continue;
		for (size_t k = 0; k < i && !dup; k++)
			dup = ctx->fw[k]->automatic && ctx->fw[k]->cfg.local_port == ctx->fw[i]->cfg.local_port;
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

/* The hand-out (ps_hand_out, as the hook's): a host port no forward of
 * this sidecar holds and none found in use lately, bound on every bind
 * address. ps_hand_out asks taken() of each entry in order, then tries the
 * one it said no to: K follows it through the list. */
struct hand_out {
	struct sc_ctx *ctx;
	int *fds;
	size_t k;
};

static bool hand_out_taken(unsigned port, void *arg)
{
	struct hand_out *h = arg;
	const struct ps_forwards *rec = h->ctx->rec;

	while (h->k < rec->n_auto_ports && rec->auto_ports[h->k] != port)
		h->k++;
	if (h->k < rec->n_auto_ports && h->ctx->autoforward->busy_due[h->k] > uv_now(h->ctx->loop))
		return true;
	return external_taken(h->ctx, port);
}

static int hand_out_try(unsigned port, void *arg)
{
	struct hand_out *h = arg;
	struct sc_auto *a = h->ctx->autoforward;
	int rc;

	if (a->budget == 0)
		return -EAGAIN; /* this tick's binds are spent: next tick, from here */
	a->budget--;
	a->binds++;
	rc = sc_host_listen(h->ctx, port, h->fds); /* every bind address, all or nothing */
	if (h->k < h->ctx->rec->n_auto_ports) {
		if (rc == -EADDRINUSE)
			a->busy_due[h->k] = uv_now(h->ctx->loop) + backoff(&a->busy_shift[h->k]);
		else if (rc == 0)
			a->busy_shift[h->k] = 0;
	}
	return rc;
}

/* When a port that found every hand-out port taken may try again: when the
 * first one found in use may be tried again (NEVER: this sidecar holds them
 * all). */
static uint64_t first_busy_due(const struct sc_ctx *ctx)
{
	uint64_t due = NEVER;

	for (size_t k = 0; k < ctx->rec->n_auto_ports; k++)
		if (!oci_port_reserved(ctx->rec->auto_ports[k]) && !external_taken(ctx, ctx->rec->auto_ports[k]) &&
		    ctx->autoforward->busy_due[k] < due)
			due = ctx->autoforward->busy_due[k];
	return due;
}

/* Forwards PORT: 0, -EAGAIN when this tick's binds ran out, -EUSERS at
 * maxAutoforwards, or why no hand-out port could be bound. */
static int open_auto(struct sc_ctx *ctx, unsigned port, bool loopback_only)
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
		return -EUSERS;
	}
	struct hand_out h = {ctx, fds, 0};

	rc = ps_hand_out(ctx->rec->auto_ports, ctx->rec->n_auto_ports, hand_out_taken, hand_out_try, &h, &ext);
	if (rc == -EAGAIN)
		return rc;
	if (rc < 0) {
		if (!(ctx->autoforward->failed[port / 8] & (1u << (port % 8)))) {
			const char *why = rc == -EADDRINUSE ? "no free port left in the policy's autoforwardPorts"
							    : strerror(-rc);

			sc_log_limited("cannot forward local port %u/tcp automatically: %s", port, why);
			sc_event(ctx, PS_EV_REFUSED, &(struct ps_forward){.local_port = (uint16_t)port},
				 rc == -EADDRINUSE ? "no-free-port" : "bind", "not forwarded automatically: %s", why);
		}
		ctx->autoforward->failed[port / 8] |= (uint8_t)(1u << (port % 8));
		return rc;
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
			.allow = ctx->rec->allow_from,
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
		fw->automatic = true;
		if (sc_tcp_watch(fw) < 0) {
			sc_log("cannot watch an automatic listener");
			sc_forward_unserve(fw, true); /* closes its listener, frees it */
			continue;
		}
		oci_ip_format(&cfg.host_ip, ip);
		sc_log_limited("forwarding %s%s%s:%u -> %u/tcp automatically (the app opened it)",
			       cfg.host_ip.family == AF_INET6 ? "[" : "", ip, cfg.host_ip.family == AF_INET6 ? "]" : "",
			       ext, port);
		sc_event(ctx, PS_EV_AUTO_FORWARDED, &cfg, NULL, "the app opened it%s",
			 loopback_only ? " on localhost only (autoforward all)" : "");
	}
	return 0;
}

/* PORT waits for a host port from now on, unless it already does. */
static void wait_add(struct sc_auto *a, unsigned port, bool loopback_only, uint64_t now)
{
	for (size_t i = 0; i < a->n_wait; i++)
		if (a->wait[i].port == port) {
			a->wait[i].listed = true;
			a->wait[i].loopback_only = loopback_only;
			return;
		}
	if (a->n_wait < MAX_SEEN)
		a->wait[a->n_wait++] = (struct sc_wait){(uint16_t)port, loopback_only, true, 0, now};
}

/* Tries the waiting ports that are due, round-robin from where the last
 * tick's budget ran out, within this tick's. */
static void serve_waiting(struct sc_ctx *ctx, uint64_t now)
{
	struct sc_auto *a = ctx->autoforward;
	size_t n = a->n_wait, start = n ? a->next % n : 0, keep = 0;
	bool cut = false;

	a->budget = BINDS_PER_TICK;
	a->next = 0;
	for (size_t i = 0; i < n; i++) {
		size_t at = (start + i) % n;
		struct sc_wait *w = &a->wait[at];
		int rc = -EAGAIN;

		if (w->due > now)
			continue;
		if (a->budget > 0)
			rc = open_auto(ctx, w->port, w->loopback_only);
		if (rc == -EAGAIN) {
			/* The first one the budget left out starts the next tick. */
			if (!cut)
				a->next = at;
			cut = true;
		} else if (rc == 0) {
			w->port = 0; /* forwarded: taken out below */
		} else if (rc == -EADDRINUSE) {
			w->due = first_busy_due(ctx);
		} else if (rc == -EUSERS) {
			w->due = NEVER; /* until one of ours closes */
		} else {
			w->due = now + backoff(&w->shift);
		}
	}
	/* Out with the forwarded ones, in order (a->next moves down for each
	 * one before it). */
	for (size_t i = 0, at = a->next; i < n; i++) {
		if (a->wait[i].port == 0) {
			a->next -= i < at;
			continue;
		}
		a->wait[keep++] = a->wait[i];
	}
	a->n_wait = keep;
}

/* A hand-out port and a slot came free: every waiting port may try now. */
static void wait_reset(struct sc_auto *a)
{
	for (size_t i = 0; i < a->n_wait; i++) {
		a->wait[i].due = 0;
		a->wait[i].shift = 0;
	}
}

void sc_autoforward_counts(const struct sc_ctx *ctx, uint64_t *binds, uint64_t *waiting)
{
	*binds = ctx->autoforward ? ctx->autoforward->binds : 0;
	*waiting = ctx->autoforward ? ctx->autoforward->n_wait : 0;
}

static void on_tick(uv_timer_t *t)
{
	struct sc_ctx *ctx = t->data;
	struct sc_auto *a = ctx->autoforward;
	static struct ps_listener seen[MAX_SEEN];
	uint64_t now = uv_now(ctx->loop);
	bool freed = false;
	size_t n = 0;

	if (ctx->stopping || ctx->rec->autoforward == OCI_AUTOFORWARD_NEVER ||
	    sc_listeners(ctx, OCI_PROTO_TCP, 0, seen, MAX_SEEN, &n) < 0)
		return;
	/* The dial targets, from the same dump (unless a full table cut it). */
	if (n < MAX_SEEN)
		sc_target_refresh(ctx, seen, n);
	for (size_t i = 0; i < a->n_wait; i++)
		a->wait[i].listed = false;
	/* Ports to forward: each waits until a host port is bound for it. */
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
		wait_add(a, port, !wide, now);
	}
	/* Waiting ports the app closed: forgotten (one it opens again starts
	 * afresh). A full table may have cut the list: then nothing is known
	 * to be closed. */
	if (n < MAX_SEEN) {
		size_t keep = 0;

		for (size_t i = 0; i < a->n_wait; i++)
			if (a->wait[i].listed)
				a->wait[keep++] = a->wait[i];
		a->n_wait = keep;
	}
	/* Skipped ports the app closed: said again if it opens them again. */
	for (unsigned p = 0; p < 65536 && n < MAX_SEEN; p++) {
		bool still = false;

		if (!(a->skipped[p / 8] & (1u << (p % 8))))
			continue;
		for (size_t k = 0; k < n && !still; k++)
			still = seen[k].port == p;
		if (!still)
			a->skipped[p / 8] &= (uint8_t) ~(1u << (p % 8));
	}
	serve_waiting(ctx, now);
	/* Ports the app closed. Their listeners close once the loop has run
	 * their close callbacks: the waiting ports try for them next tick. */
	for (size_t i = ctx->nfw; i-- > 0 && n < MAX_SEEN;) {
		struct sc_forward *fw = ctx->fw[i];
		bool still = false;

		/* What this watch made only: a recorded mapping whose host
		 * port was handed out at start (auto_assigned) stays. */
		if (!fw->automatic)
			continue;
		for (size_t k = 0; k < n && !still; k++)
			still = seen[k].port == fw->cfg.local_port;
		if (still)
			continue;
		sc_log_limited("stopped forwarding host port %u -> %u/tcp: the app closed it", fw->cfg.external_port,
			       fw->cfg.local_port);
		sc_event(ctx, PS_EV_CLOSED, &fw->cfg, "app-closed", "the app closed it");
		/* Its connections go with it: the app's end is gone anyway. */
		sc_forward_unserve(fw, true);
		freed = true;
	}
	if (freed)
		wait_reset(a);
}

/* Whether the policy lets this sidecar forward automatically at all: the
 * listener factory says so (it is started for that policy alone). The
 * watch then runs while the mode is not "never", and can be switched at
 * any time (sc_autoforward_set). */
int sc_autoforward_start(struct sc_ctx *ctx)
{
	if (ctx->listen_factory_fd < 0)
		return 0;
	ctx->autoforward = calloc(1, sizeof(*ctx->autoforward));
	if (!ctx->autoforward)
		return UV_ENOMEM;
	uv_timer_init(ctx->loop, &ctx->autoforward->timer);
	ctx->autoforward->timer.data = ctx;
	if (ctx->rec->autoforward == OCI_AUTOFORWARD_NEVER)
		return 0;
	return uv_timer_start(&ctx->autoforward->timer, on_tick, 0, AUTO_TICK_MS);
}

/* Unserves the automatic forwards (LOCALHOST_ONLY: only those of ports the
 * app opened on localhost only), their connections left to end on their
 * own, each with an event of REASON. */
static unsigned unserve_automatic(struct sc_ctx *ctx, bool localhost_only, const char *reason, const char *why)
{
	unsigned n = 0;

	for (size_t i = ctx->nfw; i-- > 0;) {
		struct sc_forward *fw = ctx->fw[i];

		if (!fw->automatic || (localhost_only && !fw->cfg.expose_localhost))
			continue;
		sc_event(ctx, PS_EV_CLOSED, &fw->cfg, reason, "%s", why);
		sc_forward_unserve(fw, false);
		n++;
	}
	return n;
}

int sc_autoforward_set(struct sc_ctx *ctx, enum oci_autoforward mode, char *why, size_t len)
{
	struct sc_auto *a = ctx->autoforward;
	enum oci_autoforward was = ctx->rec->autoforward;
	unsigned n = 0;

	if (mode == OCI_AUTOFORWARD_NEVER) {
		/* Always possible: it only takes away. */
		ctx->rec->autoforward = mode;
		if (!a)
			return 0;
		uv_timer_stop(&a->timer);
		n = unserve_automatic(ctx, false, "autoforward-never", "automatic forwarding was switched off");
		/* What the watch knew goes: switched on again, it starts afresh. */
		a->n_wait = a->next = 0;
		memset(a->failed, 0, sizeof(a->failed));
		memset(a->skipped, 0, sizeof(a->skipped));
		if (was != mode)
			sc_log("automatic forwarding switched off: %u automatic forward%s unserved (their connections "
			       "stay)",
			       n, n == 1 ? "" : "s");
		return 0;
	}
	if (mode != OCI_AUTOFORWARD_PUBLIC && mode != OCI_AUTOFORWARD_ALL) {
		snprintf(why, len, "unknown automatic forwarding mode");
		return -EINVAL;
	}
	if (!a) {
		snprintf(why, len, "%s",
			 ctx->rec->n_auto_ports == 0 ? "this container's policy gives no autoforwardPorts"
			 : ctx->rec->max_autoforwards == 0
				 ? "the policy's maxAutoforwards is 0"
				 : "this sidecar has no listener factory (it could not be started)");
		return -EPERM;
	}
	ctx->rec->autoforward = mode;
	if (mode == OCI_AUTOFORWARD_PUBLIC && was == OCI_AUTOFORWARD_ALL) {
		/* "public" would not have forwarded what the app opened on
		 * localhost only. */
		n = unserve_automatic(ctx, true, "autoforward-public",
				      "automatic forwarding was set to public: the app listens on localhost only");
		size_t keep = 0;

		for (size_t i = 0; i < a->n_wait; i++)
			if (!a->wait[i].loopback_only)
				a->wait[keep++] = a->wait[i];
		a->n_wait = keep;
		a->next = 0;
		if (n)
			wait_reset(a); /* hand-out ports and slots came free */
	}
	if (was != mode)
		sc_log("automatic forwarding set to %s%s", mode == OCI_AUTOFORWARD_ALL ? "all" : "public",
		       n ? " (localhost-only ports unserved)" : "");
	if (!uv_is_active((uv_handle_t *)&a->timer) && !ctx->stopping)
		return uv_timer_start(&a->timer, on_tick, 0, AUTO_TICK_MS);
	return 0;
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
