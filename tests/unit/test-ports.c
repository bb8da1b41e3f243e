/* SPDX-License-Identifier: MIT */
/* io.portside.ports: both spellings, normalisation and every refusal. */
#include "unit.h"

#include <arpa/inet.h>
#include <stdlib.h>

#include "../../oci/ports.h"

static struct oci_policy *pol;

static int setup(void **state)
{
	(void)state;
	pol = oci_policy_new();
	return pol ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	oci_policy_free(pol);
	return 0;
}

static struct oci_ports *ok(const char *v)
{
	struct oci_ports *p = NULL;
	struct oci_err e;

	oci_err_init(&e);
	if (oci_ports_parse(v, strlen(v), pol, &p, &e) < 0) {
		fprintf(stderr, "refused \"%s\":\n", v);
		oci_err_print(&e, stderr, "  ");
		fail();
	}
	assert_int_equal(e.count, 0);
	return p;
}

/* Parses V, expects a refusal whose message contains NEEDLE. */
static void bad_at(const char *v, const char *needle, const char *file, int line)
{
	struct oci_ports *p = NULL;
	struct oci_err e;

	oci_err_init(&e);
	if (oci_ports_parse(v, strlen(v), pol, &p, &e) == 0) {
		fprintf(stderr, "%s:%d: \"%s\" was accepted\n", file, line, v);
		oci_ports_free(p);
		fail();
	}
	assert_null(p);
	assert_true(e.count > 0);
	unit_assert_err(&e, needle, file, line);
	/* Every message names the annotation: a user sees where it came from. */
	for (unsigned i = 0; i < oci_err_lines(&e); i++)
		assert_non_null(strstr(e.msg[i], "io.portside.ports"));
}
#define bad(v, needle) bad_at((v), (needle), __FILE__, __LINE__)

static void assert_map(const struct oci_mapping *m, unsigned ext, unsigned loc, unsigned proto, bool expose)
{
	assert_int_equal(m->external_port, ext);
	assert_int_equal(m->local_port, loc);
	assert_int_equal(m->proto, proto);
	assert_int_equal(m->expose, expose);
}

static void test_compact_simple(void **state)
{
	(void)state;
	struct oci_ports *p = ok("80:3000");

	assert_int_equal(p->n, 1);
	assert_map(&p->v[0], 80, 3000, OCI_PROTO_TCP, true);
	assert_int_equal(p->v[0].host_ip.family, 0);
	assert_false(p->v[0].expose_localhost);
	assert_int_equal(p->v[0].entry, 1);
	oci_ports_free(p);
}

static void test_compact_list(void **state)
{
	(void)state;
	struct oci_ports *p = ok("80:3000, 127.0.0.1:5173:5173, 5353:53/udp");
	char buf[OCI_IP_LEN];

	assert_int_equal(p->n, 3);
	assert_map(&p->v[0], 80, 3000, OCI_PROTO_TCP, true);
	assert_map(&p->v[1], 5173, 5173, OCI_PROTO_TCP, true);
	oci_ip_format(&p->v[1].host_ip, buf);
	assert_string_equal(buf, "127.0.0.1");
	assert_map(&p->v[2], 5353, 53, OCI_PROTO_UDP, true);
	assert_int_equal(p->v[2].entry, 3);
	oci_ports_free(p);
}

static void test_compact_separators(void **state)
{
	(void)state;
	struct oci_ports *p = ok("  80:3000 8080:8080,9000:9000\t,\n9001:9001  ");

	assert_int_equal(p->n, 4);
	assert_map(&p->v[3], 9001, 9001, OCI_PROTO_TCP, true);
	oci_ports_free(p);
	bad("80:3000,,81:3001", "empty entry");
	bad(",80:3000", "empty entry");
	bad("80:3000,", "empty entry");
}

static void test_compact_proto_case(void **state)
{
	(void)state;
	struct oci_ports *p = ok("53:53/UDP 80:80/Tcp");

	assert_int_equal(p->v[0].proto, OCI_PROTO_UDP);
	assert_int_equal(p->v[1].proto, OCI_PROTO_TCP);
	oci_ports_free(p);
	bad("80:3000/sctp", "unknown protocol 'sctp'");
	bad("80:3000/", "unknown protocol");
	bad("80:3000/tcp/udp", "unknown protocol");
}

static void test_compact_ipv6(void **state)
{
	(void)state;
	struct oci_ports *p = ok("[::1]:8080:80 [2001:db8::1]:443:8443/tcp");
	char buf[OCI_IP_LEN];

	assert_int_equal(p->n, 2);
	assert_int_equal(p->v[0].host_ip.family, AF_INET6);
	oci_ip_format(&p->v[0].host_ip, buf);
	assert_string_equal(buf, "::1");
	assert_map(&p->v[0], 8080, 80, OCI_PROTO_TCP, true);
	oci_ports_free(p);
	bad("::1:8080:80", "in brackets");
	bad("[::1]:80", "EXTERNAL:LOCAL");
	bad("[::1:8080:80", "expected [IPv6]");
	bad("[127.0.0.1]:80:80", "not an IPv6 address");
	bad("[fe80::1%eth0]:80:80", "not an IPv6 address");
}

static void test_compact_bare_local(void **state)
{
	(void)state;
	struct oci_ports *p = ok("80:3000 9229 53/udp");

	assert_int_equal(p->n, 3);
	assert_map(&p->v[1], 0, 9229, OCI_PROTO_TCP, false);
	assert_map(&p->v[2], 0, 53, OCI_PROTO_UDP, false);
	oci_ports_free(p);
}

static void test_compact_ranges(void **state)
{
	(void)state;
	struct oci_ports *p = ok("8000-8003:3000-3003");

	assert_int_equal(p->n, 4);
	for (unsigned i = 0; i < 4; i++) {
		assert_map(&p->v[i], 8000 + i, 3000 + i, OCI_PROTO_TCP, true);
		assert_int_equal(p->v[i].entry, 1);
	}
	oci_ports_free(p);
	p = ok("9000-9002");
	assert_int_equal(p->n, 3);
	assert_map(&p->v[2], 0, 9002, OCI_PROTO_TCP, false);
	oci_ports_free(p);
	bad("8000-8002:3000-3001", "ranges of unequal length: 3 external ports for 2 local ports");
	bad("8000-8002:3000", "ranges of unequal length");
	bad("8000:3000-3001", "ranges of unequal length");
	bad("8003-8000:3003-3000", "reversed");
	bad("8000-:3000", "not a port number");
	bad("-8000:3000", "not a port number");
	bad("1-2-3:4", "not a port number");
}

static void test_reserved(void **state)
{
	(void)state;
	bad("22:3000", "port 22 (ssh) is reserved");
	bad("80:22", "port 22 (ssh) is reserved");
	bad("80:8283", "port 8283 is reserved");
	bad("8283:80", "port 8283 is reserved");
	bad("22", "port 22 (ssh) is reserved");
	bad("22/udp", "port 22 (ssh) is reserved");
	bad("127.0.0.1:22:3000", "reserved");
	bad("[::1]:8283:3000", "reserved");
	bad("20-30:1020-1030", "range includes reserved port: port 22");
	bad("1020-1030:20-30", "range includes reserved port: port 22");
	bad("8280-8290:9280-9290", "port 8283");
	bad("[{\"localPort\":22,\"externalPort\":80}]", "port 22 (ssh) is reserved");
	bad("[{\"containerPort\":3000,\"hostPort\":8283}]", "port 8283 is reserved");
	bad("[{\"localPort\":8283}]", "port 8283 is reserved");
}

static void test_out_of_range(void **state)
{
	(void)state;
	bad("70000:80", "external port 70000 is out of range 1-65535");
	bad("80:70000", "local port 70000 is out of range");
	bad("0:80", "out of range");
	bad("80:0", "out of range");
	bad("65536:80", "out of range");
	bad("99999999999999999999999:80", "out of range");
	bad("[{\"localPort\":70000}]", "out of range");
	bad("[{\"localPort\":0}]", "out of range");
	bad("[{\"localPort\":-1}]", "out of range");
	bad("[{\"localPort\":99999999999999999999999}]", "localPort");
	struct oci_ports *p = ok("65535:1");

	assert_map(&p->v[0], 65535, 1, OCI_PROTO_TCP, true);
	oci_ports_free(p);
}

static void test_malformed_compact(void **state)
{
	(void)state;
	bad("80:", "not a port number");
	bad(":80", "not a port number");
	bad("http:80", "not a port number");
	bad("80:3000x", "not a port number");
	bad("+80:3000", "not a port number");
	bad("1.2.3:80:3000", "not an IPv4 address");
	bad("localhost:80:3000", "not an IPv4 address");
	bad(":80:3000", "not an IPv4 address");
	bad("80:3000;rm -rf /", "not a port number");
	bad("80:3000\x01", "unexpected byte 0x01");
	bad("80:3000\xc3\xa9", "unexpected byte 0xc3");
	bad("$(reboot)", "not a port number");
}

static void test_trailing_garbage(void **state)
{
	(void)state;
	bad("[{\"localPort\":3000}] x", "trailing characters");
	bad("[{\"localPort\":3000}]]", "trailing characters");
	bad("80:3000 garbage", "not a port number");
}

static void test_json_table(void **state)
{
	(void)state;
	struct oci_ports *p =
		ok("[{\"localPort\":3000,\"externalPort\":80,\"exposeLocalhost\":true},"
		   " {\"localPort\":53,\"externalPort\":5353,\"protocol\":\"udp\",\"hostIP\":\"::1\"},"
		   " {\"containerPort\":8080,\"hostPort\":8081,\"protocol\":\"TCP\",\"proxyProtocol\":true}]");
	char buf[OCI_IP_LEN];

	assert_int_equal(p->n, 3);
	assert_map(&p->v[0], 80, 3000, OCI_PROTO_TCP, true);
	assert_true(p->v[0].expose_localhost);
	assert_map(&p->v[1], 5353, 53, OCI_PROTO_UDP, true);
	oci_ip_format(&p->v[1].host_ip, buf);
	assert_string_equal(buf, "::1");
	assert_map(&p->v[2], 8081, 8080, OCI_PROTO_TCP, true);
	assert_true(p->v[2].proxy_protocol);
	assert_false(p->v[2].expose_localhost);
	oci_ports_free(p);
}

static void test_json_expose(void **state)
{
	(void)state;
	struct oci_ports *p = ok("[{\"localPort\":3000,\"expose\":true}, {\"localPort\":9229}]");

	assert_map(&p->v[0], 0, 3000, OCI_PROTO_TCP, true);
	assert_map(&p->v[1], 0, 9229, OCI_PROTO_TCP, false);
	oci_ports_free(p);
	bad("[{\"localPort\":3000,\"externalPort\":80,\"expose\":false}]", "expose is false but externalPort is set");
	bad("[{\"localPort\":3000,\"hostIP\":\"127.0.0.1\"}]", "hostIP is set but the port is not exposed");
}

static void test_json_empty(void **state)
{
	(void)state;
	struct oci_ports *p = ok("[]");

	assert_int_equal(p->n, 0);
	oci_ports_free(p);
	p = ok(" [ ] ");
	assert_int_equal(p->n, 0);
	oci_ports_free(p);
	p = ok("");
	assert_int_equal(p->n, 0);
	oci_ports_free(p);
}

static void test_json_types(void **state)
{
	(void)state;
	bad("[{\"localPort\":\"3000\"}]", "localPort must be an integer port 1-65535, not a string");
	bad("[{\"localPort\":3000.0}]", "not a number with a fraction");
	bad("[{\"localPort\":1e3}]", "localPort must be an integer");
	bad("[{\"localPort\":3000,\"externalPort\":true}]", "externalPort must be an integer");
	bad("[{\"localPort\":3000,\"exposeLocalhost\":\"yes\"}]",
	    "exposeLocalhost must be true or false, not a string");
	bad("[{\"localPort\":3000,\"expose\":1}]", "expose must be true or false");
	bad("[{\"localPort\":3000,\"protocol\":\"sctp\"}]", "protocol must be \"tcp\" or \"udp\"");
	bad("[{\"localPort\":3000,\"protocol\":17}]", "protocol must be");
	bad("[{\"localPort\":3000,\"externalPort\":80,\"hostIP\":\"localhost\"}]",
	    "hostIP must be an IPv4 or IPv6 address");
	bad("[{\"localPort\":3000,\"externalPort\":80,\"hostIP\":7}]", "hostIP must be");
	bad("[3000]", "entry 1 must be an object, not an integer");
	bad("[{\"localPort\":3000}, null]", "entry 2 must be an object, not null");
	bad("[{}]", "localPort is missing");
	bad("[{\"externalPort\":80}]", "localPort is missing");
}

static void test_json_unknown_fields(void **state)
{
	(void)state;
	bad("[{\"localPort\":3000,\"externalport\":80}]", "unknown field 'externalport'");
	bad("[{\"localPort\":3000,\"onOpen\":\"notify\"}]", "unknown field 'onOpen'");
}

static void test_json_aliases(void **state)
{
	(void)state;
	bad("[{\"localPort\":3000,\"containerPort\":3000}]", "both localPort and its alias containerPort");
	bad("[{\"localPort\":3000,\"externalPort\":80,\"hostPort\":80}]", "both externalPort and its alias hostPort");
}

static void test_json_malformed(void **state)
{
	(void)state;
	bad("[{\"localPort\":3000", "JSON ends early");
	bad("[{\"localPort\":3000,}]", "invalid JSON");
	bad("[{'localPort':3000}]", "invalid JSON");
	bad("[{\"localPort\":3000}] [{\"localPort\":3001}]", "trailing characters");
	bad("[{\"localPort\":3000,\"hostIP\":\"\xff\"}]", "not valid UTF-8");
}

static void test_duplicates(void **state)
{
	(void)state;
	bad("80:3000 80:3001", "entries 1 and 2: external port 80/tcp is mapped twice");
	bad("127.0.0.1:80:3000 80:3001", "mapped twice");
	bad("127.0.0.1:80:3000 0.0.0.0:80:3001", "mapped twice");
	bad("[::1]:80:3000 [::]:80:3001", "mapped twice");
	bad("8000-8005:3000-3005 8005:4000", "entries 1 and 2: external port 8005/tcp is mapped twice");
	bad("3000 80:3000", "local port 3000/tcp is both unexposed and exposed");
	bad("3000 3000", "local port 3000/tcp is listed twice");
	bad("[{\"localPort\":3000,\"expose\":true},{\"localPort\":3000,\"expose\":true}]", "listed twice");

	/* Different protocols, or addresses that do not overlap, are distinct. */
	struct oci_ports *p = ok("80:3000 80:3000/udp 127.0.0.1:81:3001 127.0.0.2:81:3001 [::1]:81:3002");

	assert_int_equal(p->n, 5);
	oci_ports_free(p);
	/* One local port on two external ports is fine. */
	p = ok("80:3000 8080:3000");
	assert_int_equal(p->n, 2);
	oci_ports_free(p);
}

static void test_every_problem_reported(void **state)
{
	(void)state;
	struct oci_ports *p = NULL;
	struct oci_err e;
	const char *v = "22:3000 70000:80 80:abc";

	oci_err_init(&e);
	assert_true(oci_ports_parse(v, strlen(v), pol, &p, &e) < 0);
	assert_int_equal(e.count, 3);
	assert_err(&e, "entry 1 '22:3000'");
	assert_err(&e, "entry 2 '70000:80'");
	assert_err(&e, "entry 3 '80:abc'");
}

static void test_limits(void **state)
{
	(void)state;
	char *big = malloc(OCI_PORTS_MAX_LEN + 2);
	struct oci_ports *p = NULL;
	struct oci_err e;

	memset(big, ' ', OCI_PORTS_MAX_LEN + 1);
	big[OCI_PORTS_MAX_LEN + 1] = '\0';
	oci_err_init(&e);
	assert_int_equal(oci_ports_parse(big, strlen(big), pol, &p, &e), -E2BIG);
	assert_err(&e, "longer than 16384 bytes");
	free(big);

	/* More ports than the policy's maxPorts: refused before expanding. */
	bad("10000-60000:10000-60000", "more than 256 ports (the policy's maxPorts)");
	pol->max_ports = 3;
	bad("80:3000 81:3001 82:3002 83:3003", "more than 3 ports");
	p = ok("80:3000 81:3001 82:3002");
	oci_ports_free(p);
	pol->max_ports = 256;

	char entry[OCI_ENTRY_MAX_LEN + 20];
	memset(entry, '1', sizeof(entry) - 1);
	entry[sizeof(entry) - 1] = '\0';
	bad(entry, "longer than 128 bytes");
}

static void test_policy_external_ports(void **state)
{
	(void)state;
	struct oci_policy *saved = pol;
	struct oci_err e;
	const char *doc = "{\"externalPorts\":[80,3000,\"8000-8010\"]}";

	oci_err_init(&e);
	assert_int_equal(oci_policy_parse(doc, strlen(doc), &pol, &e), 0);
	struct oci_ports *p = ok("80:3000 3000:3001 8005:8005");
	oci_ports_free(p);
	bad("8080:3000", "entry 1: external port 8080 is not allowed by the host policy (externalPorts)");
	bad("[{\"localPort\":3000,\"externalPort\":443}]", "443 is not allowed");
	/* Exposed without an external port: handed out later, from autoforwardPorts. */
	p = ok("[{\"localPort\":3000,\"expose\":true}]");
	oci_ports_free(p);
	oci_policy_free(pol);
	pol = saved;
}

/* Load DOC as the policy for the rest of a test (restored by the caller). */
static void use_policy(const char *doc)
{
	struct oci_err e;

	oci_err_init(&e);
	assert_int_equal(oci_policy_parse(doc, strlen(doc), &pol, &e), 0);
}

/* An annotation can narrow where a port binds, never widen it. */
static void test_policy_host_ip(void **state)
{
	(void)state;
	struct oci_policy *saved = pol;
	struct oci_ports *p;

	/* The default binds every address: any address narrows it. */
	p = ok("127.0.0.1:8080:3000 [::1]:8081:3000 0.0.0.0:8082:3000");
	oci_ports_free(p);
	bad("[::ffff:127.0.0.1]:8080:3000", "write an IPv4-mapped address as IPv4");

	use_policy("{\"hostIP\":\"127.0.0.1\"}");
	bad("0.0.0.0:8080:3000", "entry 1: host address 0.0.0.0 is not allowed by the host policy (hostIP)");
	bad("[{\"localPort\":3000,\"externalPort\":8080,\"hostIP\":\"::\"}]", "host address :: is not allowed");
	bad("127.0.0.2:8080:3000", "127.0.0.2 is not allowed");
	p = ok("127.0.0.1:8080:3000 8081:3000");
	oci_ports_free(p);
	oci_policy_free(pol);

	/* 0.0.0.0 in the policy allows every IPv4 address, and no IPv6 one. */
	use_policy("{\"hostIP\":[\"0.0.0.0\",\"::1\"]}");
	p = ok("127.0.0.7:8080:3000 [::1]:8081:3000");
	oci_ports_free(p);
	bad("[::]:8080:3000", "host address :: is not allowed");
	oci_policy_free(pol);

	/* A pool: only addresses in it (the hook then wants the container's own). */
	use_policy("{\"addressPool\":\"127.77.0.0/16\"}");
	p = ok("127.77.0.1:8080:3000");
	oci_ports_free(p);
	bad("0.0.0.0:8080:3000", "addressPool gives each container its own address: leave hostIP out");
	bad("127.0.0.9:8080:3000", "not allowed by the host policy");
	oci_policy_free(pol);
	pol = saved;
}

static void test_json_label(void **state)
{
	(void)state;
	struct oci_ports *p = ok("[{\"localPort\":3000,\"externalPort\":8080,\"label\":\"web: app/v2_x.y-z\"},"
				 " {\"localPort\":3001,\"externalPort\":8081},"
				 " {\"localPort\":3002,\"label\":\"abcdefghijklmnopqrstuvwxyz012345\"}]");

	assert_string_equal(p->v[0].label, "web: app/v2_x.y-z");
	assert_string_equal(p->v[1].label, "");
	assert_string_equal(p->v[2].label, "abcdefghijklmnopqrstuvwxyz012345"); /* 32 bytes: the bound */
	oci_ports_free(p);
	bad("[{\"localPort\":3000,\"label\":\"abcdefghijklmnopqrstuvwxyz0123456\"}]",
	    "entry 1: label must be 1-32 characters");
	bad("[{\"localPort\":3000,\"label\":\"\"}]", "entry 1: label must be 1-32 characters");
	bad("[{\"localPort\":3000}, {\"localPort\":3001,\"label\":\"a\\nb\"}]", "entry 2: label must be");
	bad("[{\"localPort\":3000,\"label\":\"a\\u0000b\"}]", "label must be");
	bad("[{\"localPort\":3000,\"label\":\"\\u001b[31mred\"}]", "label must be");
	bad("[{\"localPort\":3000,\"label\":\"caf\xc3\xa9\"}]", "label must be");
	bad("[{\"localPort\":3000,\"label\":\"a\\\"b\"}]", "label must be");
	bad("[{\"localPort\":3000,\"label\":\"$(id)\"}]", "label must be");
	bad("[{\"localPort\":3000,\"label\":7}]", "entry 1: label must be a string, not an integer");
	bad("[{\"localPort\":3000,\"label\":null}]", "label must be a string, not null");
	assert_true(oci_label_valid("web", 3));
	assert_false(oci_label_valid("web", 0));
	assert_false(oci_label_valid("a\0b", 3));
	assert_false(oci_label_valid("a\tb", 3));
	/* The compact spelling has no label. */
	bad("8080:3000/web", "unknown protocol 'web'");
}

static void test_json_visibility(void **state)
{
	(void)state;
	struct oci_ports *p =
		ok("[{\"localPort\":3000,\"externalPort\":8080,\"visibility\":\"private\"},"
		   " {\"localPort\":3001,\"externalPort\":8081,\"visibility\":\"public\"},"
		   " {\"localPort\":3002,\"externalPort\":8082},"
		   " {\"localPort\":3003,\"externalPort\":8083,\"hostIP\":\"127.0.0.2\"},"
		   " {\"localPort\":3004,\"externalPort\":8084,\"hostIP\":\"::1\",\"visibility\":\"private\"},"
		   " {\"localPort\":3005,\"externalPort\":8085,\"hostIP\":\"0.0.0.0\",\"visibility\":\"public\"}]");

	assert_int_equal(p->v[0].visibility, OCI_VISIBILITY_PRIVATE);
	assert_int_equal(p->v[1].visibility, OCI_VISIBILITY_PUBLIC);
	assert_int_equal(p->v[2].visibility, OCI_VISIBILITY_PUBLIC);  /* the policy's default */
	assert_int_equal(p->v[3].visibility, OCI_VISIBILITY_PRIVATE); /* a loopback hostIP is private */
	assert_int_equal(p->v[4].visibility, OCI_VISIBILITY_PRIVATE);
	assert_int_equal(p->v[5].visibility, OCI_VISIBILITY_PUBLIC);
	oci_ports_free(p);
	bad("[{\"localPort\":3000,\"externalPort\":8080,\"visibility\":\"Private\"}]",
	    "entry 1: visibility must be \"public\" or \"private\"");
	bad("[{\"localPort\":3000,\"visibility\":true}]", "visibility must be");
	bad("[{\"localPort\":3000,\"externalPort\":8080,\"hostIP\":\"192.0.2.1\",\"visibility\":\"private\"}]",
	    "entry 1: visibility is private but hostIP 192.0.2.1 is not loopback (public)");
	bad("[{\"localPort\":3000,\"externalPort\":8080,\"hostIP\":\"0.0.0.0\",\"visibility\":\"private\"}]",
	    "visibility is private but hostIP 0.0.0.0");
	bad("[{\"localPort\":3000,\"externalPort\":8080,\"hostIP\":\"127.0.0.1\",\"visibility\":\"public\"}]",
	    "visibility is public but hostIP 127.0.0.1 is loopback (private)");
	/* A private and a public mapping still cannot share an external port. */
	bad("[{\"localPort\":3000,\"externalPort\":8080,\"visibility\":\"private\"},"
	    " {\"localPort\":3001,\"externalPort\":8080}]",
	    "external port 8080/tcp is mapped twice");
}

static void test_policy_visibility(void **state)
{
	(void)state;
	struct oci_policy *saved = pol;
	struct oci_ports *p;

	use_policy("{\"visibility\":\"private\"}");
	/* Compact entries take the policy's default; a hostIP still settles it. */
	p = ok("8080:3000 0.0.0.0:8081:3001 [::1]:8082:3002 9229");
	assert_int_equal(p->v[0].visibility, OCI_VISIBILITY_PRIVATE);
	assert_int_equal(p->v[1].visibility, OCI_VISIBILITY_PUBLIC);
	assert_int_equal(p->v[2].visibility, OCI_VISIBILITY_PRIVATE);
	oci_ports_free(p);
	/* JSON entries that say nothing too; one that says public is public. */
	p = ok("[{\"localPort\":3000,\"externalPort\":8080},"
	       " {\"localPort\":3001,\"externalPort\":8081,\"visibility\":\"public\"}]");
	assert_int_equal(p->v[0].visibility, OCI_VISIBILITY_PRIVATE);
	assert_int_equal(p->v[1].visibility, OCI_VISIBILITY_PUBLIC);
	oci_ports_free(p);
	oci_policy_free(pol);
	pol = saved;

	/* The default policy: compact is public. */
	p = ok("8080:3000");
	assert_int_equal(p->v[0].visibility, OCI_VISIBILITY_PUBLIC);
	oci_ports_free(p);
}

/* portside's own files and replies spell a protocol one way, and read only that. */
static void test_proto_name_parse(void **state)
{
	(void)state;
	uint8_t p = 7;

	for (unsigned proto = OCI_PROTO_TCP; proto <= OCI_PROTO_UDP; proto++) {
		assert_int_equal(oci_proto_parse(oci_proto_name(proto), &p), 0);
		assert_int_equal(p, proto);
	}
	assert_int_equal(oci_proto_parse("TCP", &p), -EINVAL);
	assert_int_equal(oci_proto_parse("sctp", &p), -EINVAL);
	assert_int_equal(oci_proto_parse("", &p), -EINVAL);
	assert_int_equal(oci_proto_parse("udp ", &p), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_compact_simple),
		cmocka_unit_test(test_compact_list),
		cmocka_unit_test(test_compact_separators),
		cmocka_unit_test(test_compact_proto_case),
		cmocka_unit_test(test_compact_ipv6),
		cmocka_unit_test(test_compact_bare_local),
		cmocka_unit_test(test_compact_ranges),
		cmocka_unit_test(test_reserved),
		cmocka_unit_test(test_out_of_range),
		cmocka_unit_test(test_malformed_compact),
		cmocka_unit_test(test_trailing_garbage),
		cmocka_unit_test(test_json_table),
		cmocka_unit_test(test_json_expose),
		cmocka_unit_test(test_json_empty),
		cmocka_unit_test(test_json_types),
		cmocka_unit_test(test_json_unknown_fields),
		cmocka_unit_test(test_json_aliases),
		cmocka_unit_test(test_json_malformed),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_every_problem_reported),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_policy_external_ports),
		cmocka_unit_test(test_policy_host_ip),
		cmocka_unit_test(test_json_label),
		cmocka_unit_test(test_json_visibility),
		cmocka_unit_test(test_policy_visibility),
		cmocka_unit_test(test_proto_name_parse),
	};

	return cmocka_run_group_tests_name("ports", tests, setup, teardown);
}
