/* SPDX-License-Identifier: MIT */
/* Where a forwarded connection goes inside the container.
 *
 * The app must not see forwarded traffic as local when exposeLocalhost is
 * off: an app that trusts 127.0.0.1 would trust the whole outside
 * (CVE-2021-20199, podman's rootlessport). So the sidecar looks up, with
 * sock_diag, where the app listens on the port, and dials:
 *  - the container's own non-loopback address when the app listens on every
 *    address and the container has one;
 *  - 127.0.0.1 / ::1 when the netns has nothing but loopback, or when
 *    exposeLocalhost is on;
 *  - nothing when the app listens on loopback only and exposeLocalhost is off:
 *    the client is refused and the log says why.
 * An IPv4-mapped listener ([::ffff:127.0.0.1], what a JVM binds for
 * "127.0.0.1") arrives here as the IPv4 address it maps (diag.c).
 *
 * Asking the kernel per connection cost two netlink dumps on every
 * connection's path. So the answer is kept per forward for a second, the
 * autoforward watch (which dumps every listener anyway) decides it again on
 * each tick, and a dial refused at the kept address forgets it: tcp.c then
 * asks afresh and dials once more, so an app that moved is still reached. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "../oci/ports.h"
#include "sidecar.h"

#define MAX_BOUND 16

static struct oci_ip loopback(int family)
{
	struct oci_ip ip = {.family = family};

	if (family == AF_INET)
		ip.a[0] = 127, ip.a[3] = 1;
	else
		ip.a[15] = 1;
	return ip;
}

int sc_target_choose(const struct ps_listener *l, size_t n, unsigned port, unsigned proto, bool expose_localhost,
		     sc_own_fn own_address, void *arg, struct oci_ip *pick, char *why, size_t whylen)
{
	bool any4 = false, any6 = false, lo4 = false, lo6 = false;
	const struct oci_ip *specific = NULL;

	if (n == 0) {
		snprintf(why, whylen, "nothing listens on port %u%s in the container", port,
			 proto == OCI_PROTO_UDP ? "/udp" : "");
		return -ECONNREFUSED;
	}
	for (size_t i = 0; i < n; i++) {
		struct oci_ip ip = oci_ip_unmapped(&l[i].ip);
		bool v4 = ip.family == AF_INET;

		if (oci_ip_is_any(&ip)) {
			*(v4 ? &any4 : &any6) = true;
			any4 |= l[i].dual; /* [::] without V6ONLY takes IPv4 too */
		} else if (oci_ip_is_loopback(&ip)) {
			*(v4 ? &lo4 : &lo6) = true;
		} else if (!specific) {
			specific = &l[i].ip;
		}
	}

	if (expose_localhost && (any4 || lo4 || any6 || lo6)) {
		/* :: without V6ONLY takes IPv4 too, but only a v6 listener is sure. */
		*pick = loopback(any4 || lo4 ? AF_INET : AF_INET6);
	} else if (any4 || any6) {
		/* Asked only here: most connections need no address lookup. */
		const struct oci_ip *own = own_address(arg, any4 ? AF_INET : AF_INET6);

		/* Without an address of its own, loopback is the only way in; the
		 * app listens everywhere, so it accepts the outside anyway. */
		*pick = own ? *own : loopback(any4 ? AF_INET : AF_INET6);
	} else if (specific) {
		*pick = oci_ip_unmapped(specific);
	} else {
		char a[OCI_IP_LEN];

		oci_ip_format(&l[0].ip, a);
		snprintf(why, whylen,
			 "the app listens on %s%s%s%s:%u only (localhost): bind it to 0.0.0.0 or set exposeLocalhost",
			 l[0].ip.family == AF_INET6 || l[0].mapped ? "[" : "", l[0].mapped ? "::ffff:" : "", a,
			 l[0].ip.family == AF_INET6 || l[0].mapped ? "]" : "", port);
		return SC_TARGET_LOCALHOST_ONLY;
	}
	return 0;
}

/* The container's own address of FAMILY, remembered for a second: its
 * addresses change rarely, and asking the kernel costs a netlink dump. */
static const struct oci_ip *own_address_cached(void *arg, int family)
{
	struct sc_ctx *ctx = arg;
	int k = family == AF_INET ? 0 : 1;
	uint64_t now = ctx->loop ? uv_now(ctx->loop) : 0;

	if (!ctx->own[k].valid || now - ctx->own[k].at >= 1000) {
		ctx->own[k].found = sc_own_address(ctx, family, &ctx->own[k].ip);
		ctx->own[k].at = now;
		ctx->own[k].valid = ctx->loop != NULL;
	}
	return ctx->own[k].found ? &ctx->own[k].ip : NULL;
}

static void fill(const struct oci_ip *ip, unsigned port, struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (ip->family == AF_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)ss;

		s->sin_family = AF_INET;
		s->sin_port = htons((uint16_t)port);
		memcpy(&s->sin_addr, ip->a, 4);
		*len = sizeof(*s);
	} else {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)ss;

		s->sin6_family = AF_INET6;
		s->sin6_port = htons((uint16_t)port);
		memcpy(&s->sin6_addr, ip->a, 16);
		*len = sizeof(*s);
	}
}

/* Decides FW's target from the N listeners L on its port, into SS/LEN, and
 * keeps a positive answer; a refusal is never kept, so an app that starts
 * listening is reached by the next client. */
static int decide(struct sc_ctx *ctx, struct sc_forward *fw, const struct ps_listener *l, size_t n,
		  struct sockaddr_storage *ss, socklen_t *len, char *why, size_t whylen)
{
	struct oci_ip pick;
	int rc = sc_target_choose(l, n, fw->cfg.local_port, fw->cfg.proto, fw->cfg.expose_localhost, own_address_cached,
				  ctx, &pick, why, whylen);

	if (rc < 0) {
		fw->target.valid = false;
		return rc;
	}
	fill(&pick, fw->cfg.local_port, ss, len);
	/* Loopback picked for an app on every address of a netns without an
	 * address of its own is not kept: should the app move to 127.0.0.1
	 * only, a kept loopback target would still reach it. */
	fw->target.valid = fw->cfg.expose_localhost || !oci_ip_is_loopback(&pick);
	if (fw->target.valid) {
		memcpy(&fw->target.ss, ss, sizeof(*ss));
		fw->target.len = *len;
		fw->target.at = ctx->loop ? uv_now(ctx->loop) : 0;
	}
	return 0;
}

int sc_target(struct sc_ctx *ctx, struct sc_forward *fw, struct sockaddr_storage *ss, socklen_t *len, bool *cached,
	      char *why, size_t whylen)
{
	struct ps_listener bound[MAX_BOUND];
	unsigned port = fw->cfg.local_port;
	size_t n = 0;
	int rc;

	*cached = fw->target.valid && ctx->loop && uv_now(ctx->loop) - fw->target.at < SC_TARGET_TTL_MS;
	if (!*cached) {
		if ((rc = sc_listeners(ctx, fw->cfg.proto, port, bound, MAX_BOUND, &n)) < 0) {
			if (fw->cfg.proto != OCI_PROTO_UDP) {
				snprintf(why, whylen, "cannot query the container's listeners: %s", strerror(-rc));
				return -ECONNREFUSED;
			}
			/* A kernel without UDP sock_diag: assume the app takes
			 * every address, and let the kernel refuse what it does
			 * not. */
			memset(bound, 0, sizeof(bound[0]));
			bound[0].ip.family = AF_INET;
			n = 1;
		}
		return decide(ctx, fw, bound, n, ss, len, why, whylen);
	}
	memcpy(ss, &fw->target.ss, sizeof(*ss));
	*len = fw->target.len;
	return 0;
}

void sc_target_forget(struct sc_forward *fw)
{
	fw->target.valid = false;
}

void sc_target_refresh(struct sc_ctx *ctx, const struct ps_listener *l, size_t n)
{
	for (size_t i = 0; i < ctx->nfw; i++) {
		struct sc_forward *fw = ctx->fw[i];
		struct ps_listener mine[MAX_BOUND];
		struct sockaddr_storage ss;
		socklen_t len;
		size_t k = 0;
		char why[256];

		if (fw->cfg.proto != OCI_PROTO_TCP)
			continue;
		for (size_t j = 0; j < n && k < MAX_BOUND; j++)
			if (l[j].port == fw->cfg.local_port)
				mine[k++] = l[j];
		decide(ctx, fw, mine, k, &ss, &len, why, sizeof(why));
	}
}
