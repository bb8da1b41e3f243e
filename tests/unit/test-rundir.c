/* SPDX-License-Identifier: MIT */
/* A container's state directory (lib/rundir.c): ps_state_remove takes every
 * file of the layout, the temporary copies ps_write_file makes, and the
 * files an earlier portside wrote there, then the directory itself. */
#include "unit.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../lib/rundir.h"

static char root[64];

static void touch(const char *id, const char *name)
{
	char path[4096];
	int fd;

	assert_int_equal(ps_path(path, sizeof(path), id, name), 0);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
}

static void test_remove_everything(void **state)
{
	(void)state;
	char path[4096], tmp[4200];

	snprintf(root, sizeof(root), "/tmp/portside-rundir-XXXXXX");
	assert_non_null(mkdtemp(root));
	setenv("PORTSIDE_RUN_DIR", root, 1);
	assert_int_equal(ps_run_dir_init(), 0);
	assert_int_equal(ps_path(path, sizeof(path), "ct1", NULL), 0);
	assert_int_equal(mkdir(path, 0700), 0);
	for (int f = 0; f < PS_FILES; f++) {
		assert_int_equal(ps_file(path, sizeof(path), "ct1", (enum ps_file)f), 0);
		snprintf(tmp, sizeof(tmp), "%s.tmp", ps_file_name((enum ps_file)f));
		touch("ct1", ps_file_name((enum ps_file)f));
		touch("ct1", tmp);
	}
	/* Written by portside before they joined forwards.json. */
	touch("ct1", "sidecar");
	touch("ct1", "name");
	assert_int_equal(ps_state_remove("ct1"), 0);
	assert_int_equal(ps_path(path, sizeof(path), "ct1", NULL), 0);
	assert_int_equal(access(path, F_OK), -1);
	/* Gone already: nothing to do, no error. */
	assert_int_equal(ps_state_remove("ct1"), 0);
	/* A file portside never wrote stays, and so does the directory. */
	assert_int_equal(mkdir(path, 0700), 0);
	touch("ct1", "unknown");
	assert_true(ps_state_remove("ct1") < 0);
	assert_int_equal(ps_path(path, sizeof(path), "ct1", "unknown"), 0);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(ps_state_remove("ct1"), 0);
	snprintf(tmp, sizeof(tmp), "rm -rf '%s'", root);
	assert_int_equal(system(tmp), 0);
	unsetenv("PORTSIDE_RUN_DIR");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_remove_everything),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
