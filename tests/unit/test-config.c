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

/* process.user and the id mappings, read strictly: the hook refuses a
 * container by them. */
static void test_user_and_maps(void **state)
{
	(void)state;
	struct oci_config *c;

	c = ok("{\"process\":{\"user\":{\"uid\":1000,\"gid\":1001,\"additionalGids\":[5,4294967295]}}}");
	assert_int_equal(c->uid, 1000);
	assert_int_equal(c->gid, 1001);
	assert_int_equal(c->n_groups, 2);
	assert_int_equal(c->groups[1], 4294967295u);
	assert_false(c->has_userns);
	oci_config_free(c);
	/* Absent: root, as the runtimes take it. */
	c = ok("{\"process\":{\"user\":{}}}");
	assert_int_equal(c->uid, 0);
	assert_int_equal(c->n_groups, 0);
	oci_config_free(c);
	c = ok("{\"linux\":{\"namespaces\":[{\"type\":\"user\"}],\"uidMappings\":[{\"containerID\":0,\"hostID\":"
	       "100000,\"size\":65536}],\"gidMappings\":[{\"containerID\":0,\"hostID\":200000,\"size\":1},"
	       "{\"containerID\":1,\"hostID\":4294967295,\"size\":1}]}}");
	assert_true(c->has_userns);
	assert_int_equal(c->n_uid_maps, 1);
	assert_int_equal(c->uid_maps[0].host_id, 100000);
	assert_int_equal(c->uid_maps[0].size, 65536);
	assert_int_equal(c->n_gid_maps, 2);
	assert_int_equal(c->gid_maps[1].host_id, 4294967295u);
	oci_config_free(c);

	bad("{\"process\":{\"user\":[]}}", "process.user must be an object");
	bad("{\"process\":{\"user\":{\"uid\":\"0\"}}}", "process.user.uid must be an integer, not a string");
	bad("{\"process\":{\"user\":{\"uid\":-1}}}", "process.user.uid is out of range 0-4294967295");
	bad("{\"process\":{\"user\":{\"gid\":4294967296}}}", "process.user.gid is out of range");
	bad("{\"process\":{\"user\":{\"gid\":1.5}}}", "process.user.gid must be an integer");
	bad("{\"process\":{\"user\":{\"uid\":99999999999999999999}}}", "process.user.uid");
	bad("{\"process\":{\"user\":{\"additionalGids\":5}}}", "process.user.additionalGids must be an array");
	bad("{\"process\":{\"user\":{\"additionalGids\":[1,\"2\"]}}}",
	    "process.user.additionalGids[1] must be an integer");
	bad("{\"linux\":{\"uidMappings\":{}}}", "linux.uidMappings must be an array");
	bad("{\"linux\":{\"gidMappings\":[1]}}", "linux.gidMappings[0] must be an object");
	bad("{\"linux\":{\"uidMappings\":[{\"containerID\":0,\"size\":1}]}}", "linux.uidMappings[0] has no hostID");
	bad("{\"linux\":{\"uidMappings\":[{\"containerID\":0,\"hostID\":-5,\"size\":1}]}}",
	    "linux.uidMappings[0].hostID is out of range");
	bad("{\"linux\":{\"uidMappings\":[{\"containerID\":0,\"hostID\":5,\"size\":0}]}}",
	    "linux.uidMappings[0] is an empty range or ends past 2^32");
	bad("{\"linux\":{\"gidMappings\":[{\"containerID\":0,\"hostID\":4294967295,\"size\":2}]}}",
	    "linux.gidMappings[0] is an empty range or ends past 2^32");

	/* The kernel's bounds: 65536 groups, 340 mapping lines. */
	for (int g = 0; g < 2; g++) {
		size_t n = g ? OCI_CONFIG_GROUPS_MAX + 1 : OCI_CONFIG_ID_MAPS_MAX + 1;
		const char *one = g ? "1," : "{\"containerID\":0,\"hostID\":1,\"size\":1},";
		size_t len = 64 + n * strlen(one);
		char *doc = malloc(len), *p = doc;

		assert_non_null(doc);
		p += sprintf(p, g ? "{\"process\":{\"user\":{\"additionalGids\":[" : "{\"linux\":{\"uidMappings\":[");
		for (size_t i = 0; i < n; i++)
			p += sprintf(p, "%s", one);
		sprintf(p - 1, g ? "]}}}" : "]}}");
		bad(doc, g ? "has 65537 entries, more than the 65536 the kernel allows"
			   : "has 341 entries, more than the 340 the kernel allows");
		/* One fewer is taken. */
		p = strstr(doc, one);
		memmove(p, p + strlen(one), strlen(p + strlen(one)) + 1);
		oci_config_free(ok(doc));
		free(doc);
	}
}

/* The rule: without a user namespace the process's ids are host ids; with
 * one, only the mappings' host ranges count. */
static void test_overlap(void **state)
{
	(void)state;
	const uint32_t base = 2000000, count = 100;
	struct oci_config *c;
	char field[128];

#define OVER(c)                                                                                                        \
	oci_config_ids_overlap((c), (c)->uid_maps, (c)->n_uid_maps, (c)->gid_maps, (c)->n_gid_maps, base, count,       \
			       field, sizeof(field))
	c = ok("{\"process\":{\"user\":{\"uid\":2000000,\"gid\":0}}}");
	assert_true(OVER(c));
	assert_string_equal(field, "process.user.uid 2000000");
	oci_config_free(c);
	c = ok("{\"process\":{\"user\":{\"uid\":1999999,\"gid\":2000099}}}");
	assert_true(OVER(c));
	assert_string_equal(field, "process.user.gid 2000099");
	oci_config_free(c);
	c = ok("{\"process\":{\"user\":{\"uid\":5,\"gid\":5,\"additionalGids\":[1,2000050]}}}");
	assert_true(OVER(c));
	assert_string_equal(field, "process.user.additionalGids[1] 2000050");
	oci_config_free(c);
	c = ok("{\"process\":{\"user\":{\"uid\":1999999,\"gid\":2000100,\"additionalGids\":[0]}}}");
	assert_false(OVER(c));
	oci_config_free(c);
	/* Mappings count only with a user namespace... */
	c = ok("{\"linux\":{\"uidMappings\":[{\"containerID\":0,\"hostID\":2000000,\"size\":1}]}}");
	assert_false(OVER(c));
	oci_config_free(c);
	/* ...and then the process's ids are the namespace's, not the host's. */
	c = ok("{\"process\":{\"user\":{\"uid\":2000000}},\"linux\":{\"namespaces\":[{\"type\":\"user\"}],"
	       "\"uidMappings\":[{\"containerID\":0,\"hostID\":1000000,\"size\":1000000}],"
	       "\"gidMappings\":[{\"containerID\":0,\"hostID\":2000100,\"size\":10}]}}");
	assert_false(OVER(c));
	oci_config_free(c);
	c = ok("{\"linux\":{\"namespaces\":[{\"type\":\"user\"}],"
	       "\"uidMappings\":[{\"containerID\":0,\"hostID\":1000000,\"size\":1000001}]}}");
	assert_true(OVER(c));
	assert_string_equal(field, "linux.uidMappings[0] (host ids 1000000-2000000)");
	oci_config_free(c);
	c = ok("{\"linux\":{\"namespaces\":[{\"type\":\"user\"}],"
	       "\"uidMappings\":[{\"containerID\":0,\"hostID\":0,\"size\":4294967295}]}}");
	assert_true(OVER(c));
	oci_config_free(c);
	c = ok("{\"linux\":{\"namespaces\":[{\"type\":\"user\"}],"
	       "\"gidMappings\":[{\"containerID\":0,\"hostID\":5,\"size\":1},{\"containerID\":1,\"hostID\":2000099,"
	       "\"size\":1000}]}}");
	assert_true(OVER(c));
	assert_string_equal(field, "linux.gidMappings[1] (host ids 2000099-2001098)");
	oci_config_free(c);
#undef OVER
}

/* /proc/PID/uid_map's text, for a namespace joined by path. */
static void test_maps_text(void **state)
{
	(void)state;
	struct oci_id_map m[OCI_CONFIG_ID_MAPS_MAX];
	size_t n;

	assert_int_equal(
		oci_id_maps_parse("         0     100000      65536\n      65536 4294967294          1\n", m, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(m[0].host_id, 100000);
	assert_int_equal(m[0].size, 65536);
	assert_int_equal(m[1].container_id, 65536);
	assert_int_equal(oci_id_maps_parse("", m, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(oci_id_maps_parse("0 1\n", m, &n), -EINVAL);
	assert_int_equal(oci_id_maps_parse("0 1 x\n", m, &n), -EINVAL);
	assert_int_equal(oci_id_maps_parse("0 1 0\n", m, &n), -EINVAL);
	assert_int_equal(oci_id_maps_parse("0 4294967295 2\n", m, &n), -EINVAL);
	assert_int_equal(oci_id_maps_parse("0 -1 2\n", m, &n), -EINVAL);
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
		cmocka_unit_test(test_full),	 cmocka_unit_test(test_new_netns),
		cmocka_unit_test(test_refusals), cmocka_unit_test(test_user_and_maps),
		cmocka_unit_test(test_overlap),	 cmocka_unit_test(test_maps_text),
		cmocka_unit_test(test_stages),	 cmocka_unit_test(test_load),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
