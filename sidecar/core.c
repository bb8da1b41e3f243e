/* SPDX-License-Identifier: MIT */
/* The sidecar's core, below its subsystems: the list of forwards and the
 * shutdown every subsystem may ask for. It names none of them: what a
 * shutdown stops is main's, through ctx->stop, so that no call runs back up. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sidecar.h"

struct sc_forward *sc_forward_add(struct sc_ctx *ctx, const struct oci_forward *cfg)
{
	struct sc_forward *fw = calloc(1, sizeof(*fw)), **nv;

	if (!fw)
		return NULL;
	nv = realloc(ctx->fw, (ctx->nfw + 1) * sizeof(*nv));
	if (!nv) {
		free(fw);
		return NULL;
	}
	fw->cfg = *cfg;
	fw->ctx = ctx;
	ctx->fw = nv;
	ctx->fw[ctx->nfw++] = fw;
	return fw;
}

void sc_forward_remove(struct sc_ctx *ctx, struct sc_forward *fw)
{
	for (size_t i = 0; i < ctx->nfw; i++) {
		if (ctx->fw[i] == fw) {
			memmove(&ctx->fw[i], &ctx->fw[i + 1], (ctx->nfw - i - 1) * sizeof(ctx->fw[0]));
			ctx->nfw--;
			return;
		}
	}
}

void sc_shutdown(struct sc_ctx *ctx, const char *why)
{
	if (ctx->stopping)
		return;
	ctx->stopping = true;
	sc_log("stopping: %s", why);
	sc_event(ctx, PS_EV_STOPPED, NULL, NULL, "%s", why);
	if (ctx->stop)
		ctx->stop(ctx);
	sc_log_flush(true);
}

void sc_forward_closed(uv_handle_t *h)
{
	struct sc_forward *fw = h->data;

	close(fw->cfg.fd);
	fw->cfg.fd = -1;
}
