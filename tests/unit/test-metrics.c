/* SPDX-License-Identifier: MIT */
/* portsidectl metrics' exposition (ctl/promfmt.c): every family with its
 * HELP and TYPE once and its samples together, label values escaped and
 * valid UTF-8 whatever a name or label holds, a dead sidecar's mappings
 * still there at 0, a repeated mapping shown once. */
#include "unit.h"

#include <stdlib.h>

#include "../../ctl/metrics.h"
#include "../../oci/ports.h"

static char *format(const struct ctl_metrics_ct *ct, size_t n)
{
	uint64_t refusals[CTL_METRICS_REASONS] = {0};
	char *doc = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&doc, &len);

	assert_non_null(f);
	refusals[PS_REASON_IN_USE] = 3;
	assert_int_equal(ctl_metrics_format(f, ct, n, refusals, "1.2.3"), 0);
	fclose(f);
	assert_int_equal(strlen(doc), len);
	return doc;
}

static struct ps_fwd_status fwd(const char *ip, unsigned ext, unsigned local, unsigned proto)
{
	struct ps_fwd_status s = {0};

	assert_int_equal(oci_ip_parse(ip, &s.map.host_ip), 0);
	s.map.external_port = (uint16_t)ext;
	s.map.local_port = (uint16_t)local;
	s.map.proto = (uint8_t)proto;
	return s;
}

static size_t count(const char *doc, const char *needle)
{
	size_t n = 0;

	for (const char *p = doc; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static void test_families_and_labels(void **state)
{
	(void)state;
	struct ps_fwd_status v[3] = {fwd("127.0.0.1", 8080, 80, OCI_PROTO_TCP), fwd("::1", 5353, 53, OCI_PROTO_UDP),
				     fwd("0.0.0.0", 9000, 9000, OCI_PROTO_TCP)};
	struct ps_status st = {.n = 3, .v = v};
	struct ctl_metrics_ct ct = {.id = "abc", .name = "team-a/web-7f9/server", .up = true, .st = &st, .restores = 2};
	char *doc;

	snprintf(v[0].map.label, sizeof(v[0].map.label), "web");
	v[0].conns_total = 10, v[0].conns_live = 1, v[0].bytes_in = 700, v[0].bytes_out = 9000;
	v[0].refused[PS_REFUSED_NOT_LISTENING] = 4;
	v[1].conns_live = 6;
	v[2].map.automatic = true;
	doc = format(&ct, 1);
	assert_non_null(strstr(doc, "portside_build_info{version=\"1.2.3\"} 1\n"));
	assert_non_null(strstr(doc, "portside_start_refusals_total{reason=\"port-in-use\"} 3\n"));
	const char *ctl = "container_id=\"abc\",name=\"team-a/web-7f9/server\",namespace=\"team-a\",pod=\"web-7f9\","
			  "container=\"server\"";
	char want[1024];

	snprintf(want, sizeof(want), "portside_sidecar_up{%s} 1\n", ctl);
	assert_non_null(strstr(doc, want));
	snprintf(want, sizeof(want), "portside_restores_total{%s} 2\n", ctl);
	assert_non_null(strstr(doc, want));
	snprintf(want, sizeof(want), "portside_udp_flows{%s} 6\n", ctl);
	assert_non_null(strstr(doc, want));
	snprintf(want, sizeof(want), "portside_automatic_forwards{%s} 1\n", ctl);
	assert_non_null(strstr(doc, want));
	snprintf(want, sizeof(want),
		 "portside_forwarded_bytes_total{%s,external_address=\"127.0.0.1\",external_port=\"8080\","
		 "local_port=\"80\",protocol=\"tcp\",label=\"web\",direction=\"out\"} 9000\n",
		 ctl);
	assert_non_null(strstr(doc, want));
	snprintf(want, sizeof(want),
		 "portside_connections_refused_total{%s,external_address=\"127.0.0.1\",external_port=\"8080\","
		 "local_port=\"80\",protocol=\"tcp\",label=\"web\",reason=\"not_listening\"} 4\n",
		 ctl);
	assert_non_null(strstr(doc, want));
	assert_non_null(
		strstr(doc, "external_address=\"::1\",external_port=\"5353\",local_port=\"53\",protocol=\"udp\"}"));
	/* no label label where the mapping has none */
	assert_int_equal(count(doc, "label=\""), 1 + 1 + 2 + 5);
	/* each family's HELP and TYPE once; 3 mappings x 5 reasons */
	assert_int_equal(count(doc, "# TYPE "), 10);
	assert_int_equal(count(doc, "# HELP "), 10);
	assert_int_equal(count(doc, "\nportside_connections_refused_total{"), 15);
	assert_int_equal(count(doc, "\nportside_forwarded_bytes_total{"), 6);
	assert_null(strstr(doc, "portside_forwarded_bytes_total{ct"));
	/* samples of one family together: no other family between its first and last */
	const char *first = strstr(doc, "\nportside_connections_active{"), *last = first;

	for (const char *p = first; (p = strstr(p + 1, "\nportside_connections_active{"));)
		last = p;
	for (const char *p = first; p < last; p = strchr(p + 1, '\n'))
		assert_true(!strncmp(p, "\nportside_connections_active{", 29));
	free(doc);
}

/* A dead sidecar: up 0, and its recorded mappings' series all there. */
static void test_dead_sidecar_keeps_series(void **state)
{
	(void)state;
	struct ps_fwd_status v[1] = {fwd("0.0.0.0", 8080, 80, OCI_PROTO_TCP)};
	struct ps_status st = {.n = 1, .v = v};
	struct ctl_metrics_ct ct = {.id = "dead1", .name = "", .up = false, .st = &st};
	char *doc = format(&ct, 1);

	assert_non_null(strstr(doc, "portside_sidecar_up{container_id=\"dead1\"} 0\n"));
	assert_non_null(strstr(doc, "portside_connections_accepted_total{container_id=\"dead1\",external_address="
				    "\"0.0.0.0\",external_port=\"8080\",local_port=\"80\",protocol=\"tcp\"} 0\n"));
	assert_int_equal(count(doc, "container_id=\"dead1\""), 4 + 1 + 1 + 2 + 5);
	free(doc);
}

/* Whatever a label holds, the exposition stays one valid document. */
static void test_escape(void **state)
{
	(void)state;
	char out[64];

	ctl_metrics_escape("a\"b\\c\nd", out, sizeof(out));
	assert_string_equal(out, "a\\\"b\\\\c\\nd");
	ctl_metrics_escape("tab\there\x7f", out, sizeof(out));
	assert_string_equal(out, "tab?here?");
	ctl_metrics_escape("caf\xc3\xa9 \xe2\x82\xac", out, sizeof(out));
	assert_string_equal(out, "caf\xc3\xa9 \xe2\x82\xac");
	/* a lone continuation byte, a cut sequence, an overlong '/', a surrogate */
	ctl_metrics_escape("\x80x\xc3y\xc0\xafz\xed\xa0\x80", out, sizeof(out));
	assert_string_equal(out, "?x?y??z???");
	/* cut at a whole character, never inside an escape */
	ctl_metrics_escape("\"\"\"\"", out, 6);
	assert_string_equal(out, "\\\"\\\"");
	ctl_metrics_escape("ab\xe2\x82\xac", out, 5);
	assert_string_equal(out, "ab");

	struct ps_fwd_status v[1] = {fwd("127.0.0.1", 1, 1, OCI_PROTO_TCP)};
	struct ps_status st = {.n = 1, .v = v};
	struct ctl_metrics_ct ct = {.id = "x", .name = "", .up = true, .st = &st};

	snprintf(v[0].map.label, sizeof(v[0].map.label), "a\"}\n evil 1");
	char *doc = format(&ct, 1);

	assert_non_null(strstr(doc, "label=\"a\\\"}\\n evil 1\"}"));
	assert_null(strstr(doc, "\n evil"));
	free(doc);
}

/* A listener repeated in a reply is one series, not two samples of it. */
static void test_repeat_shown_once(void **state)
{
	(void)state;
	struct ps_fwd_status v[3] = {fwd("127.0.0.1", 8080, 80, OCI_PROTO_TCP),
				     fwd("127.0.0.1", 8080, 81, OCI_PROTO_TCP),
				     fwd("127.0.0.1", 8080, 80, OCI_PROTO_UDP)};
	struct ps_status st = {.n = 3, .v = v};
	struct ctl_metrics_ct ct = {.id = "r", .name = "", .up = true, .st = &st};
	char *doc = format(&ct, 1);

	assert_int_equal(count(doc, "\nportside_connections_active{"), 2);
	assert_non_null(strstr(doc, "local_port=\"80\",protocol=\"tcp\""));
	assert_null(strstr(doc, "local_port=\"81\""));
	free(doc);
}

static void test_nothing(void **state)
{
	(void)state;
	char *doc = format(NULL, 0);

	assert_int_equal(count(doc, "# TYPE "), 10);
	assert_int_equal(count(doc, "portside_sidecar_up{"), 0);
	free(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_families_and_labels),
		cmocka_unit_test(test_dead_sidecar_keeps_series),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_repeat_shown_once),
		cmocka_unit_test(test_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
