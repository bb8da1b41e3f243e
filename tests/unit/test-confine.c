/* SPDX-License-Identifier: MIT */
/* What the running sidecar can no longer do (sidecar/confine.c), checked in a
 * forked child that confines itself exactly as the sidecar does; and the
 * sidecar log's bound (sidecar/log.c). Needs root, as `make check` does. */
#include "unit.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../lib/uids.h"
#include "../../sidecar/bpf.h"
#include "../../sidecar/sidecar.h"

/* Runs FN in a child; returns its exit status (0: every check held). */
static int in_child(int (*fn)(void))
{
	int st;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(fn());
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 100 + WTERMSIG(st);
}

/* What the hook would lease (lib/uids.h): the range's last uid. */
static uid_t leased(void)
{
	return ps_uid_base() + ps_uid_count() - 1;
}

static int confined_sidecar(void)
{
	const char *what;
	pid_t parent = getppid();
	int fd;

	if (sc_confine_as(leased()) < 0 || sc_confine(&what) < 0)
		return 1;
	if (getuid() != leased() || geteuid() != leased() || getgid() != leased() || getegid() != leased())
		return 8; /* the uid leased, as its gid too */
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) >= 0 || errno != EPERM)
		return 2; /* no new unix sockets: nothing to reach on the host */
	if ((fd = socket(AF_NETLINK, SOCK_DGRAM, 0)) >= 0 || errno != EPERM)
		return 3; /* no netlink of the host's netns */
	if (kill(parent, 0) == 0 || errno != EPERM)
		return 4; /* no signal to anyone else */
	if (kill(getpid(), 0) != 0)
		return 5; /* itself: abort() and sanitizers still work */
	/* No socket of the host's netns at all, automatic forwarding or not:
	 * one could be connected to the host's loopback services (host
	 * listeners come from the listener factory). */
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) >= 0 || errno != EPERM)
		return 6;
	if ((fd = socket(AF_INET6, SOCK_DGRAM, 0)) >= 0 || errno != EPERM)
		return 9;
	if (open("/etc/hostname", O_RDONLY) >= 0 || errno != EPERM)
		return 7; /* opens nothing */
	return 0;
}

static void test_sidecar_filter(void **state)
{
	(void)state;
	if (geteuid() != 0) {
		fprintf(stderr, "test-confine needs root (make check runs as root)\n");
		fail();
	}
	assert_int_equal(in_child(confined_sidecar), 0);
}

/* Without a uid the hook leased, nothing is dropped to a default. */
static int unleased_sidecar(void)
{
	const char *what;

	if (sc_confine(&what) != -EINVAL || getuid() != 0)
		return 1;
	return strcmp(what, "choosing the uid (none was given)") ? 2 : 0;
}

static void test_uid_is_leased(void **state)
{
	(void)state;
	/* Root, nobody (every unconfined nobody process would share it) and
	 * anything outside the range are refused. */
	assert_int_equal(sc_confine_as(0), -EINVAL);
	assert_int_equal(sc_confine_as(65534), -EINVAL);
	assert_int_equal(sc_confine_as(ps_uid_base() - 1), -EINVAL);
	assert_int_equal(sc_confine_as(ps_uid_base() + ps_uid_count()), -EINVAL);
	assert_true(ps_uid_base() > 65535);
	assert_int_equal(in_child(unleased_sidecar), 0);
}

/* No capability left, in any set, whatever the policy's hand-out ports:
 * CAP_NET_BIND_SERVICE is the listener factory's alone. */
static int confined_no_caps(void)
{
	char line[128];
	const char *what;
	FILE *f = fopen("/proc/self/status", "r");
	int seen = 0;

	if (!f)
		return 1;
	if (sc_confine_as(leased()) < 0 || sc_drop_privileges(false, &what) < 0)
		return 2;
	while (fgets(line, sizeof(line), f))
		if ((!strncmp(line, "CapEff:", 7) || !strncmp(line, "CapPrm:", 7) || !strncmp(line, "CapBnd:", 7) ||
		     !strncmp(line, "CapInh:", 7) || !strncmp(line, "CapAmb:", 7)) &&
		    ++seen && !strstr(line, "\t0000000000000000"))
			return 3;
	fclose(f);
	return seen == 5 ? 0 : 4;
}

static void test_no_caps(void **state)
{
	(void)state;
	assert_int_equal(geteuid(), 0);
	assert_int_equal(in_child(confined_no_caps), 0);
}

/* EPERM, and nothing done. */
#define REFUSED(call) ((call) < 0 && errno == EPERM)

/* fcntl and ioctl: the commands the sidecar makes work; those that let the
 * kernel signal a process of its choosing (F_SETOWN, F_SETSIG, O_ASYNC,
 * FIOSETOWN, SIOCSPGRP, FIOASYNC) are refused. The descriptors are made
 * before confinement, as the sidecar's are. */
static int confined_fd_control(void)
{
	const char *what;
	int sv[2], pp[2], one = 1, pid = getppid(), fd;
	struct f_owner_ex ex = {F_OWNER_PID, pid};

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0 || pipe(pp) < 0)
		return 1;
	if (sc_confine_as(leased()) < 0 || sc_confine(&what) < 0)
		return 2;
	if (!REFUSED(fcntl(sv[0], F_SETOWN, pid)))
		return 10;
	if (!REFUSED(fcntl(sv[0], F_SETOWN_EX, &ex)))
		return 11;
	if (!REFUSED(fcntl(sv[0], F_SETSIG, SIGUSR1)))
		return 12;
	if (!REFUSED(fcntl(sv[0], F_SETFL, O_ASYNC | O_NONBLOCK)) || (fcntl(sv[0], F_GETFL) & O_ASYNC))
		return 13;
	if (!REFUSED(ioctl(sv[0], FIOSETOWN, &pid)))
		return 14;
	if (!REFUSED(ioctl(sv[0], SIOCSPGRP, &pid)))
		return 15;
	if (!REFUSED(ioctl(sv[0], FIOASYNC, &one)) || (fcntl(sv[0], F_GETFL) & O_ASYNC))
		return 16;
	/* What libuv and the sidecar do. */
	if (ioctl(sv[0], FIONBIO, &one) < 0 || !(fcntl(sv[0], F_GETFL) & O_NONBLOCK))
		return 20;
	if (ioctl(sv[1], FIOCLEX) < 0 || !(fcntl(sv[1], F_GETFD) & FD_CLOEXEC))
		return 21;
	if (fcntl(sv[1], F_SETFL, O_NONBLOCK) < 0 || !(fcntl(sv[1], F_GETFL) & O_NONBLOCK))
		return 22;
	if ((fd = fcntl(sv[1], F_DUPFD_CLOEXEC, 0)) < 0)
		return 23;
	close(fd);
	if (fcntl(pp[0], F_SETPIPE_SZ, 1 << 16) < 0 || fcntl(pp[0], F_GETPIPE_SZ) < (1 << 16))
		return 24;
	return 0;
}

static void test_fd_control(void **state)
{
	(void)state;
	assert_int_equal(geteuid(), 0);
	assert_int_equal(in_child(confined_fd_control), 0);
}

static char logdir[64];

static int flood_log(void)
{
	char path[128];
	int fd, old;

	snprintf(path, sizeof(path), "%s/sidecar.log", logdir);
	fd = open(path, O_RDWR | O_APPEND | O_CREAT, 0600);
	snprintf(path, sizeof(path), "%s/sidecar.log.1", logdir);
	old = open(path, O_RDWR | O_CREAT, 0600);
	if (fd < 0 || old < 0 || dup2(fd, STDERR_FILENO) < 0)
		return 1;
	sc_log_init("0123456789abcdef");
	sc_log_rotate_to(old);
	/* 20,000 distinct lines (the limiter passes each once): 3 MB unbounded. */
	for (int i = 0; i < 20000; i++)
		sc_log_limited("line %d of a flood that would fill /run if it were not bounded: %0100d", i, i);
	/* The same line again and again: one line, then one summary. */
	for (int i = 0; i < 20000; i++)
		sc_log_refused("refused", "connection", 18602, "nothing listens on port 3000 in the container");
	sc_log_flush(true);
	return 0;
}

/* Filter K's program as libseccomp builds it now for SELF, into OUT. */
static size_t built(const int *sys, size_t n, const int *fam, size_t nfam, bool fd_control, uint32_t self,
		    struct sock_filter *out, size_t room)
{
	scmp_filter_ctx f = sc_seccomp_build(sys, n, fam, nfam, fd_control, self);
	int fd = memfd_create("bpf", MFD_CLOEXEC);
	off_t len;

	assert_non_null(f);
	assert_true(fd >= 0);
	assert_int_equal(seccomp_export_bpf(f, fd), 0);
	seccomp_release(f);
	len = lseek(fd, 0, SEEK_END);
	assert_true(len > 0 && (size_t)len <= room * sizeof(*out) && len % sizeof(*out) == 0);
	assert_int_equal(pread(fd, out, (size_t)len, 0), len);
	close(fd);
	return (size_t)len / sizeof(*out);
}

/* The three filters a start loads come precompiled (sidecar/bpf.h), each
 * found for exactly the lists its caller passes, and each, with a pid in
 * place, the very program libseccomp builds at run time; any other list
 * finds none (and is built then). */
static void test_precompiled(void **state)
{
	static struct sock_filter want[1024], got[1024];
	int core[256], netns[64], listen[64];
	size_t ncore = sc_filter_core(core, 256), nnetns = sc_filter_helper(NULL, 0, netns, 64),
	       nlisten = sc_filter_helper(sc_listen_binding, sc_listen_nbinding, listen, 64);
	const struct {
		const int *sys;
		size_t n;
		const int *fam;
		size_t nfam;
		bool fd_control;
	} specs[] = {
		{core, ncore, NULL, 0, true},
		{netns, nnetns, sc_factory_families, sc_factory_nfamilies, false},
		{listen, nlisten, sc_listen_families, sc_listen_nfamilies, false},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		const struct sc_bpf *b = sc_seccomp_precompiled(specs[i].sys, specs[i].n, specs[i].fam, specs[i].nfam,
								specs[i].fd_control);
		uint32_t self = (uint32_t)getpid() + (uint32_t)i;
		size_t n;
		int len;

		assert_non_null(b);
		len = sc_seccomp_program(b, self, got, 1024);
		n = built(specs[i].sys, specs[i].n, specs[i].fam, specs[i].nfam, specs[i].fd_control, self, want, 1024);
		assert_int_equal(len, (int)n);
		assert_memory_equal(got, want, n * sizeof(want[0]));
		/* The pid is in it: a program for another differs. */
		n = built(specs[i].sys, specs[i].n, specs[i].fam, specs[i].nfam, specs[i].fd_control, self + 1000, want,
			  1024);
		assert_true(memcmp(got, want, n * sizeof(want[0])) != 0);
	}
	/* One call fewer, a family more, fd control off: none of them. */
	assert_null(sc_seccomp_precompiled(core, ncore - 1, NULL, 0, true));
	assert_null(sc_seccomp_precompiled(netns, nnetns, sc_listen_families, sc_listen_nfamilies, false));
	assert_null(sc_seccomp_precompiled(core, ncore, NULL, 0, false));
	/* Room too small for it: refused, not cut. */
	assert_int_equal(sc_seccomp_program(sc_seccomp_precompiled(core, ncore, NULL, 0, true), 1, got, 4), -E2BIG);
}

static void test_log_bounded(void **state)
{
	(void)state;
	char path[128], cmd[256];
	struct stat a, b;

	snprintf(logdir, sizeof(logdir), "/tmp/portside-log-XXXXXX");
	assert_non_null(mkdtemp(logdir));
	assert_int_equal(in_child(flood_log), 0);
	snprintf(path, sizeof(path), "%s/sidecar.log", logdir);
	assert_int_equal(stat(path, &a), 0);
	snprintf(path, sizeof(path), "%s/sidecar.log.1", logdir);
	assert_int_equal(stat(path, &b), 0);
	fprintf(stderr, "log %lld + %lld bytes\n", (long long)a.st_size, (long long)b.st_size);
	assert_true(a.st_size + b.st_size <= 1024 * 1024);
	assert_true(b.st_size > 0); /* it did rotate */
	snprintf(cmd, sizeof(cmd),
		 "grep -q 'refused 19999 more connections to host port 18602 in the last [0-9]* s: nothing listens' "
		 "%s/sidecar.log",
		 logdir);
	assert_int_equal(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", logdir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uid_is_leased), cmocka_unit_test(test_sidecar_filter),
		cmocka_unit_test(test_no_caps),	      cmocka_unit_test(test_fd_control),
		cmocka_unit_test(test_log_bounded),   cmocka_unit_test(test_precompiled),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
