/* SPDX-License-Identifier: MIT */
/* The identities the kernel never reuses (lib/identity.c): a process's start
 * time read from its stat, a process pinned race-free, a network namespace's
 * cookie. Real processes and namespaces, no mocks. */
#include "unit.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../base/cleanup.h"
#include "../../lib/identity.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

static int start_of(const char *line, unsigned long long *out)
{
	return ps_stat_start_time(line, strlen(line), out);
}

/* 52 fields as Linux writes them, the start time (22) 8899. */
#define TAIL                                                                                                           \
	" S 1 42 42 0 -1 4194560 500 0 0 0 3 4 0 0 20 0 1 0 8899 1000000 200 18446744073709551615 1 1 0 0 0 0 0 0 0 "  \
	"0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n"

static void test_stat_start_time(void **state)
{
	(void)state;
	unsigned long long t = 0;

	assert_int_equal(start_of("42 (sleep)" TAIL, &t), 0);
	assert_true(t == 8899);
	/* A comm is the process's to choose: spaces and parentheses in it do
	 * not shift the fields. */
	t = 0;
	assert_int_equal(start_of("42 (a) 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20)" TAIL, &t), 0);
	assert_true(t == 8899);
	t = 0;
	assert_int_equal(start_of("42 ( ) ( )" TAIL, &t), 0);
	assert_true(t == 8899);
	/* Cut short, not a number, too large, no comm at all. */
	assert_int_equal(start_of("42 (sleep) S 1 42 42 0 -1 4194560 500 0 0 0 3 4 0 0 20 0 1 0", &t), -EINVAL);
	assert_int_equal(start_of("42 (sleep) S 1 42 42 0 -1 4194560 500 0 0 0 3 4 0 0 20 0 1 0 ", &t), -EINVAL);
	assert_int_equal(start_of("42 (sleep) S 1 42 42 0 -1 4194560 500 0 0 0 3 4 0 0 20 0 1 0 88x9 1", &t), -EINVAL);
	assert_int_equal(start_of("42 (sleep) S 1 42 42 0 -1 4194560 500 0 0 0 3 4 0 0 20 0 1 0 -1 1", &t), -EINVAL);
	assert_int_equal(
		start_of("42 (sleep) S 1 42 42 0 -1 4194560 500 0 0 0 3 4 0 0 20 0 1 0 99999999999999999999 1", &t),
		-EINVAL);
	assert_int_equal(start_of("42 sleep S 1 42 42 0 -1 4194560 500 0 0 0 3 4 0 0 20 0 1 0 8899 1", &t), -EINVAL);
	assert_int_equal(start_of("", &t), -EINVAL);
	/* The length bounds it, not a NUL. */
	assert_int_equal(ps_stat_start_time("42 (sleep)" TAIL, 30, &t), -EINVAL);
}

/* The start time as /proc/PID/stat says it, parsed here another way. */
static unsigned long long stat_field22(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	p = strrchr(buf, ')');
	assert_non_null(p);
	assert_int_equal(
		sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu", &v),
		1);
	return v;
}

static void test_proc_pin(void **state)
{
	(void)state;
	cleanup_close int pidfd = -1, dir = -1;
	unsigned long long start = 0, again = 0;
	pid_t child;
	int status;

	assert_int_equal(ps_proc_pin(getpid(), &pidfd, &dir, &start), 0);
	assert_true(pidfd >= 0 && dir >= 0);
	assert_true(start > 0 && start == stat_field22(getpid()));
	assert_int_equal(ps_proc_start_time(dir, &again), 0);
	assert_true(again == start);

	/* A child that started later has a later (or, within a tick, equal)
	 * start time: pid and start together tell it apart. */
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		pause();
		_exit(0);
	}
	cleanup_close int cfd = -1, cdir = -1;
	unsigned long long cstart = 0;
	assert_int_equal(ps_proc_pin(child, &cfd, &cdir, &cstart), 0);
	assert_true(cstart >= start && cstart == stat_field22(child));
	/* Exited, not yet reaped: a zombie is gone. */
	kill(child, SIGKILL);
	struct pollfd p = {.fd = cfd, .events = POLLIN};
	assert_int_equal(poll(&p, 1, 5000), 1);
	assert_int_equal(ps_proc_pin(child, NULL, NULL, &cstart), -ESRCH);
	/* Reaped: its directory, kept open, no longer reads as anyone. */
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(ps_proc_start_time(cdir, &cstart) < 0);
	assert_int_equal(ps_proc_pin(child, NULL, NULL, &cstart), -ESRCH);
	assert_int_equal(ps_proc_pin(0, NULL, NULL, &cstart), -ESRCH);
	assert_int_equal(ps_proc_pin(-1, NULL, NULL, &cstart), -ESRCH);
}

/* The cookie of this process's own netns, read directly. */
/* The btime line of a /proc/stat, among the others. */
static void test_stat_boot_time(void **state)
{
	(void)state;
	static const char stat[] = "cpu  1 2 3 4 5 6 7 0 0 0\ncpu0 1 2 3 4 5 6 7 0 0 0\nintr 99 0 1 2\nctxt 5\n"
				   "btime 1700000000\nprocesses 9\n";
	time_t t = 0, now = time(NULL), began = 0;
	unsigned long long own = 0;

	assert_int_equal(ps_stat_boot_time(stat, strlen(stat), &t), 0);
	assert_true(t == 1700000000);
	/* Last line, no newline. */
	assert_int_equal(ps_stat_boot_time("ctxt 5\nbtime 42", 15, &t), 0);
	assert_true(t == 42);
	/* Missing, empty, not a number, only a line's middle. */
	assert_int_equal(ps_stat_boot_time("ctxt 5\n", 7, &t), -EINVAL);
	assert_int_equal(ps_stat_boot_time("btime \n", 7, &t), -EINVAL);
	assert_int_equal(ps_stat_boot_time("btime 12x\n", 10, &t), -EINVAL);
	assert_int_equal(ps_stat_boot_time("xbtime 12\n", 10, &t), -EINVAL);
	assert_int_equal(ps_stat_boot_time("btime 99999999999999999999\n", 27, &t), -EINVAL);
	/* This process began a moment ago, by the wall clock. */
	assert_int_equal(ps_proc_pin(getpid(), NULL, NULL, &own), 0);
	assert_int_equal(ps_start_wall_time(own, &began), 0);
	assert_true(began <= now + 1 && began > now - 600);
}

static uint64_t own_cookie(void)
{
	cleanup_close int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	uint64_t c = 0;
	socklen_t len = sizeof(c);

	assert_true(s >= 0);
	assert_int_equal(getsockopt(s, SOL_SOCKET, SO_NETNS_COOKIE, &c, &len), 0);
	return c;
}

static void test_netns_cookie(void **state)
{
	(void)state;
	cleanup_close int self = -1, other = -1, notns = -1;
	uint64_t c = 0, c2 = 0, again = 0;
	int fds[2];
	pid_t child;

	/* Entering a namespace takes CAP_SYS_ADMIN: a skip here would pass a
	 * run that checked nothing. */
	if (geteuid() != 0)
		fail_msg("test_netns_cookie needs root (make check runs as root)");
	self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	assert_true(self >= 0);
	int rc = ps_netns_cookie(self, &c);
	if (rc == -ENOPROTOOPT)
		skip(); /* a kernel before 5.14: the record keeps none */
	assert_int_equal(rc, 0);
	assert_true(c != 0 && c == own_cookie());
	/* The same namespace, the same cookie. */
	assert_int_equal(ps_netns_cookie(self, &again), 0);
	assert_true(again == c);

	/* A namespace of its own: another cookie. */
	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		char b;

		if (unshare(CLONE_NEWNET) < 0)
			_exit(1);
		close(fds[1]);
		(void)!read(fds[0], &b, 1); /* until the parent is done */
		_exit(0);
	}
	close(fds[0]);
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)child);
	for (int i = 0; i < 500; i++) { /* until it has unshared: 5 s at most */
		cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
		struct stat a, b;

		if (fd >= 0 && fstat(fd, &a) == 0 && fstat(self, &b) == 0 && a.st_ino != b.st_ino) {
			other = fd;
			fd = -1;
			break;
		}
		usleep(10000);
	}
	assert_true(other >= 0);
	assert_int_equal(ps_netns_cookie(other, &c2), 0);
	assert_true(c2 != 0 && c2 != c);
	close(fds[1]);
	assert_int_equal(waitpid(child, NULL, 0), child);

	/* Not a network namespace: refused, not a cookie. */
	notns = open("/proc/self/ns/uts", O_RDONLY | O_CLOEXEC);
	assert_true(notns >= 0);
	assert_true(ps_netns_cookie(notns, &again) < 0);
	assert_true(ps_netns_cookie(-1, &again) < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stat_start_time),
		cmocka_unit_test(test_proc_pin),
		cmocka_unit_test(test_stat_boot_time),
		cmocka_unit_test(test_netns_cookie),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
