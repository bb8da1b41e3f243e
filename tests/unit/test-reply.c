/* SPDX-License-Identifier: MIT */
/* The control socket's replies (sidecar/reply.c): whatever the container makes
 * the sidecar see, a reply is whole, valid JSON, and never writes past what
 * it allocated (run under `make asan`). */
#include "unit.h"

#include <arpa/inet.h>
#include <json-c/json.h>
#include <stdlib.h>

#include "../../oci/input.h"
#include "../../oci/ports.h"
#include "../../sidecar/sidecar.h"

static json_object *parse(const char *s)
{
	json_object *o = NULL;
	struct oci_err e;

	assert_non_null(s);
	assert_int_equal(s[strlen(s) - 1], '\n');
	oci_err_init(&e);
	assert_int_equal(oci_json_decode(s, strlen(s) - 1, "reply", &o, &e), 0);
	return o;
}

/* 512 IPv6-only listeners on 39-character addresses: what overflowed the
 * fixed-size buffer (96 bytes a listener) before. */
static void test_listeners_512_long_ipv6(void **state)
{
	(void)state;
	struct sc_listener *l = calloc(512, sizeof(*l));
	json_object *o, *arr;
	char *s;

	assert_non_null(l);
	for (size_t i = 0; i < 512; i++) {
		char a[64];

		snprintf(a, sizeof(a), "fd12:3456:789a:bcde:f012:3456:789a:%04zx", i + 0x1000);
		assert_int_equal(strlen(a), 39);
		assert_int_equal(oci_ip_parse(a, &l[i].ip), 0);
		l[i].port = 65535;
	}
	s = sc_reply_listeners(l, 512, 512, 0);
	o = parse(s);
	assert_true(json_object_object_get_ex(o, "listeners", &arr));
	assert_int_equal(json_object_array_length(arr), 512);
	assert_string_equal(
		json_object_get_string(json_object_object_get(json_object_array_get_idx(arr, 511), "address")),
		"fd12:3456:789a:bcde:f012:3456:789a:11ff");
	json_object_put(o);
	free(s);
	free(l);
}

static void test_listeners_error_and_mapped(void **state)
{
	(void)state;
	struct sc_listener l = {.port = 8080, .mapped = true};
	json_object *o, *arr;
	char *s;

	assert_int_equal(oci_ip_parse("127.0.0.1", &l.ip), 0);
	s = sc_reply_listeners(&l, 1, 0, 0);
	o = parse(s);
	arr = json_object_object_get(o, "listeners");
	assert_string_equal(
		json_object_get_string(json_object_object_get(json_object_array_get_idx(arr, 0), "protocol")), "udp");
	assert_true(json_object_get_boolean(json_object_object_get(json_object_array_get_idx(arr, 0), "mapped")));
	json_object_put(o);
	free(s);
	s = sc_reply_listeners(NULL, 0, 0, EPERM);
	o = parse(s);
	assert_non_null(json_object_object_get(o, "error"));
	json_object_put(o);
	free(s);
}

/* Thousands of forwards with counters at their widest. */
static void test_status_many_forwards(void **state)
{
	(void)state;
	enum { N = 5000 };
	struct sc_ctx ctx = {.nfw = N, .conns_live = 4000000000u};
	struct sc_forward *fw = calloc(N, sizeof(*fw));
	json_object *o, *arr;
	char *s;

	ctx.fw = calloc(N, sizeof(*ctx.fw));
	assert_non_null(fw);
	assert_non_null(ctx.fw);
	for (size_t i = 0; i < N; i++) {
		assert_int_equal(oci_ip_parse("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", &fw[i].cfg.host_ip), 0);
		fw[i].cfg.external_port = fw[i].cfg.local_port = 65535;
		fw[i].bytes_in = fw[i].bytes_out = fw[i].conns_total = UINT64_MAX;
		fw[i].conns_live = 4000000000u;
		ctx.fw[i] = &fw[i];
	}
	s = sc_reply_status(&ctx);
	o = parse(s);
	assert_true(json_object_object_get_ex(o, "forwards", &arr));
	assert_int_equal(json_object_array_length(arr), N);
	assert_int_equal(json_object_get_int64(json_object_object_get(o, "connections")), 4000000000);
	json_object_put(o);
	free(s);
	free(ctx.fw);
	free(fw);
}

/* The status reply carries what portsidectl ls shows: visibility always, a
 * label only where the mapping has one. */
static void test_status_label_visibility(void **state)
{
	(void)state;
	struct sc_forward fw[2] = {0};
	struct sc_forward *v[2] = {&fw[0], &fw[1]};
	struct sc_ctx ctx = {.nfw = 2, .fw = v};
	json_object *o, *arr, *a, *b;
	char *s;

	fw[0].cfg.visibility = OCI_VISIBILITY_PRIVATE;
	snprintf(fw[0].cfg.label, sizeof(fw[0].cfg.label), "web");
	s = sc_reply_status(&ctx);
	o = parse(s);
	arr = json_object_object_get(o, "forwards");
	a = json_object_array_get_idx(arr, 0);
	b = json_object_array_get_idx(arr, 1);
	assert_string_equal(json_object_get_string(json_object_object_get(a, "visibility")), "private");
	assert_string_equal(json_object_get_string(json_object_object_get(a, "label")), "web");
	assert_string_equal(json_object_get_string(json_object_object_get(b, "visibility")), "public");
	assert_false(json_object_object_get_ex(b, "label", NULL));
	json_object_put(o);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_listeners_512_long_ipv6),
		cmocka_unit_test(test_listeners_error_and_mapped),
		cmocka_unit_test(test_status_many_forwards),
		cmocka_unit_test(test_status_label_visibility),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
