/* SPDX-License-Identifier: MIT */
/* Who may connect: allow lists and allowFrom parsed strictly, matched by
 * prefix (IPv4-mapped clients as IPv4), narrowed never widened, recorded. */
#include "unit.h"

#include <arpa/inet.h>
#include <json-c/json.h>
#include <stdlib.h>

#include <netinet/in.h>
#include <uv.h>

#include "../../lib/forwards.h"
#include "../../sidecar/sidecar.h"
#include "../../oci/allow.h"
#include "../../oci/policy.h"
#include "../../oci/ports.h"

static struct oci_allow list(const char *json)
{
	json_object *v = json_tokener_parse(json);
	struct oci_allow a;
	struct oci_err e;

	oci_err_init(&e);
	assert_non_null(v);
	if (oci_allow_parse_json(v, "allow", &a, &e) < 0) {
		oci_err_print(&e, stderr, "  ");
		fail();
	}
	json_object_put(v);
	return a;
}

static void refused_at(const char *json, const char *needle, const char *file, int line)
{
	json_object *v = json_tokener_parse(json);
	struct oci_allow a;
	struct oci_err e;

	oci_err_init(&e);
	if (oci_allow_parse_json(v, "allow", &a, &e) == 0) {
		fprintf(stderr, "%s:%d: %s was accepted\n", file, line, json);
		fail();
	}
	unit_assert_err(&e, needle, file, line);
	json_object_put(v);
}
#define refused(j, n) refused_at((j), (n), __FILE__, __LINE__)

static struct oci_ip ip(const char *s)
{
	struct oci_ip a;

	assert_int_equal(oci_ip_parse(s, &a), 0);
	return a;
}

static bool matches(const struct oci_allow *a, const char *s)
{
	struct oci_ip x = ip(s);

	return oci_allow_match(a, &x);
}

static void test_parse_and_format(void **state)
{
	(void)state;
	struct oci_allow a = list("[\"10.0.0.0/8\", \"::1\", \"192.0.2.7\", \"2001:db8::/32\", \"0.0.0.0/0\"]");
	char buf[256];

	assert_int_equal(a.n, 5);
	/* Sorted at load: IPv4 first, by address, then IPv6. */
	oci_allow_format(&a, buf, sizeof(buf));
	assert_string_equal(buf, "0.0.0.0/0, 10.0.0.0/8, 192.0.2.7, ::1, 2001:db8::/32");
	a = list("[\"192.0.2.7/32\"]");
	oci_allow_format(&a, buf, sizeof(buf));
	assert_string_equal(buf, "192.0.2.7");
}

static void test_refusals(void **state)
{
	(void)state;
	char big[64 * 16 + 16];
	size_t o = 0;

	refused("[]", "is empty");
	refused("\"10.0.0.0/8\"", "must be an array");
	refused("[8]", "must be a string");
	refused("[\"10.1.2.3/8\"]", "allow[0]: '10.1.2.3/8' has host bits set past its prefix");
	refused("[\"2001:db8::1/32\"]", "has host bits set");
	refused("[\"10.0.0.0/33\"]", "has a prefix longer than 32");
	refused("[\"::/129\"]", "has a prefix longer than 128");
	refused("[\"10.0.0.0/\"]", "has a prefix that is not a number");
	refused("[\"10.0.0.0/08x\"]", "has a prefix that is not a number");
	refused("[\"10.0.0/8\"]", "is not an IP address");
	refused("[\"example.com\"]", "not an IP address");
	refused("[\"::ffff:10.0.0.1\"]", "write it as IPv4");
	refused("[\"fe80::1%eth0\"]", "not an IP address");
	refused("[\"10.0.0.0/8\", \"10.0.0.0/8\"]", "listed twice");
	refused("[\"::1\", \"0:0::1\"]", "listed twice");
	/* The limit: 64 networks, and not one more. */
	o += (size_t)snprintf(big + o, sizeof(big) - o, "[");
	for (int i = 0; i < 64; i++)
		o += (size_t)snprintf(big + o, sizeof(big) - o, "%s\"10.0.%d.0/24\"", i ? "," : "", i);
	snprintf(big + o, sizeof(big) - o, "]");
	assert_int_equal(list(big).n, 64);
	snprintf(big + o, sizeof(big) - o, ",\"10.1.0.0/16\"]");
	refused(big, "more than 64");
}

static void test_match(void **state)
{
	(void)state;
	struct oci_allow a = list("[\"10.0.0.0/8\", \"::1\", \"192.0.2.7\", \"2001:db8:80::/41\"]");
	struct oci_allow none = {0};

	assert_true(matches(&a, "10.255.1.2"));
	assert_true(matches(&a, "192.0.2.7"));
	assert_false(matches(&a, "192.0.2.8"));
	assert_false(matches(&a, "11.0.0.1"));
	assert_true(matches(&a, "::1"));
	assert_false(matches(&a, "::2"));
	assert_true(matches(&a, "2001:db8:80::1"));
	assert_true(matches(&a, "2001:db8:ff:ffff::1"));
	assert_false(matches(&a, "2001:db8:100::1"));
	/* A dual-stack listener's IPv4 client is matched as IPv4. */
	assert_true(matches(&a, "::ffff:10.1.2.3"));
	assert_true(matches(&a, "::ffff:192.0.2.7"));
	assert_false(matches(&a, "::ffff:127.0.0.1"));
	/* An IPv6 "everyone" does not let IPv4 in, nor IPv4-mapped clients. */
	a = list("[\"::/0\"]");
	assert_true(matches(&a, "2001:db8::1"));
	assert_false(matches(&a, "127.0.0.1"));
	assert_false(matches(&a, "::ffff:127.0.0.1"));
	/* Either side of the two words the match compares. */
	a = list("[\"2001:db8:1:2::/64\", \"2001:db8:1:3:8000::/65\", \"10.0.0.0/31\"]");
	assert_true(matches(&a, "2001:db8:1:2:ffff::1"));
	assert_false(matches(&a, "2001:db8:1:1::1"));
	assert_true(matches(&a, "2001:db8:1:3:8000::1"));
	assert_false(matches(&a, "2001:db8:1:3:7fff::1"));
	assert_true(matches(&a, "10.0.0.1"));
	assert_false(matches(&a, "10.0.0.2"));
	a = list("[\"127.0.0.1\"]");
	assert_true(matches(&a, "127.0.0.1"));
	assert_false(matches(&a, "127.0.0.2"));
	assert_true(matches(&none, "203.0.113.9"));
}

static void test_within(void **state)
{
	(void)state;
	struct oci_allow wide = list("[\"10.0.0.0/8\", \"2001:db8::/32\"]");
	struct oci_allow in = list("[\"10.1.0.0/16\", \"10.0.0.1\", \"2001:db8:1::/48\"]");
	struct oci_allow out = list("[\"10.1.0.0/16\", \"0.0.0.0/0\"]");
	struct oci_allow none = {0};
	size_t bad = 99;

	assert_true(oci_allow_within(&in, &wide, &bad));
	assert_true(oci_allow_within(&wide, &wide, &bad));
	assert_false(oci_allow_within(&out, &wide, &bad));
	assert_int_equal(bad, 0); /* sorted: 0.0.0.0/0 first */
	assert_true(oci_allow_within(&out, &none, &bad));
	assert_false(oci_allow_within(&none, &wide, &bad) && false);
}

static struct oci_policy *policy(const char *doc)
{
	struct oci_policy *p = NULL;
	struct oci_err e;

	oci_err_init(&e);
	if (oci_policy_parse(doc, strlen(doc), &p, &e) < 0) {
		oci_err_print(&e, stderr, "  ");
		fail();
	}
	return p;
}

static int ports(const char *v, const struct oci_policy *pol, struct oci_ports **out, struct oci_err *e)
{
	oci_err_init(e);
	*out = NULL;
	return oci_ports_parse(v, strlen(v), pol, out, e);
}

static void test_annotation_and_policy(void **state)
{
	(void)state;
	struct oci_policy *open = policy("{}");
	struct oci_policy *narrow = policy("{\"allowFrom\": [\"127.0.0.0/8\", \"::1\"]}");
	struct oci_ports *p;
	struct oci_err e;
	char buf[128];

	/* Given: the mapping's list. */
	assert_int_equal(ports("[{\"localPort\":80,\"externalPort\":8080,\"allow\":[\"127.0.0.1\"]}]", open, &p, &e),
			 0);
	assert_int_equal(p->v[0].allow.n, 1);
	oci_ports_free(p);
	/* Not given: the policy's, in both spellings. */
	assert_int_equal(ports("[{\"localPort\":80,\"externalPort\":8080}]", narrow, &p, &e), 0);
	oci_allow_format(&p->v[0].allow, buf, sizeof(buf));
	assert_string_equal(buf, "127.0.0.0/8, ::1");
	oci_ports_free(p);
	assert_int_equal(ports("8080:80", narrow, &p, &e), 0);
	assert_int_equal(p->v[0].allow.n, 2);
	oci_ports_free(p);
	assert_int_equal(ports("[{\"localPort\":80,\"externalPort\":8080}]", open, &p, &e), 0);
	assert_int_equal(p->v[0].allow.n, 0);
	oci_ports_free(p);
	/* Narrowing is fine, widening is refused naming both. */
	assert_int_equal(ports("[{\"localPort\":80,\"externalPort\":8080,\"allow\":[\"127.0.0.1\"]}]", narrow, &p, &e),
			 0);
	oci_ports_free(p);
	assert_true(ports("[{\"localPort\":80,\"externalPort\":8080,\"allow\":[\"127.0.0.1\",\"10.0.0.0/8\"]}]", narrow,
			  &p, &e) < 0);
	assert_err(&e,
		   "entry 1: allow network 10.0.0.0/8 is not within the host policy's allowFrom (127.0.0.0/8, ::1)");
	assert_int_equal(e.count, 1);
	assert_true(ports("[{\"localPort\":80,\"allow\":[\"127.0.0.1\"]}]", open, &p, &e) < 0);
	assert_err(&e, "allow is set but the port is not exposed");
	assert_true(ports("[{\"localPort\":80,\"externalPort\":8080,\"allow\":[]}]", open, &p, &e) < 0);
	assert_err(&e, "entry 1: allow is empty");
	assert_true(ports("[{\"localPort\":80,\"externalPort\":8080,\"allow\":[\"10.1.2.3/8\"]}]", open, &p, &e) < 0);
	assert_err(&e, "entry 1: allow[0]: '10.1.2.3/8' has host bits set");
	oci_policy_free(open);
	oci_policy_free(narrow);
	/* The policy's own list is as strict. */
	{
		struct oci_policy *bad = NULL;

		oci_err_init(&e);
		assert_true(oci_policy_parse("{\"allowFrom\": []}", 17, &bad, &e) < 0);
		assert_err(&e, "policy field allowFrom is empty");
	}
}

static void test_record(void **state)
{
	(void)state;
	struct ps_forwards f = {.id = "abc", .netns = "1:2", .max_connections = 1, .udp_idle_timeout = 1};
	struct ps_forward w[3] = {{.local_port = 80, .external_port = 8080, .fd = 3},
				  {.local_port = 81, .external_port = 8081, .fd = 4},
				  {.local_port = 82, .external_port = 8082, .fd = 5}};
	struct ps_forwards *back = NULL;
	struct oci_err e;
	char *doc = NULL, buf[128];

	w[0].host_ip = w[1].host_ip = w[2].host_ip = ip("127.0.0.1");
	f.allow_from = list("[\"127.0.0.0/8\", \"::1\"]");
	w[0].allow = f.allow_from;
	w[1].allow = list("[\"127.0.0.1\"]");
	w[2].allow = f.allow_from;
	f.v = w;
	f.n = 3;
	assert_int_equal(ps_forwards_encode(&f, &doc), 0);
	/* The policy's list once, a mapping's own where it has one. */
	assert_non_null(strstr(doc, "\"allowFrom\""));
	assert_non_null(strstr(doc, "\"allow\""));
	assert_null(strstr(strstr(doc, "\"allow\"") + 1, "\"allow\""));
	oci_err_init(&e);
	assert_int_equal(ps_forwards_decode(doc, strlen(doc), &back, &e), 0);
	assert_true(oci_allow_equal(&back->allow_from, &f.allow_from));
	for (int i = 0; i < 3; i++)
		assert_true(oci_allow_equal(&back->v[i].allow, &w[i].allow));
	oci_allow_format(&back->v[1].allow, buf, sizeof(buf));
	assert_string_equal(buf, "127.0.0.1");
	ps_forwards_free(back);
	free(doc);
	/* A forward wider than the policy's is never written. */
	w[2].allow.n = 0;
	assert_int_equal(ps_forwards_encode(&f, &doc), -EINVAL);
}

static struct sockaddr_storage peer(const char *s)
{
	struct sockaddr_storage ss = {0};
	struct oci_ip a = ip(s);

	if (a.family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;

		in->sin_family = AF_INET;
		memcpy(&in->sin_addr, a.a, 4);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

		in6->sin6_family = AF_INET6;
		memcpy(&in6->sin6_addr, a.a, 16);
	}
	return ss;
}

static bool client(struct sc_forward *fw, const char *s)
{
	struct sockaddr_storage ss = peer(s);

	return sc_allow_client(fw, &ss, "connection");
}

/* The sidecar's check: counted, kept per address newest first, bounded. */
static void test_sidecar_table(void **state)
{
	(void)state;
	uv_loop_t loop;
	struct sc_ctx ctx = {.loop = &loop};
	struct sc_forward fw = {.ctx = &ctx};
	struct ps_fwd_status st;
	char a[OCI_IP_LEN];

	assert_int_equal(uv_loop_init(&loop), 0);
	/* No list: everyone, nothing kept. */
	assert_true(client(&fw, "203.0.113.1"));
	fw.cfg.allow = list("[\"127.0.0.1\", \"::1\"]");
	assert_true(client(&fw, "127.0.0.1"));
	assert_true(client(&fw, "::ffff:127.0.0.1"));
	assert_true(client(&fw, "::1"));
	assert_false(client(&fw, "127.0.0.2"));
	assert_false(client(&fw, "::ffff:127.0.0.2")); /* the same client, through a dual-stack listener */
	assert_int_equal(fw.refused[PS_REFUSED_NOT_ALLOWED], 2);
	assert_int_equal(fw.n_not_allowed, 1);
	assert_int_equal(fw.not_allowed[0].count, 2);
	oci_ip_format(&fw.not_allowed[0].ip, a);
	assert_string_equal(a, "127.0.0.2");
	/* Six more addresses: the table keeps the newest PS_NOT_ALLOWED_MAX. */
	assert_false(client(&fw, "127.0.0.3"));
	assert_false(client(&fw, "127.0.0.4"));
	assert_false(client(&fw, "127.0.0.5"));
	assert_false(client(&fw, "::2"));
	assert_false(client(&fw, "127.0.0.3"));
	assert_int_equal(fw.n_not_allowed, PS_NOT_ALLOWED_MAX);
	sc_allow_status(&fw, &st);
	assert_int_equal(st.n_not_allowed, PS_NOT_ALLOWED_MAX);
	oci_ip_format(&st.not_allowed[0].ip, a);
	assert_string_equal(a, "127.0.0.3");
	assert_int_equal(st.not_allowed[0].count, 2);
	oci_ip_format(&st.not_allowed[1].ip, a);
	assert_string_equal(a, "::2");
	oci_ip_format(&st.not_allowed[3].ip, a);
	assert_string_equal(a, "127.0.0.4"); /* 127.0.0.2 went first */
	assert_int_equal(fw.refused[PS_REFUSED_NOT_ALLOWED], 7);
	uv_loop_close(&loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_and_format),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_within),
		cmocka_unit_test(test_annotation_and_policy),
		cmocka_unit_test(test_record),
		cmocka_unit_test(test_sidecar_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
