/* SPDX-License-Identifier: MIT */
/* Leasing the sidecars' uids (lib/uids.c) in a run directory of the test's
 * own: distinct, reused only once free, never one a live process has, and
 * never the same to two hooks racing without the lock. Needs root (a child
 * takes a uid of the range), as `make check` does. */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../lib/uids.h"

static char root[] = "/tmp/portside-unit-uids-XXXXXX";

static int make_root(void **state)
{
	(void)state;
	if (geteuid() != 0) {
		fprintf(stderr, "test-uids needs root (make check runs as root)\n");
		return -1;
	}
	if (!mkdtemp(root))
		return -1;
	return setenv("PORTSIDE_RUN_DIR", root, 1);
}

static int remove_root(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

/* Empties ROOT/uids between tests. */
static int clear(void **state)
{
	char cmd[160];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s/uids'", root);
	return system(cmd) == 0 ? 0 : -1;
}

/* The lease file of U: its content, or "" when there is none. */
static const char *lease(uid_t u)
{
	static char buf[256];
	char path[256];
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/uids/%u", root, (unsigned)u);
	buf[0] = '\0';
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return buf;
	n = read(fd, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	close(fd);
	return buf;
}

/* A child that runs as U until killed, as a sidecar would. */
static pid_t run_as(uid_t u)
{
	int p[2];
	char c;
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (setresgid(u, u, u) < 0 || setresuid(u, u, u) < 0)
			_exit(1);
		close(p[0]);
		close(p[1]); /* ready */
		pause();
		_exit(0);
	}
	close(p[1]);
	assert_int_equal(read(p[0], &c, 1), 0);
	close(p[0]);
	return pid;
}

static void stop(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static void test_distinct_and_reused(void **state)
{
	(void)state;
	uid_t a, b, again;
	struct stat st;
	char path[256];

	assert_int_equal(ps_uid_acquire("ct-a", &a), 0);
	assert_int_equal(ps_uid_acquire("ct-b", &b), 0);
	assert_true(ps_uid_in_range(a) && ps_uid_in_range(b));
	assert_true(a != b);
	assert_true(a != 65534 && b != 65534 && a > 65535);
	assert_string_equal(lease(a), "ct-a");
	assert_string_equal(lease(b), "ct-b");
	snprintf(path, sizeof(path), "%s/uids/%u", root, (unsigned)a);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	/* A container's own lease again (a restore): the same uid. */
	assert_int_equal(ps_uid_acquire("ct-a", &again), 0);
	assert_int_equal(again, a);
	/* Released: a's only; the next container may get it. */
	ps_uid_release("ct-a");
	assert_string_equal(lease(a), "");
	assert_string_equal(lease(b), "ct-b");
	assert_int_equal(ps_uid_acquire("ct-c", &again), 0);
	assert_true(again != b && ps_uid_in_range(again));
}

static void test_in_use_is_skipped_and_kept(void **state)
{
	(void)state;
	uid_t a, b, c;
	pid_t pid;

	assert_int_equal(ps_uid_acquire("ct-a", &a), 0);
	/* A process runs as a's uid (its sidecar, or anything else). */
	pid = run_as(a);
	/* Not released while it runs, by a release or a sweep... */
	ps_uid_release("ct-a");
	assert_string_equal(lease(a), "ct-a");
	assert_int_equal(ps_uid_sweep(), 0);
	assert_string_equal(lease(a), "ct-a");
	/* ...and not handed out again even when its lease is gone. */
	char path[256];
	snprintf(path, sizeof(path), "%s/uids/%u", root, (unsigned)a);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(ps_uid_acquire("ct-b", &b), 0);
	assert_true(b != a);
	/* ct-b's own lease, while a process has its uid: a new one. */
	stop(pid);
	pid = run_as(b);
	assert_int_equal(ps_uid_acquire("ct-b", &c), 0);
	assert_true(c != b);
	stop(pid);
	/* Nothing runs as them now (a zombie holds nothing): swept. */
	assert_int_equal(ps_uid_sweep(), 2);
	assert_string_equal(lease(b), "");
	assert_string_equal(lease(c), "");
}

static void test_stray_files_ignored(void **state)
{
	(void)state;
	char path[256];
	uid_t u;
	int fd;

	/* A lease file of the range made by someone else is skipped as
	 * leased when the directory is read, before any O_EXCL; names that are
	 * no uid of the range are neither leases nor errors. */
	assert_int_equal(ps_uid_acquire("ct-a", &u), 0);
	ps_uid_release("ct-a");
	snprintf(path, sizeof(path), "%s/uids/%u", root, (unsigned)u);
	assert_true((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600)) >= 0);
	close(fd);
	snprintf(path, sizeof(path), "%s/uids/65534", root);
	assert_true((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600)) >= 0);
	close(fd);
	snprintf(path, sizeof(path), "%s/uids/junk", root);
	assert_true((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600)) >= 0);
	close(fd);
	uid_t v;
	assert_int_equal(ps_uid_acquire("ct-b", &v), 0);
	assert_true(v != u && ps_uid_in_range(v));
	/* The sweep takes leases only: the strays outside the range stay. */
	assert_int_equal(ps_uid_sweep(), 2);
	snprintf(path, sizeof(path), "%s/uids/65534", root);
	assert_int_equal(access(path, F_OK), 0);
}

#define RACERS 8

/* Hooks that race without the lock still never share a uid: the lease is
 * made with O_EXCL. */
static void test_racing_hooks(void **state)
{
	(void)state;
	int p[2];
	pid_t pids[RACERS];
	uid_t got[RACERS];

	assert_int_equal(pipe(p), 0);
	for (int i = 0; i < RACERS; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			char id[32];
			uid_t u = 0;

			snprintf(id, sizeof(id), "racer-%d", i);
			if (ps_uid_acquire(id, &u) < 0)
				u = 0;
			_exit(write(p[1], &u, sizeof(u)) == sizeof(u) ? 0 : 1);
		}
	}
	close(p[1]);
	for (int i = 0; i < RACERS; i++) {
		assert_int_equal(read(p[0], &got[i], sizeof(got[i])), sizeof(got[i]));
		assert_true(ps_uid_in_range(got[i]));
		for (int j = 0; j < i; j++)
			assert_true(got[i] != got[j]);
	}
	close(p[0]);
	for (int i = 0; i < RACERS; i++)
		waitpid(pids[i], NULL, 0);
}

/* Forks a child in a mount namespace of its own where /etc/passwd names
 * every uid of the range but A and B, and /etc/group names B when
 * GROUP_B: the choice it is left is between those two, and can be checked
 * (65534 lease files would cost each acquire as many reads). Returns 0 in
 * the child, its pid in the parent; a child that cannot set up exits 100. */
static pid_t fork_limited(uid_t a, uid_t b, bool group_b)
{
	char pw[300], gr[300];
	pid_t pid = fork();
	FILE *f;

	assert_true(pid >= 0);
	if (pid)
		return pid;
	/* A scan that looked each uid up in a passwd this long would take
	 * hours: a failure, not a hang. */
	alarm(20);
	snprintf(pw, sizeof(pw), "%s/passwd", root);
	snprintf(gr, sizeof(gr), "%s/group", root);
	if (!(f = fopen(pw, "we")))
		_exit(100);
	fprintf(f, "root:x:0:0:root:/root:/bin/sh\n");
	for (unsigned i = 0; i < ps_uid_count(); i++)
		if (ps_uid_base() + i != a && ps_uid_base() + i != b)
			fprintf(f, "u%u:x:%u:0::/:/bin/false\n", i, ps_uid_base() + i);
	fclose(f);
	if (!(f = fopen(gr, "we")))
		_exit(100);
	fprintf(f, "root:x:0:\n");
	if (group_b)
		fprintf(f, "svc:x:%u:\n", (unsigned)b);
	fclose(f);
	if (unshare(CLONE_NEWNS) < 0 || mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount(pw, "/etc/passwd", NULL, MS_BIND, NULL) < 0 || mount(gr, "/etc/group", NULL, MS_BIND, NULL) < 0)
		_exit(100);
	return 0;
}

static void wait_ok(pid_t pid)
{
	int status;

	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* In a child: acquires for "probe" ROUNDS times, releasing each; exits 1
 * unless every one was WANT. */
static void __attribute__((noreturn)) always(uid_t want, int rounds)
{
	for (int i = 0; i < rounds; i++) {
		uid_t u = 0;

		if (ps_uid_acquire("probe", &u) < 0 || u != want)
			_exit(1);
		ps_uid_release("probe");
	}
	_exit(0);
}

/* Not the lowest free uid first: a container must not be able to tell
 * which uid its sidecar will get. The lowest-first choice gives twelve
 * leases in rising order (past uids running sidecars hold); a random one
 * does so with odds of 1 in 12!, about 2e-9. */
static void test_random(void **state)
{
	(void)state;
	bool rising = true;
	uid_t last = 0;

	for (unsigned i = 0; i < 12; i++) {
		char id[16];
		uid_t u;

		snprintf(id, sizeof(id), "ct-%u", i);
		assert_int_equal(ps_uid_acquire(id, &u), 0);
		assert_true(ps_uid_in_range(u));
		rising = rising && u > last;
		last = u;
	}
	assert_false(rising);
}

/* A child as root with A among its supplementary groups, or a thread of it
 * whose own uid (set by the raw system call, for that thread alone) is A. */
struct thread_arg {
	uid_t uid;
	int ready;
};

static void *thread_as(void *arg)
{
	struct thread_arg *t = arg;

	if (syscall(SYS_setresuid, t->uid, t->uid, t->uid) == 0)
		close(t->ready);
	pause();
	return NULL;
}

static pid_t run_with(uid_t a, bool thread)
{
	int p[2];
	char c;
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct thread_arg t = {a, p[1]};
		gid_t g = a;
		pthread_t th;

		/* Gone with the test, even one that failed before stop(). */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(p[0]);
		if (thread) {
			if (pthread_create(&th, NULL, thread_as, &t) != 0)
				_exit(1);
		} else {
			if (setgroups(1, &g) < 0)
				_exit(1);
			close(p[1]); /* ready */
		}
		pause();
		_exit(0);
	}
	close(p[1]);
	assert_int_equal(read(p[0], &c, 1), 0);
	close(p[0]);
	return pid;
}

/* Supplementary groups and threads' own ids hold a uid too: of the two free
 * ones, the lower is held, so a scan that missed it could take it (and the
 * old lowest-first choice would). */
static void test_groups_and_threads_held(void **state)
{
	(void)state;
	uid_t a = ps_uid_base() + 10, b = ps_uid_base() + 20;
	pid_t pid, child;

	for (int thread = 0; thread < 2; thread++) {
		pid = run_with(a, thread);
		if (!(child = fork_limited(a, b, false)))
			always(b, 4);
		wait_ok(child);
		stop(pid);
	}
	/* Neither held now: two leases take both. */
	if (!(child = fork_limited(a, b, false))) {
		uid_t u, v;

		_exit(ps_uid_acquire("probe", &u) < 0 || ps_uid_acquire("probe-2", &v) < 0 ||
		      !((u == a && v == b) || (u == b && v == a)));
	}
	wait_ok(child);
}

/* The starts of one second share a scan (ROOT/uids/.running): a process
 * started after it is still seen, and one gone since holds nothing. */
/* Whether the record at PATH ("PID INO ID..." a line) has a line for PID,
 * and, unless ID is 0, one that holds ID. */
static bool record_has(const char *path, pid_t pid, uid_t id)
{
	FILE *f = fopen(path, "re");
	char line[4096];
	bool found = false;

	while (f && !found && fgets(line, sizeof(line), f)) {
		char *end;

		if (strtol(line, &end, 10) != pid || (*end != ' ' && *end != '\n'))
			continue;
		strtoul(end, &end, 10); /* the inode */
		found = id == 0;
		while (!found && *end == ' ')
			found = strtoul(end, &end, 10) == id;
	}
	if (f)
		fclose(f);
	return found;
}

static bool same_mtime(const char *path, const struct stat *then)
{
	struct stat st;

	return stat(path, &st) == 0 && st.st_mtim.tv_sec == then->st_mtim.tv_sec &&
	       st.st_mtim.tv_nsec == then->st_mtim.tv_nsec;
}

/* A record of this process alone (its pid and /proc inode) holding ID. */
static bool write_record(const char *path, uid_t id)
{
	struct stat st;
	char line[96];
	int fd, n;

	if (stat("/proc/self", &st) < 0)
		return false;
	n = snprintf(line, sizeof(line), "%d %lu %u\n", (int)getpid(), (unsigned long)st.st_ino, (unsigned)id);
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return false;
	if (write(fd, line, (size_t)n) != n) {
		close(fd);
		return false;
	}
	return close(fd) == 0;
}

static void test_recent_scan(void **state)
{
	(void)state;
	uid_t a = ps_uid_base() + 10, b = ps_uid_base() + 20;
	pid_t child;

	if (!(child = fork_limited(a, b, false))) {
		char path[256];
		struct stat st;
		uid_t u;
		pid_t p;
		bool ok = true;

		/* A first start scans, and records what it read. */
		if (ps_uid_acquire("first", &u) < 0)
			_exit(2);
		ps_uid_release("first");
		snprintf(path, sizeof(path), "%s/uids/.running", root);
		if (stat(path, &st) < 0 || !S_ISREG(st.st_mode) || (st.st_mode & 07777) != 0600)
			_exit(3);
		/* A process with a's uid since: every start then takes b. */
		p = run_as(a);
		for (int i = 0; i < 3; i++) {
			ok = ok && ps_uid_acquire("probe", &u) == 0 && u == b;
			ps_uid_release("probe");
		}
		/* Those starts read it and recorded it. */
		ok = ok && record_has(path, p, a);
		stop(p);
		/* Gone: a is free again, though the record says it was held. */
		ok = ok && ps_uid_acquire("probe", &u) == 0 && ps_uid_acquire("probe-2", &b) == 0 && (u == a || b == a);
		ps_uid_release("probe");
		ps_uid_release("probe-2");
		if (!ok)
			_exit(1);
		/* What the next start of the second goes by is the record: this
		 * process, by its /proc inode, said to hold b makes b taken,
		 * though nothing runs as b; a is what is left. And the start
		 * records what it read with the record's entries, under the
		 * record's time, not its own. */
		b = ps_uid_base() + 20;
		if (!write_record(path, b) || stat(path, &st) < 0)
			_exit(4);
		ok = ps_uid_acquire("probe", &u) == 0 && u == a && ps_uid_acquire("probe-2", &u) == -EUSERS &&
		     record_has(path, getpid(), b) && record_has(path, 1, 0) && same_mtime(path, &st);
		_exit(ok ? 0 : 5);
	}
	wait_ok(child);
}

/* /etc/passwd and /etc/group, read as files, hold the ids they name: with
 * A passwd's too and B group's, nothing is left. */
static void test_named_held(void **state)
{
	(void)state;
	uid_t a = ps_uid_base() + 10, b = ps_uid_base() + 20, u;
	pid_t child;
	int fd;
	char path[300];

	/* A is leased (not named): B alone is left, and group names it. */
	snprintf(path, sizeof(path), "%s/uids", root);
	assert_true(mkdir(path, 0700) == 0 || errno == EEXIST);
	snprintf(path, sizeof(path), "%s/uids/%u", root, (unsigned)a);
	assert_true((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) >= 0);
	close(fd);
	if (!(child = fork_limited(a, b, true)))
		_exit(ps_uid_acquire("probe", &u) != -EUSERS);
	wait_ok(child);
	/* Without the group entry, B it is. */
	if (!(child = fork_limited(a, b, false)))
		always(b, 1);
	wait_ok(child);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_distinct_and_reused, clear),
		cmocka_unit_test_setup(test_in_use_is_skipped_and_kept, clear),
		cmocka_unit_test_setup(test_stray_files_ignored, clear),
		cmocka_unit_test_setup(test_racing_hooks, clear),
		cmocka_unit_test_setup(test_random, clear),
		cmocka_unit_test_setup(test_groups_and_threads_held, clear),
		cmocka_unit_test_setup(test_recent_scan, clear),
		cmocka_unit_test_setup(test_named_held, clear),
	};

	return cmocka_run_group_tests(tests, make_root, remove_root);
}
