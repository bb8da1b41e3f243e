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

void sc_udp_bucket_init(struct sc_udp_bucket *b, uint64_t now_ms)
{
	b->bytes = SC_UDP_ALLOWANCE_BURST;
	b->at = now_ms;
}

static void bucket_refill(struct sc_udp_bucket *b, uint64_t now_ms)
{
	if (now_ms <= b->at)
		return; /* a clock that steps back refills nothing */
	uint64_t ms = now_ms - b->at;

	/* Far behind is simply full (and the product cannot overflow). */
	if (ms >= SC_UDP_ALLOWANCE_BURST / SC_UDP_ALLOWANCE_PER_MS)
		b->bytes = SC_UDP_ALLOWANCE_BURST;
	else if ((b->bytes += ms * SC_UDP_ALLOWANCE_PER_MS) > SC_UDP_ALLOWANCE_BURST)
		b->bytes = SC_UDP_ALLOWANCE_BURST;
	b->at = now_ms;
}

bool sc_udp_reply_pay(uint64_t *credit, uint64_t *allowance, struct sc_udp_bucket *b, uint64_t now_ms, size_t n,
		      int family)
{
	uint64_t cost = sc_udp_wire_bytes(n, family), rest;

	if (cost <= *credit) {
		*credit -= cost;
		return true;
	}
	rest = cost - *credit;
	bucket_refill(b, now_ms);
	if (rest > *allowance || rest > b->bytes)
		return false; /* a datagram cannot be cut: all of it or none */
	*allowance -= rest;
	b->bytes -= rest;
	*credit = 0;
	return true;
}

static inline uint64_t rotl(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

#define SIPROUND                                                                                                       \
	do {                                                                                                           \
		v0 += v1, v1 = rotl(v1, 13), v1 ^= v0, v0 = rotl(v0, 32);                                              \
		v2 += v3, v3 = rotl(v3, 16), v3 ^= v2;                                                                 \
		v0 += v3, v3 = rotl(v3, 21), v3 ^= v0;                                                                 \
		v2 += v1, v1 = rotl(v1, 17), v1 ^= v2, v2 = rotl(v2, 32);                                              \
	} while (0)

uint64_t sc_udp_hash(const uint64_t key[2], const void *p, size_t n)
{
	const unsigned char *in = p;
	uint64_t v0 = key[0] ^ 0x736f6d6570736575ull, v1 = key[1] ^ 0x646f72616e646f6dull;
	uint64_t v2 = key[0] ^ 0x6c7967656e657261ull, v3 = key[1] ^ 0x7465646279746573ull;
	uint64_t m;
	size_t i = 0;

	for (;; i += 8) {
		m = 0;
		if (n - i < 8) {
			/* The last word: what is left, and the length on top. */
			for (size_t j = 0; j < n - i; j++)
				m |= (uint64_t)in[i + j] << (8 * j);
			m |= (uint64_t)(n & 0xff) << 56;
		} else {
			for (size_t j = 0; j < 8; j++)
				m |= (uint64_t)in[i + j] << (8 * j);
		}
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
		if (n - i < 8)
			break;
	}
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
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
