/* SPDX-License-Identifier: MIT */
/* UDP's limits (sidecar/udplimit.c): the reply budget a spoofed datagram
 * buys, and the client address a flow counts against. */
#include "unit.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "../../sidecar/udplimit.h"

static struct sockaddr_storage v4(const char *s, unsigned port);

/* Replies of N bytes the app may send on a fresh flow after the client sent
 * SENT, with the sidecar's allowance full and no time passing. */
static unsigned replies_for(size_t sent, size_t n, int family)
{
	uint64_t credit = 0, allowance = SC_UDP_REPLY_ALLOWANCE;
	struct sc_udp_bucket b;
	unsigned k = 0;

	sc_udp_bucket_init(&b, 1000);
	sc_udp_credit_earn(&credit, sent, family);
	while (k < 100000 && sc_udp_reply_pay(&credit, &allowance, &b, 1000, n, family))
		k++;
	return k;
}

/* The app sends N bytes to a client of FAMILY, paid from *CREDIT alone (no
 * allowance left): what a flow past its first answer has. */
static bool pay(uint64_t *credit, size_t n, int family)
{
	uint64_t allowance = 0;
	struct sc_udp_bucket b;

	sc_udp_bucket_init(&b, 1000);
	return sc_udp_reply_pay(credit, &allowance, &b, 1000, n, family);
}

static void test_wire_bytes(void **state)
{
	(void)state;
	assert_int_equal(sc_udp_wire_bytes(0, AF_INET), 28);
	assert_int_equal(sc_udp_wire_bytes(1000, AF_INET), 1028);
	assert_int_equal(sc_udp_wire_bytes(1000, AF_INET6), 1048);
}

/* One forged datagram of 1 byte buys 3 x 29 + 4096 bytes of replies, not 64
 * datagrams of 64 KB as a count of datagrams allowed. */
static void test_spoofed_datagram(void **state)
{
	(void)state;
	uint64_t credit = 0, allowance = SC_UDP_REPLY_ALLOWANCE;
	struct sc_udp_bucket b;

	sc_udp_bucket_init(&b, 1000);
	sc_udp_credit_earn(&credit, 1, AF_INET);
	assert_int_equal(credit, 3 * 29);
	/* Too big for the budget: dropped whole, and it costs nothing. */
	assert_false(sc_udp_reply_pay(&credit, &allowance, &b, 1000, 60000, AF_INET));
	assert_int_equal(credit, 3 * 29);
	assert_int_equal(allowance, SC_UDP_REPLY_ALLOWANCE);
	assert_int_equal(replies_for(1, 60000, AF_INET), 0);
	assert_int_equal(replies_for(1, 1000, AF_INET), 4); /* 4 x 1028 <= 4183 */
	/* Tiny replies pay for their headers: not 4000 of them. */
	assert_int_equal(replies_for(1, 1, AF_INET), 4183 / 29);
}

/* A DNS query of 40 bytes, its answer of up to 4 KB: one answer fits. */
static void test_dns(void **state)
{
	(void)state;
	assert_int_equal(replies_for(40, 4000, AF_INET), 1);
	assert_int_equal(replies_for(40, 4000, AF_INET6), 1);
	assert_int_equal(replies_for(40, 512, AF_INET), 7); /* 7 x 540 <= 4096 + 3 x 68 */
	/* An echo answers each datagram with what it got and a few bytes more
	 * (udp-echo's "echo:"), for ever: the factor alone pays. */
	uint64_t credit = 0;

	for (int i = 0; i < 1000; i++) {
		sc_udp_credit_earn(&credit, 1400, AF_INET6);
		assert_true(pay(&credit, 1405, AF_INET6));
	}
}

/* The budget grows with what the client sends, 3 times over, to the cap. */
static void test_grows_to_the_cap(void **state)
{
	(void)state;
	uint64_t credit = 0;

	sc_udp_credit_earn(&credit, 972, AF_INET);
	assert_int_equal(credit, 3000);
	sc_udp_credit_earn(&credit, 972, AF_INET);
	assert_int_equal(credit, 6000);
	assert_true(pay(&credit, 5972, AF_INET));
	assert_int_equal(credit, 0);
	assert_false(pay(&credit, 0, AF_INET)); /* even an empty datagram has headers */
	for (int i = 0; i < 1000; i++)
		sc_udp_credit_earn(&credit, 65507, AF_INET);
	assert_int_equal(credit, SC_UDP_CREDIT_MAX);
}

/* Many flows, one forged 1-byte datagram each, an app answering each with
 * 4,000 bytes: the allowance is the sidecar's, not each flow's. The first
 * 16 answers come out of the full bucket (65,536 bytes); then one every
 * 62 ms or so, as it refills at 64 bytes a millisecond: 64,000 bytes a
 * second, not 4,096 bytes a flow at any rate of flows. */
static void test_allowance_shared(void **state)
{
	(void)state;
	struct sc_udp_bucket b;
	uint64_t t = 5000, sent = 0;
	unsigned ok = 0;

	sc_udp_bucket_init(&b, t);
	for (int i = 0; i < 1000; i++) {
		uint64_t credit = 0, allowance = SC_UDP_REPLY_ALLOWANCE;

		sc_udp_credit_earn(&credit, 1, AF_INET);
		if (sc_udp_reply_pay(&credit, &allowance, &b, t, 4000, AF_INET)) {
			ok++;
			sent += 4028;
		}
	}
	assert_int_equal(ok, 65536 / (4028 - 3 * 29)); /* 16, all at once */
	/* A second later, a second's worth; so for a minute at a flow a ms. */
	for (int i = 0; i < 60000; i++) {
		uint64_t credit = 0, allowance = SC_UDP_REPLY_ALLOWANCE;

		t++;
		sc_udp_credit_earn(&credit, 1, AF_INET);
		if (sc_udp_reply_pay(&credit, &allowance, &b, t, 4000, AF_INET)) {
			ok++;
			sent += 4028;
		}
	}
	/* Beyond the factor's 3 x 29 an answered flow: the burst plus 64,000
	 * a second, where 4,096 a flow would have let all 61,000 through. */
	uint64_t beyond = sent - ok * 3 * 29;

	assert_true(beyond <= 65536 + 60 * 64000);
	assert_true(beyond >= 60 * 64000 - 4028);
	assert_true(ok < 61000 / 50);
	/* Idle for long, the bucket is full again, not more. */
	sc_udp_bucket_init(&b, 0);
	b.bytes = 0;
	uint64_t credit = 0, allowance = 1000000;

	assert_true(sc_udp_reply_pay(&credit, &allowance, &b, UINT64_MAX / 2, 65536 - 28, AF_INET));
	assert_false(sc_udp_reply_pay(&credit, &allowance, &b, UINT64_MAX / 2, 0, AF_INET));
	/* A clock stepping back refills nothing, and does not wrap. */
	assert_false(sc_udp_reply_pay(&credit, &allowance, &b, 10, 0, AF_INET));
	assert_true(sc_udp_reply_pay(&credit, &allowance, &b, UINT64_MAX / 2 + 1, 36, AF_INET));
	assert_int_equal(b.bytes, 0);
}

/* One flow's allowance is 4,096 however full the bucket; replies within 3
 * times what the client sent never touch the bucket. */
static void test_allowance_per_flow(void **state)
{
	(void)state;
	struct sc_udp_bucket b;
	uint64_t credit = 0, allowance = SC_UDP_REPLY_ALLOWANCE;

	sc_udp_bucket_init(&b, 0);
	assert_true(sc_udp_reply_pay(&credit, &allowance, &b, 0, 4096 - 28, AF_INET));
	assert_false(sc_udp_reply_pay(&credit, &allowance, &b, 0, 0, AF_INET));
	assert_int_equal(b.bytes, 65536 - 4096);
	b.bytes = 0;
	for (int i = 0; i < 100; i++) {
		sc_udp_credit_earn(&credit, 1000, AF_INET);
		assert_true(sc_udp_reply_pay(&credit, &allowance, &b, 0, 3 * 1028 - 28, AF_INET));
	}
	assert_int_equal(b.bytes, 0);
}

/* SipHash-2-4 as its paper gives it: key 00..0f, messages 00.. of 0 and 15 bytes. */
static void test_hash_vectors(void **state)
{
	(void)state;
	unsigned char kb[16], m[15];
	uint64_t key[2] = {0, 0};

	for (int i = 0; i < 16; i++)
		kb[i] = (unsigned char)i;
	for (int i = 0; i < 15; i++)
		m[i] = (unsigned char)i;
	for (int i = 0; i < 8; i++) {
		key[0] |= (uint64_t)kb[i] << (8 * i);
		key[1] |= (uint64_t)kb[8 + i] << (8 * i);
	}
	assert_true(sc_udp_hash(key, m, 0) == 0x726fdb47dd0e0e31ull);
	assert_true(sc_udp_hash(key, m, 15) == 0xa129ca6149be45e5ull);
}

/* Source ports p, p + 1024, p + 2048 ... of one address: FNV modulo 1024,
 * as the table hashed before, put all 64 in one bucket whatever its seed.
 * Keyed over every bit, they spread for every key. */
static void test_hash_spreads_ports(void **state)
{
	(void)state;
	for (uint64_t k = 1; k <= 8; k++) {
		uint64_t key[2] = {k * 0x9e3779b97f4a7c15ull, ~k};
		unsigned count[1024] = {0}, worst = 0;

		for (unsigned port = 5; port < 65536; port += 1024) {
			struct sockaddr_storage a = v4("192.0.2.7", port);
			unsigned b = (unsigned)(sc_udp_hash(key, &a, sizeof(struct sockaddr_in)) & 1023);

			if (++count[b] > worst)
				worst = count[b];
		}
		assert_true(worst <= 4);
		/* And two ports 1024 apart differ, here as for almost any key. */
		struct sockaddr_storage p = v4("192.0.2.7", 5), q = v4("192.0.2.7", 5 + 1024);

		assert_true(sc_udp_hash(key, &p, sizeof(struct sockaddr_in)) !=
			    sc_udp_hash(key, &q, sizeof(struct sockaddr_in)));
	}
}

static struct sockaddr_storage v4(const char *s, unsigned port)
{
	struct sockaddr_storage ss = {0};
	struct sockaddr_in *a = (struct sockaddr_in *)&ss;

	a->sin_family = AF_INET;
	a->sin_port = htons((uint16_t)port);
	assert_int_equal(inet_pton(AF_INET, s, &a->sin_addr), 1);
	return ss;
}

static struct sockaddr_storage v6(const char *s, unsigned port)
{
	struct sockaddr_storage ss = {0};
	struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

	a->sin6_family = AF_INET6;
	a->sin6_port = htons((uint16_t)port);
	assert_int_equal(inet_pton(AF_INET6, s, &a->sin6_addr), 1);
	return ss;
}

static bool same_source(struct sockaddr_storage a, struct sockaddr_storage b)
{
	struct sc_udp_source x, y;

	sc_udp_source_of(&a, &x);
	sc_udp_source_of(&b, &y);
	return sc_udp_source_equal(&x, &y);
}

static void test_sources(void **state)
{
	(void)state;
	/* The port never matters: that is what the limit is about. */
	assert_true(same_source(v4("127.0.0.1", 1000), v4("127.0.0.1", 2000)));
	assert_false(same_source(v4("127.0.0.1", 1000), v4("127.0.0.2", 1000)));
	/* IPv6: a /64 is one client. */
	assert_true(same_source(v6("2001:db8:1:2::1", 1), v6("2001:db8:1:2:ffff:ffff:ffff:ffff", 2)));
	assert_false(same_source(v6("2001:db8:1:2::1", 1), v6("2001:db8:1:3::1", 1)));
	assert_true(same_source(v6("::1", 1), v6("::1", 2)));
	/* An IPv4 client seen through an IPv6 socket is that IPv4 client, and
	 * not every IPv4 client at once (they share a /64 as ::ffff:0:0/96). */
	assert_true(same_source(v6("::ffff:192.0.2.1", 1), v4("192.0.2.1", 2)));
	assert_false(same_source(v6("::ffff:192.0.2.1", 1), v6("::ffff:192.0.2.2", 1)));
	assert_false(same_source(v4("0.0.0.1", 1), v6("::1", 1)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wire_bytes),
		cmocka_unit_test(test_spoofed_datagram),
		cmocka_unit_test(test_dns),
		cmocka_unit_test(test_grows_to_the_cap),
		cmocka_unit_test(test_sources),
		cmocka_unit_test(test_allowance_shared),
		cmocka_unit_test(test_allowance_per_flow),
		cmocka_unit_test(test_hash_vectors),
		cmocka_unit_test(test_hash_spreads_ports),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
