/* SPDX-License-Identifier: MIT */
/* The arithmetic of UDP's limits: see udplimit.h for the rules and why. */
#include "udplimit.h"

#include <netinet/in.h>
#include <string.h>

uint64_t sc_udp_wire_bytes(size_t n, int family)
{
	return (uint64_t)n + (family == AF_INET6 ? 40 + 8 : 20 + 8);
}

void sc_udp_credit_earn(uint64_t *credit, size_t n, int family)
{
	uint64_t c = *credit + SC_UDP_REPLY_FACTOR * sc_udp_wire_bytes(n, family);

	*credit = c > SC_UDP_CREDIT_MAX ? SC_UDP_CREDIT_MAX : c;
}

bool sc_udp_credit_spend(uint64_t *credit, size_t n, int family)
{
	uint64_t cost = sc_udp_wire_bytes(n, family);

	if (cost > *credit)
		return false; /* a datagram cannot be cut: all of it or none */
	*credit -= cost;
	return true;
}

void sc_udp_source_of(const struct sockaddr_storage *a, struct sc_udp_source *out)
{
	memset(out, 0, sizeof(*out));
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)a;

		out->family = AF_INET;
		memcpy(out->a, &s->sin_addr, 4);
		return;
	}
	if (a->ss_family != AF_INET6)
		return; /* not a client of ours: all such count as one */
	const struct sockaddr_in6 *s = (const void *)a;

	if (IN6_IS_ADDR_V4MAPPED(&s->sin6_addr)) {
		out->family = AF_INET;
		memcpy(out->a, &s->sin6_addr.s6_addr[12], 4);
		return;
	}
	out->family = AF_INET6;
	memcpy(out->a, &s->sin6_addr, 8);
}

bool sc_udp_source_equal(const struct sc_udp_source *x, const struct sc_udp_source *y)
{
	return x->family == y->family && !memcmp(x->a, y->a, sizeof(x->a));
}
