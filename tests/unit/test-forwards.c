/* SPDX-License-Identifier: MIT */
/* The forwarding record (lib/forwards.c): what the hook writes, the sidecar
 * and portsidectl read back, label and visibility included. */
#include "unit.h"

#include <arpa/inet.h>
#include <json-c/json.h>
#include <stdlib.h>

#include "../../base/cleanup.h"
#include "../../lib/forwards.h"
#include "../../oci/input.h"

static struct ps_forwards *sample(void)
{
	struct ps_forwards *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->id, sizeof(f->id), "ct1");
	snprintf(f->netns, sizeof(f->netns), "4:4026532000");
	snprintf(f->sidecar, sizeof(f->sidecar), "/usr/libexec/portside/portside-sidecar");
	snprintf(f->kube_name, sizeof(f->kube_name), "team-a/web-7f9/server");
	f->pid = 42;
	f->ident.pid_start = 123456789012ULL;
	f->ident.netns_cookie = 0x8000000000000001ULL; /* past INT64_MAX: all 64 bits kept */
	f->max_connections = 10;
	f->udp_idle_timeout = 60;
	f->max_udp_flows = 7;
	f->udp_per_source = 3;
	f->visibility = OCI_VISIBILITY_PRIVATE;
	f->v = calloc(2, sizeof(*f->v));
	assert_non_null(f->v);
	f->n = 2;
	f->v[0] = (struct ps_forward){.local_port = 3000, .external_port = 8080, .visibility = OCI_VISIBILITY_PRIVATE};
	snprintf(f->v[0].label, sizeof(f->v[0].label), "web ui");
	assert_int_equal(oci_ip_parse("127.0.0.1", &f->v[0].host_ip), 0);
	f->v[1] = (struct ps_forward){.local_port = 3001, .external_port = 8081};
	assert_int_equal(oci_ip_parse("0.0.0.0", &f->v[1].host_ip), 0);
	return f;
}

static struct ps_forwards *decode(const char *doc, int want)
{
	struct ps_forwards *g = NULL;
	struct oci_err e;

	oci_err_init(&e);
	assert_int_equal(ps_forwards_decode(doc, strlen(doc), &g, &e), want);
	return g;
}

static void test_round_trip(void **state)
{
	(void)state;
	struct ps_forwards *f = sample(), *g;
	cleanup_free char *doc = NULL;

	assert_int_equal(ps_forwards_encode(f, &doc), 0);
	g = decode(doc, 0);
	assert_int_equal(g->visibility, OCI_VISIBILITY_PRIVATE);
	/* The sidecar it was started with: what a restore starts again. */
	assert_string_equal(g->sidecar, "/usr/libexec/portside/portside-sidecar");
	/* The Kubernetes name portsidectl finds it by. */
	assert_string_equal(g->kube_name, "team-a/web-7f9/server");
	/* The UDP flow table's budget, for the sidecar. */
	assert_int_equal(g->max_udp_flows, 7);
	assert_int_equal(g->udp_per_source, 3);
	/* What tells the container from a later process and netns with its
	 * pid and inode number. */
	assert_true(g->ident.pid_start == 123456789012ULL);
	assert_true(g->ident.netns_cookie == 0x8000000000000001ULL);
	assert_int_equal(g->n, 2);
	assert_int_equal(g->v[0].visibility, OCI_VISIBILITY_PRIVATE);
	assert_string_equal(g->v[0].label, "web ui");
	assert_int_equal(g->v[1].visibility, OCI_VISIBILITY_PUBLIC);
	assert_string_equal(g->v[1].label, "");
	/* No label: no field, rather than an empty one. */
	assert_non_null(strstr(doc, "\"label\":\"web ui\""));
	assert_null(strstr(doc, "\"label\":\"\""));
	ps_forwards_free(g);
	ps_forwards_free(f);
}

/* Edits the encoded sample with EDIT, then decodes it. */
static struct ps_forwards *edited(void (*edit)(json_object *root, json_object *fw0), int want)
{
	struct ps_forwards *f = sample(), *g;
	cleanup_free char *doc = NULL;
	cleanup_json json_object *root = NULL;
	struct oci_err e;

	oci_err_init(&e);
	assert_int_equal(ps_forwards_encode(f, &doc), 0);
	ps_forwards_free(f);
	assert_int_equal(oci_json_decode(doc, strlen(doc), "t", &root, &e), 0);
	edit(root, json_object_array_get_idx(json_object_object_get(root, "forwards"), 0));
	g = decode(json_object_to_json_string(root), want);
	return g;
}

static void drop_fields(json_object *root, json_object *fw0)
{
	json_object_object_del(root, "visibility");
	json_object_object_del(root, "sidecar");
	json_object_object_del(root, "kubeName");
	json_object_object_del(root, "maxUdpFlows");
	json_object_object_del(root, "udpFlowsPerSource");
	json_object_object_del(root, "pidStartTime");
	json_object_object_del(root, "netnsCookie");
	json_object_object_del(fw0, "visibility");
	json_object_object_del(fw0, "label");
}

static void bad_label(json_object *root, json_object *fw0)
{
	(void)root;
	json_object_object_add(fw0, "label", json_object_new_string("\x1b[2J"));
}

static void long_label(json_object *root, json_object *fw0)
{
	(void)root;
	json_object_object_add(fw0, "label", json_object_new_string("abcdefghijklmnopqrstuvwxyz0123456"));
}

static void bad_visibility(json_object *root, json_object *fw0)
{
	(void)root;
	json_object_object_add(fw0, "visibility", json_object_new_string("secret"));
}

/* A record written before label and visibility existed: public, no label. */
static void test_old_record(void **state)
{
	(void)state;
	struct ps_forwards *g = edited(drop_fields, 0);

	assert_int_equal(g->visibility, OCI_VISIBILITY_PUBLIC);
	assert_int_equal(g->v[0].visibility, OCI_VISIBILITY_PUBLIC);
	assert_string_equal(g->v[0].label, "");
	assert_string_equal(g->sidecar, "");
	assert_string_equal(g->kube_name, "");
	/* No UDP budget of its own: the policy's defaults for its maxConnections (10). */
	assert_int_equal(g->max_udp_flows, oci_policy_udp_flows_default(10));
	assert_int_equal(g->udp_per_source, OCI_UDP_PER_SOURCE_DEFAULT);
	/* Not known: ps_container_open never calls such a container running. */
	assert_true(g->ident.pid_start == 0);
	assert_true(g->ident.netns_cookie == 0);
	ps_forwards_free(g);
}

static void zero_udp_flows(json_object *root, json_object *fw0)
{
	(void)fw0;
	json_object_object_add(root, "maxUdpFlows", json_object_new_int(0));
}

static void string_per_source(json_object *root, json_object *fw0)
{
	(void)fw0;
	json_object_object_add(root, "udpFlowsPerSource", json_object_new_string("64"));
}

/* A record's UDP budget is read as strictly as the rest of it. */
static void test_bad_udp_budget(void **state)
{
	(void)state;
	assert_null(edited(zero_udp_flows, -EINVAL));
	assert_null(edited(string_per_source, -EINVAL));
}

static void relative_sidecar(json_object *root, json_object *fw0)
{
	(void)fw0;
	json_object_object_add(root, "sidecar", json_object_new_string("portside-sidecar"));
}

/* A name portsidectl would match arguments against: only what the hook
 * records (three DNS-1123 names). */
static void kube_name_path(json_object *root, json_object *fw0)
{
	(void)fw0;
	json_object_object_add(root, "kubeName", json_object_new_string("../../etc/passwd"));
}

static void kube_name_two_parts(json_object *root, json_object *fw0)
{
	(void)fw0;
	json_object_object_add(root, "kubeName", json_object_new_string("web-7f9/server"));
}

static void kube_name_upper(json_object *root, json_object *fw0)
{
	(void)fw0;
	json_object_object_add(root, "kubeName", json_object_new_string("team-a/Web/server"));
}

/* The identities: a positive integer each, nothing else. 0 is "not known",
 * which only an absent field says. */
static void start_zero(json_object *root, json_object *fw0)
{
	(void)fw0;
	json_object_object_add(root, "pidStartTime", json_object_new_int(0));
}

static void start_negative(json_object *root, json_object *fw0)
{
	(void)fw0;
	json_object_object_add(root, "pidStartTime", json_object_new_int64(-5));
}

static void start_string(json_object *root, json_object *fw0)
{
	(void)fw0;
	json_object_object_add(root, "pidStartTime", json_object_new_string("123456789012"));
}

static void cookie_double(json_object *root, json_object *fw0)
{
	(void)fw0;
	json_object_object_add(root, "netnsCookie", json_object_new_double(4.5));
}

static void cookie_null(json_object *root, json_object *fw0)
{
	(void)fw0;
	json_object_object_add(root, "netnsCookie", NULL);
}

static void cookie_zero(json_object *root, json_object *fw0)
{
	(void)fw0;
	json_object_object_add(root, "netnsCookie", json_object_new_int(0));
}

/* The netns key: "DEV:INO", the form the hook writes and gc, resolve and
 * rundir compare. One longer than the record holds was once cut short on
 * read, so a rewrite no longer read back (fuzz-forwards found it). */
static void netns_long(json_object *root, json_object *fw0)
{
	char key[200];

	(void)fw0;
	memset(key, '1', sizeof(key) - 1);
	key[sizeof(key) - 1] = '\0';
	key[3] = ':';
	json_object_object_add(root, "netns", json_object_new_string(key));
}

static void netns_path(json_object *root, json_object *fw0)
{
	(void)fw0;
	json_object_object_add(root, "netns", json_object_new_string("/proc/1/ns/net"));
}

static void netns_no_ino(json_object *root, json_object *fw0)
{
	(void)fw0;
	json_object_object_add(root, "netns", json_object_new_string("4:"));
}

static void test_netns_key(void **state)
{
	(void)state;
	assert_true(ps_netns_key_valid("4:4026532000"));
	assert_true(ps_netns_key_valid("18446744073709551615:18446744073709551615"));
	assert_false(ps_netns_key_valid(""));
	assert_false(ps_netns_key_valid(":1"));
	assert_false(ps_netns_key_valid("1:"));
	assert_false(ps_netns_key_valid("1:2:3"));
	assert_false(ps_netns_key_valid("1:2 "));
	assert_false(ps_netns_key_valid("-1:2"));
	assert_false(ps_netns_key_valid("123456789012345678901:2"));
	assert_null(edited(netns_long, -EINVAL));
	assert_null(edited(netns_path, -EINVAL));
	assert_null(edited(netns_no_ino, -EINVAL));
}

static void test_bad_fields(void **state)
{
	(void)state;
	assert_null(edited(relative_sidecar, -EINVAL));
	assert_null(edited(bad_label, -EINVAL));
	assert_null(edited(long_label, -EINVAL));
	assert_null(edited(bad_visibility, -EINVAL));
	assert_null(edited(kube_name_path, -EINVAL));
	assert_null(edited(kube_name_two_parts, -EINVAL));
	assert_null(edited(kube_name_upper, -EINVAL));
	assert_null(edited(start_zero, -EINVAL));
	assert_null(edited(start_negative, -EINVAL));
	assert_null(edited(start_string, -EINVAL));
	assert_null(edited(cookie_double, -EINVAL));
	assert_null(edited(cookie_null, -EINVAL));
	assert_null(edited(cookie_zero, -EINVAL));
}

/* poolAddress: the one address of the addressPool the container holds. */
static void pool_address_any(json_object *root, json_object *fw0)
{
	(void)fw0;
	json_object_object_add(root, "poolAddress", json_object_new_string("0.0.0.0"));
}

static void pool_address_number(json_object *root, json_object *fw0)
{
	(void)fw0;
	json_object_object_add(root, "poolAddress", json_object_new_int(1));
}

static void pool_address_name(json_object *root, json_object *fw0)
{
	(void)fw0;
	json_object_object_add(root, "poolAddress", json_object_new_string("localhost"));
}

static void test_pool_address(void **state)
{
	(void)state;
	struct ps_forwards *f = sample(), *g;
	cleanup_free char *doc = NULL;
	struct oci_ip want;

	/* None: no field (a container of a policy without a pool). */
	assert_int_equal(ps_forwards_encode(f, &doc), 0);
	assert_null(strstr(doc, "poolAddress"));
	free(doc);
	assert_int_equal(oci_ip_parse("fd00:77::2", &f->pool_address), 0);
	assert_int_equal(ps_forwards_encode(f, &doc), 0);
	assert_non_null(strstr(doc, "\"poolAddress\":\"fd00:77::2\""));
	g = decode(doc, 0);
	oci_ip_parse("fd00:77::2", &want);
	assert_true(oci_ip_equal(&g->pool_address, &want));
	ps_forwards_free(g);
	ps_forwards_free(f);
	assert_null(edited(pool_address_any, -EINVAL));
	assert_null(edited(pool_address_number, -EINVAL));
	assert_null(edited(pool_address_name, -EINVAL));
}

/* restores: how often portsidectl restore started a sidecar again; none in
 * an older record (0), never negative or a string. */
static void restores_negative(json_object *root, json_object *fw0)
{
	(void)fw0;
	json_object_object_add(root, "restores", json_object_new_int(-1));
}

static void restores_string(json_object *root, json_object *fw0)
{
	(void)fw0;
	json_object_object_add(root, "restores", json_object_new_string("3"));
}

static void test_restores(void **state)
{
	(void)state;
	struct ps_forwards *f = sample(), *g;
	cleanup_free char *doc = NULL;

	assert_int_equal(ps_forwards_encode(f, &doc), 0);
	assert_null(strstr(doc, "restores"));
	g = decode(doc, 0);
	assert_true(g->restores == 0);
	ps_forwards_free(g);
	free(doc);
	f->restores = 5000000000ull;
	assert_int_equal(ps_forwards_encode(f, &doc), 0);
	g = decode(doc, 0);
	assert_true(g->restores == 5000000000ull);
	ps_forwards_free(g);
	ps_forwards_free(f);
	assert_null(edited(restores_negative, -EINVAL));
	assert_null(edited(restores_string, -EINVAL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),     cmocka_unit_test(test_old_record),
		cmocka_unit_test(test_bad_fields),     cmocka_unit_test(test_netns_key),
		cmocka_unit_test(test_bad_udp_budget), cmocka_unit_test(test_pool_address),
		cmocka_unit_test(test_restores),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
