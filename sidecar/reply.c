/* SPDX-License-Identifier: MIT */
/* The reply to STATUS: the forwards and counters on sc_ctx, in the form
 * lib/reply.c encodes for portsidectl. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../base/cleanup.h"
#include "sidecar.h"

char *sc_reply_status(const struct sc_ctx *ctx)
{
	struct ps_status s = {.pid = getpid(),
			      .conns_live = ctx->conns_live,
			      .autoforward = ctx->rec ? (int)ctx->rec->autoforward : -1,
			      .n = ctx->nfw};
	cleanup_free struct ps_fwd_status *v = calloc(ctx->nfw ? ctx->nfw : 1, sizeof(*v));

	if (!v)
		return NULL;
	s.v = v;
	sc_autoforward_counts(ctx, &s.auto_binds, &s.auto_waiting);
	for (size_t i = 0; i < ctx->nfw; i++) {
		const struct sc_forward *fw = ctx->fw[i];

		v[i] = (struct ps_fwd_status){
			.map = fw->cfg,
			.conns_live = fw->conns_live,
			.conns_total = fw->conns_total,
			.bytes_in = fw->bytes_in,
			.bytes_out = fw->bytes_out,
		};
		v[i].map.automatic = fw->automatic;
		memcpy(v[i].refused, fw->refused, sizeof(v[i].refused));
		sc_allow_status(fw, &v[i]);
	}
	return ps_status_encode(&s);
}
