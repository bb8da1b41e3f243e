/* SPDX-License-Identifier: MIT */
/* The sidecar's choice of where to dial (sidecar/target.c): forwarded traffic
 * must never look local to an app that did not ask for it (CVE-2021-20199),
 * IPv4-mapped listeners included. */
#include "unit.h"

#include <arpa/inet.h>

#include "../../oci/ports.h"
#include "../../sidecar/sidecar.h"

static struct ps_listener L(const char *addr, unsigned port, bool dual) {
	struct ps_listener l = {.port = (uint16_t)port, .dual = dual};

	assert_int_equal(oci_ip_parse(addr, &l.ip), 0);
	return l;
}

static struct oci_ip
IP(const char *s) {
	struct oci_ip ip;

	assert_int_equal(oci_ip_parse(s, &ip), 0);
	return ip;
}

/* The container's own addresses, as the route netlink dump gives them; ARG
 * non-NULL: it has none. */
static const struct oci_ip *
own(void *arg, int family)
{
	static struct oci_ip own4, own6;

	if (arg)
		return NULL;
	own4 = IP("10.88.0.5");
	own6 = IP("fd00::5");
	return family == AF_INET ? &own4 : &own6;
}

/* Chooses for L[0..N) with own addresses 10.88.0.5 and fd00::5, and checks
 * the pick against WANT (NULL: refused, WHY containing NEEDLE). */
static void expect_at(const struct ps_listener *l, size_t n, bool expose, const char *want, const char *needle,
		      const char *file, int line)
{
	struct oci_ip pick = {0};
	char why[256] = "", got[OCI_IP_LEN];
	int rc = sc_target_choose(l, n, 3000, OCI_PROTO_TCP, expose, own, NULL, &pick, why, sizeof(why));

	oci_ip_format(&pick, got);
	if (want && (rc != 0 || strcmp(got, want))) {
		fprintf(stderr, "%s:%d: wanted %s, got rc %d pick %s (%s)\n", file, line, want, rc, got, why);
		fail();
	}
	/* each refusal by its own code: the counters tell them apart */
	int code = strstr(needle ? needle : "", "only") ? SC_TARGET_LOCALHOST_ONLY : -ECONNREFUSED;

	if (!want && (rc != code || !strstr(why, needle))) {
		fprintf(stderr, "%s:%d: wanted a refusal with '%s', got rc %d pick %s why '%s'\n", file, line, needle,
			rc, got, why);
		fail();
	}
}
#define expect(l, n, x, w, nd) expect_at((l), (n), (x), (w), (nd), __FILE__, __LINE__)

static void test_any_dials_own_address(void **state)
{
	(void)state;
	struct ps_listener a[] = {L("0.0.0.0", 3000, false)};
	struct ps_listener b[] = {L("::", 3000, false)};
	struct ps_listener c[] = {L("::", 3000, true)};

	expect(a, 1, false, "10.88.0.5", NULL);
	expect(b, 1, false, "fd00::5", NULL);
	expect(c, 1, false, "10.88.0.5", NULL); /* dual-stack takes IPv4 */
}

static void test_loopback_refused_without_expose(void **state)
{
	(void)state;
	struct ps_listener a[] = {L("127.0.0.1", 3000, false)};
	struct ps_listener b[] = {L("::1", 3000, false)};

	expect(a, 1, false, NULL, "listens on 127.0.0.1:3000 only (localhost)");
	expect(b, 1, false, NULL, "listens on [::1]:3000 only");
	expect(a, 1, true, "127.0.0.1", NULL);
	expect(b, 1, true, "::1", NULL);
}

/* What diag.c hands over for [::ffff:127.0.0.1] (mapped, given as IPv4), and
 * the raw form too: both are localhost-only. */
static void test_v4mapped_loopback_is_localhost(void **state)
{
	(void)state;
	struct ps_listener raw[] = {L("::ffff:127.0.0.1", 3000, false)};
	struct ps_listener cooked[] = {L("127.0.0.1", 3000, false)};

	cooked[0].mapped = true;
	expect(raw, 1, false, NULL, "only (localhost)");
	expect(cooked, 1, false, NULL, "[::ffff:127.0.0.1]:3000 only (localhost)");
	expect(raw, 1, true, "127.0.0.1", NULL);
}

static void test_v4mapped_any_is_any(void **state)
{
	(void)state;
	struct ps_listener raw[] = {L("::ffff:0.0.0.0", 3000, false)};

	expect(raw, 1, false, "10.88.0.5", NULL);
}

static void test_specific_address(void **state)
{
	(void)state;
	struct ps_listener a[] = {L("127.0.0.1", 3000, false), L("10.88.0.5", 3000, false)};
	struct ps_listener m[] = {L("::ffff:10.88.0.7", 3000, false)};

	expect(a, 2, false, "10.88.0.5", NULL);
	expect(m, 1, false, "10.88.0.7", NULL); /* dialled as the IPv4 it maps */
}

static void test_nothing_listens(void **state)
{
	(void)state;
	expect(NULL, 0, false, NULL, "nothing listens on port 3000");
}

static void test_no_own_address_falls_back_to_loopback(void **state)
{
	(void)state;
	struct ps_listener a[] = {L("0.0.0.0", 3000, false)};
	struct oci_ip pick;
	char why[128], got[OCI_IP_LEN];

	assert_int_equal(sc_target_choose(a, 1, 3000, OCI_PROTO_TCP, false, own, "none", &pick, why, sizeof(why)), 0);
	oci_ip_format(&pick, got);
	assert_string_equal(got, "127.0.0.1");
}

static void test_addr_predicates(void **state)
{
	(void)state;
	struct oci_ip a = IP("::ffff:127.0.0.9"), b = IP("::ffff:0.0.0.0"), c = IP("::ffff:10.0.0.1"), u;

	assert_true(oci_ip_is_v4mapped(&a));
	assert_true(oci_ip_is_loopback(&a));
	assert_false(oci_ip_is_any(&a));
	assert_true(oci_ip_is_any(&b));
	assert_false(oci_ip_is_loopback(&c));
	u = oci_ip_unmapped(&c);
	assert_int_equal(u.family, AF_INET);
	assert_memory_equal(u.a, ((unsigned char[]){10, 0, 0, 1}), 4);
	a = IP("::1");
	assert_false(oci_ip_is_v4mapped(&a));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_any_dials_own_address),
		cmocka_unit_test(test_loopback_refused_without_expose),
		cmocka_unit_test(test_v4mapped_loopback_is_localhost),
		cmocka_unit_test(test_v4mapped_any_is_any),
		cmocka_unit_test(test_specific_address),
		cmocka_unit_test(test_nothing_listens),
		cmocka_unit_test(test_no_own_address_falls_back_to_loopback),
		cmocka_unit_test(test_addr_predicates),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
