/* SPDX-License-Identifier: MIT */
/* The addressPool hand-out (hook/pool.c) against real records in a
 * scratch run directory: the first address no record binds, never the
 * network or broadcast address, an error once the pool is full, and an
 * address free again once its record is gone. */
#include "unit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../hook/hook.h"
#include "../../lib/rundir.h"

static char root[64];

/* A record for ID binding IP, as the hook writes it. */
static void record(const char *id, const char *ip)
{
	struct ps_forwards f;
	struct ps_forward w;
	char path[4096], *doc = NULL;

	memset(&f, 0, sizeof(f));
	memset(&w, 0, sizeof(w));
	snprintf(f.id, sizeof(f.id), "%s", id);
	snprintf(f.netns, sizeof(f.netns), "1:1");
	f.pid = 1;
	f.max_connections = 4096;
	f.udp_idle_timeout = 60;
	f.max_autoforwards = 4;
	assert_int_equal(oci_ip_parse(ip, &w.host_ip), 0);
	w.local_port = 3000;
	w.external_port = 80;
	w.fd = -1;
	w.entry = 1;
	f.v = &w;
	f.n = 1;
	assert_int_equal(ps_forwards_encode(&f, &doc), 0);
	assert_int_equal(ps_path(path, sizeof(path), id, NULL), 0);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(ps_file(path, sizeof(path), id, PS_FORWARDS), 0);
	assert_int_equal(ps_write_file(path, doc, strlen(doc)), 0);
	free(doc);
}

static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/portside-pool-XXXXXX");
	if (!mkdtemp(root))
		return -1;
	setenv("PORTSIDE_RUN_DIR", root, 1);
	return ps_run_dir_init();
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	unsetenv("PORTSIDE_RUN_DIR");
	return system(cmd) == 0 ? 0 : -1;
}

static void test_pick(void **state)
{
	(void)state;
	struct oci_policy *pol;
	struct oci_err e;
	struct oci_ip got, want;
	const char *doc = "{\"addressPool\": \"127.80.0.0/30\"}";

	oci_err_init(&e);
	assert_int_equal(oci_policy_parse(doc, strlen(doc), &pol, &e), 0);
	/* /30: .0 is the network, .3 the broadcast: .1 and .2 are the pool. */
	assert_int_equal(hook_pool_pick(pol, &got, &e), 0);
	oci_ip_parse("127.80.0.1", &want);
	assert_true(oci_ip_equal(&got, &want));
	record("one", "127.80.0.1");
	assert_int_equal(hook_pool_pick(pol, &got, &e), 0);
	oci_ip_parse("127.80.0.2", &want);
	assert_true(oci_ip_equal(&got, &want));
	record("two", "127.80.0.2");
	assert_int_equal(hook_pool_pick(pol, &got, &e), -EADDRINUSE);
	assert_int_equal(oci_err_lines(&e), 1);
	assert_non_null(strstr(e.msg[0], "addressPool is in use"));
	/* A stopped container's record gone: its address is free again. */
	assert_int_equal(ps_state_remove("one"), 0);
	assert_int_equal(hook_pool_pick(pol, &got, &e), 0);
	oci_ip_parse("127.80.0.1", &want);
	assert_true(oci_ip_equal(&got, &want));
	oci_policy_free(pol);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pick, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
