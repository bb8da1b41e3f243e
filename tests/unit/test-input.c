/* SPDX-License-Identifier: MIT */
/* Bounded reads, UTF-8, the strict JSON grammar, and the error list itself. */
#include "unit.h"

#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "../../oci/input.h"
#include "../../oci/jsoncheck.h"

static void test_utf8(void **state)
{
	(void)state;
	assert_true(oci_utf8_valid("plain", 5));
	assert_true(oci_utf8_valid("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9)); /* é € 😀 */
	assert_false(oci_utf8_valid("\xc0\xaf", 2));				/* overlong '/' */
	assert_false(oci_utf8_valid("\xe0\x80\xaf", 3));			/* overlong */
	assert_false(oci_utf8_valid("\xed\xa0\x80", 3));			/* surrogate */
	assert_false(oci_utf8_valid("\xf4\x90\x80\x80", 4));			/* > U+10FFFF */
	assert_false(oci_utf8_valid("\xc3", 1));				/* cut short */
	assert_false(oci_utf8_valid("\xff", 1));
	assert_false(oci_utf8_valid("a\0b", 3)); /* a NUL would end the C string early */
}

static void check_ok(const char *s)
{
	const char *why = NULL;
	size_t off = 0;

	if (oci_json_check(s, strlen(s), 32, &why, &off) < 0) {
		fprintf(stderr, "refused %s: %s at %zu\n", s, why, off);
		fail();
	}
}

static void check_bad(const char *s, const char *want)
{
	const char *why = NULL;
	size_t off = 0;

	if (oci_json_check(s, strlen(s), 32, &why, &off) == 0) {
		fprintf(stderr, "accepted %s\n", s);
		fail();
	}
	assert_non_null(strstr(why, want));
}

static void test_json_grammar(void **state)
{
	(void)state;
	check_ok("{\"a\":[1,-2,3.5,1e3,-0.5E-2,true,false,null,\"x\\u00e9\\n\\\"\"],\"b\":{}}");
	check_ok("  []  ");
	check_ok("\"s\"");
	check_ok("{\"a\":1,\"A\":2}");
	check_bad("{'a':1}", "quoted member name");
	check_bad("[NaN]", "unexpected character");
	check_bad("[Infinity]", "unexpected character");
	check_bad("[1.]", "bad number");
	check_bad("[01]", "expected ',' or ']'");
	check_bad("[+1]", "unexpected character");
	check_bad("[1,]", "unexpected character");
	check_bad("{\"a\":1,}", "quoted member name");
	check_bad("{\"a\" 1}", "expected ':'");
	check_bad("{\"a\":1,\"a\":2}", "member named twice");
	check_bad("[\"a\tb\"]", "control character");
	check_bad("[\"\\x41\"]", "bad escape");
	check_bad("[\"\\u12g4\"]", "bad \\u escape");
	check_bad("[1] [2]", "trailing characters");
	check_bad("/*c*/[1]", "unexpected character");
	check_bad("[1", "JSON ends early");
	check_bad("", "JSON ends early");
	check_bad("[tru]", "unexpected character");
}

/* Names are compared as json-c stores them: unescaped. */
static void test_json_names_unescaped(void **state)
{
	(void)state;
	check_bad("{\"externalPort\":80,\"external\\u0050ort\":81}", "member named twice");
	check_bad("{\"a\\/b\":1,\"a/b\":2}", "member named twice");
	check_bad("{\"\\ud83d\\ude00\":1,\"\xf0\x9f\x98\x80\":2}", "member named twice");
	check_bad("{\"a\\u0000b\":1}", "NUL in a member name");
	check_ok("{\"\":1}"); /* an empty name (the fuzzer found UB here) */
	check_bad("{\"\":1,\"\":2}", "member named twice");
	check_bad("{\"\\ud800\":1}", "lone surrogate");
	check_ok("[\"a\\u0000b\"]"); /* in a value, it names nothing */
	check_ok("{\"a\\u00e9\":1,\"a\xc3\xa8\":2}");
}

/* The duplicate check is linear: 4 MiB of objects with 8000 members each
 * (quadratic, this took over ten seconds) is checked in well under one. */
static void test_json_names_linear(void **state)
{
	(void)state;
	size_t cap = 5u << 20, n = 0;
	char *doc = malloc(cap);
	const char *why;
	size_t off;
	struct timespec a, b;

	assert_non_null(doc);
	doc[n++] = '[';
	for (int o = 0; n < (4u << 20); o++) {
		n += (size_t)snprintf(doc + n, cap - n, "%s{", o ? "," : "");
		for (int k = 0; k < 8000; k++)
			n += (size_t)snprintf(doc + n, cap - n, "%s\"k%07d\":0", k ? "," : "", k);
		doc[n++] = '}';
	}
	doc[n++] = ']';
	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_int_equal(oci_json_check(doc, n, 32, &why, &off), 0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	double secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	fprintf(stderr, "json check of %zu bytes: %.3f s\n", n, secs);
	assert_true(secs < 1.0);
	free(doc);
}

static void test_json_depth(void **state)
{
	(void)state;
	char deep[200];
	const char *why;
	size_t off;

	memset(deep, '[', 100);
	memset(deep + 100, ']', 100);
	assert_int_equal(oci_json_check(deep, 200, 32, &why, &off), -EINVAL);
	assert_string_equal(why, "nested too deep");
	assert_int_equal(oci_json_check(deep + 70, 60, 32, &why, &off), 0);
}

static void test_json_decode(void **state)
{
	(void)state;
	json_object *o = NULL;
	struct oci_err e;
	unsigned port;

	oci_err_init(&e);
	assert_int_equal(oci_json_decode("{\"p\":80}", 8, "thing", &o, &e), 0);
	assert_int_equal(oci_json_port(json_object_object_get(o, "p"), "p", &port, &e), 0);
	assert_int_equal(port, 80);
	json_object_put(o);
	assert_int_equal(oci_json_decode("{\"p\":NaN}", 9, "thing", &o, &e), -EINVAL);
	assert_err(&e, "thing: invalid JSON at byte 5");
}

static void test_err_list(void **state)
{
	(void)state;
	struct oci_err e, f;
	char big[600];

	oci_err_init(&e);
	assert_int_equal(oci_err_add(&e, ENOENT, "x %d", 1), -ENOENT);
	assert_int_equal(oci_err_add(&e, 0, "zero"), -EINVAL);
	assert_int_equal(oci_err_add(NULL, EPERM, "dropped"), -EPERM);
	assert_int_equal(oci_err_addp(&e, ENOENT, "open %s", "f"), -ENOENT);
	assert_string_equal(e.msg[2], "open f: No such file or directory");
	/* One line, always: control characters become '?'. */
	oci_err_add(&e, EINVAL, "a\nb\rc\x1b");
	assert_string_equal(e.msg[3], "a?b?c?");
	/* Long lines are cut and say so. */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	oci_err_add(&e, EINVAL, "%s", big);
	assert_int_equal(strlen(e.msg[4]), OCI_ERR_LEN - 1);
	assert_string_equal(e.msg[4] + OCI_ERR_LEN - 4, "...");
	/* Past the cap: counted, not stored, and appended with a prefix. */
	for (int i = 0; i < 40; i++)
		oci_err_add(&e, EINVAL, "n%d", i);
	assert_int_equal(e.count, 45);
	assert_int_equal(oci_err_lines(&e), OCI_ERR_MAX);
	oci_err_init(&f);
	oci_err_append(&f, &e, "file");
	assert_int_equal(f.count, 45);
	assert_string_equal(f.msg[0], "file: x 1");
}

static void test_read_fd(void **state)
{
	(void)state;
	int fds[2];
	char *buf = NULL;
	size_t len = 99;
	struct oci_err e;

	oci_err_init(&e);
	assert_int_equal(pipe(fds), 0);
	close(fds[1]);
	assert_int_equal(oci_read_fd(fds[0], 10, "empty", &buf, &len, &e), 0);
	assert_int_equal(len, 0);
	assert_string_equal(buf, "");
	free(buf);
	close(fds[0]);

	assert_int_equal(pipe(fds), 0);
	assert_int_equal(write(fds[1], "0123456789", 10), 10);
	close(fds[1]);
	assert_int_equal(oci_read_fd(fds[0], 10, "exact", &buf, &len, &e), 0);
	assert_int_equal(len, 10);
	free(buf);
	close(fds[0]);

	assert_int_equal(pipe(fds), 0);
	assert_int_equal(write(fds[1], "0123456789A", 11), 11);
	close(fds[1]);
	assert_int_equal(oci_read_fd(fds[0], 10, "over", &buf, &len, &e), -EFBIG);
	assert_err(&e, "over is larger than 10 bytes");
	close(fds[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_json_grammar),
		cmocka_unit_test(test_json_depth),
		cmocka_unit_test(test_json_decode),
		cmocka_unit_test(test_json_names_unescaped),
		cmocka_unit_test(test_json_names_linear),
		cmocka_unit_test(test_err_list),
		cmocka_unit_test(test_read_fd),
	};

	return cmocka_run_group_tests_name("input", tests, NULL, NULL);
}
