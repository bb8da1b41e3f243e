/* SPDX-License-Identifier: MIT */
/* Who may connect: each forward's allow list checked at accept (TCP) and at
 * a new flow's first datagram (UDP), the refused addresses kept for doctor. */
#include <netinet/in.h>
#include <string.h>

#include "sidecar.h"

static bool ip_of(const struct sockaddr_storage *ss, struct oci_ip *ip)
{
	memset(ip, 0, sizeof(*ip));
	if (ss->ss_family == AF_INET) {
		ip->family = AF_INET;
		memcpy(ip->a, &((const struct sockaddr_in *)ss)->sin_addr, 4);
		return true;
	}
	if (ss->ss_family == AF_INET6) {
		ip->family = AF_INET6;
		memcpy(ip->a, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
		return true;
	}
	return false;
}

/* Kept most recent first: the address moves (or is put) to the front; a
 * new one pushes the oldest out. */
static void remember(struct sc_forward *fw, const struct oci_ip *ip, uint64_t now)
{
	struct sc_not_allowed got = {.ip = *ip, .since = now};
	size_t i;

	for (i = 0; i < fw->n_not_allowed; i++)
		if (oci_ip_equal(&fw->not_allowed[i].ip, ip))
			break;
	if (i < fw->n_not_allowed) {
		got = fw->not_allowed[i];
		if (now - got.since > PS_NOT_ALLOWED_WINDOW_S * 1000ull)
			got.since = now, got.count = 0;
	} else if (fw->n_not_allowed < PS_NOT_ALLOWED_MAX) {
		i = fw->n_not_allowed++;
	} else {
		i = PS_NOT_ALLOWED_MAX - 1;
	}
	memmove(&fw->not_allowed[1], &fw->not_allowed[0], i * sizeof(fw->not_allowed[0]));
	got.count++;
	got.last = now;
	fw->not_allowed[0] = got;
}

bool sc_allow_client(struct sc_forward *fw, const struct sockaddr_storage *ss, const char *noun)
{
	struct oci_ip ip;

	/* The common case first and alone: no list, nothing to look at. */
	if (!fw->cfg.allow.n)
		return true;
	if (ip_of(ss, &ip) && oci_allow_match(&fw->cfg.allow, &ip))
		return true;
	ip = oci_ip_unmapped(&ip);
	sc_count_refused(fw, PS_REFUSED_NOT_ALLOWED);
	remember(fw, &ip, uv_now(fw->ctx->loop));
	/* The summary names the reason, not each address (a client picks
	 * those at will): doctor's table has the latest. */
	sc_log_refused("refused", noun, fw->cfg.external_port, "the client's address is not in allow");
	return false;
}

void sc_allow_status(const struct sc_forward *fw, struct ps_fwd_status *out)
{
	uint64_t now;

	out->n_not_allowed = 0;
	if (!fw->n_not_allowed)
		return; /* the loop is not asked: a forward with none may have no loop yet */
	now = uv_now(fw->ctx->loop);
	for (size_t i = 0; i < fw->n_not_allowed && i < PS_NOT_ALLOWED_MAX; i++) {
		const struct sc_not_allowed *n = &fw->not_allowed[i];

		out->not_allowed[out->n_not_allowed++] = (struct ps_not_allowed){
			.ip = n->ip,
			.count = n->count,
			.ago = now > n->last ? (now - n->last) / 1000 : 0,
		};
	}
}
