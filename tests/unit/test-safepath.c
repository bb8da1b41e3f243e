/* SPDX-License-Identifier: MIT */
/* The walk that decides whether anyone but root could change the sidecar
 * root runs (table/safepath.c), on real directories: owners, modes, the
 * sticky bit, symbolic links. Needs root (it chowns), as `make check` does. */
#include "unit.h"

#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../table/table.h"
#include "../../table/safepath.h"

#define NOBODY 65534

/* Under /tmp (1777): a root-owned 0755 directory below a sticky one is the
 * case a tree cloned under /tmp relies on. */
static char top[] = "/tmp/portside-unit-safepath-XXXXXX";

static int make_top(void **state)
{
	(void)state;
	if (geteuid() != 0) {
		fprintf(stderr, "test-safepath needs root (make check runs as root)\n");
		return -1;
	}
	if (!mkdtemp(top) || chmod(top, 0755) < 0)
		return -1;
	return 0;
}

static int remove_top(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	return system(cmd) == 0 ? 0 : -1;
}

/* TOP/REL as a directory of MODE and OWNER; its path in BUF. */
static const char *dir(char *buf, size_t len, const char *rel, mode_t mode, uid_t owner)
{
	snprintf(buf, len, "%s/%s", top, rel);
	assert_true(mkdir(buf, 0700) == 0 || errno == EEXIST);
	assert_int_equal(chown(buf, owner, owner), 0);
	assert_int_equal(chmod(buf, mode), 0);
	return buf;
}

/* TOP/REL as an executable file of MODE and OWNER; its path in BUF. */
static const char *file(char *buf, size_t len, const char *rel, mode_t mode, uid_t owner)
{
	int fd;

	snprintf(buf, len, "%s/%s", top, rel);
	fd = open(buf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0700);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "#!/bin/sh\n", 10), 10);
	close(fd);
	assert_int_equal(chown(buf, owner, owner), 0);
	assert_int_equal(chmod(buf, mode), 0);
	return buf;
}

/* tb_safe_open(PATH) returns RC, with WHY (NULL: anything) in its reason;
 * on success the descriptor is PATH's file (same inode as stat(PATH)). */
static void expect(const char *path, int rc, const char *why)
{
	char got[4096];
	struct stat st, want;
	int fd;

	assert_int_equal(tb_safe_open(path, &fd, &st, got, sizeof(got)), rc);
	if (why && !strstr(got, why)) {
		fprintf(stderr, "reason for %s: \"%s\", wanted \"%s\"\n", path, got, why);
		fail();
	}
	if (rc < 0) {
		assert_int_equal(fd, -1);
		return;
	}
	assert_true(fd >= 0);
	assert_int_equal(stat(path, &want), 0);
	assert_true(st.st_ino == want.st_ino && st.st_dev == want.st_dev);
	close(fd);
}

static void test_root_only(void **state)
{
	(void)state;
	char d[256], f[256];

	dir(d, sizeof(d), "safe", 0755, 0);
	expect(file(f, sizeof(f), "safe/sidecar", 0755, 0), 0, NULL);
	/* Read-only for root alone is as good. */
	expect(file(f, sizeof(f), "safe/readonly", 0500, 0), 0, NULL);
	/* The system's own. */
	expect("/bin/sh", 0, NULL);
}

static void test_file_others_could_change(void **state)
{
	(void)state;
	char d[256], f[256], want[512];

	dir(d, sizeof(d), "safe", 0755, 0);
	file(f, sizeof(f), "safe/nobodys", 0755, NOBODY);
	snprintf(want, sizeof(want), "%s is owned by uid 65534, not root", f);
	expect(f, -EPERM, want);
	file(f, sizeof(f), "safe/groupw", 0775, 0);
	snprintf(want, sizeof(want), "%s is writable by its group (mode 0775)", f);
	expect(f, -EPERM, want);
	file(f, sizeof(f), "safe/worldw", 0757, 0);
	snprintf(want, sizeof(want), "%s is writable by everyone (mode 0757)", f);
	expect(f, -EPERM, want);
}

static void test_dir_others_could_change(void **state)
{
	(void)state;
	char d[256], f[256], want[512];

	/* Each: a root-owned, root-only file in a directory someone else
	 * could rename it out of, or put another in place of. */
	dir(d, sizeof(d), "groupw", 0775, 0);
	file(f, sizeof(f), "groupw/sidecar", 0755, 0);
	snprintf(want, sizeof(want), "%s is writable by its group (mode 0775)", d);
	expect(f, -EPERM, want);

	dir(d, sizeof(d), "worldw", 0777, 0);
	file(f, sizeof(f), "worldw/sidecar", 0755, 0);
	snprintf(want, sizeof(want), "%s is writable by everyone (mode 0777)", d);
	expect(f, -EPERM, want);

	dir(d, sizeof(d), "nobodys", 0755, NOBODY);
	file(f, sizeof(f), "nobodys/sidecar", 0755, 0);
	snprintf(want, sizeof(want), "%s is owned by uid 65534, not root", d);
	expect(f, -EPERM, want);

	/* Higher up counts as much as the file's own directory. */
	dir(d, sizeof(d), "up", 0777, 0);
	dir(d, sizeof(d), "up/down", 0755, 0);
	file(f, sizeof(f), "up/down/sidecar", 0755, 0);
	snprintf(want, sizeof(want), "%s/up is writable by everyone (mode 0777)", top);
	expect(f, -EPERM, want);
}

static void test_sticky(void **state)
{
	(void)state;
	char d[256], f[256], want[512];

	/* Like /tmp: others may add entries, but not touch root's. */
	dir(d, sizeof(d), "sticky", 01777, 0);
	expect(file(f, sizeof(f), "sticky/sidecar", 0755, 0), 0, NULL);
	dir(d, sizeof(d), "sticky/root", 0755, 0);
	expect(file(f, sizeof(f), "sticky/root/sidecar", 0755, 0), 0, NULL);
	/* An entry of someone else's there is theirs to swap. */
	file(f, sizeof(f), "sticky/nobodys", 0755, NOBODY);
	snprintf(want, sizeof(want), "%s is owned by uid 65534 in %s/sticky, which others can write to", f, top);
	expect(f, -EPERM, want);
	dir(d, sizeof(d), "sticky/nobodydir", 0755, NOBODY);
	file(f, sizeof(f), "sticky/nobodydir/sidecar", 0755, 0);
	snprintf(want, sizeof(want), "%s is owned by uid 65534 in %s/sticky", d, top);
	expect(f, -EPERM, want);
	/* A second name of root's file in it: with fs.protected_hardlinks=0
	 * anyone may have linked it there. */
	dir(d, sizeof(d), "linksrc", 0755, 0);
	file(f, sizeof(f), "linksrc/sidecar", 0755, 0);
	snprintf(want, sizeof(want), "%s/sticky/linked", top);
	assert_int_equal(link(f, want), 0);
	{
		char why[1024];

		snprintf(why, sizeof(why), "%s/sticky/linked has 2 hard links in %s/sticky, which others can write to",
			 top, top);
		expect(want, -EPERM, why);
	}
	/* The same file outside a sticky directory passes. */
	expect(f, 0, NULL);
	/* Group-writable and sticky: the same rule. */
	dir(d, sizeof(d), "stickyg", 01775, 0);
	expect(file(f, sizeof(f), "stickyg/sidecar", 0755, 0), 0, NULL);
}

static void test_symlinks(void **state)
{
	(void)state;
	char d[256], f[256], l[256], want[512];

	dir(d, sizeof(d), "real", 0755, 0);
	file(f, sizeof(f), "real/sidecar", 0755, 0);
	dir(d, sizeof(d), "bad", 0777, 0);
	file(f, sizeof(f), "bad/sidecar", 0755, 0);

	/* A link is walked through: relative, absolute, to the file itself,
	 * with "." and ".." on the way. */
	snprintf(l, sizeof(l), "%s/rel", top);
	assert_int_equal(symlink("real", l), 0);
	snprintf(l, sizeof(l), "%s/rel/sidecar", top);
	expect(l, 0, NULL);
	snprintf(l, sizeof(l), "%s/abs", top);
	snprintf(d, sizeof(d), "%s/real", top);
	assert_int_equal(symlink(d, l), 0);
	snprintf(l, sizeof(l), "%s/abs/./sidecar", top);
	expect(l, 0, NULL);
	snprintf(l, sizeof(l), "%s/real/../real/sidecar", top);
	expect(l, 0, NULL);
	snprintf(l, sizeof(l), "%s/real/tofile", top);
	assert_int_equal(symlink("sidecar", l), 0);
	expect(l, 0, NULL);

	/* Where it lands is checked like any other place. */
	snprintf(l, sizeof(l), "%s/tobad", top);
	assert_int_equal(symlink("bad", l), 0);
	snprintf(l, sizeof(l), "%s/tobad/sidecar", top);
	snprintf(want, sizeof(want), "%s/bad is writable by everyone (mode 0777)", top);
	expect(l, -EPERM, want);

	/* A link in a directory others can write to could be theirs; in a
	 * sticky one, it is someone else's when they own it. */
	snprintf(l, sizeof(l), "%s/bad/link", top);
	assert_int_equal(symlink("sidecar", l), 0);
	expect(l, -EPERM, "is writable by everyone");
	dir(d, sizeof(d), "stickyl", 01777, 0);
	file(f, sizeof(f), "stickyl/sidecar", 0755, 0);
	snprintf(l, sizeof(l), "%s/stickyl/nobodys-link", top);
	assert_int_equal(symlink("sidecar", l), 0);
	assert_int_equal(lchown(l, NOBODY, NOBODY), 0);
	snprintf(want, sizeof(want), "%s is owned by uid 65534 in %s/stickyl", l, top);
	expect(l, -EPERM, want);

	/* A loop ends. */
	snprintf(l, sizeof(l), "%s/loop", top);
	assert_int_equal(symlink("loop", l), 0);
	expect(l, -ELOOP, NULL);
}

static void test_walk_errors(void **state)
{
	(void)state;
	char p[256], f[256];

	snprintf(p, sizeof(p), "%s/missing/sidecar", top);
	expect(p, -ENOENT, "missing");
	dir(p, sizeof(p), "safe", 0755, 0);
	file(f, sizeof(f), "safe/sidecar", 0755, 0);
	snprintf(p, sizeof(p), "%s/safe/sidecar/more", top);
	expect(p, -ENOTDIR, NULL);
	expect("relative/sidecar", -EINVAL, "not an absolute path");
	/* A directory at the end is returned as it is, for the caller to
	 * refuse by its type. */
	int fd;
	struct stat st;
	char why[256];
	assert_int_equal(tb_safe_open(top, &fd, &st, why, sizeof(why)), 0);
	assert_true(S_ISDIR(st.st_mode));
	close(fd);
}

/* What the hook says about an unsafe sidecar: one line naming the path, the
 * component and why root cares. */
static void test_refusal(void **state)
{
	(void)state;
	char d[256], f[256], want[1024];
	struct oci_err e;

	dir(d, sizeof(d), "refused", 0775, 0);
	file(f, sizeof(f), "refused/portside-sidecar", 0755, 0);
	oci_err_init(&e);
	assert_int_equal(tb_sidecar_check(f, &e), -EIO);
	assert_int_equal(oci_err_lines(&e), 1);
	snprintf(want, sizeof(want),
		 "sidecar %s: %s is writable by its group (mode 0775); root runs it, so only root may be able to "
		 "change it or a directory above it",
		 f, d);
	assert_err(&e, want);
	assert_null(strchr(e.msg[0], '\n'));
}

/* A noexec mount is refused by the descriptor's mount, not by its path. */
static int noexec_child(void)
{
	char d[256], f[256];
	struct oci_err e;

	snprintf(d, sizeof(d), "%s/noexec", top);
	if (unshare(CLONE_NEWNS) < 0 || mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 || mkdir(d, 0755) < 0 ||
	    mount("tmpfs", d, "tmpfs", MS_NOEXEC, "mode=0755") < 0)
		return 1;
	snprintf(f, sizeof(f), "%s/noexec/portside-sidecar", top);
	int fd = open(f, O_WRONLY | O_CREAT | O_CLOEXEC, 0755);
	if (fd < 0)
		return 2;
	close(fd);
	oci_err_init(&e);
	if (tb_sidecar_check(f, &e) != -EIO || !strstr(e.msg[0], "not executable (mode 0755, on a noexec mount;"))
		return 3;
	return 0;
}

static void test_noexec(void **state)
{
	int st;
	pid_t pid;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(noexec_child());
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_root_only),
		cmocka_unit_test(test_file_others_could_change),
		cmocka_unit_test(test_dir_others_could_change),
		cmocka_unit_test(test_sticky),
		cmocka_unit_test(test_symlinks),
		cmocka_unit_test(test_walk_errors),
		cmocka_unit_test(test_refusal),
		cmocka_unit_test(test_noexec),
	};

	return cmocka_run_group_tests(tests, make_top, remove_top);
}
