/* SPDX-License-Identifier: MIT */
/* UDP's limits (sidecar/udplimit.c): the reply budget a spoofed datagram
 * buys, and the client address a flow counts against. */
#include "unit.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "../../sidecar/udplimit.h"

/* Replies of N bytes the app may send on a fresh flow after the client sent SENT. */
static unsigned replies_for(size_t sent, size_t n, int family)
{
	uint64_t credit = SC_UDP_REPLY_ALLOWANCE;
	unsigned k = 0;

	sc_udp_credit_earn(&credit, sent, family);
	while (k < 100000 && sc_udp_credit_spend(&credit, n, family))
		k++;
	return k;
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
	uint64_t credit = SC_UDP_REPLY_ALLOWANCE;

	sc_udp_credit_earn(&credit, 1, AF_INET);
	assert_int_equal(credit, 4096 + 3 * 29);
	assert_false(sc_udp_credit_spend(&credit, 60000, AF_INET)); /* too big for the budget: dropped whole */
	assert_int_equal(credit, 4096 + 3 * 29);		    /* and costs nothing */
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
		assert_true(sc_udp_credit_spend(&credit, 1405, AF_INET6));
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
	assert_true(sc_udp_credit_spend(&credit, 5972, AF_INET));
	assert_int_equal(credit, 0);
	assert_false(sc_udp_credit_spend(&credit, 0, AF_INET)); /* even an empty datagram has headers */
	for (int i = 0; i < 1000; i++)
		sc_udp_credit_earn(&credit, 65507, AF_INET);
	assert_int_equal(credit, SC_UDP_CREDIT_MAX);
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
		cmocka_unit_test(test_wire_bytes), cmocka_unit_test(test_spoofed_datagram),
		cmocka_unit_test(test_dns),	   cmocka_unit_test(test_grows_to_the_cap),
		cmocka_unit_test(test_sources),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
