/* SPDX-License-Identifier: MIT */
/* A forward taken out while the sidecar runs (a live unexpose, automatic
 * forwarding switched off, the app closing an automatic forward's port).
 *
 * Its host port is given back at once: the poll handle is closed, which
 * takes the descriptor out of libuv's epoll set there and then, so the
 * listener itself can close right after, not in the close callback a loop
 * turn later: an unexpose followed by an expose of the same port finds it
 * free. What is left is the memory: the handle (embedded) until its close
 * callback, and the TCP connections, which point at the forward for its
 * counters and its target. So the forward waits on ctx->draining until
 * both are done, and the last of them frees it (sc_forward_release). */
#include <stdlib.h>
#include <unistd.h>

#include "sidecar.h"

void sc_forward_unserve(struct sc_forward *fw, bool close_conns)
{
	struct sc_ctx *ctx = fw->ctx;

	if (!fw->draining) {
		sc_forward_remove(ctx, fw);
		if (fw->poll_open && !uv_is_closing((uv_handle_t *)&fw->poll))
			uv_close((uv_handle_t *)&fw->poll, sc_forward_closed);
		fw->polling = false;
		if (fw->cfg.fd >= 0)
			close(fw->cfg.fd);
		fw->cfg.fd = -1;
		fw->next_draining = ctx->draining;
		ctx->draining = fw;
	}
	/* Not draining while its connections close: the last one would free
	 * it under the loop that closes them. */
	fw->draining = false;
	if (fw->cfg.proto == OCI_PROTO_UDP)
		sc_udp_close_flows(fw);
	else if (close_conns)
		sc_tcp_close_conns(fw);
	fw->draining = true;
	sc_forward_release(fw);
}

void sc_forward_release(struct sc_forward *fw)
{
	struct sc_ctx *ctx = fw->ctx;

	if (!fw->draining || fw->poll_open || fw->conns_live > 0)
		return;
	for (struct sc_forward **pp = &ctx->draining; *pp; pp = &(*pp)->next_draining) {
		if (*pp == fw) {
			*pp = fw->next_draining;
			break;
		}
	}
	free(fw);
}

void sc_draining_free(struct sc_ctx *ctx)
{
	while (ctx->draining) {
		struct sc_forward *fw = ctx->draining;

		ctx->draining = fw->next_draining;
		free(fw);
	}
}
