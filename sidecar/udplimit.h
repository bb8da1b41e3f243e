/* SPDX-License-Identifier: MIT */
#ifndef PORTSIDE_SIDECAR_UDPLIMIT_H
#define PORTSIDE_SIDECAR_UDPLIMIT_H

/* udplimit.c: the arithmetic of UDP's limits, apart from its sockets (udp.c),
 * so that it can be tested alone.
 *
 * The reply budget. A client's address can be forged: one datagram with a
 * victim's address as its source must not let the app aim a stream at the
 * victim from the host's address. So the app may send a flow's client at most
 * SC_UDP_REPLY_FACTOR times the bytes that client sent, plus an allowance of
 * at most SC_UDP_REPLY_ALLOWANCE once per flow; replies past it are dropped.
 * The factor is QUIC's anti-amplification rule (RFC 9000, 8.1). The allowance
 * is what a request/response protocol needs whose first answer outgrows three
 * times its question: a DNS query of 40 bytes answered with up to 4 KB.
 *
 * A flow costs one datagram, from any forged address and port, so an
 * allowance that came free with each flow would be no bound at all: 1-byte
 * datagrams from many sources would buy 4 KB each. So every flow's allowance
 * is drawn, as its replies spend it, from one bucket the sidecar's flows
 * share (struct sc_udp_bucket): SC_UDP_ALLOWANCE_BURST bytes, refilled at
 * SC_UDP_ALLOWANCE_PER_MS bytes a millisecond (64,000 a second). Whatever
 * the sources, in any T seconds the sidecar sends its UDP clients at most
 * 3 times the bytes they sent (and had banked, SC_UDP_CREDIT_MAX a flow)
 * plus 65,536 + 64,000 T bytes. A bucket per source would not bound it: a
 * forger picks a fresh source (an IPv4 address, an IPv6 /64) for every
 * datagram, and any table of sources forgets. While a flood drains the
 * bucket, a new client's first answer past 3 times its question waits for
 * the bucket (a DNS client retries); replies within 3 times are never
 * touched.
 * Bytes are counted as the wire carries them: each datagram's payload plus
 * its IP and UDP headers, so that a stream of tiny replies pays for its
 * datagrams too. Unspent budget is banked up to SC_UDP_CREDIT_MAX: what a
 * client sent long ago does not buy an unbounded burst now. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define SC_UDP_REPLY_FACTOR	3
#define SC_UDP_REPLY_ALLOWANCE	4096
#define SC_UDP_CREDIT_MAX	(256 * 1024)
#define SC_UDP_ALLOWANCE_BURST	65536
#define SC_UDP_ALLOWANCE_PER_MS 64

/* The allowance every flow draws from, refilled with time. */
struct sc_udp_bucket {
	uint64_t bytes;
	uint64_t at; /* the millisecond it was last refilled to */
};

/* A full bucket at NOW_MS. */
void sc_udp_bucket_init(struct sc_udp_bucket *b, uint64_t now_ms);

/* The bytes a datagram of N payload bytes takes on the wire to or from a
 * client of FAMILY: 28 more over IPv4, 48 over IPv6. */
uint64_t sc_udp_wire_bytes(size_t n, int family);

/* A client of FAMILY sent N bytes: *CREDIT grows by the factor, to the cap. */
void sc_udp_credit_earn(uint64_t *credit, size_t n, int family);

/* May the app send N bytes to a client of FAMILY at NOW_MS? The flow's
 * *CREDIT pays what it can; the rest comes from the flow's own *ALLOWANCE
 * and the shared bucket B at once, or the datagram is dropped and nothing
 * is paid. */
bool sc_udp_reply_pay(uint64_t *credit, uint64_t *allowance, struct sc_udp_bucket *b, uint64_t now_ms, size_t n,
		      int family);

/* A keyed hash of N bytes at P (SipHash-2-4, written from its paper): the
 * flow table's buckets, so that a client who picks its addresses and ports
 * cannot pick their buckets. */
uint64_t sc_udp_hash(const uint64_t key[2], const void *p, size_t n);

/* The per-source limit counts a client address, and an IPv6 client by its
 * /64 (one host usually holds a whole /64; counting its addresses one by one
 * would be no limit). An IPv4 address in an IPv6 socket (::ffff:a.b.c.d)
 * counts as that IPv4 address. */
struct sc_udp_source {
	int family;
	unsigned char a[16]; /* the address (IPv4: 4 bytes) or the /64, the rest zero */
};

/* The source A counts against. */
void sc_udp_source_of(const struct sockaddr_storage *a, struct sc_udp_source *out);

bool sc_udp_source_equal(const struct sc_udp_source *x, const struct sc_udp_source *y);

#endif
