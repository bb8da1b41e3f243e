/* SPDX-License-Identifier: MIT */
/* /etc/portside/policy.json: defaults, every field, every refusal. */
#include "unit.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <fcntl.h>
#include <unistd.h>

#include "../../oci/policy.h"

static struct oci_policy *ok(const char *doc)
{
	struct oci_policy *p = NULL;
	struct oci_err e;

	oci_err_init(&e);
	if (oci_policy_parse(doc, strlen(doc), &p, &e) < 0) {
		fprintf(stderr, "refused %s:\n", doc);
		oci_err_print(&e, stderr, "  ");
		fail();
	}
	return p;
}

static void bad_at(const char *doc, const char *needle, const char *file, int line)
{
	struct oci_policy *p = NULL;
	struct oci_err e;

	oci_err_init(&e);
	if (oci_policy_parse(doc, strlen(doc), &p, &e) == 0) {
		fprintf(stderr, "%s:%d: %s was accepted\n", file, line, doc);
		oci_policy_free(p);
		fail();
	}
	assert_null(p);
	unit_assert_err(&e, needle, file, line);
}
#define bad(d, n) bad_at((d), (n), __FILE__, __LINE__)

static void test_defaults(void **state)
{
	(void)state;
	struct oci_policy *p = ok("{}");
	static const unsigned want[] = {80,   3000, 3001, 3002, 3003, 4200, 5000,
					5173, 6000, 6800, 8000, 8008, 8080, 8081};

	assert_int_equal(p->n_autoforward_ports, 14);
	for (size_t i = 0; i < 14; i++)
		assert_int_equal(p->autoforward_ports[i], want[i]);
	assert_int_equal(p->autoforward, OCI_AUTOFORWARD_PUBLIC);
	assert_false(p->external_restricted);
	assert_true(oci_policy_external_allowed(p, 1));
	assert_true(oci_policy_external_allowed(p, 65535));
	assert_false(oci_policy_external_allowed(p, 22));
	assert_false(oci_policy_external_allowed(p, 8283));
	assert_false(oci_policy_external_allowed(p, 0));
	assert_int_equal(p->n_host_ips, 0);
	assert_false(p->has_pool);
	assert_int_equal(p->max_autoforwards, OCI_AUTOFORWARDS_DEFAULT);
	assert_true(p->max_autoforwards < p->n_autoforward_ports);
	assert_int_equal(p->max_ports, 256);
	assert_int_equal(p->udp_idle_timeout, 60);
	assert_int_equal(p->visibility, OCI_VISIBILITY_PUBLIC);
	/* UDP flows: a table of their own, a quarter of maxConnections. */
	assert_int_equal(p->max_connections, 4096);
	assert_int_equal(p->max_udp_flows, 1024);
	assert_int_equal(p->udp_per_source, OCI_UDP_PER_SOURCE_DEFAULT);
	oci_policy_free(p);
	oci_policy_free(NULL);
}

static void test_udp_flows(void **state)
{
	(void)state;
	struct oci_policy *p = ok("{\"maxConnections\":100}");

	/* Derived from maxConnections when not named, wherever it stands. */
	assert_int_equal(p->max_udp_flows, 25);
	oci_policy_free(p);
	p = ok("{\"maxConnections\":3}");
	assert_int_equal(p->max_udp_flows, 1); /* never none */
	oci_policy_free(p);
	p = ok("{\"maxUdpFlows\":7,\"maxConnections\":100}");
	assert_int_equal(p->max_udp_flows, 7);
	assert_int_equal(p->max_connections, 100);
	oci_policy_free(p);
	p = ok("{\"maxConnections\":100,\"maxUdpFlows\":5000,\"udpFlowsPerSource\":2}");
	assert_int_equal(p->max_udp_flows, 5000); /* larger than maxConnections: the administrator's call */
	assert_int_equal(p->udp_per_source, 2);
	oci_policy_free(p);
	assert_int_equal(oci_policy_udp_flows_default(4096), 1024);
	assert_int_equal(oci_policy_udp_flows_default(1), 1);

	bad("{\"maxUdpFlows\":0}", "policy field maxUdpFlows must be within 1-1000000");
	bad("{\"maxUdpFlows\":1000001}", "maxUdpFlows must be within 1-1000000");
	bad("{\"maxUdpFlows\":\"64\"}", "policy field maxUdpFlows must be an integer, not a string");
	bad("{\"maxUdpFlows\":null}", "maxUdpFlows must be an integer, not null");
	bad("{\"udpFlowsPerSource\":0}", "policy field udpFlowsPerSource must be within 1-1000000");
	bad("{\"udpFlowsPerSource\":2.5}", "udpFlowsPerSource must be an integer, not a number with a fraction");
	bad("{\"udpFlowsPerSource\":[4]}", "udpFlowsPerSource must be an integer, not an array");
	bad("{\"maxUDPFlows\":4}", "policy field 'maxUDPFlows' is unknown");
}

static void test_all_fields(void **state)
{
	(void)state;
	struct oci_policy *p = ok("{\"externalPorts\":[80,443,\"8000-8002\"],\"autoforwardPorts\":[8000,80],"
				  "\"autoforward\":\"never\",\"hostIP\":[\"127.0.0.1\",\"::1\"],"
				  "\"addressPool\":\"127.77.0.0/16\",\"maxPorts\":10,\"maxConnections\":100,"
				  "\"udpIdleTimeout\":5,\"maxAutoforwards\":2,\"visibility\":\"private\","
				  "\"maxUdpFlows\":30,\"udpFlowsPerSource\":3}");
	char buf[OCI_IP_LEN];

	assert_true(p->external_restricted);
	assert_true(oci_policy_external_allowed(p, 80));
	assert_true(oci_policy_external_allowed(p, 443));
	assert_true(oci_policy_external_allowed(p, 8001));
	assert_false(oci_policy_external_allowed(p, 8003));
	assert_false(oci_policy_external_allowed(p, 3000));
	assert_int_equal(p->n_autoforward_ports, 2);
	assert_int_equal(p->autoforward_ports[0], 8000);
	assert_int_equal(p->autoforward, OCI_AUTOFORWARD_NEVER);
	assert_int_equal(p->n_host_ips, 2);
	oci_ip_format(&p->host_ips[1], buf);
	assert_string_equal(buf, "::1");
	assert_true(p->has_pool);
	assert_int_equal(p->pool_prefix, 16);
	oci_ip_format(&p->pool, buf);
	assert_string_equal(buf, "127.77.0.0");
	assert_int_equal(p->max_ports, 10);
	assert_int_equal(p->max_connections, 100);
	assert_int_equal(p->udp_idle_timeout, 5);
	assert_int_equal(p->max_autoforwards, 2);
	assert_int_equal(p->visibility, OCI_VISIBILITY_PRIVATE);
	assert_int_equal(p->max_udp_flows, 30);
	assert_int_equal(p->udp_per_source, 3);
	oci_policy_free(p);

	p = ok("{\"visibility\":\"public\"}");
	assert_int_equal(p->visibility, OCI_VISIBILITY_PUBLIC);
	oci_policy_free(p);

	p = ok("{\"hostIP\":\"0.0.0.0\"}");
	assert_int_equal(p->n_host_ips, 1);
	oci_policy_free(p);
}

static void test_span_with_reserved_is_allowed_but_never_hands_out_it(void **state)
{
	(void)state;
	struct oci_policy *p = ok("{\"externalPorts\":[\"1-65535\"]}");

	assert_true(oci_policy_external_allowed(p, 21));
	assert_false(oci_policy_external_allowed(p, 22));
	assert_false(oci_policy_external_allowed(p, 8283));
	oci_policy_free(p);
}

static void test_refusals(void **state)
{
	(void)state;
	bad("{\"externalport\":[80]}", "policy field 'externalport' is unknown");
	bad("{\"externalPorts\":80}", "externalPorts must be an array of ports, not an integer");
	bad("{\"externalPorts\":[\"80\"]}", "externalPorts[0]: '80' is not a port range");
	bad("{\"externalPorts\":[\"90-80\"]}", "not a port range");
	bad("{\"externalPorts\":[\"1-70000\"]}", "not a port range");
	bad("{\"externalPorts\":[70000]}", "externalPorts[0]: 70000 is out of range 1-65535");
	bad("{\"externalPorts\":[80,22]}", "externalPorts[1]: port 22 (ssh) is reserved");
	bad("{\"autoforwardPorts\":[80,8283]}", "autoforwardPorts[1]: port 8283 is reserved");
	bad("{\"autoforwardPorts\":[80,80]}", "autoforwardPorts[1]: port 80 is listed twice");
	bad("{\"autoforwardPorts\":[true]}", "autoforwardPorts[0] must be an integer port");
	bad("{\"autoforward\":\"sometimes\"}", "autoforward must be \"public\", \"all\" or \"never\"");
	bad("{\"autoforward\":1}", "autoforward must be");
	bad("{\"hostIP\":\"localhost\"}", "hostIP: 'localhost' is not an IP address");
	bad("{\"hostIP\":[1]}", "hostIP[0] must be an IP address string, not an integer");
	bad("{\"addressPool\":\"127.77.0.1/16\"}", "addressPool must be a network");
	bad("{\"addressPool\":\"127.77.0.0\"}", "addressPool must be a network");
	bad("{\"addressPool\":\"127.77.0.0/33\"}", "addressPool must be a network");
	bad("{\"addressPool\":\"127.77.0.0/32\"}", "too few addresses");
	bad("{\"maxPorts\":0}", "maxPorts must be within 1-4096");
	bad("{\"maxPorts\":100000}", "maxPorts must be within");
	bad("{\"maxPorts\":\"10\"}", "maxPorts must be an integer, not a string");
	bad("{\"maxConnections\":-1}", "maxConnections must be within");
	bad("{\"maxAutoforwards\":1025}", "maxAutoforwards must be within 0-1024");
	bad("{\"udpIdleTimeout\":0}", "udpIdleTimeout must be within 1-86400");
	bad("{\"udpIdleTimeout\":1.5}", "udpIdleTimeout must be an integer, not a number with a fraction");
	bad("{\"visibility\":\"hidden\"}", "policy field visibility must be \"public\" or \"private\"");
	bad("{\"visibility\":\"PRIVATE\"}", "visibility must be");
	bad("{\"visibility\":[\"private\"]}", "visibility must be");
	bad("[]", "policy must be a JSON object, not an array");
	bad("{\"maxPorts\":1,\"maxPorts\":2}", "member named twice");
	bad("{", "JSON ends early");
}

static void test_every_field_error_reported(void **state)
{
	(void)state;
	struct oci_policy *p = NULL;
	struct oci_err e;
	const char *doc = "{\"maxPorts\":0,\"bogus\":1,\"autoforward\":\"x\"}";

	oci_err_init(&e);
	assert_int_equal(oci_policy_parse(doc, strlen(doc), &p, &e), -EINVAL);
	assert_int_equal(e.count, 3);
	assert_err(&e, "maxPorts");
	assert_err(&e, "bogus");
	assert_err(&e, "autoforward");
	/* A NULL error list still refuses. */
	assert_int_equal(oci_policy_parse(doc, strlen(doc), &p, NULL), -EINVAL);
}

static void test_load(void **state)
{
	(void)state;
	char path[] = "/tmp/portside-policy-XXXXXX";
	struct oci_policy *p = NULL;
	struct oci_err e;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "{\"maxPorts\":7}\n", 15), 15);
	close(fd);
	oci_err_init(&e);
	assert_int_equal(oci_policy_load(path, false, &p, &e), 0);
	assert_int_equal(p->max_ports, 7);
	oci_policy_free(p);
	unlink(path);

	/* Missing: the defaults when allowed, an error naming the file when not. */
	assert_int_equal(oci_policy_load(path, true, &p, &e), 0);
	assert_int_equal(p->max_ports, 256);
	oci_policy_free(p);
	assert_int_equal(oci_policy_load(path, false, &p, &e), -ENOENT);
	assert_err(&e, "cannot open /tmp/portside-policy-");

	/* Problems inside the file are prefixed with its path. */
	fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "{\"maxPorts\":0}", 14), 14);
	close(fd);
	oci_err_init(&e);
	assert_int_equal(oci_policy_load(path, true, &p, &e), -EINVAL);
	assert_non_null(strstr(e.msg[0], path));
	assert_err(&e, "maxPorts must be within");
	unlink(path);

	/* A directory is not a policy file. */
	oci_err_init(&e);
	assert_true(oci_policy_load("/tmp", true, &p, &e) < 0);
	assert_err(&e, "not a regular file");
}

static void test_autoforward_names(void **state)
{
	(void)state;
	enum oci_autoforward a;

	assert_int_equal(oci_autoforward_parse("all", &a), 0);
	assert_int_equal(a, OCI_AUTOFORWARD_ALL);
	assert_string_equal(oci_autoforward_name(a), "all");
	assert_int_equal(oci_autoforward_parse("Public", &a), -EINVAL);
	assert_true(oci_port_reserved(22));
	assert_true(oci_port_reserved(8283));
	assert_false(oci_port_reserved(80));
}

static void test_visibility_names(void **state)
{
	(void)state;
	enum oci_visibility v = OCI_VISIBILITY_PUBLIC;

	assert_int_equal(oci_visibility_parse("private", &v), 0);
	assert_int_equal(v, OCI_VISIBILITY_PRIVATE);
	assert_string_equal(oci_visibility_name(v), "private");
	assert_int_equal(oci_visibility_parse("public", &v), 0);
	assert_string_equal(oci_visibility_name(v), "public");
	assert_int_equal(oci_visibility_parse("", &v), -EINVAL);
	assert_int_equal(oci_visibility_parse("privatex", &v), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_all_fields),
		cmocka_unit_test(test_udp_flows),
		cmocka_unit_test(test_span_with_reserved_is_allowed_but_never_hands_out_it),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_every_field_error_reported),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_autoforward_names),
		cmocka_unit_test(test_visibility_names),
	};

	return cmocka_run_group_tests_name("policy", tests, NULL, NULL);
}
