/* SPDX-License-Identifier: MIT */
/* The hook's check of the sidecar's path (table/spawn.c), made before anything
 * is forked or bound: every refusal names the path and says what is wrong. */
#include "unit.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../table/table.h"
#include "../../lib/refusal.h"

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

/* Writes DIR/NAME with MODE, beginning as an ELF binary does (or as a
 * script, for script_file); returns its path in BUF. */
static const char *file_of(char *buf, size_t len, const char *name, mode_t mode, const char *head)
{
	int fd;

	snprintf(buf, len, "%s/%s", dir, name);
	fd = open(buf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, head, strlen(head)), (ssize_t)strlen(head));
	close(fd);
	assert_int_equal(chmod(buf, mode), 0);
	return buf;
}

static const char *file(char *buf, size_t len, const char *name, mode_t mode)
{
	return file_of(buf, len, name, mode,
		       "\x7f"
		       "ELF\x02\x01\x01");
}

static void test_missing(void **state)
{
	(void)state;
	char path[128], want[512];
	struct oci_err e;

	snprintf(path, sizeof(path), "%s/no/such/portside-sidecar", dir);
	oci_err_init(&e);
	assert_int_equal(tb_sidecar_check(path, &e), -EIO);
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
	assert_int_equal(tb_sidecar_check(path, &e), -EIO);
	snprintf(want, sizeof(want), "sidecar %s: not executable (mode 0644;", path);
	assert_err(&e, want);
}

static void test_not_regular(void **state)
{
	(void)state;
	struct oci_err e;
	char want[512];

	oci_err_init(&e);
	assert_int_equal(tb_sidecar_check(dir, &e), -EIO);
	snprintf(want, sizeof(want), "sidecar %s: not a regular file", dir);
	assert_err(&e, want);
	oci_err_init(&e);
	assert_int_equal(tb_sidecar_check("build/portside-sidecar", &e), -EIO);
	assert_err(&e, "sidecar build/portside-sidecar: not an absolute path");
}

static void test_executable(void **state)
{
	(void)state;
	char path[128];
	struct oci_err e;

	oci_err_init(&e);
	assert_int_equal(tb_sidecar_check(file(path, sizeof(path), "ok", 0755), &e), 0);
	assert_int_equal(oci_err_lines(&e), 0);
}

/* A script would fail under execveat from a close-on-exec descriptor with
 * ENOENT; it is refused by what it is, and so is a file too short to say. */
static void test_script(void **state)
{
	(void)state;
	char path[128], want[256];
	struct oci_err e;

	oci_err_init(&e);
	assert_int_equal(tb_sidecar_check(file_of(path, sizeof(path), "script", 0755, "#!/bin/sh\n"), &e), -EIO);
	snprintf(want, sizeof(want), "sidecar %s: not an ELF executable (a script cannot be run from a descriptor;",
		 path);
	assert_err(&e, want);
	assert_int_equal(oci_err_lines(&e), 1);
	oci_err_init(&e);
	assert_int_equal(tb_sidecar_check(file_of(path, sizeof(path), "short", 0755, "\x7f"), &e), -EIO);
	assert_err(&e, "not an ELF executable");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_missing),	       cmocka_unit_test(test_script),
		cmocka_unit_test(test_not_executable), cmocka_unit_test(test_not_regular),
		cmocka_unit_test(test_executable),
	};

	return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
