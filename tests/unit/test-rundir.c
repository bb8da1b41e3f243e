/* SPDX-License-Identifier: MIT */
/* A container's state directory (lib/rundir.c): ps_state_remove takes every
 * file of the layout, the temporary copies ps_write_file makes, and the
 * files an earlier portside wrote there, then the directory itself. Whether
 * the container a record names still runs, and its sidecar: by identities
 * never reused, on real processes. */
#include "unit.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../base/cleanup.h"
#include "../../lib/identity.h"
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

static void make_root(void)
{
	snprintf(root, sizeof(root), "/tmp/portside-rundir-XXXXXX");
	assert_non_null(mkdtemp(root));
	setenv("PORTSIDE_RUN_DIR", root, 1);
	assert_int_equal(ps_run_dir_init(), 0);
}

static void remove_root(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	assert_int_equal(system(cmd), 0);
	unsetenv("PORTSIDE_RUN_DIR");
}

/* A record of this very process as a container's init, in its netns. */
static void record_self(struct ps_forwards *f)
{
	cleanup_close int ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	struct stat st;

	memset(f, 0, sizeof(*f));
	snprintf(f->id, sizeof(f->id), "ct1");
	f->pid = getpid();
	assert_int_equal(ps_proc_pin(f->pid, NULL, NULL, &f->ident.pid_start), 0);
	assert_true(ns >= 0 && fstat(ns, &st) == 0);
	snprintf(f->netns, sizeof(f->netns), "%lu:%lu", (unsigned long)st.st_dev, (unsigned long)st.st_ino);
	if (geteuid() != 0 || ps_netns_cookie(ns, &f->ident.netns_cookie) < 0)
		f->ident.netns_cookie = 0; /* not root, or a kernel without cookies */
	f->max_connections = f->udp_idle_timeout = 1;
}

static int open_record(const struct ps_forwards *f, char *why, size_t len)
{
	cleanup_close int pidfd = -1, nsfd = -1;
	int rc = ps_container_open(f, &pidfd, &nsfd, why, len);

	if (rc == 0) {
		struct stat a, b;

		/* What it opened is what it checked: this process, its netns. */
		assert_true(pidfd >= 0 && nsfd >= 0);
		assert_int_equal(fstat(nsfd, &a), 0);
		assert_int_equal(stat("/proc/self/ns/net", &b), 0);
		assert_true(a.st_ino == b.st_ino);
	} else {
		assert_true(pidfd < 0 && nsfd < 0);
	}
	return rc;
}

static void test_container_open(void **state)
{
	(void)state;
	struct ps_forwards f;
	char why[160];

	record_self(&f);
	assert_int_equal(open_record(&f, why, sizeof(why)), 0);
	/* The same pid, started at another time: another process. */
	f.ident.pid_start++;
	assert_int_equal(open_record(&f, why, sizeof(why)), -ESRCH);
	assert_non_null(strstr(why, "another's"));
	/* An earlier portside's record: nothing tells its process from a
	 * later one with its pid. */
	f.ident.pid_start = 0;
	assert_int_equal(open_record(&f, why, sizeof(why)), -ESRCH);
	assert_non_null(strstr(why, "earlier portside"));
	/* Another namespace's inode number. */
	record_self(&f);
	snprintf(f.netns, sizeof(f.netns), "1:1");
	assert_int_equal(open_record(&f, why, sizeof(why)), -ESRCH);
	assert_non_null(strstr(why, "another network namespace"));
	/* The inode number right, the cookie another namespace's. */
	record_self(&f);
	if (f.ident.netns_cookie) {
		f.ident.netns_cookie++;
		assert_int_equal(open_record(&f, why, sizeof(why)), -ESRCH);
		assert_non_null(strstr(why, "cookie"));
	}
	/* No cookie recorded (a kernel before 5.14): the start time decides. */
	f.ident.netns_cookie = 0;
	assert_int_equal(open_record(&f, why, sizeof(why)), 0);
	/* No process, or one that is gone. */
	f.pid = 0;
	assert_int_equal(open_record(&f, why, sizeof(why)), -ESRCH);
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0)
		_exit(0);
	assert_int_equal(waitpid(child, NULL, 0), child);
	record_self(&f);
	f.pid = child;
	assert_int_equal(open_record(&f, why, sizeof(why)), -ESRCH);
	assert_non_null(strstr(why, "gone"));
}

/* Writes F as ID's record. */
static void write_record(const struct ps_forwards *f)
{
	cleanup_free char *doc = NULL;
	char path[4096];

	assert_int_equal(ps_path(path, sizeof(path), f->id, NULL), 0);
	mkdir(path, 0700);
	assert_int_equal(ps_forwards_encode(f, &doc), 0);
	assert_int_equal(ps_file(path, sizeof(path), f->id, PS_FORWARDS), 0);
	assert_int_equal(ps_write_file(path, doc, strlen(doc)), 0);
}

/* What ls shows and gc keeps: a record of a live process with another start
 * time is a stopped container, whose state the next hook removes. */
static void test_alive_and_gc(void **state)
{
	(void)state;
	struct ps_forwards f;
	char path[4096];

	make_root();
	record_self(&f);
	write_record(&f);
	assert_true(ps_container_alive("ct1"));
	assert_int_equal(ps_gc(), 0);
	f.ident.pid_start++;
	write_record(&f);
	assert_false(ps_container_alive("ct1"));
	assert_int_equal(ps_gc(), 1);
	assert_int_equal(ps_path(path, sizeof(path), "ct1", NULL), 0);
	assert_int_equal(access(path, F_OK), -1);
	remove_root();
}

/* gc reads a container's process file, one line, never its record, which
 * may be megabytes (read at every start for each container whose sidecar
 * died): a record past any read limit does not make a running container's
 * state go, and the line alone tells a stopped one. */
static void test_gc_reads_process_file(void **state)
{
	(void)state;
	struct ps_forwards f;
	char path[4096], line[160];
	int fd, n;

	make_root();
	record_self(&f);
	write_record(&f);
	assert_int_equal(ps_path(path, sizeof(path), "ct1", "forwards.json"), 0);
	assert_true((fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC)) >= 0);
	assert_int_equal(ftruncate(fd, 64 << 20), 0);
	close(fd);
	n = snprintf(line, sizeof(line), "%d %llu %s %llu\n", (int)f.pid, f.ident.pid_start, f.netns,
		     (unsigned long long)f.ident.netns_cookie);
	assert_int_equal(ps_path(path, sizeof(path), "ct1", "process"), 0);
	assert_int_equal(ps_write_file(path, line, (size_t)n), 0);
	assert_true(ps_container_alive("ct1"));
	assert_int_equal(ps_gc(), 0);
	n = snprintf(line, sizeof(line), "%d %llu %s %llu\n", (int)f.pid, f.ident.pid_start + 1, f.netns,
		     (unsigned long long)f.ident.netns_cookie);
	assert_int_equal(ps_write_file(path, line, (size_t)n), 0);
	assert_false(ps_container_alive("ct1"));
	assert_int_equal(ps_gc(), 1);
	assert_int_equal(ps_path(path, sizeof(path), "ct1", NULL), 0);
	assert_int_equal(access(path, F_OK), -1);
	remove_root();
}

static void vwrite_pid_file(const char *id, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static void vwrite_pid_file(const char *id, const char *fmt, va_list ap)
{
	char path[4096], buf[128];
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);

	assert_int_equal(ps_file(path, sizeof(path), id, PS_SIDECAR_PID), 0);
	assert_int_equal(ps_write_file(path, buf, (size_t)n), 0);
}

/* Writes ct1's pid file, or ID's. */
static void write_pid_file(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void write_pid_file(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwrite_pid_file("ct1", fmt, ap);
	va_end(ap);
}

static void write_pid_file_of(const char *id, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void write_pid_file_of(const char *id, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwrite_pid_file(id, fmt, ap);
	va_end(ap);
}

static void test_sidecar_alive(void **state)
{
	(void)state;
	unsigned long long start = 0, own = 0;
	char path[4096];
	int sync[2], pidfd = -1;
	pid_t child;
	char b;

	make_root();
	assert_int_equal(ps_path(path, sizeof(path), "ct1", NULL), 0);
	assert_int_equal(mkdir(path, 0700), 0);
	/* A process named as a sidecar is. */
	assert_int_equal(pipe2(sync, O_CLOEXEC), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		prctl(PR_SET_NAME, "portside-sidecar", 0, 0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0); /* a failed assertion leaves none */
		(void)!write(sync[1], "", 1);
		pause();
		_exit(0);
	}
	assert_int_equal(read(sync[0], &b, 1), 1);
	assert_int_equal(ps_proc_pin(child, NULL, NULL, &start), 0);

	write_pid_file("%d %llu\n", (int)child, start);
	assert_int_equal(ps_sidecar_alive("ct1", &pidfd), child);
	assert_true(pidfd >= 0);
	/* The pidfd given is the checked process's. */
	assert_int_equal(syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0), 0);
	close(pidfd);
	/* Its pid, another start: a later process, never the sidecar. */
	write_pid_file("%d %llu\n", (int)child, start + 1);
	assert_int_equal(ps_sidecar_alive("ct1", &pidfd), 0);
	assert_int_equal(pidfd, -1);
	/* An earlier portside's pid file, written after the process began
	 * (test_old_pid_file): the comm is all else there is. */
	write_pid_file("%d\n", (int)child);
	assert_int_equal(ps_sidecar_alive("ct1", NULL), child);
	/* The start time right, the name not a sidecar's. */
	assert_int_equal(ps_proc_pin(getpid(), NULL, NULL, &own), 0);
	write_pid_file("%d %llu\n", (int)getpid(), own);
	assert_int_equal(ps_sidecar_alive("ct1", NULL), 0);
	/* Malformed. */
	write_pid_file("%d %llu junk\n", (int)child, start);
	assert_int_equal(ps_sidecar_alive("ct1", NULL), 0);
	write_pid_file("x%d %llu\n", (int)child, start);
	assert_int_equal(ps_sidecar_alive("ct1", NULL), 0);
	write_pid_file("%d 0\n", (int)child);
	assert_int_equal(ps_sidecar_alive("ct1", NULL), 0);
	/* Gone: a zombie is not alive either. */
	write_pid_file("%d %llu\n", (int)child, start);
	kill(child, SIGKILL);
	for (int i = 0; i < 500 && ps_sidecar_alive("ct1", NULL); i++)
		usleep(10000);
	assert_int_equal(ps_sidecar_alive("ct1", NULL), 0);
	assert_int_equal(waitpid(child, NULL, 0), child);
	close(sync[0]);
	close(sync[1]);
	remove_root();
}

/* Sets the mtime of ID's pid file AGO seconds in the past. */
static void pid_file_age(const char *id, int ago)
{
	struct timespec ts[2];
	char path[4096];

	assert_int_equal(clock_gettime(CLOCK_REALTIME, &ts[0]), 0);
	ts[0].tv_sec -= ago;
	ts[1] = ts[0];
	assert_int_equal(ps_file(path, sizeof(path), id, PS_SIDECAR_PID), 0);
	assert_int_equal(utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW), 0);
}

/* An earlier portside's pid file ("PID", no start time) names a dead
 * sidecar whose pid a process named like one got since: a later sidecar, or
 * anyone's program. It began after the file was written, and when it is a
 * sidecar, its own pid file names it with its start time: either tells it
 * is not the one, whose poststop would otherwise kill it. */
static void test_old_pid_file(void **state)
{
	(void)state;
	unsigned long long start = 0;
	char path[4096];
	int sync[2];
	pid_t child;
	char b;

	make_root();
	assert_int_equal(ps_path(path, sizeof(path), "old", NULL), 0);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(ps_path(path, sizeof(path), "new", NULL), 0);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(pipe2(sync, O_CLOEXEC), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		prctl(PR_SET_NAME, "portside-sidecar", 0, 0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0); /* a failed assertion leaves none */
		(void)!write(sync[1], "", 1);
		pause();
		_exit(0);
	}
	assert_int_equal(read(sync[0], &b, 1), 1);
	assert_int_equal(ps_proc_pin(child, NULL, NULL, &start), 0);

	/* Written after the process began, as its sidecar would: it. */
	write_pid_file_of("old", "%d\n", (int)child);
	assert_int_equal(ps_sidecar_alive("old", NULL), child);
	/* Written a minute before it began: a process that got the pid. */
	pid_file_age("old", 60);
	assert_int_equal(ps_sidecar_alive("old", NULL), 0);
	/* Written again: it again. */
	write_pid_file_of("old", "%d\n", (int)child);
	assert_int_equal(ps_sidecar_alive("old", NULL), child);
	/* Another container's pid file names it with its start time: that
	 * container's sidecar, never the old one, however old its file is. */
	write_pid_file_of("new", "%d %llu\n", (int)child, start);
	assert_int_equal(ps_sidecar_alive("new", NULL), child);
	assert_int_equal(ps_sidecar_alive("old", NULL), 0);
	/* One naming another start (a sidecar long gone) claims nothing. */
	write_pid_file_of("new", "%d %llu\n", (int)child, start + 1);
	assert_int_equal(ps_sidecar_alive("old", NULL), child);

	kill(child, SIGKILL);
	assert_int_equal(waitpid(child, NULL, 0), child);
	close(sync[0]);
	close(sync[1]);
	remove_root();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_remove_everything),     cmocka_unit_test(test_container_open),
		cmocka_unit_test(test_alive_and_gc),	      cmocka_unit_test(test_sidecar_alive),
		cmocka_unit_test(test_gc_reads_process_file), cmocka_unit_test(test_old_pid_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
