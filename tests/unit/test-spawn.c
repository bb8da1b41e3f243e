/* SPDX-License-Identifier: MIT */
/* The hook's check of the sidecar's path (hook/spawn.c), made before anything
 * is forked or bound: every refusal names the path and says what is wrong. */
#include "unit.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../hook/hook.h"
#include "../../lib/refusal.h"

/* hook/main.c's, which this test does not link. */
void hook_warn(const char *fmt, ...)
{
	(void)fmt;
}

static char dir[] = "/tmp/portside-unit-spawn-XXXXXX";

static int make_dir(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Writes DIR/NAME with MODE; returns its path in BUF. */
static const char *file(char *buf, size_t len, const char *name, mode_t mode)
{
	int fd;

	snprintf(buf, len, "%s/%s", dir, name);
	fd = open(buf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "#!/bin/sh\n", 10), 10);
	close(fd);
	assert_int_equal(chmod(buf, mode), 0);
	return buf;
}

static void test_missing(void **state)
{
	(void)state;
	char path[128], want[512];
	struct oci_err e;

	snprintf(path, sizeof(path), "%s/no/such/portside-sidecar", dir);
	oci_err_init(&e);
	assert_int_equal(hook_sidecar_check(path, &e), -EIO);
	assert_int_equal(oci_err_lines(&e), 1);
	snprintf(want, sizeof(want), "sidecar %s: not found (reinstall portside, or pass --sidecar PATH", path);
	assert_err(&e, want);
	/* doctor's reason: the sidecar, not the annotation. */
	assert_int_equal(ps_reason_of(e.code[0]), PS_REASON_SIDECAR);
}

static void test_not_executable(void **state)
{
	(void)state;
	char path[128], want[512];
	struct oci_err e;

	file(path, sizeof(path), "plain", 0644);
	oci_err_init(&e);
	assert_int_equal(hook_sidecar_check(path, &e), -EIO);
	snprintf(want, sizeof(want), "sidecar %s: not executable (mode 0644;", path);
	assert_err(&e, want);
}

static void test_not_regular(void **state)
{
	(void)state;
	struct oci_err e;
	char want[512];

	oci_err_init(&e);
	assert_int_equal(hook_sidecar_check(dir, &e), -EIO);
	snprintf(want, sizeof(want), "sidecar %s: not a regular file", dir);
	assert_err(&e, want);
	oci_err_init(&e);
	assert_int_equal(hook_sidecar_check("build/portside-sidecar", &e), -EIO);
	assert_err(&e, "sidecar build/portside-sidecar: not an absolute path");
}

static void test_executable(void **state)
{
	(void)state;
	char path[128];
	struct oci_err e;

	oci_err_init(&e);
	assert_int_equal(hook_sidecar_check(file(path, sizeof(path), "ok", 0755), &e), 0);
	assert_int_equal(oci_err_lines(&e), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_missing),
		cmocka_unit_test(test_not_executable),
		cmocka_unit_test(test_not_regular),
		cmocka_unit_test(test_executable),
	};

	return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
