/* SPDX-License-Identifier: MIT */
/* The runtime wrapper's reading of a runtime command line (wrap/argv.c) and
 * the hook it adds to a config (oci/hookedit.c), below portside-runc. */
#include "unit.h"

#include "../../oci/hookedit.h"
#include "../../wrap/wrap.h"

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])))

static void test_shim_line(void **state)
{
	(void)state;
	/* As containerd's shim writes it. */
	char *a[] = {"runc",   "--root",	  "/run/containerd/runc/k8s.io",
		     "--log",  "/run/x/log.json", "--log-format",
		     "json",   "create",	  "--bundle",
		     "/run/b", "--pid-file",	  "/run/b/init.pid",
		     "abc123"};
	struct wr_call c;

	assert_int_equal(wr_argv_parse(ARGC(a), a, &c), 0);
	assert_string_equal(c.command, "create");
	assert_string_equal(c.bundle, "/run/b");
	/* Where a refusal must go for containerd to show it. */
	assert_string_equal(c.log, "/run/x/log.json");
	assert_string_equal(c.log_format, "json");
}

static void test_spellings(void **state)
{
	(void)state;
	char *a[] = {"runc", "--debug", "--log=/l", "-root", "/r", "run", "-d", "-b=/b1", "id"};
	char *b[] = {"runc", "run", "-b", "/b2", "id"};
	char *nob[] = {"runc", "create", "id"};
	char *other[] = {"runc", "--root", "/r", "delete", "--force", "--bundle", "/x", "id"};
	char *none[] = {"runc", "--version"};
	struct wr_call c;

	assert_int_equal(wr_argv_parse(ARGC(a), a, &c), 0);
	assert_string_equal(c.command, "run");
	assert_string_equal(c.bundle, "/b1");
	assert_int_equal(wr_argv_parse(ARGC(b), b, &c), 0);
	assert_string_equal(c.bundle, "/b2");
	/* No --bundle: the working directory's, as the runtime reads it. */
	assert_int_equal(wr_argv_parse(ARGC(nob), nob, &c), 0);
	assert_string_equal(c.command, "create");
	assert_null(c.bundle);
	/* Only create and run have a bundle to read. */
	assert_int_equal(wr_argv_parse(ARGC(other), other, &c), 0);
	assert_string_equal(c.command, "delete");
	assert_null(c.bundle);
	assert_int_equal(wr_argv_parse(ARGC(none), none, &c), 0);
	assert_null(c.command);
}

static void test_unreadable(void **state)
{
	(void)state;
	char *dangling[] = {"runc", "--root"};
	char *empty[] = {"runc", "create", "--bundle=", "id"};
	char *last[] = {"runc", "create", "--bundle"};
	struct wr_call c;

	assert_int_equal(wr_argv_parse(ARGC(dangling), dangling, &c), -EINVAL);
	assert_int_equal(wr_argv_parse(ARGC(empty), empty, &c), -EINVAL);
	assert_int_equal(wr_argv_parse(ARGC(last), last, &c), -EINVAL);
}

static void test_hooks_add(void **state)
{
	(void)state;
	const char *env[] = {"PATH=/bin", "PORTSIDE_RUN_DIR=/run/x", NULL};
	const struct oci_hook_entry entry = {.path = "/h", .policy = "/etc/p.json", .env = env};
	json_object *root = json_tokener_parse("{\"annotations\":{\"io.portside.ports\":\"80:3000\"},\"hooks\":{"
					       "\"poststop\":[{\"path\":\"/other\"}]}}");
	json_object *hooks, *list, *h, *v;

	assert_non_null(root);
	hooks = oci_json_child(root, "hooks", json_type_object);
	assert_int_equal(oci_hooks_add(hooks, "createRuntime", &entry), 0);
	assert_int_equal(oci_hooks_add(hooks, "poststop", &entry), 0);
	/* Twice is once. */
	assert_int_equal(oci_hooks_add(hooks, "poststop", &entry), 0);
	assert_true(json_object_object_get_ex(hooks, "poststop", &list));
	assert_int_equal(json_object_array_length(list), 2); /* the user's own stays first */
	h = json_object_array_get_idx(list, 1);
	assert_true(json_object_object_get_ex(h, "env", &v));
	assert_string_equal(json_object_get_string(json_object_array_get_idx(v, 1)), "PORTSIDE_RUN_DIR=/run/x");
	assert_true(json_object_object_get_ex(h, "args", &v));
	assert_int_equal(json_object_array_length(v), 4);
	assert_string_equal(json_object_get_string(json_object_array_get_idx(v, 1)), "--policy");
	assert_string_equal(json_object_get_string(json_object_array_get_idx(v, 3)), "poststop");
	json_object_put(root);

	/* A stage of another type is not ours to repair. */
	root = json_tokener_parse("{\"hooks\":{\"createRuntime\":{}}}");
	hooks = oci_json_child(root, "hooks", json_type_object);
	assert_int_equal(oci_hooks_add(hooks, "createRuntime", &entry), -EINVAL);
	json_object_put(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shim_line),
		cmocka_unit_test(test_spellings),
		cmocka_unit_test(test_unreadable),
		cmocka_unit_test(test_hooks_add),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
