/* SPDX-License-Identifier: MIT */
/* From a container's annotations to what it asks of portside. */
#include "unit.h"

#include "../../oci/annotations.h"

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

#define ANN(...)                                                                                                       \
	(struct oci_annotations)                                                                                       \
	{                                                                                                              \
		.n = sizeof((struct oci_kv[]){__VA_ARGS__}) / sizeof(struct oci_kv), .v = (struct oci_kv[])            \
		{                                                                                                      \
			__VA_ARGS__                                                                                    \
		}                                                                                                      \
	}
#define KV(k, v)                                                                                                       \
	{                                                                                                              \
		(char *)(k), (char *)(v)                                                                               \
	}

static void test_ports_and_autoforward(void **state)
{
	(void)state;
	struct oci_annotations a =
		ANN(KV("io.portside.ports", "80:3000"), KV("io.portside.autoforward", "never"), KV("other", "x"));
	struct oci_spec s;
	struct oci_err e;

	oci_err_init(&e);
	assert_int_equal(oci_spec_parse(&a, pol, &s, &e), 0);
	assert_int_equal(s.ports->n, 1);
	assert_int_equal(s.autoforward, OCI_AUTOFORWARD_NEVER);
	assert_ptr_equal(oci_ports_first_exposed(s.ports), &s.ports->v[0]);
	oci_spec_release(&s);
}

static void test_autoforward_only(void **state)
{
	(void)state;
	struct oci_annotations a = ANN(KV("io.portside.autoforward", "all"));
	struct oci_spec s;
	struct oci_err e;

	oci_err_init(&e);
	assert_true(oci_annotations_want_portside(&a));
	assert_int_equal(oci_spec_parse(&a, pol, &s, &e), 0);
	assert_int_equal(s.ports->n, 0);
	assert_null(oci_ports_first_exposed(s.ports));
	assert_int_equal(s.autoforward, OCI_AUTOFORWARD_ALL);
	oci_spec_release(&s);

	/* Without the annotation, the policy's mode. */
	pol->autoforward = OCI_AUTOFORWARD_NEVER;
	a = ANN(KV("io.portside.ports", "9229"));
	assert_int_equal(oci_spec_parse(&a, pol, &s, &e), 0);
	assert_int_equal(s.autoforward, OCI_AUTOFORWARD_NEVER);
	oci_spec_release(&s);
	pol->autoforward = OCI_AUTOFORWARD_PUBLIC;
}

static void test_refusals(void **state)
{
	(void)state;
	struct oci_annotations a = ANN(KV("io.portside.port", "80:3000"), KV("io.portside.autoforward", "yes"),
				       KV("io.portside.ports", "22:22"));
	struct oci_spec s = {NULL, 0};
	struct oci_err e;

	oci_err_init(&e);
	assert_int_equal(oci_spec_parse(&a, pol, &s, &e), -EINVAL);
	assert_null(s.ports);
	assert_int_equal(e.count, 3);
	assert_err(&e, "unknown annotation io.portside.port (portside reads io.portside.ports");
	assert_err(&e, "io.portside.autoforward must be public, all or never, not 'yes'");
	assert_err(&e, "port 22 (ssh) is reserved");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ports_and_autoforward),
		cmocka_unit_test(test_autoforward_only),
		cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests_name("annotations", tests, setup, teardown);
}
