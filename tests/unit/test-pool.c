/* SPDX-License-Identifier: MIT */
/* The addressPool hand-out (table/pool.c) against real records in a
 * scratch run directory: the first address no record binds, never the
 * network or broadcast address, an error once the pool is full, an
 * address free again once its record is gone, and each container's small
 * addresses file read rather than its record. */
#include "unit.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../table/table.h"
#include "../../lib/rundir.h"

static char root[64];

/* A record for ID with N forwards binding IP, as the hook writes it (POOL:
 * with IP as its poolAddress; else as an earlier portside wrote it). */
static void record_n(const char *id, const char *ip, size_t n, bool pool)
{
	struct ps_forwards *f = calloc(1, sizeof(*f));
	char path[4096], *doc = NULL;

	assert_non_null(f);
	assert_non_null(f->v = calloc(n, sizeof(*f->v)));
	snprintf(f->id, sizeof(f->id), "%s", id);
	snprintf(f->netns, sizeof(f->netns), "1:1");
	f->pid = 1;
	f->max_connections = 4096;
	f->udp_idle_timeout = 60;
	f->max_autoforwards = 4;
	for (size_t i = 0; i < n; i++) {
		struct ps_forward *w = &f->v[i];

		assert_int_equal(oci_ip_parse(ip, &w->host_ip), 0);
		w->local_port = (uint16_t)(3000 + i);
		w->external_port = (uint16_t)(8000 + i);
		w->fd = -1;
		w->entry = (unsigned)i + 1;
	}
	f->n = n;
	if (pool)
		assert_int_equal(oci_ip_parse(ip, &f->pool_address), 0);
	assert_int_equal(ps_forwards_encode(f, &doc), 0);
	assert_int_equal(ps_path(path, sizeof(path), id, NULL), 0);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(ps_file(path, sizeof(path), id, PS_FORWARDS), 0);
	assert_int_equal(ps_write_file(path, doc, strlen(doc)), 0);
	free(doc);
	ps_forwards_free(f);
}

static void record(const char *id, const char *ip)
{
	record_n(id, ip, 1, true);
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
	assert_int_equal(tb_pool_pick(pol, &got, &e), 0);
	oci_ip_parse("127.80.0.1", &want);
	assert_true(oci_ip_equal(&got, &want));
	record("one", "127.80.0.1");
	assert_int_equal(tb_pool_pick(pol, &got, &e), 0);
	oci_ip_parse("127.80.0.2", &want);
	assert_true(oci_ip_equal(&got, &want));
	record("two", "127.80.0.2");
	assert_int_equal(tb_pool_pick(pol, &got, &e), -EADDRINUSE);
	assert_int_equal(oci_err_lines(&e), 1);
	assert_non_null(strstr(e.msg[0], "addressPool is in use"));
	/* A stopped container's record gone: its address is free again. */
	assert_int_equal(ps_state_remove("one"), 0);
	assert_int_equal(tb_pool_pick(pol, &got, &e), 0);
	oci_ip_parse("127.80.0.1", &want);
	assert_true(oci_ip_equal(&got, &want));
	oci_policy_free(pol);
}

/* 17 containers of 256 mappings each, recorded with (POOL) or without a
 * poolAddress: the next one gets the 18th address. */
static void many_forwards(bool pool)
{
	struct oci_policy *pol;
	struct oci_err e;
	struct oci_ip got, want;
	const char *doc = "{\"addressPool\": \"127.81.0.0/24\"}";

	oci_err_init(&e);
	assert_int_equal(oci_policy_parse(doc, strlen(doc), &pol, &e), 0);
	for (unsigned i = 1; i <= 17; i++) {
		char id[16], ip[32];

		snprintf(id, sizeof(id), "big%u", i);
		snprintf(ip, sizeof(ip), "127.81.0.%u", i);
		record_n(id, ip, 256, pool);
	}
	assert_int_equal(tb_pool_pick(pol, &got, &e), 0);
	oci_ip_parse("127.81.0.18", &want);
	assert_true(oci_ip_equal(&got, &want));
	oci_policy_free(pol);
}

/* Every container holds its address however many forwards the records list
 * together: a table of 4096 forwards once forgot the 17th container of 256
 * mappings, and handed its address out again. */
static void test_many_forwards(void **state)
{
	(void)state;
	many_forwards(true);
}

/* The same with records an earlier portside wrote (no poolAddress): every
 * address they bind counts. */
static void test_many_forwards_old_records(void **state)
{
	(void)state;
	many_forwards(false);
}

/* A record that cannot be read, or no list of records: the address a
 * container holds is unknown, so nothing is handed out (rather than perhaps
 * that address). */
static void test_unreadable_record(void **state)
{
	(void)state;
	struct oci_policy *pol;
	struct oci_err e;
	struct oci_ip got;
	char path[4096];
	const char *doc = "{\"addressPool\": \"127.82.0.0/24\"}";

	oci_err_init(&e);
	assert_int_equal(oci_policy_parse(doc, strlen(doc), &pol, &e), 0);
	record("fine", "127.82.0.1");
	record("broken", "127.82.0.2");
	assert_int_equal(ps_file(path, sizeof(path), "broken", PS_FORWARDS), 0);
	assert_int_equal(ps_write_file(path, "{\"forwards\": 1}", 15), 0);
	assert_int_equal(tb_pool_pick(pol, &got, &e), -EIO);
	assert_int_equal(oci_err_lines(&e), 1);
	assert_err(&e, "container broken holds: its record cannot be read");
	/* A container that joined another's netns has no record: no address. */
	assert_int_equal(ps_state_remove("broken"), 0);
	assert_int_equal(ps_path(path, sizeof(path), "joined", NULL), 0);
	assert_int_equal(mkdir(path, 0700), 0);
	oci_err_init(&e);
	assert_int_equal(tb_pool_pick(pol, &got, &e), 0);
	assert_int_equal(got.a[3], 2);
	/* No list of containers at all: nothing is known to be free. */
	assert_int_equal(ps_state_remove("fine"), 0);
	assert_int_equal(ps_state_remove("joined"), 0);
	assert_int_equal(ps_path(path, sizeof(path), NULL, NULL), 0);
	assert_int_equal(rmdir(path), 0);
	assert_int_equal(tb_pool_pick(pol, &got, &e), -ENOENT);
	assert_err(&e, "cannot list the containers under");
	oci_policy_free(pol);
}

/* Writes TEXT as ID's addresses file, as the hook does beside its record. */
static void addresses(const char *id, const char *text)
{
	char path[4096];

	assert_int_equal(ps_path(path, sizeof(path), id, "addresses"), 0);
	assert_int_equal(ps_write_file(path, text, strlen(text)), 0);
}

/* Makes ID's record garbage past any read limit (a sparse 64 MiB of zeros):
 * what reading it would cost, and refuse. */
static void record_huge(const char *id)
{
	char path[4096];
	int fd;

	assert_int_equal(ps_path(path, sizeof(path), id, "forwards.json"), 0);
	assert_true((fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC)) >= 0);
	assert_int_equal(ftruncate(fd, 64 << 20), 0);
	close(fd);
}

/* The hand-out reads each container's addresses file, never its record,
 * however large: records past any read limit (a start reading whole records
 * of 32768 forwards took 433 ms each, under the lock) do not stop it, and
 * the addresses their files list stay taken. */
static void test_records_not_read(void **state)
{
	(void)state;
	struct oci_policy *pol;
	struct oci_err e;
	struct oci_ip got, want;
	const char *doc = "{\"addressPool\": \"127.83.0.0/24\"}";

	oci_err_init(&e);
	assert_int_equal(oci_policy_parse(doc, strlen(doc), &pol, &e), 0);
	for (unsigned i = 1; i <= 4; i++) {
		char id[16], ip[32], line[40];

		snprintf(id, sizeof(id), "huge%u", i);
		snprintf(ip, sizeof(ip), "127.83.0.%u", i);
		snprintf(line, sizeof(line), "%s\n", ip);
		record(id, ip);
		addresses(id, line);
		record_huge(id);
	}
	/* A container started without a pool lists what it binds: taken too. */
	record("nopool", "127.0.0.1");
	addresses("nopool", "127.83.0.5\n::1\n");
	record_huge("nopool");
	/* One that holds nothing against the pool lists nothing. */
	record("none", "127.0.0.1");
	addresses("none", "");
	record_huge("none");
	assert_int_equal(tb_pool_pick(pol, &got, &e), 0);
	assert_int_equal(oci_err_lines(&e), 0);
	oci_ip_parse("127.83.0.6", &want);
	assert_true(oci_ip_equal(&got, &want));
	/* An addresses file not as the hook writes it: unknown, refused. */
	addresses("none", "127.83.0.7");
	assert_int_equal(tb_pool_pick(pol, &got, &e), -EIO);
	assert_err(&e, "container none holds: its addresses file cannot be read");
	oci_policy_free(pol);
}

/* A record from before the addresses file is read once: its file is written
 * from it, and the next hand-out reads that instead. */
static void test_old_record_read_once(void **state)
{
	(void)state;
	struct oci_policy *pol;
	struct oci_err e;
	struct oci_ip got;
	const char *doc = "{\"addressPool\": \"127.84.0.0/24\"}";

	oci_err_init(&e);
	assert_int_equal(oci_policy_parse(doc, strlen(doc), &pol, &e), 0);
	record("old", "127.84.0.1");
	record_n("older", "127.84.0.2", 3, false);
	assert_int_equal(tb_pool_pick(pol, &got, &e), 0);
	assert_int_equal(got.a[3], 3);
	record_huge("old");
	record_huge("older");
	assert_int_equal(tb_pool_pick(pol, &got, &e), 0);
	assert_int_equal(oci_err_lines(&e), 0);
	assert_int_equal(got.a[3], 3);
	oci_policy_free(pol);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pick, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_forwards, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_forwards_old_records, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unreadable_record, setup, teardown),
		cmocka_unit_test_setup_teardown(test_records_not_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_old_record_read_once, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
