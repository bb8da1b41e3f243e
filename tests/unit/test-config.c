/* SPDX-License-Identifier: MIT */
/* A bundle's config.json: annotations, the netns path, process.env, hooks. */
#include "unit.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../oci/config.h"

static struct oci_config *ok(const char *doc)
{
	struct oci_config *c = NULL;
	struct oci_err e;

	oci_err_init(&e);
	if (oci_config_parse(doc, strlen(doc), &c, &e) < 0) {
		fprintf(stderr, "refused %s:\n", doc);
		oci_err_print(&e, stderr, "  ");
		fail();
	}
	return c;
}

static void bad_at(const char *doc, const char *needle, const char *file, int line)
{
	struct oci_config *c = NULL;
	struct oci_err e;

	oci_err_init(&e);
	if (oci_config_parse(doc, strlen(doc), &c, &e) == 0) {
		fprintf(stderr, "%s:%d: %s was accepted\n", file, line, doc);
		oci_config_free(c);
		fail();
	}
	unit_assert_err(&e, needle, file, line);
}
#define bad(d, n) bad_at((d), (n), __FILE__, __LINE__)

static const char *full = "{\"ociVersion\":\"1.0.2\",\"process\":{\"args\":[\"httpd\"],\"env\":[\"PATH=/"
			  "bin\",\"PORT=3000\",\"PORTX=1\"]},"
			  "\"root\":{\"path\":\"rootfs\"},\"annotations\":{\"io.portside.ports\":\"80:3000\"},"
			  "\"hooks\":{\"createRuntime\":[{\"path\":\"/usr/libexec/oci/hooks.d/"
			  "portside-hook\",\"args\":[\"portside-hook\",\"createRuntime\"]}],"
			  "\"poststop\":[{\"path\":\"/p\"}],\"futureStage\":[{\"path\":\"/f\"}]},"
			  "\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"network\",\"path\":\"/run/netns/"
			  "pod1\"},{\"type\":\"mount\"}]}}";

static void test_full(void **state)
{
	(void)state;
	struct oci_config *c = ok(full);

	assert_string_equal(oci_annotations_get(&c->ann, "io.portside.ports"), "80:3000");
	assert_true(c->has_netns);
	assert_string_equal(c->netns_path, "/run/netns/pod1");
	assert_int_equal(c->n_env, 3);
	assert_string_equal(oci_config_getenv(c, "PORT"), "3000");
	assert_null(oci_config_getenv(c, "POR"));
	assert_int_equal(c->n_hooks, 2);
	assert_int_equal(c->hooks[0].stage, OCI_STAGE_CREATE_RUNTIME);
	assert_string_equal(c->hooks[0].path, "/usr/libexec/oci/hooks.d/portside-hook");
	assert_int_equal(c->hooks[1].stage, OCI_STAGE_POSTSTOP);
	oci_config_free(c);
	oci_config_free(NULL);
}

static void test_new_netns(void **state)
{
	(void)state;
	struct oci_config *c = ok("{\"linux\":{\"namespaces\":[{\"type\":\"network\"}]}}");

	assert_true(c->has_netns);
	assert_null(c->netns_path);
	oci_config_free(c);
	c = ok("{\"linux\":{\"namespaces\":[{\"type\":\"network\",\"path\":\"\"}]}}");
	assert_true(c->has_netns);
	assert_null(c->netns_path);
	oci_config_free(c);
	/* No network entry: the container shares the host's namespace. */
	c = ok("{\"linux\":{\"namespaces\":[{\"type\":\"pid\"}]}}");
	assert_false(c->has_netns);
	oci_config_free(c);
	c = ok("{}");
	assert_false(c->has_netns);
	assert_int_equal(c->n_env, 0);
	oci_config_free(c);
}

static void test_refusals(void **state)
{
	(void)state;
	bad("{\"linux\":{\"namespaces\":[{\"type\":\"network\",\"path\":\"netns\"}]}}", "is not absolute");
	bad("{\"linux\":{\"namespaces\":[{\"type\":\"network\"},{\"type\":\"network\"}]}}", "lists network twice");
	bad("{\"linux\":{\"namespaces\":{}}}", "linux.namespaces must be an array");
	bad("{\"linux\":{\"namespaces\":[{}]}}", "linux.namespaces[0] has no type");
	bad("{\"linux\":[]}", "linux must be an object");
	bad("{\"process\":{\"env\":[1]}}", "process.env[0] must be a string");
	bad("{\"process\":{\"env\":\"A=1\"}}", "process.env must be an array");
	bad("{\"hooks\":{\"prestart\":[{\"args\":[]}]}}", "hooks.prestart[0] has no path");
	bad("{\"hooks\":{\"prestart\":{}}}", "hooks.prestart must be an array");
	bad("{\"annotations\":{\"io.portside.autoforward\":true}}", "io.portside.autoforward must be a string");
	bad("{\"annotations\":{}", "JSON ends early");
}

static void test_stages(void **state)
{
	(void)state;
	enum oci_hook_stage st;

	for (unsigned i = 0; i < OCI_STAGE_COUNT; i++) {
		assert_int_equal(oci_stage_parse(oci_stage_name((enum oci_hook_stage)i), &st), 0);
		assert_int_equal(st, i);
	}
	assert_int_equal(oci_stage_parse("poststart ", &st), -EINVAL);
	assert_int_equal(oci_stage_parse("", &st), -EINVAL);
}

static void test_load(void **state)
{
	(void)state;
	char dir[] = "/tmp/portside-bundle-XXXXXX";
	char path[64];
	struct oci_config *c = NULL;
	struct oci_err e;
	FILE *f;

	assert_non_null(mkdtemp(dir));
	oci_err_init(&e);
	assert_int_equal(oci_config_load(dir, &c, &e), -ENOENT);
	assert_err(&e, "config.json");
	snprintf(path, sizeof(path), "%s/config.json", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(full, f);
	fclose(f);
	assert_int_equal(oci_config_load(dir, &c, &e), 0);
	assert_true(c->has_netns);
	oci_config_free(c);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),   cmocka_unit_test(test_new_netns), cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_stages), cmocka_unit_test(test_load),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
